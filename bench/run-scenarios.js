// @ts-check
// bench/run.js's scenarios, and what runs one: an app of its own under the HTTP load (or idle),
// its REPL clients, its measured window; and what a scenario is compared with.
import { placeFreely, placeUnderLoad } from './affinity.js';
import { replPort, required, sleep, startApp as startAppSettled } from './child.js';
import { backdoorOptions, pauses, settings } from './run-settings.js';
/** @import { Clients, Load } from './child.js' */
/** @import { AppMode, AppOptions } from './messages/app.ts' */
/** @import { Reference, Scenario, ScenarioRun } from './messages/report.ts' */

export const TRIVIAL = '1+1';
export const HEAVY = "Array.from({ length: 2000 }, (_, i) => ({ id: i, name: 'item ' + i, tags: ['a', 'b'], at: new Date(0) }))";

/** @type {Scenario[]} */
export const scenarios = [
  // First: the others are compared with it, round by round.
  { name: 'baseline (app alone)', app: 'none' },
  { name: 'backdoor, no session', app: 'backdoor' },
  { name: 'backdoor, idle session', app: 'backdoor', sessions: 1, command: null },
  { name: 'backdoor, 1+1 flood', app: 'backdoor', sessions: 1, command: TRIVIAL },
  { name: 'backdoor, heavy flood', app: 'backdoor', sessions: 1, command: HEAVY },
  { name: 'backdoor, 32 sessions 1+1', app: 'backdoor', sessions: 32, command: TRIVIAL },
  // Profiling the main thread all along, from the worker: one `.profile 5` after another.
  { name: 'backdoor, .profile running', app: 'backdoor', sessions: 1, command: '.profile 5' },
  { name: 'node repl, 1+1 flood', app: 'repl', sessions: 1, command: TRIVIAL },
  { name: 'node repl, heavy flood', app: 'repl', sessions: 1, command: HEAVY },
  { name: 'idle app, 1+1 flood', app: 'backdoor', sessions: 1, command: TRIVIAL, idle: true },
  { name: 'idle app, node repl 1+1 flood', app: 'repl', sessions: 1, command: TRIVIAL, idle: true },
];

/**
 * Forks an app and waits until it serves.
 * @param {AppMode} mode
 * @param {AppOptions} options
 */
export const startApp = (mode, options = {}) => startAppSettled(mode, options, pauses.appSettleMs);

/**
 * One scenario, in an app of its own.
 * @param {Scenario} scenario
 * @param {number} rate
 * @param {Load} load
 * @param {Clients} clients
 * @returns {Promise<ScenarioRun>}
 */
export async function runScenario(scenario, rate, load, clients) {
  const app = await startApp(scenario.app, backdoorOptions);
  try {
    if (scenario.idle) placeFreely([clients.pid]);
    else placeUnderLoad(app.pid, [load.pid, clients.pid]);
    if (scenario.sessions) {
      await clients.ask({ cmd: 'start', port: replPort(app), count: scenario.sessions, command: scenario.command }, 'started');
    }
    // Warm up under the same load: a fresh process's first seconds are JIT compilation and the
    // young generation growing, and would otherwise dominate the tail (p99 in 1 s windows from
    // the start, app alone, pinned, four apps: 6.6-17 ms, then 0.6-2.0 ms, then mostly under
    // 1 ms). An idle app warms up its sessions alone, as long: V8 compiles their code meanwhile.
    const httpRun = { cmd: /** @type {const} */ ('run'), port: app.ready.httpPort, rate, connections: settings.connections };
    if (scenario.idle) await sleep(settings.warmMs);
    else await load.ask({ ...httpRun, durationMs: settings.warmMs }, 'result');
    if (scenario.sessions) await clients.ask({ cmd: 'reset' }, 'reset-done');
    await app.ask({ cmd: 'measure-start', delayHistogram: true }, 'measure-started');
    /** @type {ScenarioRun['http']} */
    let http;
    if (scenario.idle) await sleep(settings.durationMs);
    else http = (await load.ask({ ...httpRun, durationMs: settings.durationMs }, 'result')).result;
    const measured = await app.ask({ cmd: 'measure-stop' }, 'measured');
    const { result: repl } = scenario.sessions ? await clients.ask({ cmd: 'stop' }, 'stopped') : { result: undefined };
    const commands = measured.backdoorCommands ?? repl?.commands;
    return {
      http,
      elu: measured.elu,
      activeMs: measured.activeMs,
      mainCpuMs: measured.mainCpuMs,
      otherThreadsCpuMs: measured.processCpuMs - measured.mainCpuMs,
      wallMs: measured.wallMs,
      eventLoopDelayP99Ms: measured.delayP99Ms,
      commands: commands ?? 0,
      commandsPerSecond: commands ? (commands / measured.wallMs) * 1000 : 0,
      rttP50Us: repl?.rttP50Us,
      rttP99Us: repl?.rttP99Us,
      backdoorMainMs: measured.backdoorMainMs,
      workerCpuMs: measured.workerCpuMs,
      startMs: app.ready.startMs,
      rssAddedMb: app.ready.rssAddedMb,
    };
  } finally {
    await app.stop();
  }
}

/**
 * The mean of two baseline windows.
 * @param {ScenarioRun | undefined} a
 * @param {ScenarioRun | undefined} b
 * @returns {Reference}
 */
export function between(a, b) {
  const [first, second] = [required(a, 'a baseline window'), required(b, 'a baseline window')];
  const mean = (/** @type {(run: ScenarioRun) => number} */ f) => (f(first) + f(second)) / 2;
  return {
    p99Us: mean((run) => required(run.http, 'a baseline without HTTP load').p99Us),
    mainCpuMs: mean((run) => run.mainCpuMs),
    otherThreadsCpuMs: mean((run) => run.otherThreadsCpuMs),
    wallMs: mean((run) => run.wallMs),
  };
}

/**
 * A small deterministic random generator (mulberry32).
 * @param {number} seed
 */
export function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
