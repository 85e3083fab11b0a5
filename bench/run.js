// @ts-check
// npm run bench [-- --quick | --smoke] [-- --json [file]] [-- --rounds N] [-- --duration ms]
//
// --quick is a short run whose figures are rough; --smoke the shortest that still writes every
// figure, row and chart (what test/bench.ts runs), whose figures mean nothing.
//
// What the backdoor costs an app's request latency, side by side with Node's own REPL served
// on the main thread: an HTTP app in its own process under an open-loop load (bench/load.js)
// at ~45% of its measured capacity, while REPL clients (bench/sessions.js) use it. Scenarios
// are interleaved in rounds, and each is compared with the baseline of its own round.
import { fork } from 'node:child_process';
import { discoveryPath } from '../dist/common/discovery.js';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.js';
import { median } from './stats.js';
/** @import { Discovered } from '../dist/common/discovery.js' */
/**
 * @import { AppMode, AppOptions, AppReady, AppReply, AppRequest, BenchBackdoorOptions, LoadReply, LoadRequest, Machine,
 *   Message, MicroFigures, Profile, Report, ScenarioRound, ScenarioRow, ScenarioRun, SessionsReply, SessionsRequest, Settings } from './messages.ts'
 */

const here = dirname(fileURLToPath(import.meta.url));
// `--json` alone (last, or before another option) means the default file: parseArgs would
// otherwise take it for a missing value.
const argv = process.argv.slice(2).map((arg, i, all) => (arg === '--json' && (all[i + 1] === undefined || all[i + 1].startsWith('--')) ? '--json=' : arg));
const { values: args } = parseArgs({
  args: argv,
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    json: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
  },
  allowPositionals: false,
  strict: true,
});
// `--json` alone means the default file.
const jsonArg = process.argv.includes('--json') ? (args.json || join(here, 'results', 'latest.json')) : undefined;

/** @type {Profile} */
const profile = args.smoke
  ? { rounds: 1, durationMs: 300, warmMs: 100, capacityMs: 300, rttCommands: 20, cpuCommands: 20, idleMs: 100, signalRuns: 3 }
  : args.quick
    ? { rounds: 1, durationMs: 800, warmMs: 200, capacityMs: 800, rttCommands: 300, cpuCommands: 500, idleMs: 500, signalRuns: 3 }
    : { rounds: 5, durationMs: 8000, warmMs: 1000, capacityMs: 3000, rttCommands: 10_000, cpuCommands: 5000, idleMs: 3000, signalRuns: 20 };
if (args.rounds) profile.rounds = positive('--rounds', args.rounds);
if (args.duration) profile.durationMs = positive('--duration', args.duration);
/** @type {Settings} */
const settings = { ...profile, loadShare: 0.45, connections: 10, mainThreadBudget: 0.1, evalTimeoutMs: 2000 };
// Pauses for things to settle, not in the report: after an app has started its backdoor or
// REPL, before it says it is ready (and measures the RSS they added); before an idle app is
// measured.
const pauses = args.smoke ? { appSettleMs: 20, idleSettleMs: 50 } : { appSettleMs: 200, idleSettleMs: 300 };

/**
 * A command-line number that must be a positive integer.
 * @param {string} option
 * @param {string} text
 */
function positive(option, text) {
  const value = Number(text);
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${option} must be a positive integer, not ${JSON.stringify(text)}`);
  return value;
}

const TRIVIAL = '1+1';
const HEAVY = "Array.from({ length: 2000 }, (_, i) => ({ id: i, name: 'item ' + i, tags: ['a', 'b'], at: new Date(0) }))";

/**
 * What runs beside the app under load: in an app of kind `app`, `sessions` REPL clients that
 * each send `command` back to back, or stay idle when it is null.
 * @typedef {{ name: string, app: AppMode, sessions?: undefined, command?: undefined }
 *   | { name: string, app: AppMode, sessions: number, command: string | null }} Scenario
 */

/** @type {Scenario[]} */
const scenarios = [
  { name: 'baseline (app alone)', app: 'none' },
  { name: 'backdoor, no session', app: 'backdoor' },
  { name: 'backdoor, idle session', app: 'backdoor', sessions: 1, command: null },
  { name: 'backdoor, 1+1 flood', app: 'backdoor', sessions: 1, command: TRIVIAL },
  { name: 'backdoor, heavy flood', app: 'backdoor', sessions: 1, command: HEAVY },
  { name: 'backdoor, 32 sessions 1+1', app: 'backdoor', sessions: 32, command: TRIVIAL },
  { name: 'node repl, 1+1 flood', app: 'repl', sessions: 1, command: TRIVIAL },
  { name: 'node repl, heavy flood', app: 'repl', sessions: 1, command: HEAVY },
];

/**
 * A forked helper process, asked things over IPC (`Request`s, answered by `Reply`s); stopped by
 * its pid when done. A question fails when the helper exits first.
 * @template {Message} Request
 * @template {Message} Reply
 */
class Child {
  /** @type {Set<Child<any, any>>} */
  static all = new Set();

  /**
   * @param {string} script
   * @param {string[]} argv
   */
  constructor(script, argv = []) {
    this.process = fork(join(here, script), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    /** @type {number} */
    this.pid = required(this.process.pid, `the pid of ${script}`);
    /** @type {{ cmd: string, resolve: (message: Reply) => void, reject: (error: Error) => void }[]} */
    this.waiters = [];
    this.process.on('message', (raw) => {
      const message = /** @type {Reply} */ (raw);
      const index = this.waiters.findIndex((w) => w.cmd === message.cmd);
      if (index !== -1) this.waiters.splice(index, 1)[0].resolve(message);
    });
    /** @type {Promise<void>} */
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`${script} (pid ${this.pid}) exited (${signal ?? code}) before its ${waiter.cmd}`));
        resolve();
      }),
    );
    Child.all.add(this);
  }

  /**
   * Waits for a message `cmd`, after sending `message` if given.
   * @template {Reply['cmd']} C
   * @param {Request | undefined} message
   * @param {C} cmd
   * @returns {Promise<Extract<Reply, { cmd: C }>>}
   */
  ask(message, cmd, timeoutMs = 120_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd} from pid ${this.pid} timed out`)), timeoutMs);
      this.waiters.push({
        cmd,
        resolve: (m) => { clearTimeout(timer); resolve(/** @type {Extract<Reply, { cmd: C }>} */ (m)); },
        reject: (error) => { clearTimeout(timer); reject(error); },
      });
      if (message) this.process.send(message);
    });
  }

  async stop() {
    if (this.process.exitCode === null) process.kill(this.pid, 'SIGTERM');
    await this.exited;
    Child.all.delete(this);
  }
}
process.on('exit', () => {
  for (const child of Child.all) if (child.process.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

/** @typedef {Child<AppRequest, AppReply> & { ready: AppReady }} App */
/** @typedef {Child<LoadRequest, LoadReply>} Load */
/** @typedef {Child<SessionsRequest, SessionsReply>} Clients */

const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (/** @type {string} */ text) => process.stderr.write(`${text}\n`);

/**
 * `value`, which the bench cannot do without.
 * @template T
 * @param {T | undefined} value
 * @param {string} what
 * @returns {T}
 */
function required(value, what) {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
}

/**
 * Forks an app and waits until it serves.
 * @param {AppMode} mode
 * @param {AppOptions} options
 * @returns {Promise<App>}
 */
async function startApp(mode, options = {}) {
  /** @type {Child<AppRequest, AppReply>} */
  const app = new Child('app.js', [mode, JSON.stringify(options), String(pauses.appSettleMs)]);
  const ready = await app.ask(undefined, 'ready');
  return Object.assign(app, { ready });
}

/**
 * The port of the app's REPL (the backdoor's, or Node's).
 * @param {App} app
 */
const replPort = (app) => required(app.ready.replPort, `the REPL port of an app (pid ${app.pid})`);

// Defaults, but for room for the 32-session scenario and no audit lines in the bench's output.
/** @type {BenchBackdoorOptions} */
const backdoorOptions = { mainThreadBudget: settings.mainThreadBudget, evalTimeoutMs: settings.evalTimeoutMs, maxSessions: 64, audit: false };

/**
 * One scenario, in an app of its own.
 * @param {Scenario} scenario
 * @param {number} rate
 * @param {Load} load
 * @param {Clients} clients
 * @returns {Promise<ScenarioRun>}
 */
async function runScenario(scenario, rate, load, clients) {
  const app = await startApp(scenario.app, backdoorOptions);
  try {
    if (scenario.sessions) {
      await clients.ask({ cmd: 'start', port: replPort(app), count: scenario.sessions, command: scenario.command }, 'started');
    }
    // Warm up under the same load: a fresh process's first second is JIT compilation, and its
    // backlog would otherwise dominate the tail.
    await load.ask({ cmd: 'run', port: app.ready.httpPort, rate, connections: settings.connections, durationMs: settings.warmMs }, 'result');
    if (scenario.sessions) await clients.ask({ cmd: 'reset' }, 'reset-done');
    await app.ask({ cmd: 'measure-start', delayHistogram: true }, 'measure-started');
    const { result: http } = await load.ask({ cmd: 'run', port: app.ready.httpPort, rate, connections: settings.connections, durationMs: settings.durationMs }, 'result');
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
      startMs: app.ready.startMs,
      rssAddedMb: app.ready.rssAddedMb,
    };
  } finally {
    await app.stop();
  }
}

/**
 * The figures of the micro table.
 * @param {Clients} clients
 * @returns {Promise<MicroFigures>}
 */
async function micro(clients) {
  /** @type {Partial<MicroFigures>} */
  const figures = {};
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
  // Main-thread CPU per trivial command, with and without the timeout guard: all of the main
  // thread's active time (event-loop utilisation) while an otherwise idle app runs them.
  for (const [key, evalTimeoutMs] of /** @type {const} */ ([['cpuGuardOn', settings.evalTimeoutMs], ['cpuGuardOff', 0]])) {
    const app = await startApp('backdoor', { ...backdoorOptions, mainThreadBudget: 1, evalTimeoutMs });
    await app.ask({ cmd: 'measure-start' }, 'measure-started');
    await clients.ask({ cmd: 'count', port: replPort(app), command: TRIVIAL, n: settings.cpuCommands }, 'counted', 600_000);
    const measured = await app.ask({ cmd: 'measure-stop' }, 'measured');
    const commands = required(measured.backdoorCommands, 'the commands a backdoor ran');
    figures[key] = {
      evalTimeoutMs,
      cpuUsPerCommand: (measured.mainCpuMs * 1000) / commands,
      evaluatorUsPerCommand: (required(measured.backdoorMainMs, "a backdoor's main-thread time") * 1000) / commands,
    };
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
  const { rttGuardOn, rttGuardOff, rttInteractive, cpuGuardOn, cpuGuardOff, idleAppAlone, idleBackdoor, signalToPrompt } = figures;
  if (!(rttGuardOn && rttGuardOff && rttInteractive && cpuGuardOn && cpuGuardOff && idleAppAlone && idleBackdoor && signalToPrompt)) throw new Error('a micro figure is missing');
  // In the order they were measured, as before.
  return { rttGuardOn, rttGuardOff, rttInteractive, cpuGuardOn, cpuGuardOff, idleAppAlone, idleBackdoor, signalToPrompt };
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

/**
 * A small deterministic random generator (mulberry32).
 * @param {number} seed
 */
function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** @returns {Machine} */
function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    date: new Date().toISOString(),
  };
}

async function main() {
  const info = machine();
  console.log(`backdoor bench: Node ${info.node}, ${info.platform}, ${info.cpu}, ${info.cores} cores, ${info.memoryGb} GB`);
  /** @type {Load} */
  const load = new Child('load.js');
  /** @type {Clients} */
  const clients = new Child('sessions.js');
  try {
    // The app's capacity: what its main thread could serve with a core to itself, from its CPU
    // time per request at a light load. (A closed-loop run would measure the 2-core machine
    // instead: the load generator runs out of CPU alongside the app.)
    const app = await startApp('none');
    const probeRate = 1000;
    await load.ask({ cmd: 'run', port: app.ready.httpPort, rate: probeRate, connections: settings.connections, durationMs: settings.warmMs }, 'result');
    await app.ask({ cmd: 'measure-start' }, 'measure-started');
    const { result: probe } = await load.ask({ cmd: 'run', port: app.ready.httpPort, rate: probeRate, connections: settings.connections, durationMs: settings.capacityMs }, 'result');
    const probed = await app.ask({ cmd: 'measure-stop' }, 'measured');
    await app.stop();
    const cpuPerRequestMs = probed.mainCpuMs / probe.completed;
    const capacity = { rate: 1000 / cpuPerRequestMs, cpuPerRequestUs: cpuPerRequestMs * 1000 };
    // The load below is a number of requests in proportion: a finite one.
    if (!(capacity.rate > 0 && Number.isFinite(capacity.rate))) {
      throw new Error(`no capacity from ${probe.completed} requests in ${probed.mainCpuMs} ms of main-thread CPU`);
    }
    const rate = Math.round(capacity.rate * settings.loadShare);
    console.log(
      `settings: ${settings.rounds} round(s) x ${settings.durationMs / 1000} s per scenario; HTTP open loop at ${rate} req/s, ` +
        `${Math.round(settings.loadShare * 100)}% of the app's capacity (${Math.round(capacity.rate)} req/s: ${Math.round(capacity.cpuPerRequestUs)} us of main-thread CPU per request), ` +
        `${settings.connections} connections; backdoor defaults (mainThreadBudget ${settings.mainThreadBudget}, evalTimeoutMs ${settings.evalTimeoutMs})`,
    );

    /** @type {ScenarioRun[][]} */
    const runs = scenarios.map(() => []);
    const random = seeded(20261125);
    for (let r = 0; r < settings.rounds; r++) {
      // A different order each round (the same from run to run), so that a drift of the machine
      // within a round does not always favour the same scenarios.
      const order = scenarios.map((_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const i of order) {
        const scenario = scenarios[i];
        const result = await runScenario(scenario, rate, load, clients);
        runs[i].push(result);
        progress(`round ${r + 1}/${settings.rounds}  ${scenario.name.padEnd(28)} p99 ${(result.http.p99Us / 1000).toFixed(2)} ms  ${Math.round(result.commandsPerSecond)} cmd/s`);
      }
    }
    progress('micro figures...');
    const microFigures = await micro(clients);
    const report = summarize(info, settings, capacity, rate, runs, microFigures);
    print(report);
    const chart = renderChart(report);
    if (jsonArg) {
      mkdirSync(dirname(jsonArg), { recursive: true });
      writeFileSync(jsonArg, `${JSON.stringify(report, null, 2)}\n`);
      const svg = jsonArg.replace(/\.json$/, '') + '.svg';
      writeFileSync(svg, chart);
      console.log(`\nwrote ${jsonArg} and ${svg}`);
    }
  } finally {
    await Promise.all([load.stop(), clients.stop()]);
  }
}

/**
 * The report: each scenario's rounds against the baseline's, and their medians.
 * @param {Machine} info
 * @param {Settings} settings
 * @param {{ rate: number, cpuPerRequestUs: number }} capacity
 * @param {number} rate
 * @param {ScenarioRun[][]} runs
 * @param {MicroFigures} microFigures
 * @returns {Report}
 */
function summarize(info, settings, capacity, rate, runs, microFigures) {
  const baseline = runs[0];
  const rows = scenarios.map(/** @returns {ScenarioRow} */ (scenario, i) => {
    const rounds = runs[i].map(/** @returns {ScenarioRound} */ (run, r) => {
      const base = baseline[r];
      const scale = run.wallMs / base.wallMs;
      const extraCpuMs = run.mainCpuMs - base.mainCpuMs * scale;
      const extraOtherMs = run.otherThreadsCpuMs - base.otherThreadsCpuMs * scale;
      return {
        ...run,
        p99Ratio: run.http.p99Us / base.http.p99Us,
        // What the commands cost the main thread beyond serving HTTP: its CPU time above the
        // baseline's, per command, and as a share of the wall time.
        mainCpuPerCommandUs: run.commands ? (extraCpuMs * 1000) / run.commands : undefined,
        // ...and the app's other threads (the backdoor's worker, for the backdoor): the CPU it
        // takes from a small machine's other core.
        otherCpuPerCommandUs: run.commands ? (extraOtherMs * 1000) / run.commands : undefined,
        mainThreadShare: scenario.sessions && scenario.command ? extraCpuMs / run.wallMs : undefined,
        backdoorReportedShare: run.backdoorMainMs !== undefined && scenario.command ? run.backdoorMainMs / run.wallMs : undefined,
      };
    });
    const pick = (/** @type {(round: ScenarioRound) => number | undefined} */ f) => median(rounds.map(f).filter((v) => v !== undefined && !Number.isNaN(v)));
    return {
      scenario: scenario.name,
      rounds,
      http: {
        p50Ms: pick((r) => r.http.p50Us / 1000),
        p90Ms: pick((r) => r.http.p90Us / 1000),
        p99Ms: pick((r) => r.http.p99Us / 1000),
        p999Ms: pick((r) => r.http.p999Us / 1000),
        achievedRate: pick((r) => r.http.achievedRate),
      },
      p99Ratio: pick((r) => r.p99Ratio),
      p99RatioMin: Math.min(...rounds.map((r) => r.p99Ratio)),
      p99RatioMax: Math.max(...rounds.map((r) => r.p99Ratio)),
      elu: pick((r) => r.elu),
      eventLoopDelayP99Ms: pick((r) => r.eventLoopDelayP99Ms),
      commandsPerSecond: pick((r) => r.commandsPerSecond),
      rttP50Ms: pick((r) => (r.rttP50Us === undefined ? undefined : r.rttP50Us / 1000)),
      rttP99Ms: pick((r) => (r.rttP99Us === undefined ? undefined : r.rttP99Us / 1000)),
      mainCpuPerCommandUs: pick((r) => r.mainCpuPerCommandUs),
      otherCpuPerCommandUs: pick((r) => r.otherCpuPerCommandUs),
      mainThreadShare: pick((r) => r.mainThreadShare),
      backdoorReportedShare: pick((r) => r.backdoorReportedShare),
    };
  });
  const backdoorRuns = runs.slice(1, 6).flat();
  return {
    machine: info,
    settings: { ...settings, capacity: Math.round(capacity.rate), cpuPerRequestUs: capacity.cpuPerRequestUs, rate },
    scenarios: rows,
    micro: {
      ...microFigures,
      startMs: median(backdoorRuns.map((r) => r.startMs)),
      rssAddedMb: median(backdoorRuns.map((r) => r.rssAddedMb)),
    },
  };
}

/**
 * The two tables, in Markdown.
 * @param {Report} report
 */
function print(report) {
  const f = (/** @type {number | undefined | null} */ v, digits = 2) => (v === undefined || v === null || Number.isNaN(v) ? '' : Number(v).toFixed(digits));
  console.log('\n| scenario | HTTP p50 ms | p90 ms | p99 ms | p99.9 ms | req/s | p99 vs baseline | main ELU | loop delay p99 ms | commands/s | RTT p50 / p99 ms | CPU per command us, main / other threads | main-thread share |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of report.scenarios) {
    const ratio = `${f(row.p99Ratio)}x (${f(row.p99RatioMin)}-${f(row.p99RatioMax)})`;
    const rtt = row.rttP50Ms === undefined ? '' : `${f(row.rttP50Ms, 3)} / ${f(row.rttP99Ms, 2)}`;
    const share = row.mainThreadShare === undefined ? '' : `${f(row.mainThreadShare, 3)}${row.backdoorReportedShare === undefined ? '' : ` (own ${f(row.backdoorReportedShare, 3)})`}`;
    console.log(`| ${row.scenario} | ${f(row.http.p50Ms, 3)} | ${f(row.http.p90Ms, 3)} | ${f(row.http.p99Ms)} | ${f(row.http.p999Ms)} | ${Math.round(row.http.achievedRate ?? NaN)} | ${ratio} | ${f(row.elu, 3)} | ${f(row.eventLoopDelayP99Ms)} | ${Math.round(row.commandsPerSecond ?? NaN) || ''} | ${rtt} | ${row.mainCpuPerCommandUs === undefined ? '' : `${f(row.mainCpuPerCommandUs, 0)} / ${f(row.otherCpuPerCommandUs, 0)}`} | ${share} |`);
  }
  const m = report.micro;
  console.log('\n| micro figure | value |');
  console.log('| --- | --- |');
  const rttRow = (/** @type {string} */ label, /** @type {import('./messages.ts').RttFigure} */ r) => console.log(`| round trip of 1+1, ${label} (${r.commands} commands) | p50 ${f(r.p50Us / 1000, 3)} ms, p99 ${f(r.p99Us / 1000, 3)} ms |`);
  rttRow(`back to back, timeout guard on (${m.rttGuardOn.evalTimeoutMs} ms), no budget`, m.rttGuardOn);
  rttRow('back to back, timeout guard off, no budget', m.rttGuardOff);
  rttRow(`one every ${m.rttInteractive.gapMs} ms, default options`, m.rttInteractive);
  console.log(`| main-thread CPU per 1+1, timeout guard on (${m.cpuGuardOn.evalTimeoutMs} ms) | ${f(m.cpuGuardOn.cpuUsPerCommand, 0)} us (of which evaluating ${f(m.cpuGuardOn.evaluatorUsPerCommand, 0)} us) |`);
  console.log(`| main-thread CPU per 1+1, timeout guard off | ${f(m.cpuGuardOff.cpuUsPerCommand, 0)} us (of which evaluating ${f(m.cpuGuardOff.evaluatorUsPerCommand, 0)} us) |`);
  console.log(`| startBackdoor() resolves in (median) | ${f(m.startMs, 1)} ms |`);
  console.log(`| from kill -USR1 to a session's first prompt (median of ${m.signalToPrompt.runs}) | ${f(m.signalToPrompt.medianMs, 1)} ms (max ${f(m.signalToPrompt.maxMs, 1)} ms) |`);
  console.log(`| RSS the started backdoor adds (median) | ${f(m.rssAddedMb, 1)} MB |`);
  console.log(`| main thread while idle, backdoor + idle session / app alone | CPU ${f(m.idleBackdoor.cpuMsPerSecond, 2)} / ${f(m.idleAppAlone.cpuMsPerSecond, 2)} ms per s; event loop active ${f(m.idleBackdoor.activeMsPerSecond, 3)} / ${f(m.idleAppAlone.activeMsPerSecond, 3)} ms per s; timers or immediates of the backdoor: ${m.idleBackdoor.timers} |`);
}

await main();
