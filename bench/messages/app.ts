// What bench/app.js, the app under test, is asked over IPC and answers (types only: see
// bench/messages/ipc.ts).
import type { BackdoorOptions } from '../../dist/lib/index.js';

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

export type AppReply =
  | AppReady
  | { cmd: 'measure-started' }
  | Measured
  | RealmRuns
  | { cmd: 'realm-serving'; port: number }
  | (Omit<RealmRuns, 'cmd'> & { cmd: 'realm-timed'; sessionMs: number[]; keptRunAndPrintMs: number[] })
  | { cmd: 'loaded-modules'; count: number; ms: number }
  | BusyGaps
  | AwaitCost;

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
