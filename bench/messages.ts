// What the bench's processes say to each other, and the report it writes: types only, for the
// JSDoc of bench/*.js (which stay plain JavaScript that Node runs as it is; `tsc -p .` checks
// them against these). Nothing imports this file at run time.
//
// bench/run.js forks three kinds of helper and talks to each over IPC, a request and the reply
// it waits for, matched by `cmd`:
//   app.js <mode> <options JSON> [settle ms]   the app under test
//   load.js                                    HTTP load on the app (its clock, load-clock.js, a worker thread)
//   sessions.js                                REPL clients of the app
// and writes the report as JSON (`--json`), from which bench/chart.js draws the SVG.
import type { RecordableHistogram } from 'node:perf_hooks';
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
  /** Run `code` in the app's own realm `warmRuns` times, then `runs` times timed (see RealmRuns). */
  | { cmd: 'run-in-realm'; code: string; runs: number; warmRuns: number }
  /** Serve the realm server (see bench/app.js): lines run in the app's realm, as a session's are in its context. */
  | { cmd: 'realm-server'; keep?: boolean }
  /** The realm server's times since last asked. */
  | { cmd: 'realm-times' }
  /** Load `count` small modules of the app's own (for what `.stack` costs in a large app). */
  | { cmd: 'load-modules'; count: number }
  /** Keep the main thread busy in the app's own code for `ms` (see BusyGaps). */
  | { cmd: 'busy'; ms: number }
  /** What one `await null` of the app's costs, in ns (see AwaitCost). */
  | { cmd: 'await-cost'; awaits: number }
  | { cmd: 'exit' };

export type AppReply = AppReady | { cmd: 'measure-started' } | Measured | RealmRuns | { cmd: 'realm-serving'; port: number } | (Omit<RealmRuns, 'cmd'> & { cmd: 'realm-timed'; sessionMs: number[]; keptRunAndPrintMs: number[] }) | { cmd: 'loaded-modules'; count: number; ms: number } | BusyGaps | AwaitCost;

/** The median over 5 runs of `awaits` sequential `await null` in the app's own code, in ns per await. */
export interface AwaitCost {
  cmd: 'await-costed';
  nsPerAwait: number;
}

/** What held a busy main thread between two steps of the app's loop, in ms: over 0.2 ms summed, and the longest. */
export interface BusyGaps {
  cmd: 'was-busy';
  gapsMs: number;
  maxGapMs: number;
}

/**
 * Main-thread times of code run in the app's own realm, in ms, one per run: `vm.runInThisContext`
 * alone, and the same followed by printing its value as the backdoor does (`util.inspect` with
 * Node's REPL settings: depth 2, 100 items, 80 columns).
 */
export interface RealmRuns {
  cmd: 'ran-in-realm';
  runMs: number[];
  runAndPrintMs: number[];
}

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
  /** CPU time of the whole process (every thread, those that ended during the measure too). */
  processCpuMs: number;
  /**
   * With a backdoor: CPU time of its worker thread (app.js `workerTids`: the thread named
   * 'backdoor', else those that appeared while `startBackdoor()` ran), where /proc has it.
   */
  workerCpuMs?: number;
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

/**
 * An open-loop run, in us. Latencies count from each request's due time plus the generator's
 * own lateness (`late*`): from the due time to the request's write, or to the moment the
 * generator found every connection busy (the wait for a free one is the app's, and counted).
 */
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
  lateP50Us: number;
  lateP99Us: number;
  lateMaxUs: number;
  /** Requests that found every connection busy when due. */
  waitedForConnection: number;
  /** The clock's thread's settings, which its precision depends on. */
  clock: LoadClockTuning;
}

/**
 * A run, as bench/load.js tells its clock (bench/load-clock.js): request i is due at
 * startNs + i * intervalNs (hrtime), to be written on one of the connections, whose file
 * descriptors (-1: none) are `fds`, and whose state (FREE, BUSY, CLOSED: an Int32Array) and
 * start times (a BigInt64Array) the two threads share.
 */
export interface LoadClockRun {
  startNs: bigint;
  intervalNs: number;
  total: number;
  fds: number[];
  state: SharedArrayBuffer;
  from: SharedArrayBuffer;
}

/** What the clock tells bench/load.js's main thread (see bench/load-clock.js). */
export type LoadClockMessage =
  /** A request that found every connection busy: its latency counts from `from`. */
  | { cmd: 'wait'; from: bigint }
  /** A request the clock could not write, due at `due`. */
  | { cmd: 'send'; due: bigint }
  /** The run's end: the requests it issued, and its lateness (ns) of each one it wrote or found no connection for. */
  | { cmd: 'done'; issued: number; lateness: RecordableHistogram; tuning: LoadClockTuning };

/**
 * What the clock's thread had (Linux): its timer slack; the real-time policy SCHED_FIFO or not;
 * its niceness (-10 when, without SCHED_FIFO, it could raise its priority, else 0).
 */
export interface LoadClockTuning {
  timerSlackNs?: number;
  realTime?: boolean;
  nice?: number;
}

// --- sessions.js ----------------------------------------------------------------------------

export type SessionsRequest =
  /** Open `count` sessions; each sends `command` back to back (`gapMs` apart), or stays idle when it is null. */
  | { cmd: 'start'; port: number; count: number; command: string | null; gapMs?: number; first?: string }
  /** Forget what was counted so far (after the warm-up). */
  | { cmd: 'reset' }
  /** Close the sessions and report. */
  | { cmd: 'stop' }
  /**
   * Run exactly `n` commands (or a few more) on one fresh session, and report; with `keep`, on
   * the session kept from an earlier `count` with `keep` to the same port (one is opened if there
   * is none), left open for the next.
   */
  | { cmd: 'count'; port: number; command: string; n: number; gapMs?: number; keep?: boolean }
  /** `n` rounds of `command` on each port's kept session in turn, each after the one before has answered. */
  | { cmd: 'alternate'; ports: number[]; command: string; n: number }
  /** Close the sessions kept by `count`. */
  | { cmd: 'drop-kept' };

export type SessionsReply =
  | { cmd: 'started'; at: number }
  | { cmd: 'reset-done' }
  | { cmd: 'dropped-kept' }
  | { cmd: 'stopped'; result: FloodResult }
  | { cmd: 'counted'; result: CountResult }
  | { cmd: 'alternated'; commands: number };

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

/**
 * A scenario of run.js: in an app of kind `app`, `sessions` REPL clients that each send
 * `command` back to back, or stay idle when it is null, beside the HTTP load; an `idle` app has
 * no HTTP load, the clients have it to themselves.
 */
export type Scenario =
  | { name: string; app: AppMode; sessions?: undefined; command?: undefined; idle?: undefined }
  | { name: string; app: AppMode; sessions: number; command: string | null; idle?: boolean };

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
