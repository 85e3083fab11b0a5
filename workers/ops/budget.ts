/**
 * How much of the main thread the backdoor's ops may use, when each session's next op may go,
 * and what each op is charged.
 *
 * The share follows the app's own load (its event-loop utilisation without the backdoor's
 * work, which the main thread reports with each reply), and never exceeds the ceiling
 * (`mainThreadBudget`, default 10%), whatever the load:
 * - the app idle or lightly loaded (under IDLE_LOAD): the ceiling. Nobody may be waiting on the
 *   app, but its own timers and I/O are, and they must keep their pace: back-to-back commands
 *   of 1.5 s each left an idle app's 50 ms timer firing 0.8 times a second;
 * - above that, the share falls fast as the load rises: a twentieth of the ceiling at 25%
 *   load, and the floor, MIN_SHARE, from about 36% on; never below it, so that an operator is
 *   never frozen out. (An HTTP app at 45% of its capacity, in CPU, shows 30-35%; there each
 *   1 ms op stalls a dozen of the app's requests.)
 *
 * Sessions share it fairly: each has a bucket of its own, which fills at the share divided
 * among the sessions that want the main thread now (with an op waiting, or in debt), up to
 * WINDOW_MS of the share; each op spends what it cost the main thread, weighted by its length
 * (below); a session's next op waits while its bucket is below zero. So a session that ran a
 * long op waits for it alone, and another's `1+1` goes meanwhile.
 *
 * All sessions together also spend from one bucket of the same size, so that several sessions
 * cannot each spend their own at once: while it is below zero (a long op has just run), only
 * ops of sessions whose last op was short (SHORT_OP_MS) go, and only while a third bucket of
 * the same size, which every op run that way spends from, is not below zero; a session with no
 * op yet, or whose last op was long, waits for the shared one. So one op of a session with
 * short ones that turns out long stops the others' short-op passes too: however many sessions
 * there are, at most one such op follows a long one. Together, in any window of T ms, sessions
 * use at most share x T plus WINDOW_MS x share (10% of T, and 0.2 s, at the ceiling), but for
 * that one op. One op cannot be split: one longer than that is
 * followed by a pause of its cost over the share (x 9 at 10%) for the others with long or no ops
 * and longer for its own session, so that the app's timers and I/O catch up.
 *
 * The weight: what a stall costs the app's tail latency grows faster than its length. The
 * requests that arrive during a stall wait for the rest of it, so both how many requests are
 * late and how late they are grow with it; an op shorter than a request's own jitter
 * (SHORT_STALL_MS) harms nobody's tail, one of a millisecond harms several requests by up to a
 * millisecond. So an op is charged its length times the number of SHORT_STALL_MS it lasts,
 * from 1 to MAX_WEIGHT, and never more than MAX_EXTRA_MS above its length.
 */

/** The app's own load under which it counts as idle or lightly loaded. */
export const IDLE_LOAD = 0.05;
/** The share never falls below this (0.1%: a 1+1 still goes about six times a second). */
export const MIN_SHARE = 0.001;
/** How fast the share falls with the app's load above IDLE_LOAD: a twentieth of the ceiling at 25%. */
const FALL = Math.log(20) / (0.25 - IDLE_LOAD);
/** A session's bucket holds this much of the share: what it may spend at once after a pause. */
export const WINDOW_MS = 2000;
/**
 * An op this short (its time on the main thread) lets its session's next op go while the shared
 * bucket is in debt: a session's first command (its context made: 5-15 ms), a completion, a
 * `.stack`, not a loop of seconds.
 */
export const SHORT_OP_MS = 50;

/** A stall this short is within an app's own request-to-request jitter: charged as it is. */
export const SHORT_STALL_MS = 0.25;
/** An op is charged at most this many times its length... */
export const MAX_WEIGHT = 5;
/** ...and at most this much above it. */
export const MAX_EXTRA_MS = 10;

/** What an op that held the main thread for `costMs` is charged (see the weight, above). */
export function stallCharge(costMs: number): number {
  const weighted = costMs * Math.min(MAX_WEIGHT, Math.max(1, costMs / SHORT_STALL_MS));
  return Math.min(weighted, costMs + MAX_EXTRA_MS);
}

/** The share of the main thread allowed at the app's own `load` (0..1) under `ceiling`. */
export function allowedShare(load: number, ceiling: number): number {
  if (ceiling >= 1) return 1;
  if (!Number.isFinite(load) || load < IDLE_LOAD) return ceiling;
  return Math.max(MIN_SHARE, Math.min(ceiling, ceiling * Math.exp(-FALL * (load - IDLE_LOAD))));
}

interface Account {
  balance: number;
  /** It has an op waiting to go. */
  wants: boolean;
  /** How long its last op held the main thread (undefined before its first). */
  last: number | undefined;
}

export class MainThreadBudget {
  /** The ceiling: `mainThreadBudget`. */
  readonly ceiling: number;
  #share: number;
  #load: number | undefined;
  #at: number;
  readonly #accounts = new Map<unknown, Account>();
  /** The bucket all sessions spend from together. */
  #shared: number;
  /** The bucket that ops run while the shared one is in debt spend from (see above). */
  #passes: number;

  /**
   * @param ceiling the most of the main thread the ops may use, in (0, 1]; 1 means no pacing
   * @param now the current time in ms (a monotonic clock)
   */
  constructor(ceiling: number, now: number) {
    this.ceiling = ceiling;
    this.#share = ceiling; // until the main thread has told the app's load
    this.#at = now;
    this.#shared = this.burstMs;
    this.#passes = this.burstMs;
  }

  /** The share allowed now, for all sessions together. */
  get share(): number {
    return this.#share;
  }

  /** The app's own load, as last reported (undefined before the first reply). */
  get load(): number | undefined {
    return this.#load;
  }

  /** What a session's bucket holds at most. */
  get burstMs(): number {
    return this.#share * WINDOW_MS;
  }

  /** The main thread reported the app's own load. */
  observe(load: number, now: number): void {
    this.#accrue(now);
    this.#load = load;
    this.#share = allowedShare(load, this.ceiling);
  }

  /** Whether `account` has an op waiting to go (it then takes its part of the share). */
  wants(account: unknown, wants: boolean, now: number): void {
    this.#accrue(now);
    this.#account(account).wants = wants;
  }

  /** How long `account`'s next op must wait, in ms; 0 when it may go now. */
  delay(account: unknown, now: number): number {
    if (this.#share >= 1) return 0;
    this.#accrue(now);
    const { balance, last } = this.#account(account);
    if (balance < 0) return -balance / (this.#share / this.#active());
    if (this.#shared >= 0) return 0;
    const short = last !== undefined && last <= SHORT_OP_MS;
    if (short && this.#passes >= 0) return 0;
    // Until the shared bucket is out of debt, or for a session of short ops its passes, if sooner.
    return -(short ? Math.max(this.#shared, this.#passes) : this.#shared) / this.#share;
  }

  /** Whether `account` waits for the shared bucket (another session's long op), not for its own. */
  heldByOthers(account: unknown, now: number): boolean {
    this.#accrue(now);
    return this.#account(account).balance >= 0 && this.delay(account, now) > 0;
  }

  /**
   * An op of `account` held the main thread for `costMs` in one piece (charged by
   * stallCharge), and cost it `scatteredMs` more in pieces too small to weigh (its messages;
   * charged as they are). `more`: the piece is the end of the session's last op (an awaited
   * value printed), which was that much longer.
   */
  charge(account: unknown, costMs: number, now: number, scatteredMs = 0, more = false): void {
    this.#accrue(now);
    if (this.#share >= 1) return;
    const charged = stallCharge(costMs) + scatteredMs;
    const entry = this.#account(account);
    entry.balance -= charged;
    // An op that went while the shared bucket was in debt went on a pass.
    if (this.#shared < 0) this.#passes -= charged;
    this.#shared -= charged;
    entry.last = more ? (entry.last ?? 0) + costMs : costMs;
  }

  /**
   * What a session cost the main thread apart from its ops (late output, a load question):
   * charged as it is, and saying nothing of how long its next op will be.
   */
  chargeApart(account: unknown, ms: number, now: number): void {
    this.#accrue(now);
    if (this.#share >= 1) return;
    this.#account(account).balance -= ms;
    this.#shared -= ms;
  }

  /** The session has ended: its account goes. */
  forget(account: unknown): void {
    this.#accounts.delete(account);
  }

  #account(key: unknown): Account {
    let account = this.#accounts.get(key);
    if (!account) {
      account = { balance: this.burstMs, wants: false, last: undefined };
      this.#accounts.set(key, account);
    }
    return account;
  }

  /** Sessions that take a part of the share now: an op waiting, or in debt. At least one. */
  #active(): number {
    let active = 0;
    for (const account of this.#accounts.values()) if (account.wants || account.balance < 0) active++;
    return Math.max(1, active);
  }

  #accrue(now: number): void {
    const elapsed = Math.max(0, now - this.#at);
    this.#at = now;
    if (elapsed === 0) return;
    if (this.#share >= 1) {
      // Unpaced, nothing is owed.
      for (const account of this.#accounts.values()) account.balance = this.burstMs;
      this.#shared = this.burstMs;
      this.#passes = this.burstMs;
      return;
    }
    const each = (elapsed * this.#share) / this.#active();
    const burst = this.burstMs;
    for (const account of this.#accounts.values()) account.balance = Math.min(burst, account.balance + each);
    this.#shared = Math.min(burst, this.#shared + elapsed * this.#share);
    this.#passes = Math.min(burst, this.#passes + elapsed * this.#share);
  }
}
