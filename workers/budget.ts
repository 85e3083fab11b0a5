/**
 * The share of the main thread's time the backdoor may use, as a token bucket: time accrues at
 * `share` milliseconds per millisecond of wall time, up to a small burst; each command spends
 * what it cost the main thread (measured there); the next command waits while the balance is
 * negative. So a person's occasional command is answered at once, while a flood is paced to
 * `share` of the main thread however many sessions send it: over any window of T ms the
 * backdoor uses at most share * T + burst, plus the one command that overdraws.
 *
 * A long command is never cut short here (that is `evalTimeoutMs`' job): it is paid for
 * afterwards, by the wait before the next one.
 */
export class MainThreadBudget {
  readonly share: number;
  readonly burstMs: number;
  #balance: number;
  #at: number;

  /**
   * @param share of the main thread, in (0, 1]; 1 means no pacing
   * @param now the current time in ms (a monotonic clock)
   * @param burstMs what may be spent at once after a pause (default: share * 100 ms)
   */
  constructor(share: number, now: number, burstMs = share * 100) {
    this.share = share;
    this.burstMs = burstMs;
    this.#balance = burstMs;
    this.#at = now;
  }

  /** How long the next command must wait, in ms; 0 when it may go now. */
  delay(now: number): number {
    if (this.share >= 1) return 0;
    this.#accrue(now);
    return this.#balance >= 0 ? 0 : -this.#balance / this.share;
  }

  /** A command used `costMs` of main-thread time. */
  charge(costMs: number, now: number): void {
    this.#accrue(now);
    this.#balance -= costMs;
  }

  #accrue(now: number): void {
    this.#balance = Math.min(this.burstMs, this.#balance + Math.max(0, now - this.#at) * this.share);
    this.#at = now;
  }
}
