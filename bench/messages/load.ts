// What bench/load.js, the HTTP load, is asked over IPC and answers, and what it and its clock
// thread (bench/load-clock.js) tell each other (types only: see bench/messages/ipc.ts).
import type { RecordableHistogram } from 'node:perf_hooks';

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
