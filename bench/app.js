// @ts-check
// The app under test, in its own process (forked by bench/run.js, driven over IPC): a small
// HTTP server, with, depending on argv[2],
//   none      nothing else (the baseline)
//   backdoor  a backdoor (options from argv[3] as JSON)
//   signals   signal handlers installed (the backdoor starts on SIGUSR1)
//   repl      the peer: Node's own `repl` served over `net` on the main thread
// and ready argv[4] ms (default 200) after that has started.
import { access } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import repl from 'node:repl';
import { installSignalHandlers, startBackdoor } from '../dist/lib/index.js';
import { backdoorThreads, mainThreadCpuMs, threadCpuMs, threadIds, workerCpuMsSince } from './app-threads.js';
import { awaitCost, busyFor, loadModules, portOf, realmServer, runInRealm, takeRealmTimes } from './app-work.js';
import { linkToParent } from './parent.js';
/** @import { EventLoopUtilization, IntervalHistogram } from 'node:perf_hooks' */
/** @import { Backdoor, BackdoorStats } from '../dist/lib/index.js' */
/** @import { AppMode, AppOptions, AppReply, AppRequest } from './messages/app.ts' */

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

// libuv's thread pool starts with its first use, all of it: first here, so that the only
// thread that appears while the backdoor starts is its worker.
await access('.');
const rssBefore = process.memoryUsage.rss();
/** @type {Backdoor | undefined} */
let backdoor;
/** @type {net.Server | undefined} */
let replServer;
let startMs = 0;
/** The backdoor's worker thread (app-threads.js `backdoorThreads`). @type {string[]} */
let workerTids = [];
if (mode === 'backdoor') {
  const before = new Set(threadIds());
  const start = performance.now();
  backdoor = await startBackdoor({ port: 0, ...options });
  startMs = performance.now() - start;
  workerTids = backdoorThreads(before);
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
 * What measure-start saw.
 * @type {{ elu: EventLoopUtilization, delay: IntervalHistogram | undefined, at: number, cpu: number, processCpu: NodeJS.CpuUsage, workerCpu: Map<string, number>, backdoor: BackdoorStats | undefined } | undefined}
 */
let measuring;
/** @type {(message: AppReply) => void} */
const send = linkToParent(
  /** @param {AppRequest} message */ (message) => {
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
      realmServer(message.keep ?? false, () => backdoor?.stats().mainThreadMs).then((port) => send({ cmd: 'realm-serving', port }));
    } else if (message.cmd === 'realm-times') {
      send({ cmd: 'realm-timed', ...takeRealmTimes() });
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
  },
);

send({
  cmd: 'ready',
  httpPort: portOf(server.address()),
  replPort: backdoor ? portOf(backdoor.address()) : replServer && portOf(replServer.address()),
  startMs,
  rssAddedMb: (rssAfter - rssBefore) / 2 ** 20,
});
