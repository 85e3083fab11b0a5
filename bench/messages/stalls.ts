// The stall bench (bench/stalls.js): what it asks its app (bench/stall-app.js) over IPC, and
// its figures in the report (types only: see bench/messages/ipc.ts).

/**
 * The app's load (its second argument): `busy`, a 3 ms chunk of work every 10 ms (about 30% of
 * its main thread), with big values for TAB; `idle`, a 50 ms timer and nothing else. Either way
 * those runs are its heartbeat.
 */
export type StallAppMode = 'busy' | 'idle';

/**
 * The options stall-app.js passes to `startBackdoor` (its third argument, as JSON): only those
 * that every build of the backdoor the bench may run against knows.
 */
export interface StallBackdoorOptions {
  mainThreadBudget: number;
  evalTimeoutMs: number;
  audit: false;
}

export type StallAppRequest =
  /** A new measurement starts now. */
  | { cmd: 'reset' }
  /** The measurement since the last reset. */
  | { cmd: 'read' };

export type StallAppReply = { cmd: 'ready'; port: number } | { cmd: 'reset-done' } | Heartbeat;

/** The app's heartbeat since the last reset. */
export interface Heartbeat {
  cmd: 'heartbeat';
  /** The longest gap between two runs (or from the last run to the read), in ms. */
  worstGapMs: number;
  runs: number;
  /** Since the reset, by the app's clock. */
  ms: number;
}

/** How long each part of the stall bench lasts (--smoke, --quick or the full run). */
export interface StallProfile {
  /** A fresh app's time to settle before it is measured. */
  warmMs: number;
  /** The windows of the baselines, the `.stack` flood and each TAB row... */
  busyMs: number;
  /** ...and of the rows with long commands. */
  longMs: number;
  /** The bound of one wait for an answer (a TAB's, a `.stack`'s), within the window. */
  answerTimeoutMs: number;
}

/** One row: its app's heartbeat over the window, and what the sessions got. */
export interface StallRow {
  name: string;
  app: StallAppMode;
  windowMs: number;
  worstGapMs: number;
  runsPerSecond: number;
  /** Of the same app with no session (its baseline row). */
  baselineRunsPerSecond: number;
  /** The `.stack` flood: those answered, per second. */
  stacksPerSecond?: number;
  /**
   * TAB: completions answered, and still waiting when the window ended (abandoned), and the
   * slowest answer's ms (one still waiting counts its wait so far).
   */
  completions?: { answered: number; unanswered: number; slowestMs: number };
  /** The rows with long commands: those that ran to their end in the window. */
  longCommands?: number;
  /** The fifth session's `1+1`: its worst round trip (one still waiting at the end counts its wait so far), how many were answered, still waiting. */
  roundTrip?: { worstMs: number; answered: number; unanswered: number };
}

export interface StallFigures extends StallProfile, StallBackdoorOptions {
  /** The build of the backdoor measured (its dist directory). */
  dist: string;
  rows: StallRow[];
}
