import { performance } from 'node:perf_hooks';
import type { MainNotice, MainOp, OpReply, OpRequest } from '../../common/protocol.ts';
import type { Diagnostics } from '../diagnostics/diagnostics.ts';
import type { InspectorTally } from '../../common/inspector-tally.ts';
import { opNamed } from '../../common/ops.ts';
import type { MainThreadBudget } from './budget.ts';
import type { MainLink } from './main-link.ts';
import type { RunawayWatch } from './runaway-watch.ts';
import { budgetHeld, HELD_NOTICE_MS, HeldNotices, mainBusy } from './held-notices.ts';
import { INSPECTOR_OPS, interrupted, type DoorOp, type OpListener, type Ticket, type WaitCode } from './ticket.ts';

export type { DoorOp, OpListener, Ticket, WaitCode } from './ticket.ts';
export { HELD_NOTICE_MS } from './held-notices.ts';
export { interrupted } from './ticket.ts';

/**
 * What an op costs the main thread beyond what can be timed there: the two messages and the
 * wake-up around it (about 60 us on an idle 2-core machine, twice that under load; see
 * bench/). Charged to the budget as a flat amount with each op.
 */
const MESSAGING_COST_MS = 0.1;
/**
 * An op the budget holds asks the main thread for the app's load this often: the load comes
 * with each reply, and none comes while the op waits, so the wait would otherwise rest on the
 * load before it.
 */
export const LOAD_REFRESH_MS = 500;

/**
 * The one way to the main thread: every op that costs it (run there, or looking at it through
 * the inspector) comes through here, is paced by the budget, charged to its session, and ends
 * with it.
 *
 * Main-thread ops go one at a time: the next leaves only after the main thread has answered
 * the previous one, so each runs in its own turn of the main thread's event loop and the app's
 * I/O runs between any two. The queue is in submission order, and the first op whose session's
 * budget lets it go goes (a session has at most one op queued: it waits for its op to end
 * before it submits the next, so this is round robin between sessions, and one session's debt
 * holds only that session). Inspector ops answer while the main thread is busy (`.stack` must):
 * they wait for their session's budget, not for the op in flight. An awaited op is answered at
 * once as pending; other sessions go on while it waits, and it ends in a `settle` notice.
 */
export class Door {
  readonly #main: MainLink;
  readonly #budget: MainThreadBudget | undefined;
  readonly #runaways: RunawayWatch | undefined;
  readonly #diagnostics: Diagnostics;
  readonly #queue: Ticket[] = [];
  readonly #awaiting = new Map<number, Ticket>();
  /** Inspector ops waiting for their budget, or running. */
  readonly #inspecting = new Set<Ticket>();
  #current: Ticket | undefined;
  /** When the op in flight left (performance.now()). */
  #sentAt = 0;
  #closed = false;
  #lastId = 0;
  /** What the inspector ops have cost the main thread, in all (read there). */
  readonly #tally: InspectorTally | undefined;
  #paced: NodeJS.Timeout | undefined;
  readonly #notices: HeldNotices;
  #unwatch: (() => void) | undefined;

  constructor(main: MainLink, diagnostics: Diagnostics, budget?: MainThreadBudget, runaways?: RunawayWatch, tally?: InspectorTally) {
    this.#tally = tally;
    this.#main = main;
    this.#diagnostics = diagnostics;
    this.#budget = budget;
    this.#runaways = runaways;
    this.#notices = new HeldNotices(
      () => this.#waitingTickets(),
      (ticket, now) => this.#reason(ticket, now),
    );
  }

  /** Queue an op; its listener hears from it unless it is abandoned first. */
  submit(op: DoorOp, listener: OpListener): Ticket {
    const ticket: Ticket = { id: ++this.#lastId, op, listener, submitted: performance.now(), onMain: !INSPECTOR_OPS.has(op.op), abandoned: false };
    if (this.#closed) {
      ticket.abandoned = true;
      queueMicrotask(() => listener.done(interrupted('the backdoor is closing')));
      return ticket;
    }
    const held = this.#budget && opNamed(op.op)?.urgent ? this.#budget.delay(op.account, ticket.submitted) : 0;
    if (held > 0) {
      ticket.abandoned = true;
      const [, reason] = budgetHeld(this.#budget!, this.#budget!.heldByOthers(op.account, ticket.submitted));
      queueMicrotask(() => listener.done({ status: 'error', code: 'budget-held', value: { text: `${reason}; try again in ${Math.ceil(held / 1000)} s` } }));
      return ticket;
    }
    if (ticket.onMain) {
      this.#queue.push(ticket);
      this.#budget?.wants(op.account, true, ticket.submitted);
      this.#pump();
    } else {
      this.#inspecting.add(ticket);
      this.#startInspector(ticket);
    }
    this.#notices.watch();
    return ticket;
  }

  /**
   * How long the main thread has kept `ticket` waiting: its op in flight, or the one ahead of
   * it in flight for half the notice time or more. Undefined when something else holds it (the
   * budget, or its turn behind an op just sent).
   */
  mainSilentMs(ticket: Ticket, now: number): number | undefined {
    const current = this.#current;
    const onMain = current === ticket || (ticket.onMain && current !== undefined && now - current.submitted >= HELD_NOTICE_MS / 2);
    return onMain ? now - this.#sentAt : undefined;
  }

  /**
   * Drop an op's result; one still queued never runs, one running in the worker stops. Returns
   * whether it is code the main thread runs now (sent and not answered), which only evalTimeoutMs
   * stops: `stopped` is called if it does.
   */
  abandon(ticket: Ticket, stopped?: () => void): boolean {
    ticket.abandoned = true;
    const queued = this.#queue.indexOf(ticket);
    if (queued !== -1) {
      this.#queue.splice(queued, 1);
      this.#wants(ticket.op.account);
    }
    this.#awaiting.delete(ticket.id);
    ticket.controller?.abort();
    const running = this.#current === ticket && (ticket.op.op === 'eval' || ticket.op.op === 'inspect');
    if (running) ticket.stopped = stopped;
    return running;
  }

  /** A session has ended: its ops are abandoned, and its share goes back to the others. */
  forget(account: unknown): void {
    const current = this.#current ? [this.#current] : [];
    for (const ticket of [...current, ...this.#queue, ...this.#awaiting.values(), ...this.#inspecting]) if (ticket.op.account === account) this.abandon(ticket);
    this.#budget?.forget(account);
  }

  /** What the main thread told on its own, and what it cost there (charged to `account`, when known). */
  notice(notice: MainNotice, account: unknown): void {
    if (notice.type === 'settle') {
      const ticket = this.#awaiting.get(notice.id);
      this.#budget?.charge(ticket?.op.account ?? account, notice.cost, performance.now(), 0, true);
      if (!ticket) return; // abandoned
      this.#awaiting.delete(notice.id);
      if (notice.out !== '') ticket.listener.output?.(notice.out);
      ticket.listener.done(notice.result);
      return;
    }
    if (account !== undefined) this.#budget?.chargeApart(account, notice.cost, performance.now());
  }

  /** Tell the main thread that a context is no longer used (and which one has its `_` and `_error` now). */
  dropContext(context: number, successor?: number): void {
    if (!this.#closed) this.#main.notify(successor === undefined ? { type: 'drop-context', context } : { type: 'drop-context', context, successor });
  }

  /** Abandon everything; nothing more is sent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#paced);
    this.#notices.close();
    this.#unwatch?.();
    if (this.#current) this.#current.abandoned = true;
    for (const ticket of [...this.#queue, ...this.#awaiting.values(), ...this.#inspecting]) this.abandon(ticket);
    this.#queue.length = 0;
    this.#awaiting.clear();
  }

  #request(ticket: Ticket): OpRequest {
    const { op, args, session, input, view, target, note } = ticket.op;
    return { id: ticket.id, op: op as MainOp, args, session, input, view, target, note };
  }

  #pump(): void {
    if (this.#current || this.#closed || this.#paced || this.#queue.length === 0) return;
    const now = performance.now();
    let wait = Infinity;
    let next = -1;
    for (let i = 0; i < this.#queue.length; i++) {
      const delay = this.#budget?.delay(this.#queue[i].op.account, now) ?? 0;
      if (delay <= 0) {
        next = i;
        break;
      }
      wait = Math.min(wait, delay);
    }
    if (next === -1) {
      const refresh = wait > LOAD_REFRESH_MS;
      this.#paced = setTimeout(() => (refresh ? this.#refreshLoad() : this.#unpace()), refresh ? LOAD_REFRESH_MS : wait);
      return;
    }
    const [ticket] = this.#queue.splice(next, 1);
    this.#wants(ticket.op.account);
    this.#current = ticket;
    this.#sentAt = now;
    if (this.#runaways && (ticket.op.op === 'eval' || ticket.op.op === 'inspect')) {
      // A stopped command's request is never answered: its reply comes from `recover`.
      this.#unwatch = this.#runaways.watch(ticket.id, (reply) => this.#answered(ticket, reply, true));
    }
    this.#main.request(this.#request(ticket)).then(
      (reply) => this.#answered(ticket, reply),
      (error: unknown) => this.#answered(ticket, { status: 'error', code: 'internal', value: { text: `Internal error: ${String((error as Error)?.message ?? error)}` }, out: '', cost: 0 }),
    );
  }

  /** Whether `account` still has an op queued (its part of the share). */
  #wants(account: unknown): void {
    this.#budget?.wants(
      account,
      this.#queue.some((ticket) => ticket.op.account === account),
      performance.now(),
    );
  }

  #unpace(): void {
    this.#paced = undefined;
    this.#pump();
  }

  /** Held: the load now, then the wait again (nothing else is sent meanwhile: #paced stays set). */
  #refreshLoad(): void {
    if (this.#queue.length === 0) return this.#unpace(); // the held ops were abandoned
    const account = this.#queue[0].op.account;
    this.#main
      .request({ id: ++this.#lastId, op: 'load', args: {} })
      .then(
        (reply) => {
          if (this.#closed) return;
          if (reply.measured !== undefined) this.#budget?.observe(reply.measured, performance.now());
          this.#budget?.chargeApart(account, MESSAGING_COST_MS, performance.now());
        },
        () => {},
      )
      .finally(() => this.#unpace());
  }

  /** The main thread answered `ticket` (or `recover` did: it was `stopped` at evalTimeoutMs). */
  #answered(ticket: Ticket, reply: Omit<OpReply, 'id'>, stopped = false): void {
    if (this.#current !== ticket) return; // answered already (stopped, then its request too)
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#current = undefined;
    const now = performance.now();
    if (reply.load !== undefined) this.#budget?.observe(reply.load, now);
    this.#budget?.charge(ticket.op.account, reply.cost, now, MESSAGING_COST_MS);
    if (!ticket.abandoned) {
      if (reply.out !== '') ticket.listener.output?.(reply.out);
      if (reply.status === 'pending') {
        this.#awaiting.set(ticket.id, ticket);
        ticket.listener.pending?.();
      } else {
        ticket.listener.done({ status: reply.status, ...(reply.code && { code: reply.code }), value: reply.value ?? { text: '' } });
      }
    } else if (stopped || reply.code === 'timeout') {
      ticket.stopped?.();
    }
    this.#pump();
  }

  /** An inspector op: when its session's budget lets it go, run in the worker; its cost on the main thread charged. */
  #startInspector(ticket: Ticket): void {
    if (ticket.abandoned || this.#closed) return void this.#inspecting.delete(ticket);
    const delay = this.#budget?.delay(ticket.op.account, performance.now()) ?? 0;
    if (delay > 0) {
      this.#budget?.wants(ticket.op.account, true, performance.now());
      setTimeout(() => this.#startInspector(ticket), Math.min(delay, LOAD_REFRESH_MS)).unref?.();
      return;
    }
    this.#wants(ticket.op.account);
    ticket.controller = new AbortController();
    ticket.listener.started?.();
    this.#diagnostics.run(ticket.op.op, ticket.op.args, ticket.controller.signal).then(({ result, mainMs }) => {
      this.#inspecting.delete(ticket);
      this.#tally?.add(mainMs);
      this.#budget?.charge(ticket.op.account, mainMs, performance.now(), MESSAGING_COST_MS);
      if (!ticket.abandoned) ticket.listener.done(result);
    });
  }

  /** Ops that have not started, or wait for the main thread: queued, in flight, inspector ops held by the budget. */
  #waitingTickets(): Ticket[] {
    const inspecting = [...this.#inspecting].filter((ticket) => ticket.controller === undefined);
    return [...(this.#current ? [this.#current] : []), ...this.#queue, ...inspecting];
  }

  #reason(ticket: Ticket, now: number): [WaitCode, string] {
    if (this.mainSilentMs(ticket, now) !== undefined) return mainBusy(this.#current === ticket);
    const budget = this.#budget;
    if (budget && (budget.delay(ticket.op.account, now) > 0 || this.#paced)) return budgetHeld(budget, budget.heldByOthers(ticket.op.account, now));
    return ['queued', 'queued behind the ops of other sessions'];
  }
}
