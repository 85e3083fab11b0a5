// What the bench's processes say to each other, and the report it writes: types only, for the
// JSDoc of bench/*.js (which stay plain JavaScript that Node runs as it is; `tsc -p .` checks
// them against these). Nothing imports this file at run time.
//
// bench/run.js forks three kinds of helper and talks to each over IPC, a request and the reply
// it waits for, matched by `cmd`:
//   app.js <mode> <options JSON> [settle ms]   the app under test
//   load.js                                    HTTP load on the app
//   sessions.js                                REPL clients of the app
// and writes the report as JSON (`--json`), from which bench/chart.js draws the SVG.
import type { BackdoorOptions } from '../dist/lib/index.js';

/** Any message over IPC: the other side tells them apart by `cmd`. */
export interface Message {
  cmd: string;
}

// --- app.js ---------------------------------------------------------------------------------

/** What app.js runs besides its HTTP server (its first argument). */
export type AppMode = 'none' | 'backdoor' | 'signals' | 'repl';

/** The options app.js passes to `startBackdoor` or `installSignalHandlers` (its second argument, as JSON). */
export type AppOptions = Pick<BackdoorOptions, 'mainThreadBudget' | 'evalTimeoutMs' | 'maxSessions' | 'audit'>;

export type AppRequest =
  /** Start measuring; with `delayHistogram`, the event loop's delay too. */
  | { cmd: 'measure-start'; delayHistogram?: boolean }
  | { cmd: 'measure-stop' }
  | { cmd: 'exit' };

export type AppReply = AppReady | { cmd: 'measure-started' } | Measured;

/** Sent once, when the app serves. */
export interface AppReady {
  cmd: 'ready';
  httpPort: number;
  /** The backdoor's or Node's REPL's port; none in modes 'none' and 'signals'. */
  replPort?: number;
  /** How long `startBackdoor()` took to resolve, in ms; 0 without a backdoor. */
  startMs: number;
  /** What the process's RSS grew by while the backdoor or REPL started, in MB. */
  rssAddedMb: number;
}

/** From measure-start to measure-stop. (Fields that are undefined do not cross IPC: optional.) */
export interface Measured {
  cmd: 'measured';
  wallMs: number;
  /** Event-loop utilisation of the main thread. */
  elu: number;
  activeMs: number;
  /** CPU time of the main thread alone. */
  mainCpuMs: number;
  /** CPU time of the whole process (every thread). */
  processCpuMs: number;
  /** With `delayHistogram`. */
  delayP99Ms?: number;
  /** With a backdoor: the commands it ran, and their main-thread time as it reports it. */
  backdoorCommands?: number;
  backdoorMainMs?: number;
  /** `process.getActiveResourcesInfo()` at the end. */
  resources: string[];
}

// --- load.js --------------------------------------------------------------------------------

export type LoadRequest =
  /** Open loop: `rate` requests per second for `durationMs`, on `connections` keep-alive connections. */
  | { cmd: 'run'; port: number; rate: number; connections: number; durationMs: number }
  /** Closed loop, as fast as the app answers (not used by run.js: see there). */
  | { cmd: 'capacity'; port: number; connections: number; durationMs: number };

export type LoadReply = { cmd: 'result'; result: LoadResult } | { cmd: 'capacity-result'; result: { rate: number } };

/** An open-loop run; latencies count from each request's due time, in us. */
export interface LoadResult {
  sent: number;
  completed: number;
  /** Connections that closed during the run. */
  errors: number;
  achievedRate: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

// --- sessions.js ----------------------------------------------------------------------------

export type SessionsRequest =
  /** Open `count` sessions; each sends `command` back to back (`gapMs` apart), or stays idle when it is null. */
  | { cmd: 'start'; port: number; count: number; command: string | null; gapMs?: number }
  /** Forget what was counted so far (after the warm-up). */
  | { cmd: 'reset' }
  /** Close the sessions and report. */
  | { cmd: 'stop' }
  /** Run exactly `n` commands (or a few more) on one fresh session, and report. */
  | { cmd: 'count'; port: number; command: string; n: number; gapMs?: number };

export type SessionsReply =
  | { cmd: 'started'; at: number }
  | { cmd: 'reset-done' }
  | { cmd: 'stopped'; result: FloodResult }
  | { cmd: 'counted'; result: CountResult };

/** Commands completed since start or reset, and their round trips in us (none without commands). */
export interface FloodResult {
  commands: number;
  rttP50Us?: number;
  rttP99Us?: number;
}

export interface CountResult {
  commands: number;
  rttP50Us: number;
  rttP99Us: number;
}

// --- the report (run.js --json; bench/chart.js; test/bench.ts) ------------------------------

export interface Machine {
  node: string;
  platform: string;
  cpu: string;
  cores: number;
  memoryGb: number;
  /** ISO 8601. */
  date: string;
}

/** A profile (--quick, --smoke or the full run), as the report shows it. */
export interface Profile {
  rounds: number;
  /** Of each scenario's measured load. */
  durationMs: number;
  /** Of the load before it, unmeasured. */
  warmMs: number;
  /** Of the load that measures the app's CPU time per request. */
  capacityMs: number;
  /** Commands of the back-to-back round-trip figures (of the interactive one: at most 2000). */
  rttCommands: number;
  /** Commands of the CPU-per-command figures. */
  cpuCommands: number;
  /** Of the idle figures. */
  idleMs: number;
  /** Of the signal-to-prompt figure. */
  signalRuns: number;
}

export interface Settings extends Profile {
  /** The load's rate as a share of the app's capacity. */
  loadShare: number;
  connections: number;
  mainThreadBudget: number;
  evalTimeoutMs: number;
}

export interface Report {
  machine: Machine;
  settings: Settings & { capacity: number; cpuPerRequestUs: number; rate: number };
  scenarios: ScenarioRow[];
  micro: MicroFigures & { startMs?: number; rssAddedMb?: number };
}

/** One scenario in one round (run.js `runScenario`). */
export interface ScenarioRun {
  http: LoadResult;
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
  startMs: number;
  rssAddedMb: number;
}

/** A scenario's round against the baseline's same round. */
export interface ScenarioRound extends ScenarioRun {
  p99Ratio: number;
  mainCpuPerCommandUs?: number;
  otherCpuPerCommandUs?: number;
  mainThreadShare?: number;
  backdoorReportedShare?: number;
}

/** A row of the table: medians of the rounds (undefined where no round has the figure). */
export interface ScenarioRow {
  scenario: string;
  rounds: ScenarioRound[];
  http: { p50Ms?: number; p90Ms?: number; p99Ms?: number; p999Ms?: number; achievedRate?: number };
  p99Ratio?: number;
  p99RatioMin: number;
  p99RatioMax: number;
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

export interface CpuFigure {
  evalTimeoutMs: number;
  cpuUsPerCommand: number;
  evaluatorUsPerCommand: number;
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
}
