/**
 * How much of the main thread the backdoor's commands may use, and when the next one may go.
 *
 * The policy is work-conserving: the share follows the app's own load (its event-loop
 * utilisation without the backdoor's work, which the main thread reports with each reply).
 *
 * - The app idle (its own load under IDLE_LOAD): no pacing at all. Nobody is there to protect;
 *   a script piped into the backdoor runs at full speed, and a runaway command that was stopped
 *   by `evalTimeoutMs` leaves no debt behind.
 * - Above that, the share starts at the ceiling (`mainThreadBudget`) and falls fast as the app's
 *   load rises: a twentieth of the ceiling at 25% load (0.5% of the main thread at the default
 *   ceiling), and the floor, MIN_SHARE, from about 36% on; never below it, so that an operator
 *   is never frozen out. (Load is event-loop utilisation: an HTTP app at 45% of its capacity,
 *   in CPU, shows 30-35%. There, each 1 ms command stalls a dozen of the app's requests, the
 *   backlog included: at 2 such commands a second, 0.8% of them, enough to move the app's p99
 *   in bench/; at the floor, fewer than half as many.)
 *
 * Within a share, a token bucket: time accrues at `share` ms per ms of wall time, up to a small
 * burst; each command spends what it cost the main thread, weighted by its length (below); the
 * next one waits while the balance is negative. A person's occasional command is answered at
 * once; a flood is paced. A long command is never cut short here (that is `evalTimeoutMs`' job).
 *
 * The weight: what a stall costs the app's tail latency grows faster than its length. The
 * requests that arrive during a stall wait for the rest of it, so both how many requests are
 * late and how late they are grow with it; a command shorter than a request's own jitter
 * (SHORT_STALL_MS) harms nobody's tail, one of a millisecond harms several requests by up to a
 * millisecond. So a command is charged its length times the number of SHORT_STALL_MS it lasts,
 * from 1 to MAX_WEIGHT, and never more than MAX_EXTRA_MS above its length, so that a person
 * who ran one long command is not held much longer for it than the share alone would hold them.
 * (In bench/, a heavy command of about 1.3 ms went 2-3 times a second at 26-30% load and moved
 * the app's p99 from 0.6-0.7 ms to 2.0-2.5 ms; at 0.6 a second, to 0.8-1.1 ms.)
 */

/** The app's own load under which it counts as idle. */
export const IDLE_LOAD = 0.05;
/** The share never falls below this (0.1%: a 1+1 still goes about six times a second). */
export const MIN_SHARE = 0.001;
/** How fast the share falls with the app's load above IDLE_LOAD: a twentieth of the ceiling at 25%. */
const FALL = Math.log(20) / (0.25 - IDLE_LOAD);

/** A stall this short is within an app's own request-to-request jitter: charged as it is. */
export const SHORT_STALL_MS = 0.25;
/** A command is charged at most this many times its length... */
export const MAX_WEIGHT = 5;
/** ...and at most this much above it. */
export const MAX_EXTRA_MS = 10;

/** What a command that held the main thread for `costMs` is charged (see the weight, above). */
export function stallCharge(costMs: number): number {
  const weighted = costMs * Math.min(MAX_WEIGHT, Math.max(1, costMs / SHORT_STALL_MS));
  return Math.min(weighted, costMs + MAX_EXTRA_MS);
}

/** The share of the main thread allowed at the app's own `load` (0..1) under `ceiling`. */
export function allowedShare(load: number, ceiling: number): number {
  if (ceiling >= 1 || load < IDLE_LOAD) return 1;
  if (!Number.isFinite(load)) return ceiling; // not known: the ceiling
  return Math.max(MIN_SHARE, Math.min(ceiling, ceiling * Math.exp(-FALL * (load - IDLE_LOAD))));
}

export class MainThreadBudget {
  /** The ceiling: `mainThreadBudget`. */
  readonly ceiling: number;
  readonly burstMs: number;
  #share: number;
  #load: number | undefined;
  #balance: number;
  #at: number;

  /**
   * @param ceiling the most of the main thread the commands may use, in (0, 1]; 1 means no pacing
   * @param now the current time in ms (a monotonic clock)
   * @param burstMs what may be spent at once after a pause (default: ceiling * 100 ms)
   */
  constructor(ceiling: number, now: number, burstMs = ceiling * 100) {
    this.ceiling = ceiling;
    this.burstMs = burstMs;
    this.#share = ceiling; // until the main thread has told the app's load
    this.#balance = burstMs;
    this.#at = now;
  }

  /** The share allowed now. */
  get share(): number {
    return this.#share;
  }

  /** The app's own load, as last reported (undefined before the first reply). */
  get load(): number | undefined {
    return this.#load;
  }

  /** The main thread reported the app's own load. */
  observe(load: number, now: number): void {
    this.#accrue(now);
    this.#load = load;
    this.#share = allowedShare(load, this.ceiling);
    // Unpaced, nothing is owed: an idle app has nothing to be protected from.
    if (this.#share >= 1) this.#balance = this.burstMs;
  }

  /** How long the next command must wait, in ms; 0 when it may go now. */
  delay(now: number): number {
    if (this.#share >= 1) return 0;
    this.#accrue(now);
    return this.#balance >= 0 ? 0 : -this.#balance / this.#share;
  }

  /**
   * A command held the main thread for `costMs` in one piece (charged by stallCharge), and cost
   * it `scatteredMs` more in pieces too small to weigh (its messages; charged as they are).
   */
  charge(costMs: number, now: number, scatteredMs = 0): void {
    this.#accrue(now);
    if (this.#share < 1) this.#balance -= stallCharge(costMs) + scatteredMs;
  }

  #accrue(now: number): void {
    this.#balance = Math.min(this.burstMs, this.#balance + Math.max(0, now - this.#at) * this.#share);
    this.#at = now;
  }
}
