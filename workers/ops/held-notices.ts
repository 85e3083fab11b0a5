import { performance } from 'node:perf_hooks';
import type { MainThreadBudget } from './budget.ts';
import type { Ticket, WaitCode } from './ticket.ts';

/** An op that has waited this long for the main thread is told why, once. */
export const HELD_NOTICE_MS = 1000;

/**
 * Never silent: an op still waiting for the main thread after HELD_NOTICE_MS hears why, the
 * budget or a main thread that does not answer; and again whenever the reason changes (held
 * behind another session's long command, then by the pause that follows it). One timer, only
 * while ops wait.
 */
export class HeldNotices {
  readonly #waiting: () => Ticket[];
  readonly #reason: (ticket: Ticket, now: number) => [WaitCode, string];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /**
   * @param waiting the ops that wait now (queued, in flight, held)
   * @param reason why one of them waits
   */
  constructor(waiting: () => Ticket[], reason: (ticket: Ticket, now: number) => [WaitCode, string]) {
    this.#waiting = waiting;
    this.#reason = reason;
  }

  /** Ops wait (or may): a timer for the next one to tell, or to look at again. */
  watch(): void {
    if (this.#timer || this.#closed) return;
    const waiting = this.#waiting().filter((ticket) => ticket.listener.waiting && !ticket.abandoned);
    if (waiting.length === 0) return;
    const now = performance.now();
    const next = Math.min(...waiting.map((ticket) => (ticket.told ? now + HELD_NOTICE_MS : ticket.submitted + HELD_NOTICE_MS)));
    this.#timer = setTimeout(() => this.#tell(), Math.max(0, next - now));
    this.#timer.unref?.();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #tell(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const ticket of this.#waiting()) {
      if (ticket.abandoned || now - ticket.submitted < HELD_NOTICE_MS) continue;
      const [code, reason] = this.#reason(ticket, now);
      if (ticket.told === code) continue;
      ticket.told = code;
      ticket.listener.waiting?.(now - ticket.submitted, code, reason);
    }
    this.watch();
  }
}

/** The main thread has not answered the op, or the one ahead of it. */
export function mainBusy(itself: boolean): [WaitCode, string] {
  const since = itself ? 'it was sent' : 'the command ahead of it was sent';
  return ['main-busy', `the app's main thread has not answered since ${since}: it is busy (the app's own work, or a long command), and .stack in another session shows where`];
}

/** The budget holds the op: its session's debt, or (`others`) the pause after another session's long op. */
export function budgetHeld(budget: MainThreadBudget, others: boolean): [WaitCode, string] {
  const load = budget.load === undefined ? 'not known yet' : `${Math.round(budget.load * 100)}%`;
  const why = others ? ', and another session has just used it for a long op' : '';
  return ['budget-held', `held by the budget: the app's own load is ${load}, so the backdoor may use ${formatShare(budget.share)} of its main thread now (mainThreadBudget ${budget.ceiling}), shared by the sessions that use it${why}`];
}

function formatShare(share: number): string {
  return share >= 0.1 ? `${Math.round(share * 100)}%` : `${(share * 100).toFixed(1)}%`;
}
