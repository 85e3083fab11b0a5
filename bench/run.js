// npm run bench [-- --quick] [-- --json [file]] [-- --rounds N] [-- --duration ms]
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

const here = dirname(fileURLToPath(import.meta.url));
// `--json` alone (last, or before another option) means the default file: parseArgs would
// otherwise take it for a missing value.
const argv = process.argv.slice(2).map((arg, i, all) => (arg === '--json' && (all[i + 1] === undefined || all[i + 1].startsWith('--')) ? '--json=' : arg));
const { values: args } = parseArgs({
  args: argv,
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
  },
  allowPositionals: false,
  strict: true,
});
// `--json` alone means the default file.
const jsonArg = process.argv.includes('--json') ? (args.json || join(here, 'results', 'latest.json')) : undefined;

const settings = args.quick
  ? { rounds: 1, durationMs: 800, warmMs: 200, capacityMs: 800, rttCommands: 300, cpuCommands: 500, idleMs: 500, signalRuns: 3 }
  : { rounds: 5, durationMs: 8000, warmMs: 1000, capacityMs: 3000, rttCommands: 10_000, cpuCommands: 5000, idleMs: 3000, signalRuns: 20 };
if (args.rounds) settings.rounds = Number(args.rounds);
if (args.duration) settings.durationMs = Number(args.duration);
Object.assign(settings, { loadShare: 0.45, connections: 10, mainThreadBudget: 0.1, evalTimeoutMs: 2000 });

const TRIVIAL = '1+1';
const HEAVY = "Array.from({ length: 2000 }, (_, i) => ({ id: i, name: 'item ' + i, tags: ['a', 'b'], at: new Date(0) }))";

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

/** A forked helper process, asked things over IPC; stopped by its pid when done. */
class Child {
  static all = new Set();

  constructor(script, argv = []) {
    this.process = fork(join(here, script), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.waiters = [];
    this.process.on('message', (message) => {
      const index = this.waiters.findIndex((w) => w.cmd === message.cmd);
      if (index !== -1) this.waiters.splice(index, 1)[0].resolve(message);
    });
    this.exited = new Promise((resolve) => this.process.once('exit', resolve));
    Child.all.add(this);
  }

  /** Waits for a message `cmd`, after sending `message` if given. */
  ask(message, cmd, timeoutMs = 120_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd} from pid ${this.process.pid} timed out`)), timeoutMs);
      this.waiters.push({ cmd, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      if (message) this.process.send(message);
    });
  }

  async stop() {
    if (this.process.exitCode === null) process.kill(this.process.pid, 'SIGTERM');
    await this.exited;
    Child.all.delete(this);
  }
}
process.on('exit', () => {
  for (const child of Child.all) if (child.process.exitCode === null) process.kill(child.process.pid, 'SIGKILL');
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (text) => process.stderr.write(`${text}\n`);

async function startApp(mode, options = {}) {
  const app = new Child('app.js', [mode, JSON.stringify(options)]);
  const ready = await app.ask(undefined, 'ready');
  return Object.assign(app, { ready });
}

// Defaults, but for room for the 32-session scenario and no audit lines in the bench's output.
const backdoorOptions = { mainThreadBudget: settings.mainThreadBudget, evalTimeoutMs: settings.evalTimeoutMs, maxSessions: 64, audit: false };

async function runScenario(scenario, rate, load, clients) {
  const app = await startApp(scenario.app, backdoorOptions);
  try {
    if (scenario.sessions) {
      await clients.ask({ cmd: 'start', port: app.ready.replPort, count: scenario.sessions, command: scenario.command }, 'started');
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

async function micro(clients) {
  const figures = {};
  // Round trips of 1+1 as the client sees them, back to back (no budget, so that pacing does
  // not count), with and without the timeout guard; then at a person's pace with the defaults.
  const rtt = async (key, options, n, gapMs = 0) => {
    const app = await startApp('backdoor', options);
    const { result } = await clients.ask({ cmd: 'count', port: app.ready.replPort, command: TRIVIAL, n, gapMs }, 'counted', 600_000);
    figures[key] = { commands: result.commands, p50Us: result.rttP50Us, p99Us: result.rttP99Us, ...options, gapMs };
    await app.stop();
  };
  await rtt('rttGuardOn', { ...backdoorOptions, mainThreadBudget: 1 }, settings.rttCommands);
  await rtt('rttGuardOff', { ...backdoorOptions, mainThreadBudget: 1, evalTimeoutMs: 0 }, settings.rttCommands);
  await rtt('rttInteractive', backdoorOptions, Math.min(settings.rttCommands, 2000), 20);
  // Main-thread CPU per trivial command, with and without the timeout guard: all of the main
  // thread's active time (event-loop utilisation) while an otherwise idle app runs them.
  for (const [key, evalTimeoutMs] of [['cpuGuardOn', settings.evalTimeoutMs], ['cpuGuardOff', 0]]) {
    const app = await startApp('backdoor', { ...backdoorOptions, mainThreadBudget: 1, evalTimeoutMs });
    await app.ask({ cmd: 'measure-start' }, 'measure-started');
    await clients.ask({ cmd: 'count', port: app.ready.replPort, command: TRIVIAL, n: settings.cpuCommands }, 'counted', 600_000);
    const measured = await app.ask({ cmd: 'measure-stop' }, 'measured');
    figures[key] = {
      evalTimeoutMs,
      cpuUsPerCommand: (measured.mainCpuMs * 1000) / measured.backdoorCommands,
      evaluatorUsPerCommand: (measured.backdoorMainMs * 1000) / measured.backdoorCommands,
    };
    await app.stop();
  }
  // Idle: the main thread's active time with a started backdoor and an open idle session,
  // against the app alone, over the same time.
  for (const [key, mode] of [['idleAppAlone', 'none'], ['idleBackdoor', 'backdoor']]) {
    const app = await startApp(mode, backdoorOptions);
    if (mode === 'backdoor') await clients.ask({ cmd: 'start', port: app.ready.replPort, count: 1, command: null }, 'started');
    await sleep(300);
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
    const discovery = discoveryPath(app.process.pid);
    const times = [];
    for (let i = 0; i < settings.signalRuns; i++) {
      const start = performance.now();
      process.kill(app.process.pid, 'SIGUSR1');
      let address;
      while (!(address = readJsonFile(discovery)?.address)) await sleep(1);
      await new Promise((resolve, reject) => {
        const socket = net.connect(address.port, address.host);
        socket.on('data', (chunk) => {
          if (String(chunk).endsWith('> ')) {
            socket.destroy();
            resolve();
          }
        });
        socket.on('error', reject);
      });
      times.push(performance.now() - start);
      process.kill(app.process.pid, 'SIGUSR2');
      while (readJsonFile(discovery)) await sleep(1);
      await sleep(50);
    }
    figures.signalToPrompt = { runs: times.length, medianMs: median(times), maxMs: Math.max(...times) };
    await app.stop();
  }
  return figures;
}

function readJsonFile(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** A small deterministic random generator (mulberry32). */
function seeded(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

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
  const load = new Child('load.js');
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
    const rate = Math.round(capacity.rate * settings.loadShare);
    console.log(
      `settings: ${settings.rounds} round(s) x ${settings.durationMs / 1000} s per scenario; HTTP open loop at ${rate} req/s, ` +
        `${Math.round(settings.loadShare * 100)}% of the app's capacity (${Math.round(capacity.rate)} req/s: ${Math.round(capacity.cpuPerRequestUs)} us of main-thread CPU per request), ` +
        `${settings.connections} connections; backdoor defaults (mainThreadBudget ${settings.mainThreadBudget}, evalTimeoutMs ${settings.evalTimeoutMs})`,
    );

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

function summarize(info, settings, capacity, rate, runs, microFigures) {
  const baseline = runs[0];
  const rows = scenarios.map((scenario, i) => {
    const rounds = runs[i].map((run, r) => {
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
    const pick = (f) => median(rounds.map(f).filter((v) => v !== undefined && !Number.isNaN(v)));
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

function print(report) {
  const f = (v, digits = 2) => (v === undefined || v === null || Number.isNaN(v) ? '' : Number(v).toFixed(digits));
  console.log('\n| scenario | HTTP p50 ms | p90 ms | p99 ms | p99.9 ms | req/s | p99 vs baseline | main ELU | loop delay p99 ms | commands/s | RTT p50 / p99 ms | CPU per command us, main / other threads | main-thread share |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of report.scenarios) {
    const ratio = `${f(row.p99Ratio)}x (${f(row.p99RatioMin)}-${f(row.p99RatioMax)})`;
    const rtt = row.rttP50Ms === undefined ? '' : `${f(row.rttP50Ms, 3)} / ${f(row.rttP99Ms, 2)}`;
    const share = row.mainThreadShare === undefined ? '' : `${f(row.mainThreadShare, 3)}${row.backdoorReportedShare === undefined ? '' : ` (own ${f(row.backdoorReportedShare, 3)})`}`;
    console.log(`| ${row.scenario} | ${f(row.http.p50Ms, 3)} | ${f(row.http.p90Ms, 3)} | ${f(row.http.p99Ms)} | ${f(row.http.p999Ms)} | ${Math.round(row.http.achievedRate)} | ${ratio} | ${f(row.elu, 3)} | ${f(row.eventLoopDelayP99Ms)} | ${Math.round(row.commandsPerSecond) || ''} | ${rtt} | ${row.mainCpuPerCommandUs === undefined ? '' : `${f(row.mainCpuPerCommandUs, 0)} / ${f(row.otherCpuPerCommandUs, 0)}`} | ${share} |`);
  }
  const m = report.micro;
  console.log('\n| micro figure | value |');
  console.log('| --- | --- |');
  const rttRow = (label, r) => console.log(`| round trip of 1+1, ${label} (${r.commands} commands) | p50 ${f(r.p50Us / 1000, 3)} ms, p99 ${f(r.p99Us / 1000, 3)} ms |`);
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
