// @ts-check
// bench/run.js's report: the rounds summed up (medians against the baseline), and its tables;
// the stall bench's table (bench/stalls.js) too.
import { median } from './stats.js';
/** @import { AppMode } from './messages/app.ts' */
/** @import { LoadResult } from './messages/load.ts' */
/** @import { Machine, MicroFigures, Report, Scenario, ScenarioRound, ScenarioRow, ScenarioRun, Settings } from './messages/report.ts' */
/** @import { StallFigures } from './messages/stalls.ts' */

/**
 * The report: each scenario's rounds against the baseline windows next to them (the first
 * scenario's), and their medians; a scenario in an idle app against nothing (the app does
 * nothing else).
 * @param {Machine} info
 * @param {Settings} settings
 * @param {{ rate: number, cpuPerRequestUs: number, probesUs: number[] }} capacity
 * @param {number} rate
 * @param {Scenario[]} scenarios
 * @param {ScenarioRun[][]} runs
 * @param {MicroFigures} microFigures
 * @param {StallFigures} stallFigures
 * @returns {Report}
 */
export function summarize(info, settings, capacity, rate, scenarios, runs, microFigures, stallFigures) {
  const rows = scenarios.map(
    /** @returns {ScenarioRow} */ (scenario, i) => {
      const rounds = runs[i].map(
        /** @returns {ScenarioRound} */ (run) => {
          // The baseline windows around it (for a baseline window, those two windows away; none for
          // the first and last of a round, and for an idle app).
          const base = run.reference;
          const scale = base ? run.wallMs / base.wallMs : 0;
          const extraCpuMs = run.mainCpuMs - (base?.mainCpuMs ?? 0) * scale;
          const extraOtherMs = run.otherThreadsCpuMs - (base?.otherThreadsCpuMs ?? 0) * scale;
          return {
            ...run,
            p99Ratio: run.http && base ? run.http.p99Us / base.p99Us : undefined,
            // What the commands cost the main thread beyond serving HTTP: its CPU time above the
            // baseline's, per command, and as a share of the wall time.
            mainCpuPerCommandUs: run.commands ? (extraCpuMs * 1000) / run.commands : undefined,
            // ...and the app's other threads (the backdoor's worker, for the backdoor): the CPU it
            // takes from a small machine's other core.
            otherCpuPerCommandUs: run.commands ? (extraOtherMs * 1000) / run.commands : undefined,
            mainThreadShare: scenario.sessions && scenario.command ? extraCpuMs / run.wallMs : undefined,
            backdoorReportedShare: run.backdoorMainMs !== undefined && scenario.command ? run.backdoorMainMs / run.wallMs : undefined,
          };
        },
      );
      const pick = (/** @type {(round: ScenarioRound) => number | undefined} */ f) => median(rounds.map(f).filter((v) => v !== undefined && !Number.isNaN(v)));
      const ratios = rounds.flatMap((r) => (r.p99Ratio === undefined ? [] : [r.p99Ratio]));
      const http = (/** @type {(result: LoadResult) => number} */ f) => pick((r) => (r.http ? f(r.http) : undefined));
      return {
        scenario: scenario.name,
        idle: Boolean(scenario.idle),
        rounds,
        http: {
          p50Ms: http((h) => h.p50Us / 1000),
          p90Ms: http((h) => h.p90Us / 1000),
          p99Ms: http((h) => h.p99Us / 1000),
          p999Ms: http((h) => h.p999Us / 1000),
          achievedRate: http((h) => h.achievedRate),
          lateP50Us: http((h) => h.lateP50Us),
          lateP99Us: http((h) => h.lateP99Us),
        },
        p99Ratio: pick((r) => r.p99Ratio),
        p99RatioMin: ratios.length ? Math.min(...ratios) : undefined,
        p99RatioMax: ratios.length ? Math.max(...ratios) : undefined,
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
    },
  );
  // The backdoor's scenarios under load.
  const backdoorRuns = runs.filter((_, i) => scenarios[i].app === 'backdoor' && !scenarios[i].idle).flat();
  const idleFlood = (/** @type {AppMode} */ app) => rows.find((row, i) => row.idle && scenarios[i].app === app && scenarios[i].command === '1+1')?.commandsPerSecond;
  const backdoorCommandsPerSecond = idleFlood('backdoor');
  const replCommandsPerSecond = idleFlood('repl');
  const lateP99s = rows.flatMap((row) => (row.http.lateP99Us === undefined ? [] : [row.http.lateP99Us]));
  return {
    machine: info,
    settings: { ...settings, capacity: Math.round(capacity.rate), cpuPerRequestUs: capacity.cpuPerRequestUs, capacityProbesUs: capacity.probesUs, rate },
    scenarios: rows,
    micro: {
      ...microFigures,
      startMs: median(backdoorRuns.map((r) => r.startMs)),
      rssAddedMb: median(backdoorRuns.map((r) => r.rssAddedMb)),
      loadLateness: {
        baselineP50Us: rows[0].http.lateP50Us,
        baselineP99Us: rows[0].http.lateP99Us,
        baselineHttpP99Us: rows[0].http.p99Ms === undefined ? undefined : rows[0].http.p99Ms * 1000,
        highestP99Us: lateP99s.length ? Math.max(...lateP99s) : undefined,
        clock: rows[0].rounds[0]?.http?.clock,
      },
      idleFlood: {
        backdoorCommandsPerSecond,
        replCommandsPerSecond,
        ratio: backdoorCommandsPerSecond !== undefined && replCommandsPerSecond ? backdoorCommandsPerSecond / replCommandsPerSecond : undefined,
      },
    },
    stalls: stallFigures,
  };
}

/** A number for a table: `digits` decimals, nothing when there is none. */
const f = (/** @type {number | undefined | null} */ v, digits = 2) => (v === undefined || v === null || Number.isNaN(v) ? '' : Number(v).toFixed(digits));

/**
 * The three tables, in Markdown.
 * @param {Report} report
 */
export function print(report) {
  console.log('\n| scenario | HTTP p50 ms | p90 ms | p99 ms | p99.9 ms | req/s | p99 vs baseline | main ELU | loop delay p99 ms | commands/s | RTT p50 / p99 ms | CPU per command us, main / other threads | main-thread share |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const row of report.scenarios) {
    const ratio = row.p99Ratio === undefined ? '' : `${f(row.p99Ratio)}x (${f(row.p99RatioMin)}-${f(row.p99RatioMax)})`;
    const rtt = row.rttP50Ms === undefined ? '' : `${f(row.rttP50Ms, 3)} / ${f(row.rttP99Ms, 2)}`;
    const share = row.mainThreadShare === undefined ? '' : `${f(row.mainThreadShare, 3)}${row.backdoorReportedShare === undefined ? '' : ` (own ${f(row.backdoorReportedShare, 3)})`}`;
    console.log(
      `| ${row.scenario} | ${f(row.http.p50Ms, 3)} | ${f(row.http.p90Ms, 3)} | ${f(row.http.p99Ms)} | ${f(row.http.p999Ms)} | ${f(row.http.achievedRate, 0)} | ${ratio} | ${f(row.elu, 3)} | ${f(row.eventLoopDelayP99Ms)} | ${Math.round(row.commandsPerSecond ?? NaN) || ''} | ${rtt} | ${row.mainCpuPerCommandUs === undefined ? '' : `${f(row.mainCpuPerCommandUs, 0)} / ${f(row.otherCpuPerCommandUs, 0)}`} | ${share} |`,
    );
  }
  const m = report.micro;
  console.log('\n| micro figure | value |');
  console.log('| --- | --- |');
  const rttRow = (/** @type {string} */ label, /** @type {import('./messages/report.ts').RttFigure} */ r) =>
    console.log(`| round trip of 1+1, ${label} (${r.commands} commands) | p50 ${f(r.p50Us / 1000, 3)} ms, p99 ${f(r.p99Us / 1000, 3)} ms |`);
  rttRow(`back to back, timeout guard on (${m.rttGuardOn.evalTimeoutMs} ms), no budget`, m.rttGuardOn);
  rttRow('back to back, timeout guard off, no budget', m.rttGuardOff);
  rttRow(`one every ${m.rttInteractive.gapMs} ms, default options`, m.rttInteractive);
  const mainCpu = (/** @type {import('./messages/report.ts').CpuPart} */ c) => `${f(c.cpuUsPerCommand, 0)} us (of which evaluating ${f(c.evaluatorUsPerCommand, 0)} us)`;
  const offMain = (/** @type {import('./messages/report.ts').CpuPart} */ c) => `worker ${f(c.workerCpuUsPerCommand, 0) || '?'} us, other threads ${f(c.otherThreadsCpuUsPerCommand, 0) || '?'} us (all ${f(c.offMainCpuUsPerCommand, 0)} us)`;
  const cpuRows = (/** @type {string} */ guard, /** @type {import('./messages/report.ts').CpuFigure} */ c) => {
    const span = `commands ${c.cold.commands + 1}-${c.cold.commands + c.commands} of a fresh backdoor (the first ${c.cold.commands}, while V8 compiles its code)`;
    console.log(`| main-thread CPU per 1+1, ${guard}, ${span} | ${mainCpu(c)} (${mainCpu(c.cold)}) |`);
    console.log(`| CPU per 1+1 off the main thread, ${guard}, ${span} | ${offMain(c)} (${offMain(c.cold)}) |`);
  };
  cpuRows(`timeout guard on (${m.cpuGuardOn.evalTimeoutMs} ms)`, m.cpuGuardOn);
  cpuRows('timeout guard off', m.cpuGuardOff);
  console.log(`| idle app: backdoor 1+1 commands/s vs Node's REPL | ${f(m.idleFlood.backdoorCommandsPerSecond, 0)} / ${f(m.idleFlood.replCommandsPerSecond, 0)} = ${f(m.idleFlood.ratio, 3)} |`);
  console.log(`| runaway loop, then 1+1, idle app: from the loop's error (evalTimeoutMs ${m.runaway.evalTimeoutMs} ms) to the 2 (median of ${m.runaway.runs}) | ${f(m.runaway.medianMs, 1)} ms (max ${f(m.runaway.maxMs, 1)} ms) |`);
  const h = m.heavyRealm;
  console.log(
    `| heavy command, main-thread time: session vs app realm, running and printing, each on a line from a socket, alternating command by command (mean of ${h.commands} each) | session ${f(h.sessionMs)} ms, app realm ${f(h.appRealmMs)} ms, ratio ${f(h.ratio)} (medians ${f(h.sessionMedianMs)} / ${f(h.appRealmMedianMs)} ms; the app realm keeping its last value as a REPL keeps \`_\` ${f(h.appRealmKeepingMs)} ms; the realm's running alone ${f(h.appRealmRunOnlyMs)} ms; back to back in a loop ${f(h.appRealmLoopMs)} ms) |`,
  );
  const st = m.stackCost;
  console.log(
    `| .stack, main thread busy in the app's code, ${st.modules} modules of the app's loaded (median of ${st.runs}) | main thread held ${f(st.heldMs)} ms (longest gap ${f(st.maxGapMs)} ms, ${f(st.quietMaxGapMs)} ms without .stack); answered in ${f(st.answerMs, 1)} ms (idle main thread: ${f(st.idleAnswerMs, 1)} ms) |`,
  );
  const aw = m.awaitCost;
  console.log(
    `| the app's own \`await null\`, ns each (median of 5 x ${aw.awaits}): app alone / backdoor, no session / a session context open / after it ended | ${f(aw.aloneNs, 0)} / ${f(aw.noSessionNs, 0)} / ${f(aw.sessionNs, 0)} / ${f(aw.afterSessionNs, 0)} ns |`,
  );
  console.log(`| startBackdoor() resolves in (median) | ${f(m.startMs, 1)} ms |`);
  console.log(`| from kill -USR1 to a session's first prompt (median of ${m.signalToPrompt.runs}) | ${f(m.signalToPrompt.medianMs, 1)} ms (max ${f(m.signalToPrompt.maxMs, 1)} ms) |`);
  console.log(`| RSS the started backdoor adds (median) | ${f(m.rssAddedMb, 1)} MB |`);
  const late = m.loadLateness;
  const policy = late.clock?.realTime ? 'SCHED_FIFO' : `nice ${late.clock?.nice ?? '?'}`;
  const clock = late.clock ? `; its clock thread: ${policy}, timer slack ${late.clock.timerSlackNs ?? '?'} ns` : '';
  console.log(
    `| load generator send lateness p50 / p99, baseline (highest p99 of a row) | ${f(late.baselineP50Us, 0)} / ${f(late.baselineP99Us, 0)} us (${f(late.highestP99Us, 0)} us); baseline HTTP p99 ${f((late.baselineHttpP99Us ?? NaN) / 1000)} ms${clock} |`,
  );
  console.log(
    `| main thread while idle, backdoor + idle session / app alone | CPU ${f(m.idleBackdoor.cpuMsPerSecond, 2)} / ${f(m.idleAppAlone.cpuMsPerSecond, 2)} ms per s; event loop active ${f(m.idleBackdoor.activeMsPerSecond, 3)} / ${f(m.idleAppAlone.activeMsPerSecond, 3)} ms per s; timers or immediates of the backdoor: ${m.idleBackdoor.timers} |`,
  );
  printStalls(report.stalls);
}

/**
 * The stall bench's table, in Markdown: each row's heartbeat, and what its sessions got.
 * @param {StallFigures} stalls
 */
export function printStalls(stalls) {
  console.log(
    `\n| stall row (mainThreadBudget ${stalls.mainThreadBudget}, evalTimeoutMs ${stalls.evalTimeoutMs}; ${stalls.busyMs / 1000} s windows, ${stalls.longMs / 1000} s with long commands) | heartbeat worst gap ms | heartbeat runs/s (baseline) | what the sessions got |`,
  );
  console.log('| --- | --- | --- | --- |');
  for (const row of stalls.rows) {
    /** @type {string[]} */
    const got = [];
    if (row.stacksPerSecond !== undefined) got.push(`${f(row.stacksPerSecond, 1)} .stack/s`);
    const c = row.completions;
    if (c) got.push(`${c.answered} TAB answered${c.unanswered ? `, ${c.unanswered} still waiting at the end` : ''}, slowest ${f(c.slowestMs, 0)} ms`);
    const r = row.roundTrip;
    if (r) got.push(`worst 1+1 ${f(r.worstMs, 0)} ms (${r.answered} answered${r.unanswered ? `, ${r.unanswered} still waiting at the end` : ''})`);
    if (row.longCommands !== undefined) got.push(`${row.longCommands} long command(s) ran`);
    console.log(`| ${row.name} | ${f(row.worstGapMs, 1)} | ${f(row.runsPerSecond, 1)} (${f(row.baselineRunsPerSecond, 1)}) | ${got.join('; ')} |`);
  }
}
