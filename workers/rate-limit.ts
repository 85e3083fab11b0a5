/**
 * A token bucket with an injected clock: at most `burst` events at once and `perSecond` on
 * average; what is refused is counted, for a line that says how many were dropped.
 */
export class RateLimit {
  readonly #burst: number;
  readonly #perMs: number;
  #tokens: number;
  #at: number;
  #dropped = 0;

  constructor(burst: number, perSecond: number, now: number) {
    this.#burst = burst;
    this.#perMs = perSecond / 1000;
    this.#tokens = burst;
    this.#at = now;
  }

  /** Whether an event may pass now; if not, it is counted as dropped. */
  take(now: number): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#perMs);
    this.#at = now;
    if (this.#tokens >= 1) {
      this.#tokens--;
      return true;
    }
    this.#dropped++;
    return false;
  }

  /** Events dropped since the last call. */
  takeDropped(): number {
    const dropped = this.#dropped;
    this.#dropped = 0;
    return dropped;
  }
}
