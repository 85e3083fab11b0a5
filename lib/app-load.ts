import { performance } from 'node:perf_hooks';

/** Shortest window the load is measured over, and the time constant of its smoothing. */
const WINDOW_MS = 100;
const SMOOTHING_MS = 1000;

/**
 * The app's own load: the main thread's event-loop utilisation without what the backdoor
 * spent there (its commands, and its messages). Sent with each reply, at no extra message or
 * timer, so that the worker's budget can follow it (see workers/budget.ts). Smoothed over
 * about a second; measured at most every 100 ms (a reply in between repeats the last value).
 */
export class AppLoad {
  #last = performance.eventLoopUtilization();
  #lastAt = performance.now();
  #backdoorMs = 0;
  #load = Number.NaN;

  /** The app's own load (0..1), given the backdoor's main-thread milliseconds so far; NaN at first. */
  measure(backdoorMs: number): number {
    const now = performance.now();
    if (now - this.#lastAt < WINDOW_MS) return this.#load;
    const current = performance.eventLoopUtilization();
    const { active, idle } = performance.eventLoopUtilization(current, this.#last);
    const wall = active + idle;
    const own = wall > 0 ? Math.min(1, Math.max(0, active - (backdoorMs - this.#backdoorMs)) / wall) : 0;
    const weight = Math.min(1, (now - this.#lastAt) / SMOOTHING_MS);
    this.#load = Number.isNaN(this.#load) ? own : this.#load + weight * (own - this.#load);
    this.#last = current;
    this.#lastAt = now;
    this.#backdoorMs = backdoorMs;
    return this.#load;
  }
}
