// @ts-check
// The micro figures of how soon a session has its prompt (bench/micro.js): after SIGUSR1 in a
// running app, and after a runaway loop.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { discoveryPath } from '../dist/common/discovery.js';
import { replPort, sleep, startApp as startAppSettled } from './child.js';
import { median } from './stats.js';
/** @import { Discovered } from '../dist/common/discovery.js' */
/** @import { AppMode, AppOptions } from './messages/app.ts' */
/** @import { MicroFigures } from './messages/report.ts' */
/** @import { MicroContext } from './micro.js' */

/**
 * From SIGUSR1 to a prompt, and from a runaway loop to the next value: signalToPrompt, runaway.
 * @param {MicroContext} context
 * @returns {Promise<Partial<MicroFigures>>}
 */
export async function promptFigures({ settings, pauses, backdoorOptions, commands: { trivial: TRIVIAL } }) {
  /** @type {Partial<MicroFigures>} */
  const figures = {};
  const startApp = (/** @type {AppMode} */ mode, /** @type {AppOptions} */ options) => startAppSettled(mode, options, pauses.appSettleMs);
  // From `kill -USR1 <pid>` to a session's first prompt, through the discovery file (what
  // `backdoor <pid>` does), in a running app.
  {
    const app = await startApp('signals', { audit: false });
    const discovery = discoveryPath(app.pid);
    /** @type {number[]} */
    const times = [];
    for (let i = 0; i < settings.signalRuns; i++) {
      const start = performance.now();
      process.kill(app.pid, 'SIGUSR1');
      const address = await poll('a discovery file after SIGUSR1', () => readJsonFile(discovery)?.address);
      if ('path' in address) throw new Error(`the backdoor listens on ${address.path}, not on TCP`);
      await /** @type {Promise<void>} */ (
        new Promise((resolve, reject) => {
          const socket = net.connect(address.port, address.host);
          const timer = setTimeout(() => {
            socket.destroy();
            reject(new Error(`no prompt from ${address.host}:${address.port} within 10 s`));
          }, 10_000);
          socket.on('data', (chunk) => {
            if (String(chunk).endsWith('> ')) {
              clearTimeout(timer);
              socket.destroy();
              resolve();
            }
          });
          socket.on('error', (error) => {
            clearTimeout(timer);
            reject(error);
          });
        })
      );
      times.push(performance.now() - start);
      process.kill(app.pid, 'SIGUSR2');
      await poll('the discovery file gone after SIGUSR2', () => (readJsonFile(discovery) ? undefined : true));
      await sleep(50);
    }
    figures.signalToPrompt = { runs: times.length, medianMs: median(times), maxMs: Math.max(...times) };
    await app.stop();
  }
  // A runaway loop stopped by evalTimeoutMs, then 1+1: from the loop's error arriving to the
  // value arriving, with the default options, in an app of its own each time.
  {
    /** @type {number[]} */
    const times = [];
    for (let i = 0; i < settings.runawayRuns; i++) {
      const app = await startApp('backdoor', backdoorOptions);
      times.push(await runawayThen(replPort(app), TRIVIAL, '2', backdoorOptions.evalTimeoutMs + 30_000));
      await app.stop();
    }
    figures.runaway = { evalTimeoutMs: backdoorOptions.evalTimeoutMs, runs: times.length, medianMs: median(times), maxMs: Math.max(...times) };
  }
  return figures;
}

/**
 * In a fresh session: `while (true) {}`, which the backdoor stops after evalTimeoutMs, then, at
 * the prompt after its error, `next`. The ms from the error's arrival to `value`'s (a line of its
 * own), within `timeoutMs` of the start.
 * @param {number} port
 * @param {string} next
 * @param {string} value
 * @param {number} timeoutMs
 * @returns {Promise<number>}
 */
function runawayThen(port, next, value, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    /** @type {'prompt' | 'loop' | 'error' | 'value'} */
    let state = 'prompt';
    let buffer = '';
    let errorAt = 0;
    const done = (/** @type {Error | undefined} */ error, ms = 0) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(ms);
    };
    const timer = setTimeout(() => done(new Error(`runaway loop, then ${next}: no ${state} within ${timeoutMs} ms: ${JSON.stringify(buffer.slice(-300))}`)), timeoutMs);
    socket.on('data', (chunk) => {
      const now = performance.now();
      buffer += chunk;
      if (state === 'loop' && buffer.includes('Script execution timed out')) {
        errorAt = now;
        state = 'error';
      }
      if (!buffer.endsWith('> ') && state !== 'value') return;
      if (state === 'prompt') {
        state = 'loop';
        buffer = '';
        socket.write('while (true) {}\n');
      } else if (state === 'error') {
        state = 'value';
        buffer = '';
        socket.write(`${next}\n`);
      } else if (state === 'value' && buffer.split('\n').includes(value)) {
        done(undefined, now - errorAt);
      }
    });
    socket.on('error', (error) => done(error));
    socket.on('close', () => done(new Error(`the backdoor closed the session while waiting for ${state}: ${JSON.stringify(buffer.slice(-300))}`)));
  });
}

/**
 * Calls `check` every millisecond or so until it returns something, for at most `timeoutMs`.
 * @template T
 * @param {string} what
 * @param {() => T | undefined} check
 * @returns {Promise<T>}
 */
async function poll(what, check, timeoutMs = 10_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await sleep(1);
  }
}

/**
 * A discovery file's content; undefined while there is none (or it is being written).
 * @param {string} path
 * @returns {Discovered | undefined}
 */
function readJsonFile(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}
