import type { AuditEvent } from '../common/audit-event.ts';
import type { MainNotice } from '../common/protocol.ts';
import { now } from '../common/primordials.ts';
import { attribution } from './attribution.ts';
import type { NextTurn } from './next-turn.ts';
import type { OutcomeFormatter } from './outcome.ts';
import { SessionContext, type LastValues } from './session-context.ts';
import { watchSession } from './uncaught.ts';

/** What the contexts tell, and whom. */
export interface ContextEvents {
  /** A notice for the worker (output, a tapped value, a late error), with what it cost the main thread. */
  notify(notice: MainNotice): void;
  /** An audit event of the main thread's (a late error of a session that has ended). */
  audit(event: AuditEvent): void;
  /** The context whose op was stopped and is not answered yet: its later output waits for that answer. */
  stoppedContext(): number | undefined;
}

/**
 * The sessions' contexts on the main thread, by id: made when an op first names one, dropped
 * when the worker says it is no longer used. What a context's code prints or throws outside
 * its ops is told in a turn of its own, after the op that started it has been answered.
 */
export class SessionContexts {
  readonly #contexts = new Map<number, SessionContext>();
  readonly #locals: Record<string, unknown>;
  readonly #format: OutcomeFormatter;
  readonly #turn: NextTurn;
  readonly #events: ContextEvents;
  /** `_` and `_error` of contexts `.clear` dropped, by the context that follows each, until it is made. */
  readonly #inherited = new Map<number, LastValues>();
  #closed = false;

  constructor(locals: Record<string, unknown>, format: OutcomeFormatter, turn: NextTurn, events: ContextEvents) {
    this.#locals = locals;
    this.#format = format;
    this.#turn = turn;
    this.#events = events;
  }

  has(id: number): boolean {
    return this.#contexts.has(id);
  }

  /** The context `id` of session `number`, made now if it is new. */
  get(id: number, number: number): SessionContext {
    let session = this.#contexts.get(id);
    if (session) return session;
    session = new SessionContext(this.#locals, {
      // Output printed outside an op (timers, promise callbacks) is sent once per turn of the
      // event loop, so a loop of console.log calls costs one message, not one per call.
      asyncOutput: () => this.#turn.schedule(() => this.flushOutput(id)),
      tap: (value) => {
        if (this.#closed || !this.#contexts.has(id)) return;
        const start = now();
        const tapped = this.#format.tapped(value);
        this.#events.notify({ type: 'tap', context: id, value: tapped, cost: now() - start });
      },
      uncaught: (thrown, kind) => this.#uncaught(id, number, thrown, session!.Error, kind === 'exit'),
    });
    const inherited = this.#inherited.get(id);
    if (inherited) {
      this.#inherited.delete(id);
      session.inherit(inherited);
    }
    this.#contexts.set(id, session);
    attribution.retain();
    watchSession(session.objectPrototype, session);
    return session;
  }

  /**
   * Forget a context. Scheduled as the ops are, so that an op already on its way to run (sent
   * before the session ended) runs first and cannot make the context again after. Its `_` and
   * `_error` go to `successor` (made by `.clear`), also when it was never made itself.
   */
  dropLater(id: number, forget: (id: number) => void, successor?: number): void {
    this.#turn.schedule(() => {
      const session = this.#contexts.get(id);
      const last = session ? session.lastValues : this.#inherited.get(id);
      this.#inherited.delete(id);
      if (successor !== undefined && last) this.#inherited.set(successor, last);
      if (session) {
        this.#contexts.delete(id);
        session.close();
        attribution.release();
      }
      forget(id);
    });
  }

  /** Output printed by context `id` outside its ops, told now (unless its stopped op is to be answered first). */
  flushOutput(id: number): void {
    // A stopped op of this context is answered first (by `recover`), as Node's REPL prints a
    // timeout before what the command's timers print after it.
    if (this.#events.stoppedContext() === id) return;
    const start = now();
    const text = this.#contexts.get(id)?.laterOutput(true) ?? '';
    if (text !== '' && !this.#closed) this.#events.notify({ type: 'output', context: id, text, cost: now() - start });
  }

  /** Nothing is told any more; every context is released. */
  close(): void {
    this.#closed = true;
    for (let i = 0; i < this.#contexts.size; i++) attribution.release();
    for (const session of this.#contexts.values()) session.close();
    this.#contexts.clear();
    this.#inherited.clear();
  }

  /**
   * A session's code threw (or rejected) outside its ops: its session is told, after the
   * output printed before it; a session that has ended (or a closed backdoor) leaves it to the
   * audit trail. Either way the app never sees it.
   */
  #uncaught(id: number, number: number, thrown: unknown, sessionError: ErrorConstructor, exiting: boolean): void {
    const start = now();
    const text = this.#format.uncaught(thrown, sessionError);
    const cost = now() - start;
    // As the app exits, the audit trail is told now: no turn of the event loop is left.
    if (this.#closed || exiting) {
      this.#events.audit({ type: 'uncaught', time: new Date().toISOString(), session: number, message: text, ...(exiting ? { exiting: true as const } : {}) });
      return;
    }
    // In a turn of its own, as Node's REPL prints it after the op's value (a `nextTick`
    // callback throws before the reply has left), and after the output printed before it. The
    // worker prints it in the session (also for a context it replaced with `.clear`), or
    // audits it if the session has ended.
    this.#turn.schedule(() => {
      this.flushOutput(id);
      this.#events.notify({ type: 'uncaught', context: id, session: number, text, cost });
    });
  }
}
