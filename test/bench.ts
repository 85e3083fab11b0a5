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
  // Within tap's timeout (120 s), so that a stuck run is stopped here rather than left behind.
  const { stdout } = await run(process.execPath, [script, '--smoke', '--json', json], { timeout: 90_000 });
  t.match(stdout, /^backdoor bench: Node v\d+/);
  t.match(stdout, /\| node repl, heavy flood \|/);
  t.match(stdout, /\| round trip of 1\+1/);

  const report = JSON.parse(await readFile(json, 'utf8'));
  t.match(report.machine, { node: String, cpu: String, cores: Number });
  t.match(report.settings, { rounds: 1, capacity: Number, rate: Number, connections: 10 });
  t.same(report.scenarios.map((s: { scenario: string }) => s.scenario), [
    'baseline (app alone)',
    'backdoor, no session',
    'backdoor, idle session',
    'backdoor, 1+1 flood',
    'backdoor, heavy flood',
    'backdoor, 32 sessions 1+1',
    'node repl, 1+1 flood',
    'node repl, heavy flood',
  ]);
  for (const row of report.scenarios) {
    t.match(row, {
      http: { p50Ms: Number, p90Ms: Number, p99Ms: Number, p999Ms: Number, achievedRate: Number },
      p99Ratio: Number,
      elu: Number,
      eventLoopDelayP99Ms: Number,
    }, row.scenario);
    if (/flood/.test(row.scenario)) {
      t.match(row, { commandsPerSecond: Number, rttP50Ms: Number, rttP99Ms: Number, mainCpuPerCommandUs: Number, mainThreadShare: Number }, row.scenario);
    }
  }
  t.match(report.micro, {
    rttGuardOn: { p50Us: Number, p99Us: Number, commands: Number },
    rttGuardOff: { p50Us: Number, p99Us: Number, commands: Number },
    rttInteractive: { p50Us: Number, p99Us: Number, commands: Number },
    cpuGuardOn: { cpuUsPerCommand: Number, evaluatorUsPerCommand: Number },
    cpuGuardOff: { cpuUsPerCommand: Number, evaluatorUsPerCommand: Number },
    startMs: Number,
    signalToPrompt: { runs: 3, medianMs: Number, maxMs: Number },
    rssAddedMb: Number,
    idleBackdoor: { cpuMsPerSecond: Number, activeMsPerSecond: Number, timers: Number },
    idleAppAlone: { cpuMsPerSecond: Number, activeMsPerSecond: Number },
  });
  const svg = await readFile(join(dir, 'bench.svg'), 'utf8');
  t.match(svg, /^<svg [^]*node repl, heavy flood[^]*<\/svg>\n$/);
});
