// @ts-check
// What bench/app.js is asked to do in its own code, as the app itself would: run code in its
// realm (in a loop, or a line at a time from a socket: the realm server), load modules of its
// own, keep its main thread busy, await.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import vm from 'node:vm';
/** @import { AddressInfo } from 'node:net' */
/** @import { BackdoorAddress } from '../dist/lib/index.js' */

/**
 * Runs `code` in this realm, as the app's own code would: `warmRuns` times, then `runs` times
 * timed, alone and followed by printing its value with Node's REPL settings (what a session's
 * command costs the main thread, the backdoor's formatting included). Bounded by `runs`.
 * @param {string} code
 * @param {number} runs
 * @param {number} warmRuns
 */
export function runInRealm(code, runs, warmRuns) {
  const print = { depth: 2, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 80 };
  /** @type {number[]} */
  const runMs = [];
  /** @type {number[]} */
  const runAndPrintMs = [];
  let printed = 0;
  for (let i = 0; i < warmRuns + runs; i++) {
    const start = performance.now();
    const value = vm.runInThisContext(code);
    const ran = performance.now();
    printed += inspect(value, print).length;
    const end = performance.now();
    if (i >= warmRuns) {
      runMs.push(ran - start);
      runAndPrintMs.push(end - start);
    }
  }
  if (printed === 0) throw new Error(`nothing printed for ${code}`);
  return { runMs, runAndPrintMs };
}

/** What the realm server's commands took, since they were last asked for. */
let realmTimes = { runMs: /** @type {number[]} */ ([]), runAndPrintMs: /** @type {number[]} */ ([]), sessionMs: /** @type {number[]} */ ([]), keptRunAndPrintMs: /** @type {number[]} */ ([]) };
/** The last value a keeping realm server made (as a REPL keeps `_`). */
const kept = { value: /** @type {unknown} */ (undefined) };
/** The backdoor's main-thread count when the realm server last read it. */
let sessionCountMs = /** @type {number | undefined} */ (undefined);

/** The realm server's times since they were last taken; the next start afresh. */
export function takeRealmTimes() {
  const taken = realmTimes;
  realmTimes = { runMs: [], runAndPrintMs: [], sessionMs: [], keptRunAndPrintMs: [] };
  sessionCountMs = undefined;
  return taken;
}

/**
 * The same code as a session's, run in this realm as the app would run it on a request: a line
 * comes on a loopback socket, and is run (its script compiled once) and printed with the REPL's
 * settings in the turn that reads it; the text goes back with a `> ` prompt. What the bench's
 * REPL clients drive as they drive a session, so that both run under the same conditions: one
 * command per turn of the event loop, the socket's and the client's work between two (a loop
 * that runs the code back to back keeps the CPU's caches and the JIT's feedback warmer than
 * either ever are). Times the run and the printing, as the backdoor times its own. When the
 * client alternates between a session and this server, one command each, what the backdoor
 * counted between two lines here is the one session command in between: its time, the same
 * way, per command.
 * `keep`: the server keeps its last value until the next, as a REPL keeps `_` (the objects then
 * survive into the next command's collections, and V8 changes its mind about where to allocate
 * them, which costs the code that makes them a deoptimisation now and then); it does not read
 * the backdoor's count.
 * @param {boolean} keep
 * @param {() => number | undefined} countedMs the backdoor's main-thread count (`stats().mainThreadMs`), if any
 * @returns {Promise<number>} its port
 */
export function realmServer(keep, countedMs) {
  const print = { depth: 2, maxArrayLength: 100, maxStringLength: 10_000, breakLength: 80, showProxy: true, getters: false, colors: false };
  /** @type {Map<string, vm.Script>} */
  const scripts = new Map();
  const realm = net.createServer((socket) => {
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    let buffer = '';
    socket.on('data', (chunk) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n'); end !== -1; end = buffer.indexOf('\n')) {
        const code = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        let script = scripts.get(code);
        if (!script) {
          script = new vm.Script(code);
          scripts.set(code, script);
        }
        if (!keep) {
          const counted = countedMs();
          if (counted !== undefined && sessionCountMs !== undefined) realmTimes.sessionMs.push(counted - sessionCountMs);
          sessionCountMs = counted;
        }
        const start = performance.now();
        const value = script.runInThisContext();
        const ran = performance.now();
        const text = inspect(value, print);
        const printed = performance.now();
        if (keep) {
          kept.value = value;
          realmTimes.keptRunAndPrintMs.push(printed - start);
        } else {
          realmTimes.runMs.push(ran - start);
          realmTimes.runAndPrintMs.push(printed - start);
        }
        socket.write(`${text}\n> `);
      }
    });
    socket.on('error', () => {});
    socket.write('> ');
  });
  realm.unref();
  return new Promise((resolve) => realm.listen(0, '127.0.0.1', () => resolve(portOf(realm.address()))));
}

/**
 * Loads `count` small modules of the app's own (ES modules, written to a temporary directory,
 * removed once loaded), as an app with many dependencies has: each is a script V8 and its
 * inspector know of.
 * @param {number} count
 */
export async function loadModules(count) {
  const start = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'bench-modules-'));
  try {
    for (let i = 0; i < count; i++) writeFileSync(join(dir, `m${i}.mjs`), `export function f${i}(x) { return x + ${i}; }\n`);
    let sum = 0;
    for (let i = 0; i < count; i++) sum += (await import(pathToFileURL(join(dir, `m${i}.mjs`)).href))[`f${i}`](1);
    if (sum === 0) throw new Error('no module ran');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { count, ms: performance.now() - start };
}

/**
 * Keeps the main thread busy in the app's own code for `ms`, and reports the gaps in it: the
 * time something else held the thread between two of its steps (GC, or an inspector's pause),
 * in ms, those over 0.2 ms summed, and the longest.
 * @param {number} ms
 */
export function busyFor(ms) {
  const start = performance.now();
  let last = start;
  let gapsMs = 0;
  let maxGapMs = 0;
  for (let now = start; now - start < ms; now = performance.now()) {
    const gap = now - last;
    if (gap > 0.2) gapsMs += gap;
    if (gap > maxGapMs) maxGapMs = gap;
    last = now;
  }
  return { gapsMs, maxGapMs };
}

/**
 * The port of a server that listens on TCP.
 * @param {AddressInfo | BackdoorAddress | string | null} address
 */
export function portOf(address) {
  if (!address || typeof address === 'string' || 'path' in address) throw new Error(`not a TCP address: ${JSON.stringify(address)}`);
  return address.port;
}
/**
 * The app's own `await`: the median over 5 runs of `awaits` sequential `await null`, in ns per
 * await (what the backdoor's attribution of late errors may add to it, by state).
 * @param {number} awaits
 */
export async function awaitCost(awaits) {
  /** @type {number[]} */
  const runs = [];
  for (let run = 0; run < 5; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < awaits; i++) await null;
    runs.push(Number(process.hrtime.bigint() - start) / awaits);
  }
  return runs.sort((a, b) => a - b)[2];
}
