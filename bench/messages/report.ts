// The bench's report: what run.js --json writes, bench/chart.js draws and test/bench.ts checks;
// and the profile and settings it was run with (types only: see bench/messages/ipc.ts).
import type { BackdoorOptions } from '../../dist/lib/index.js';
import type { AppMode } from './app.ts';
import type { LoadClockTuning, LoadResult } from './load.ts';
import type { StallFigures } from './stalls.ts';

export interface Machine {
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  /** ISO 8601. */
  date: string;
}

/**
 * A scenario of run.js: in an app of kind `app`, `sessions` REPL clients that each send
 * `command` back to back, or stay idle when it is null, beside the HTTP load; an `idle` app has
 * no HTTP load, the clients have it to themselves.
 */
export type Scenario = { name: string; app: AppMode; sessions?: undefined; command?: undefined; idle?: undefined } | { name: string; app: AppMode; sessions: number; command: string | null; idle?: boolean };

/** A profile (--quick, --smoke or the full run), as the report shows it. */
export interface Profile {
  rounds: number;
  /** Of each scenario's measured load. */
  durationMs: number;
  /** Of the load before it, unmeasured. */
  warmMs: number;
  /** Of each probe of the load that measures the app's CPU time per request... */
  capacityMs: number;
  /** ...how many probes (their median counts)... */
  capacityProbes: number;
  /** ...and the load between two of them, unmeasured. */
  capacityGapMs: number;
  /** Commands of the back-to-back round-trip figures (of the interactive one: at most 2000). */
  rttCommands: number;
  /** Commands of the CPU-per-command figures. */
  cpuCommands: number;
  /** Of the idle figures. */
  idleMs: number;
  /** Of the signal-to-prompt figure. */
  signalRuns: number;
  /** Of the runaway-loop figure (each takes evalTimeoutMs). */
  runawayRuns: number;
  /** Heavy commands timed, in a session and in the app's realm, of the heavy-command figure. */
  heavyCommands: number;
  /** `.stack` measured this many times, in an app with `stackModules` modules. */
  stackRuns: number;
  stackModules: number;
  /** Sequential `await null` per run of the await-cost figure (5 runs per state). */
  awaits: number;
}

export interface Settings extends Profile {
  /** The load's rate as a share of the app's capacity. */
  loadShare: number;
  connections: number;
  mainThreadBudget: number;
  evalTimeoutMs: number;
  /** Which CPUs the bench's threads run on (bench/affinity.js). */
  affinity: string;
  /** Of the scenarios' order in the rounds (`--seed` repeats it). */
  seed: number;
}

export interface Report {
  machine: Machine;
  settings: Settings & { capacity: number; cpuPerRequestUs: number; capacityProbesUs: number[]; rate: number };
  scenarios: ScenarioRow[];
  micro: MicroFigures & {
    startMs?: number;
    rssAddedMb?: number;
    /** The load generator's own lateness (LoadResult), medians of the baseline's rounds, and the highest median of a row. */
    loadLateness: { baselineP50Us?: number; baselineP99Us?: number; baselineHttpP99Us?: number; highestP99Us?: number; clock?: LoadClockTuning };
    /** Commands/s of the 1+1 flood in an idle app (no HTTP load): the backdoor's, Node's REPL's, and their ratio. */
    idleFlood: { backdoorCommandsPerSecond?: number; replCommandsPerSecond?: number; ratio?: number };
  };
  /** The stall bench (bench/stalls.js), against this build. */
  stalls: StallFigures;
}

/** One scenario in one round (run.js `runScenario`). */
export interface ScenarioRun {
  /** None in an idle app (a scenario without HTTP load). */
  http?: LoadResult;
  elu: number;
  activeMs: number;
  mainCpuMs: number;
  otherThreadsCpuMs: number;
  wallMs: number;
  eventLoopDelayP99Ms?: number;
  commands: number;
  commandsPerSecond: number;
  rttP50Us?: number;
  rttP99Us?: number;
  backdoorMainMs?: number;
  /** The backdoor's worker thread (Measured). */
  workerCpuMs?: number;
  startMs: number;
  rssAddedMb: number;
  /**
   * What a scenario under the HTTP load is compared with: the baseline windows run just before
   * and just after it, averaged (bench/run.js); for a baseline window, those two windows away
   * (none for a round's first and last). None for the idle rows.
   */
  reference?: Reference;
}

/** The baseline next to a scenario's window: the mean of the two windows around it. */
export interface Reference {
  p99Us: number;
  mainCpuMs: number;
  otherThreadsCpuMs: number;
  wallMs: number;
}

/** A scenario's round against the baseline windows next to it. */
export interface ScenarioRound extends ScenarioRun {
  /** None in an idle app. */
  p99Ratio?: number;
  mainCpuPerCommandUs?: number;
  otherCpuPerCommandUs?: number;
  mainThreadShare?: number;
  backdoorReportedShare?: number;
}

/** A row of the table: medians of the rounds (undefined where no round has the figure). */
export interface ScenarioRow {
  scenario: string;
  /** An idle app: no HTTP load, so no HTTP figures (and CPU per command counts all of the app's). */
  idle: boolean;
  rounds: ScenarioRound[];
  http: { p50Ms?: number; p90Ms?: number; p99Ms?: number; p999Ms?: number; achievedRate?: number; lateP50Us?: number; lateP99Us?: number };
  p99Ratio?: number;
  /** None in an idle app. */
  p99RatioMin?: number;
  p99RatioMax?: number;
  elu?: number;
  eventLoopDelayP99Ms?: number;
  commandsPerSecond?: number;
  rttP50Ms?: number;
  rttP99Ms?: number;
  mainCpuPerCommandUs?: number;
  otherCpuPerCommandUs?: number;
  mainThreadShare?: number;
  backdoorReportedShare?: number;
}

/** The options of the backdoors the bench starts (run.js `backdoorOptions`). */
export type BenchBackdoorOptions = Required<Pick<BackdoorOptions, 'mainThreadBudget' | 'evalTimeoutMs' | 'maxSessions'>> & { audit: false };

export interface RttFigure extends BenchBackdoorOptions {
  commands: number;
  p50Us: number;
  p99Us: number;
  gapMs: number;
}

/** CPU per command, once the backdoor's code is compiled; `cold`, the same for its first commands. */
export interface CpuFigure extends CpuPart {
  evalTimeoutMs: number;
  cold: CpuPart;
}

export interface CpuPart {
  commands: number;
  cpuUsPerCommand: number;
  evaluatorUsPerCommand: number;
  /** CPU per command of the app's other threads: all of them, the backdoor's worker, and the rest (V8's watchdog threads, GC helpers). */
  offMainCpuUsPerCommand: number;
  workerCpuUsPerCommand?: number;
  otherThreadsCpuUsPerCommand?: number;
}

/** From a runaway loop's timeout error arriving at the client to the next command's (1+1) value arriving. */
export interface RunawayFigure {
  evalTimeoutMs: number;
  runs: number;
  medianMs?: number;
  maxMs: number;
}

/**
 * The main-thread time of the heavy command in a session (the backdoor's own count, per command)
 * against the same code in the app's realm (RealmRuns: mean, and median, of the runs), in ms;
 * `ratio` is the session's over the app realm's, running and printing in both.
 */
export interface HeavyRealmFigure {
  commands: number;
  /** Means, per command: the session's (its share of the backdoor's count), the app realm's. */
  sessionMs: number;
  appRealmMs: number;
  /** Medians of the same. */
  sessionMedianMs: number;
  appRealmMedianMs: number;
  /** Mean per command in the app realm, keeping the last value as a REPL keeps `_`. */
  appRealmKeepingMs: number;
  appRealmRunOnlyMs: number;
  /** The same code run and printed back to back in a loop of the app's (warmer than any command). */
  appRealmLoopMs: number;
  ratio: number;
}

/**
 * What `.stack` costs the app: its main thread busy in its own code (the case `.stack` is for),
 * with `modules` modules of its own loaded; medians of `runs`: how long the main thread was held
 * (the gaps in its loop, less those of the same loop without `.stack`), the longest gap, and
 * how long the answer took; and the answer's time when the main thread is idle.
 */
export interface StackCostFigure {
  modules: number;
  runs: number;
  heldMs: number;
  maxGapMs: number;
  quietMaxGapMs: number;
  answerMs: number;
  idleAnswerMs: number;
}

export interface IdleFigure {
  activeMsPerSecond: number;
  cpuMsPerSecond: number;
  /** Timers and immediates of the process at the end. */
  timers: number;
}

export interface MicroFigures {
  rttGuardOn: RttFigure;
  rttGuardOff: RttFigure;
  rttInteractive: RttFigure;
  cpuGuardOn: CpuFigure;
  cpuGuardOff: CpuFigure;
  idleAppAlone: IdleFigure;
  idleBackdoor: IdleFigure;
  signalToPrompt: { runs: number; medianMs?: number; maxMs: number };
  runaway: RunawayFigure;
  heavyRealm: HeavyRealmFigure;
  stackCost: StackCostFigure;
  awaitCost: AwaitCostFigure;
}

/**
 * What late-error attribution costs the app's own `await`s (ns per `await null`): the app
 * alone, with a backdoor started, with a session whose context exists (it ran a command), and
 * after that session has ended.
 */
export interface AwaitCostFigure {
  awaits: number;
  aloneNs: number;
  noSessionNs: number;
  sessionNs: number;
  afterSessionNs: number;
}
