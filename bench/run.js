// @ts-check
// npm run bench [-- --quick | --smoke] [-- --json [file]] [-- --rounds N] [-- --duration ms] [-- --seed N]
//
// --quick is a short run whose figures are rough; --smoke the shortest that still writes every
// figure, row and chart (what test/bench.ts runs), whose figures mean nothing.
//
// What the backdoor costs an app's request latency, side by side with Node's own REPL served
// on the main thread: an HTTP app in its own process under an open-loop load (bench/load.js)
// at ~45% of its measured capacity, while REPL clients (bench/sessions.js) use it, the app's
// main thread on a CPU of its own (bench/affinity.js). Scenarios are interleaved in rounds,
// each between two windows of the baseline and compared with their mean; two run in an idle
// app (no HTTP load), for what the REPLs can do alone. Then the micro figures (bench/micro.js),
// the stall bench (bench/stalls.js: what the app's main thread feels while sessions do costly
// things; also a program of its own, to measure another build), and the report
// (bench/report.js). bench/child.js forks the helpers. The command line and the profiles are
// bench/run-settings.js's, the scenarios and what runs one bench/run-scenarios.js's; what the
// processes say to each other, and the report, are typed in bench/messages/.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { placeFreely, placeUnderLoad } from './affinity.js';
import { renderChart } from './chart.js';
import { Child, required } from './child.js';
import { micro } from './micro.js';
import { print, summarize } from './report.js';
import { between, HEAVY, runScenario, scenarios, seeded, startApp, TRIVIAL } from './run-scenarios.js';
import { backdoorOptions, jsonArg, pauses, profileName, settings } from './run-settings.js';
import { stallProfiles, stalls } from './stalls.js';
import { median } from './stats.js';
/** @import { Clients, Load } from './child.js' */
/** @import { Machine, ScenarioRun } from './messages/report.ts' */

const here = dirname(fileURLToPath(import.meta.url));
const progress = (/** @type {string} */ text) => process.stderr.write(`${text}\n`);

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
    // instead: the load generator runs out of CPU alongside the app.) The median of probes spread
    // over about 20 s, under the same light load between them: this machine's speed changes for
    // tens of seconds at a time (its CPU per request 75-80 us, then 120-220 us), and one probe
    // that fell into a slow spell set a run's load at 2,029 requests/s where the one before had
    // 4,169, so that its "45%" was about a quarter of what the app mostly could serve.
    const app = await startApp('none');
    placeUnderLoad(app.pid, [load.pid]);
    const probeRun = { cmd: /** @type {const} */ ('run'), port: app.ready.httpPort, rate: 1000, connections: settings.connections };
    await load.ask({ ...probeRun, durationMs: settings.warmMs }, 'result');
    /** @type {number[]} */
    const probes = [];
    for (let i = 0; i < settings.capacityProbes; i++) {
      if (i > 0 && settings.capacityGapMs > 0) await load.ask({ ...probeRun, durationMs: settings.capacityGapMs }, 'result');
      await app.ask({ cmd: 'measure-start' }, 'measure-started');
      const { result: probe } = await load.ask({ ...probeRun, durationMs: settings.capacityMs }, 'result');
      const probed = await app.ask({ cmd: 'measure-stop' }, 'measured');
      const cpuPerRequestMs = probed.mainCpuMs / probe.completed;
      // The load below is a number of requests in proportion: a finite one.
      if (!(cpuPerRequestMs > 0 && Number.isFinite(cpuPerRequestMs))) {
        throw new Error(`no capacity from ${probe.completed} requests in ${probed.mainCpuMs} ms of main-thread CPU`);
      }
      probes.push(cpuPerRequestMs * 1000);
    }
    await app.stop();
    const cpuPerRequestUs = required(median(probes), 'a capacity probe');
    const capacity = { rate: 1e6 / cpuPerRequestUs, cpuPerRequestUs, probesUs: probes };
    const rate = Math.round(capacity.rate * settings.loadShare);
    console.log(
      `settings: ${settings.rounds} round(s) x ${settings.durationMs / 1000} s per scenario, in an order from seed ${settings.seed}; HTTP open loop at ${rate} req/s, ` +
        `${Math.round(settings.loadShare * 100)}% of the app's capacity (${Math.round(capacity.rate)} req/s: ${Math.round(capacity.cpuPerRequestUs)} us of main-thread CPU per request, median of ${probes.length} probe(s): ${probes.map((us) => Math.round(us)).join(', ')} us), ` +
        `${settings.connections} connections; backdoor defaults (mainThreadBudget ${settings.mainThreadBudget}, evalTimeoutMs ${settings.evalTimeoutMs}); ${settings.affinity}`,
    );

    /** @type {ScenarioRun[][]} */
    const runs = scenarios.map(() => []);
    const random = seeded(settings.seed);
    const run = async (/** @type {number} */ i, /** @type {number} */ r) => {
      const scenario = scenarios[i];
      const result = await runScenario(scenario, rate, load, clients);
      runs[i].push(result);
      const p99 = result.http ? `p99 ${(result.http.p99Us / 1000).toFixed(2)} ms` : 'no HTTP load';
      progress(`round ${r + 1}/${settings.rounds}  ${scenario.name.padEnd(30)} ${p99.padEnd(15)} ${Math.round(result.commandsPerSecond)} cmd/s`);
      return result;
    };
    for (let r = 0; r < settings.rounds; r++) {
      // A different order each round (the same from run to run), so that a drift of the machine
      // within a round does not always favour the same scenarios.
      const order = scenarios.map((_, i) => i).slice(1);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      // Each scenario under the load runs between two baseline windows, and is compared with
      // their mean: this machine's speed drifts for tens of seconds at a time (the app's CPU
      // per request, alone, went from 78 to 130 us for a minute), and a baseline a round away
      // (90 s) was as often in the other state as in the same one.
      const baselines = [await run(0, r)];
      for (const i of order.filter((i) => !scenarios[i].idle)) {
        const result = await run(i, r);
        baselines.push(await run(0, r));
        result.reference = between(baselines.at(-2), baselines.at(-1));
      }
      // And each baseline window but the first and last against the two baseline windows around
      // it: what a scenario that changes nothing reads on this machine (the noise).
      for (let j = 1; j < baselines.length - 1; j++) baselines[j].reference = between(baselines[j - 1], baselines[j + 1]);
      for (const i of order.filter((i) => scenarios[i].idle)) await run(i, r);
    }
    progress('micro figures...');
    placeFreely([clients.pid]);
    const microFigures = await micro({ clients, settings, pauses, backdoorOptions, commands: { trivial: TRIVIAL, heavy: HEAVY } });
    progress('stall figures...');
    const stallFigures = await stalls({ dist: join(here, '..', 'dist'), profile: stallProfiles[profileName], progress });
    const report = summarize(info, settings, capacity, rate, scenarios, runs, microFigures, stallFigures);
    print(report);
    const chart = renderChart(report);
    if (jsonArg) {
      mkdirSync(dirname(jsonArg), { recursive: true });
      writeFileSync(jsonArg, `${JSON.stringify(report, null, 2)}\n`);
      const svg = `${jsonArg.replace(/\.json$/, '')}.svg`;
      writeFileSync(svg, chart);
      console.log(`\nwrote ${jsonArg} and ${svg}`);
    }
  } finally {
    await Promise.all([load.stop(), clients.stop()]);
  }
}

// What the apps write to their temporary directory (the profiles of `.profile`) is removed
// with it at the end.
const temporary = mkdtempSync(join(os.tmpdir(), 'backdoor-bench-'));
process.env.TMPDIR = temporary;
try {
  await main();
} finally {
  rmSync(temporary, { recursive: true, force: true });
}
