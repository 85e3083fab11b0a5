// @ts-check
// The micro figures of bench/run.js: what one command, one idle session, one start costs, each
// measured in an app of its own with no HTTP load.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { discoveryPath } from '../dist/common/discovery.js';
import { replPort, required, sleep, startApp as startAppSettled } from './child.js';
import { median } from './stats.js';
/** @import { Discovered } from '../dist/common/discovery.js' */
/** @import { App, Clients } from './child.js' */
/** @import { AppMode, AppOptions, BenchBackdoorOptions, MicroFigures, Settings } from './messages.ts' */

/**
 * What the micro figures need of bench/run.js.
 * @typedef {{
 *   clients: Clients,
 *   settings: Settings,
 *   pauses: { appSettleMs: number, idleSettleMs: number },
 *   backdoorOptions: BenchBackdoorOptions,
 *   commands: { trivial: string, heavy: string },
 * }} MicroContext
 */

/**
 * The figures of the micro table, each in an app of its own (idle but for what it measures).
 * @param {MicroContext} context
 * @returns {Promise<MicroFigures>}
 */
export async function micro({ clients, settings, pauses, backdoorOptions, commands: { trivial: TRIVIAL, heavy: HEAVY } }) {
  /** @type {Partial<MicroFigures>} */
  const figures = {};
  const startApp = (/** @type {AppMode} */ mode, /** @type {AppOptions} */ options) => startAppSettled(mode, options, pauses.appSettleMs);
  // Round trips of 1+1 as the client sees them, back to back (no budget, so that pacing does
  // not count), with and without the timeout guard; then at a person's pace with the defaults.
  /**
   * @param {'rttGuardOn' | 'rttGuardOff' | 'rttInteractive'} key
   * @param {BenchBackdoorOptions} options
   * @param {number} n
   */
  const rtt = async (key, options, n, gapMs = 0) => {
    const app = await startApp('backdoor', options);
    const { result } = await clients.ask({ cmd: 'count', port: replPort(app), command: TRIVIAL, n, gapMs }, 'counted', 600_000);
    figures[key] = { commands: result.commands, p50Us: result.rttP50Us, p99Us: result.rttP99Us, ...options, gapMs };
    await app.stop();
  };
  await rtt('rttGuardOn', { ...backdoorOptions, mainThreadBudget: 1 }, settings.rttCommands);
  await rtt('rttGuardOff', { ...backdoorOptions, mainThreadBudget: 1, evalTimeoutMs: 0 }, settings.rttCommands);
  await rtt('rttInteractive', backdoorOptions, Math.min(settings.rttCommands, 2000), 20);
  // CPU per trivial command, with and without the timeout guard, in an otherwise idle app: the
  // main thread's, and off it by part (the backdoor's worker; the rest: V8's watchdog thread of
  // each command under evalTimeoutMs, its compiler and GC helpers, which the process's CPU time
  // counts even once they have ended). Twice in a row: the first commands of a fresh backdoor
  // pay for V8 compiling the worker's code (a cost paid once); the next as many are what each
  // command of a flood costs from then on.
  for (const [key, evalTimeoutMs] of /** @type {const} */ ([['cpuGuardOn', settings.evalTimeoutMs], ['cpuGuardOff', 0]])) {
    const app = await startApp('backdoor', { ...backdoorOptions, mainThreadBudget: 1, evalTimeoutMs });
    const measure = async () => {
      await app.ask({ cmd: 'measure-start' }, 'measure-started');
      await clients.ask({ cmd: 'count', port: replPort(app), command: TRIVIAL, n: settings.cpuCommands }, 'counted', 600_000);
      const measured = await app.ask({ cmd: 'measure-stop' }, 'measured');
      const commands = required(measured.backdoorCommands, 'the commands a backdoor ran');
      const offMainMs = measured.processCpuMs - measured.mainCpuMs;
      return {
        commands,
        cpuUsPerCommand: (measured.mainCpuMs * 1000) / commands,
        evaluatorUsPerCommand: (required(measured.backdoorMainMs, "a backdoor's main-thread time") * 1000) / commands,
        offMainCpuUsPerCommand: (offMainMs * 1000) / commands,
        workerCpuUsPerCommand: measured.workerCpuMs === undefined ? undefined : (measured.workerCpuMs * 1000) / commands,
        otherThreadsCpuUsPerCommand: measured.workerCpuMs === undefined ? undefined : ((offMainMs - measured.workerCpuMs) * 1000) / commands,
      };
    };
    const cold = await measure();
    figures[key] = { evalTimeoutMs, ...(await measure()), cold };
    await app.stop();
  }
  // Idle: the main thread's active time with a started backdoor and an open idle session,
  // against the app alone, over the same time.
  for (const [key, mode] of /** @type {const} */ ([['idleAppAlone', 'none'], ['idleBackdoor', 'backdoor']])) {
    const app = await startApp(mode, backdoorOptions);
    if (mode === 'backdoor') await clients.ask({ cmd: 'start', port: replPort(app), count: 1, command: null }, 'started');
    await sleep(pauses.idleSettleMs);
    await app.ask({ cmd: 'measure-start' }, 'measure-started');
    await sleep(settings.idleMs);
    const measured = await app.ask({ cmd: 'measure-stop' }, 'measured');
    figures[key] = {
      activeMsPerSecond: (measured.activeMs / measured.wallMs) * 1000,
      cpuMsPerSecond: (measured.mainCpuMs / measured.wallMs) * 1000,
      timers: measured.resources.filter((r) => r === 'Timeout' || r === 'Immediate').length,
    };
    if (mode === 'backdoor') await clients.ask({ cmd: 'stop' }, 'stopped');
    await app.stop();
  }
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
      await /** @type {Promise<void>} */ (new Promise((resolve, reject) => {
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
      }));
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
  // The heavy command's main-thread time in a session (what the backdoor counts, running and
  // printing; no budget) against the same code in the app's own realm, run and printed there as
  // the app would run it on a request: each line read from a socket by the realm server
  // (bench/app.js). The client alternates, one command on the session, one on the realm server,
  // each sent once the one before has answered: both run one per turn of the event loop with the
  // sockets' and the client's work between two, and any change in the machine's state (another
  // VM's load, the CPU's clock) falls on both alike, command by command. The realm server reads
  // the backdoor's count as each line comes, so the session's time is per command too. The ratio
  // is of the means: all that the commands cost the main thread, the collections of their garbage
  // included (they fall on whichever command allocates when the young generation is full, on
  // either side alike); the medians beside them leave those out. A third server in the cycle
  // keeps its last value, as a REPL keeps `_` (bench/app.js says what that costs). Also the same
  // code in a loop that runs it back to back in the app (warmer caches than any command gets),
  // for reference. One session and one realm connection throughout: a session's context is made
  // by its first command, which is not what a command costs.
  {
    const app = await startApp('backdoor', { ...backdoorOptions, mainThreadBudget: 1 });
    const { port: realmPort } = await app.ask({ cmd: 'realm-server' }, 'realm-serving');
    const { port: keepingPort } = await app.ask({ cmd: 'realm-server', keep: true }, 'realm-serving');
    const n = settings.heavyCommands;
    const warm = Math.min(5, n);
    const ports = [replPort(app), realmPort, keepingPort];
    await clients.ask({ cmd: 'alternate', ports, command: HEAVY, n: warm }, 'alternated', 600_000);
    await app.ask({ cmd: 'realm-times' }, 'realm-timed');
    await clients.ask({ cmd: 'alternate', ports, command: HEAVY, n: n + 1 }, 'alternated', 600_000);
    const timed = await app.ask({ cmd: 'realm-times' }, 'realm-timed');
    const ran = await app.ask({ cmd: 'run-in-realm', code: HEAVY, runs: n, warmRuns: warm }, 'ran-in-realm', 600_000);
    const mean = (/** @type {number[]} */ values) => values.reduce((a, b) => a + b, 0) / values.length;
    const sessionMs = mean(timed.sessionMs);
    const appRealmMs = mean(timed.runAndPrintMs);
    figures.heavyRealm = {
      commands: timed.sessionMs.length,
      sessionMs,
      appRealmMs,
      sessionMedianMs: required(median(timed.sessionMs), "the session's times"),
      appRealmMedianMs: required(median(timed.runAndPrintMs), "the app realm's times"),
      appRealmKeepingMs: mean(timed.keptRunAndPrintMs),
      appRealmRunOnlyMs: required(median(timed.runMs), "the app realm's times"),
      appRealmLoopMs: required(median(ran.runAndPrintMs), "the loop's times"),
      ratio: sessionMs / appRealmMs,
    };
    await clients.ask({ cmd: 'drop-kept' }, 'dropped-kept');
    await app.stop();
  }
  // What `.stack` costs the app: its main thread busy in its own code, with many modules of
  // its own loaded (each a script the debugger is told of when it is enabled). The app's busy
  // loop is measured alone, then with one `.stack` from a fresh session 200 ms into it.
  {
    const app = await startApp('backdoor', backdoorOptions);
    await app.ask({ cmd: 'load-modules', count: settings.stackModules }, 'loaded-modules', 600_000);
    const port = replPort(app);
    const median = (/** @type {number[]} */ values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    /** @type {{ held: number, max: number, quietMax: number, answer: number }[]} */
    const runs = [];
    for (let i = 0; i < settings.stackRuns; i++) {
      const quiet = await app.ask({ cmd: 'busy', ms: 1000 }, 'was-busy', 60_000);
      const busy = app.ask({ cmd: 'busy', ms: 1000 }, 'was-busy', 60_000);
      await sleep(200);
      const asked = performance.now();
      await clients.ask({ cmd: 'count', port, command: '.stack', n: 1 }, 'counted', 60_000);
      const answer = performance.now() - asked;
      const gaps = await busy;
      runs.push({ held: gaps.gapsMs - quiet.gapsMs, max: gaps.maxGapMs, quietMax: quiet.maxGapMs, answer });
    }
    const idleAsked = performance.now();
    await clients.ask({ cmd: 'count', port, command: '.stack', n: 1 }, 'counted', 60_000);
    figures.stackCost = {
      modules: settings.stackModules,
      runs: runs.length,
      heldMs: median(runs.map((r) => r.held)),
      maxGapMs: median(runs.map((r) => r.max)),
      quietMaxGapMs: median(runs.map((r) => r.quietMax)),
      answerMs: median(runs.map((r) => r.answer)),
      idleAnswerMs: performance.now() - idleAsked,
    };
    await app.stop();
  }
  // What attributing late errors to their session costs the app's own awaits, by state: the
  // app alone; a backdoor started, no session; a session whose context exists (it ran a
  // command); that session ended.
  {
    const awaits = settings.awaits;
    const cost = async (/** @type {App} */ app) => (await app.ask({ cmd: 'await-cost', awaits }, 'await-costed', 600_000)).nsPerAwait;
    const alone = await startApp('none', backdoorOptions);
    const aloneNs = await cost(alone);
    await alone.stop();
    const app = await startApp('backdoor', backdoorOptions);
    const noSessionNs = await cost(app);
    await clients.ask({ cmd: 'start', port: replPort(app), count: 1, command: null, first: TRIVIAL }, 'started');
    const sessionNs = await cost(app);
    await clients.ask({ cmd: 'stop' }, 'stopped');
    await sleep(pauses.idleSettleMs);
    const afterSessionNs = await cost(app);
    await app.stop();
    figures.awaitCost = { awaits, aloneNs, noSessionNs, sessionNs, afterSessionNs };
  }
  const { rttGuardOn, rttGuardOff, rttInteractive, cpuGuardOn, cpuGuardOff, idleAppAlone, idleBackdoor, signalToPrompt, runaway, heavyRealm, stackCost, awaitCost } = figures;
  if (!(rttGuardOn && rttGuardOff && rttInteractive && cpuGuardOn && cpuGuardOff && idleAppAlone && idleBackdoor && signalToPrompt && runaway && heavyRealm && stackCost && awaitCost)) {
    throw new Error('a micro figure is missing');
  }
  // In the order they were measured, as before.
  return { rttGuardOn, rttGuardOff, rttInteractive, cpuGuardOn, cpuGuardOff, idleAppAlone, idleBackdoor, signalToPrompt, runaway, heavyRealm, stackCost, awaitCost };
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

