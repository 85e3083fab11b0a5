// @ts-check
// The app under test, in its own process (forked by bench/run.js, driven over IPC): a small
// HTTP server, with, depending on argv[2],
//   none      nothing else (the baseline)
//   backdoor  a backdoor (options from argv[3] as JSON)
//   signals   signal handlers installed (the backdoor starts on SIGUSR1)
//   repl      the peer: Node's own `repl` served over `net` on the main thread
// and ready argv[4] ms (default 200) after that has started.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { access } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import repl from 'node:repl';
import { inspect } from 'node:util';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { installSignalHandlers, startBackdoor } from '../dist/lib/index.js';
import { linkToParent } from './parent.js';
/** @import { AddressInfo } from 'node:net' */
/** @import { EventLoopUtilization, IntervalHistogram } from 'node:perf_hooks' */
/** @import { Backdoor, BackdoorAddress, BackdoorStats } from '../dist/lib/index.js' */
/** @import { AppMode, AppOptions, AppReply, AppRequest } from './messages.ts' */

const mode = /** @type {AppMode} */ (process.argv[2] ?? 'none');
/** @type {AppOptions} */
const options = JSON.parse(process.argv[3] ?? '{}');
const settleMs = Number(process.argv[4] ?? 200);

// Each request does some work, as a real handler would (~150 us here: filter and serialise a
// list). Without it the app's capacity is so high that, at 45% of it, the load generator and
// the REPL clients need more CPU than a 2-core machine has left, and what gets measured is
// the machine's scheduler, not the backdoor.
const items = Array.from({ length: 150 }, (_, i) => ({ id: i, name: `item ${i}`, price: i * 1.5, tags: ['a', 'b'] }));
let served = 0;
const server = http.createServer((_request, response) => {
  const body = JSON.stringify({ served: ++served, items: items.filter((item) => (item.id + served) % 3 !== 0) });
  response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  response.end(body);
});
// The load generator keeps its connections for the whole run, idle ones too (between a warm-up
// and the measured window): Node's default closes a keep-alive connection idle for 5 s, and the
// request written to it meanwhile would be lost.
server.keepAliveTimeout = 0;
await /** @type {Promise<void>} */ (new Promise((resolve) => server.listen(0, '127.0.0.1', resolve)));

/**
 * The ids of this process's threads (Linux; none elsewhere).
 * @returns {string[]}
 */
function threadIds() {
  try {
    return readdirSync('/proc/self/task');
  } catch {
    return [];
  }
}

/**
 * CPU time of one thread of this process, in ms, from /proc: schedstat's time on a CPU (ns),
 * else stat's utime + stime (in 1/100 s); NaN when neither can be read (not Linux, or the
 * thread has ended).
 * @param {string | number} tid
 */
function threadCpuMs(tid) {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {}
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

// libuv's thread pool starts with its first use, all of it: first here, so that the only
// thread that appears while the backdoor starts is its worker.
await access('.');
const rssBefore = process.memoryUsage.rss();
/** @type {Backdoor | undefined} */
let backdoor;
/** @type {net.Server | undefined} */
let replServer;
let startMs = 0;
/**
 * The thread of the backdoor's worker: the one named after it (Node names its threads from 24),
 * else those that appeared while `startBackdoor()` ran: the worker alone, unless Node runs
 * module hooks (--import, as under tap) in a thread of their own for the worker too.
 * @type {string[]}
 */
let workerTids = [];
if (mode === 'backdoor') {
  const before = new Set(threadIds());
  const start = performance.now();
  backdoor = await startBackdoor({ port: 0, ...options });
  startMs = performance.now() - start;
  const named = threadIds().filter((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'backdoor';
    } catch {
      return false;
    }
  });
  workerTids = named.length === 1 ? named : threadIds().filter((tid) => !before.has(tid));
} else if (mode === 'signals') {
  installSignalHandlers({ port: 0, ...options });
} else if (mode === 'repl') {
  const peer = net.createServer((socket) => {
    socket.setNoDelay(true);
    const session = repl.start({ input: socket, output: socket, prompt: '> ', terminal: false, useGlobal: false });
    session.on('exit', () => socket.end());
    // A client that resets its connection: Node's REPL re-emits the socket's error, which would
    // end the app (as it would any app serving its REPL this way without a listener).
    session.on('error', () => {});
    socket.on('error', () => {});
  });
  replServer = peer;
  await /** @type {Promise<void>} */ (new Promise((resolve) => peer.listen(0, '127.0.0.1', resolve)));
}
await new Promise((resolve) => setTimeout(resolve, settleMs));
const rssAfter = process.memoryUsage.rss();

/**
 * CPU time of this process's main thread alone, in ms: `process.threadCpuUsage()` where Node has
 * it (22 and 24 here: microseconds), else /proc (Node 20: nanoseconds from schedstat where the
 * kernel has it, else 10 ms resolution from stat). Event-loop
 * utilisation counts wall time, which on a busy 2-core machine includes the time the thread
 * waits for a core.
 */
function mainThreadCpuMs() {
  // Not in Node 20's types.
  const { threadCpuUsage } = /** @type {{ threadCpuUsage?: () => NodeJS.CpuUsage }} */ (process);
  if (typeof threadCpuUsage === 'function') {
    const usage = threadCpuUsage.call(process);
    return (usage.user + usage.system) / 1000;
  }
  return threadCpuMs(process.pid);
}

/**
 * The CPU time of the backdoor's worker thread (`workerTids`) since `since` (a thread's time
 * then, by tid), in ms; undefined when it cannot be read. A thread that has ended since counts
 * in the process's CPU time only.
 * @param {Map<string, number>} since
 */
function workerCpuMsSince(since) {
  let sum = 0;
  let read = 0;
  for (const [tid, before] of since) {
    const ms = threadCpuMs(tid) - before;
    if (Number.isNaN(ms)) continue;
    sum += ms;
    read++;
  }
  return read > 0 ? sum : undefined;
}

/**
 * What measure-start saw.
 * @type {{ elu: EventLoopUtilization, delay: IntervalHistogram | undefined, at: number, cpu: number, processCpu: NodeJS.CpuUsage, workerCpu: Map<string, number>, backdoor: BackdoorStats | undefined } | undefined}
 */
let measuring;
/** @type {(message: AppReply) => void} */
const send = linkToParent(/** @param {AppRequest} message */ (message) => {
  if (message.cmd === 'measure-start') {
    const delay = message.delayHistogram ? monitorEventLoopDelay({ resolution: 1 }) : undefined;
    delay?.enable();
    measuring = {
      elu: performance.eventLoopUtilization(),
      delay,
      at: performance.now(),
      cpu: mainThreadCpuMs(),
      processCpu: process.cpuUsage(),
      workerCpu: new Map(workerTids.map((tid) => [tid, threadCpuMs(tid)])),
      backdoor: backdoor?.stats(),
    };
    send({ cmd: 'measure-started' });
  } else if (message.cmd === 'measure-stop') {
    if (!measuring) throw new Error('measure-stop before measure-start');
    const elu = performance.eventLoopUtilization(measuring.elu);
    measuring.delay?.disable();
    const stats = backdoor?.stats();
    send({
      cmd: 'measured',
      wallMs: performance.now() - measuring.at,
      elu: elu.utilization,
      activeMs: elu.active,
      mainCpuMs: mainThreadCpuMs() - measuring.cpu,
      processCpuMs: ((usage) => (usage.user + usage.system) / 1000)(process.cpuUsage(measuring.processCpu)),
      delayP99Ms: measuring.delay ? measuring.delay.percentile(99) / 1e6 : undefined,
      backdoorCommands: stats && measuring.backdoor ? stats.commands - measuring.backdoor.commands : undefined,
      backdoorMainMs: stats && measuring.backdoor ? stats.mainThreadMs - measuring.backdoor.mainThreadMs : undefined,
      workerCpuMs: workerCpuMsSince(measuring.workerCpu),
      resources: process.getActiveResourcesInfo(),
    });
  } else if (message.cmd === 'run-in-realm') {
    send({ cmd: 'ran-in-realm', ...runInRealm(message.code, message.runs, message.warmRuns) });
  } else if (message.cmd === 'realm-server') {
    realmServer(message.keep ?? false).then((port) => send({ cmd: 'realm-serving', port }));
  } else if (message.cmd === 'realm-times') {
    send({ cmd: 'realm-timed', ...realmTimes });
    realmTimes = { runMs: [], runAndPrintMs: [], sessionMs: [], keptRunAndPrintMs: [] };
    sessionCountMs = undefined;
  } else if (message.cmd === 'load-modules') {
    loadModules(message.count).then((loaded) => send({ cmd: 'loaded-modules', ...loaded }));
  } else if (message.cmd === 'busy') {
    // In a turn of its own, as the app's own work (a timer): the reply comes after.
    setTimeout(() => send({ cmd: 'was-busy', ...busyFor(message.ms) }), 0);
  } else if (message.cmd === 'await-cost') {
    awaitCost(message.awaits).then((nsPerAwait) => send({ cmd: 'await-costed', nsPerAwait }));
  } else if (message.cmd === 'exit') {
    process.exit(0);
  }
});

/**
 * Runs `code` in this realm, as the app's own code would: `warmRuns` times, then `runs` times
 * timed, alone and followed by printing its value with Node's REPL settings (what a session's
 * command costs the main thread, the backdoor's formatting included). Bounded by `runs`.
 * @param {string} code
 * @param {number} runs
 * @param {number} warmRuns
 */
function runInRealm(code, runs, warmRuns) {
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
 * @returns {Promise<number>} its port
 */
function realmServer(keep) {
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
        if (!script) scripts.set(code, (script = new vm.Script(code)));
        if (!keep) {
          const counted = backdoor?.stats().mainThreadMs;
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
async function loadModules(count) {
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
function busyFor(ms) {
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
function portOf(address) {
  if (!address || typeof address === 'string' || 'path' in address) throw new Error(`not a TCP address: ${JSON.stringify(address)}`);
  return address.port;
}
send({
  cmd: 'ready',
  httpPort: portOf(server.address()),
  replPort: backdoor ? portOf(backdoor.address()) : replServer && portOf(replServer.address()),
  startMs,
  rssAddedMb: (rssAfter - rssBefore) / 2 ** 20,
});

/**
 * The app's own `await`: the median over 5 runs of `awaits` sequential `await null`, in ns per
 * await (what the backdoor's attribution of late errors may add to it, by state).
 * @param {number} awaits
 */
async function awaitCost(awaits) {
  /** @type {number[]} */
  const runs = [];
  for (let run = 0; run < 5; run++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < awaits; i++) await null;
    runs.push(Number(process.hrtime.bigint() - start) / awaits);
  }
  return runs.sort((a, b) => a - b)[2];
}
