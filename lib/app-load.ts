import { eventLoopUtilization, now as clock } from '../common/primordials.ts';

/** Shortest window the load is measured over, and the time constant of its smoothing. */
const WINDOW_MS = 100;
const SMOOTHING_MS = 1000;
/**
 * What each call (a command, or a held command's question for the load) costs the main thread
 * that no clock of ours sees: two message deliveries
 * (waking the loop, receiving and deserialising in C++, the callback scope and its microtasks).
 * Measured at 24 us on the project's 2-core machine (an unpaced flood of 1+1 at 3,150
 * commands/s in an idle app read as 7.7% "app load", and so paced itself); counted
 * generously, as an app made to look less loaded by a flood is paced the less by at most
 * commands/s x this, and a paced flood runs a few dozen commands a second.
 */
export const UNTIMED_PER_CALL_MS = 0.05;

/**
 * The app's own load: the main thread's event-loop utilisation without what the backdoor
 * spent there (its commands, and its messages). Sent with each reply, at no extra message or
 * timer, so that the worker's budget can follow it (see workers/budget.ts); a command the
 * budget holds asks for it every half second, as no reply comes meanwhile. Smoothed over
 * about a second; measured at most every 100 ms (a call in between repeats the last value).
 */
export class AppLoad {
  #last = eventLoopUtilization();
  #lastAt = clock();
  #backdoorMs = 0;
  #calls = 0;
  #load = Number.NaN;

  /**
   * The app's own load (0..1), given the backdoor's main-thread milliseconds so far (as timed)
   * and the calls the worker made so far; NaN at first.
   */
  measure(backdoorMs: number, calls: number): number {
    const now = clock();
    if (now - this.#lastAt < WINDOW_MS) return this.#load;
    const current = eventLoopUtilization();
    const { active, idle } = eventLoopUtilization(current, this.#last);
    const wall = active + idle;
    const backdoor = backdoorMs - this.#backdoorMs + (calls - this.#calls) * UNTIMED_PER_CALL_MS;
    const own = wall > 0 ? Math.min(1, Math.max(0, active - backdoor) / wall) : 0;
    const weight = Math.min(1, (now - this.#lastAt) / SMOOTHING_MS);
    this.#load = Number.isNaN(this.#load) ? own : this.#load + weight * (own - this.#load);
    this.#last = current;
    this.#lastAt = now;
    this.#backdoorMs = backdoorMs;
    this.#calls = calls;
    return this.#load;
  }
}
