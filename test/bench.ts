// The bench suite runs and writes every figure: a smoke run (`--smoke`, the shortest profile
// that still produces every field, row and chart), never a timing check.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';

const run = promisify(execFile);

t.test('npm run bench -- --smoke --json: the table, the JSON with every field, the chart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'backdoor-bench-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const json = join(dir, 'bench.json');
  const script = new URL('../bench/run.js', import.meta.url).pathname;
  // About a minute alone (the stall bench's 15 s of it); up to 2 minutes beside other test files
  // and a busy machine. Within tap's timeout (240 s), so that a stuck run is stopped here rather
  // than left behind.
  const { stdout } = await run(process.execPath, [script, '--smoke', '--seed', '12345', '--json', json], { timeout: 200_000 });
  t.match(stdout, /^backdoor bench: Node v\d+/);
  // The scenarios' order comes from the seed given (a fresh one per run without it).
  t.match(stdout, /in an order from seed 12345;/);
  t.match(stdout, /\| node repl, heavy flood \|/);
  t.match(stdout, /\| idle app, node repl 1\+1 flood \|/);
  t.match(stdout, /\| round trip of 1\+1/);
  t.match(stdout, /\| load generator send lateness p50 \/ p99/);
  t.match(stdout, /\| CPU per 1\+1 off the main thread, timeout guard on .*\| worker /);
  t.match(stdout, /\| idle app: backdoor 1\+1 commands\/s vs Node's REPL \|/);
  t.match(stdout, /\| runaway loop, then 1\+1, idle app/);
  t.match(stdout, /\| heavy command, main-thread time: session vs app realm/);
  t.match(stdout, /\| \.stack, main thread busy in the app's code, \d+ modules of the app's loaded .*\| main thread held -?[\d.]+ ms /);
  t.match(stdout, /\| backdoor, \.profile running \|/);
  // The stall bench's table (bench/stalls.js), against this build.
  t.match(stdout, /\| stall row \(mainThreadBudget 0\.1, evalTimeoutMs 5000; [^|]*\| heartbeat worst gap ms \| heartbeat runs\/s \(baseline\) \|/);
  t.match(stdout, /\| busy app, \.stack flood \| [\d.]+ \| [\d.]+ \([\d.]+\) \| [\d.]+ \.stack\/s \|/);
  t.match(stdout, /\| idle app, 4 sessions of 1\.5 s commands, a fifth timing 1\+1 \| .*worst 1\+1 \d+ ms/);

  const report = JSON.parse(await readFile(json, 'utf8'));
  t.match(report.machine, { node: String, cpu: String, cores: Number });
  t.match(report.settings, { rounds: 1, seed: 12345, capacity: Number, capacityProbesUs: [Number], rate: Number, connections: 10, affinity: String });
  t.same(
    report.scenarios.map((s: { scenario: string }) => s.scenario),
    [
      'baseline (app alone)',
      'backdoor, no session',
      'backdoor, idle session',
      'backdoor, 1+1 flood',
      'backdoor, heavy flood',
      'backdoor, 32 sessions 1+1',
      'backdoor, .profile running',
      'node repl, 1+1 flood',
      'node repl, heavy flood',
      'idle app, 1+1 flood',
      'idle app, node repl 1+1 flood',
    ],
  );
  for (const row of report.scenarios) {
    t.equal(row.idle, row.scenario.startsWith('idle app'), row.scenario);
    if (row.idle) {
      // No HTTP load: no HTTP figures.
      t.same(row.http, {}, row.scenario);
      t.match(row, { elu: Number, eventLoopDelayP99Ms: Number }, row.scenario);
      t.notOk('p99Ratio' in row, row.scenario);
    } else {
      t.match(
        row,
        {
          http: { p50Ms: Number, p90Ms: Number, p99Ms: Number, p999Ms: Number, achievedRate: Number, lateP50Us: Number, lateP99Us: Number },
          p99Ratio: Number,
          elu: Number,
          eventLoopDelayP99Ms: Number,
        },
        row.scenario,
      );
      for (const round of row.rounds) t.match(round.http, { lateP50Us: Number, lateP99Us: Number, lateMaxUs: Number, waitedForConnection: Number }, row.scenario);
    }
    if (/flood/.test(row.scenario)) {
      // In the smoke run's 0.3 s, the budget of a loaded machine may let no command through
      // (no command, no round trip), or let one through whose answer comes after the window:
      // the backdoor counted it, the client timed no round trip (CI on Node 24, heavy flood).
      if (row.commandsPerSecond === 0) t.match(row, { commandsPerSecond: 0, mainThreadShare: Number }, row.scenario);
      else t.match(row, { commandsPerSecond: Number, mainCpuPerCommandUs: Number, mainThreadShare: Number }, row.scenario);
      if (row.rttP50Ms !== undefined) t.match(row, { rttP50Ms: Number, rttP99Ms: Number }, row.scenario);
    }
  }
  // Where nothing holds the commands back, the clients time their round trips.
  t.match(
    report.scenarios.find((row: { scenario: string }) => row.scenario === 'idle app, 1+1 flood'),
    { rttP50Ms: Number, rttP99Ms: Number },
    'idle app, 1+1 flood',
  );
  t.match(report.micro, {
    rttGuardOn: { p50Us: Number, p99Us: Number, commands: Number },
    rttGuardOff: { p50Us: Number, p99Us: Number, commands: Number },
    rttInteractive: { p50Us: Number, p99Us: Number, commands: Number },
    cpuGuardOn: { cpuUsPerCommand: Number, evaluatorUsPerCommand: Number, cold: { cpuUsPerCommand: Number, commands: Number } },
    cpuGuardOff: { cpuUsPerCommand: Number, evaluatorUsPerCommand: Number, cold: { cpuUsPerCommand: Number, commands: Number } },
    startMs: Number,
    signalToPrompt: { runs: 3, medianMs: Number, maxMs: Number },
    rssAddedMb: Number,
    idleBackdoor: { cpuMsPerSecond: Number, activeMsPerSecond: Number, timers: Number },
    idleAppAlone: { cpuMsPerSecond: Number, activeMsPerSecond: Number },
    loadLateness: { baselineP50Us: Number, baselineP99Us: Number, baselineHttpP99Us: Number, highestP99Us: Number },
    idleFlood: { backdoorCommandsPerSecond: Number, replCommandsPerSecond: Number, ratio: Number },
    runaway: { evalTimeoutMs: 2000, runs: 1, medianMs: Number, maxMs: Number },
    heavyRealm: { commands: Number, sessionMs: Number, appRealmMs: Number, sessionMedianMs: Number, appRealmMedianMs: Number, appRealmKeepingMs: Number, appRealmRunOnlyMs: Number, appRealmLoopMs: Number, ratio: Number },
  });
  for (const key of ['cpuGuardOn', 'cpuGuardOff']) {
    t.match(report.micro[key], { offMainCpuUsPerCommand: Number }, key);
    // The worker's thread is told apart through /proc.
    if (process.platform === 'linux') t.match(report.micro[key], { workerCpuUsPerCommand: Number, otherThreadsCpuUsPerCommand: Number }, key);
  }
  // The stall rows: their shape, never their timing.
  t.match(report.stalls, { dist: String, mainThreadBudget: 0.1, evalTimeoutMs: 5000, busyMs: Number, longMs: Number });
  t.same(
    report.stalls.rows.map((row: { name: string }) => row.name),
    [
      'busy app, baseline',
      'busy app, .stack flood',
      'busy app, TAB after arr.',
      'busy app, TAB after u8.',
      'busy app, TAB after big.',
      'idle app, baseline',
      'idle app, 1.5 s commands back to back',
      'idle app, 4 sessions of 1.5 s commands, a fifth timing 1+1',
    ],
  );
  for (const row of report.stalls.rows) {
    t.match(row, { app: row.name.startsWith('busy') ? 'busy' : 'idle', windowMs: Number, worstGapMs: Number, runsPerSecond: Number, baselineRunsPerSecond: Number }, row.name);
    if (/TAB/.test(row.name)) t.match(row.completions, { answered: Number, unanswered: Number, slowestMs: Number }, row.name);
    if (/1\.5 s/.test(row.name)) t.match(row, { longCommands: Number }, row.name);
  }
  t.match(report.stalls.rows[1], { stacksPerSecond: Number });
  t.match(report.stalls.rows[7], { roundTrip: { worstMs: Number, answered: Number, unanswered: Number } });
  const svg = await readFile(join(dir, 'bench.svg'), 'utf8');
  t.match(svg, /^<svg [^]*node repl, heavy flood[^]*<\/svg>\n$/);
  // Scenarios without HTTP load have no ratio to draw.
  t.notMatch(svg, /idle app/);
});
