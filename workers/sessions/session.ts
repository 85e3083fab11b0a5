import { performance } from 'node:perf_hooks';
import type { AuditEvent } from '../../common/audit-event.ts';
import { checkArgs, lastsSeconds, opNamed, type Args } from '../../common/ops.ts';
import type { OpResult, PreparedInput, SessionRef, ValueView } from '../../common/protocol.ts';
import type { Door, Ticket, WaitCode } from '../ops/door.ts';

/** An awaited op still pending after this long gives the prompt back (text mode). */
export const PENDING_NOTICE_MS = 1000;

/** How an op was asked for, and what it needs beyond its arguments. */
export interface RunHow {
  /** As typed (for the audit trail). */
  typed: string;
  /** JSON mode: the input's id. */
  id?: string | number | null;
  /** eval, inspect: the code as the worker prepared it. */
  input?: PreparedInput;
  view?: ValueView;
  /** complete: what to walk, and the start of the name. */
  target?: { path: string[]; prefix: string };
  /** stats: the worker's own line. */
  note?: string;
}

/** What a mode hears of one of its ops. */
export interface RunEvents {
  output?(text: string): void;
  pending?(): void;
  /** A diagnosis that runs in the worker has started. */
  started?(): void;
  waiting?(ms: number, code: WaitCode, reason: string): void;
  done(result: OpResult): void;
}

/** An op of a session, from its start to its end. */
export interface Running {
  readonly op: string;
  readonly typed: string;
  readonly started: number;
  readonly id?: string | number | null;
  /** Set once it has been sent to the background (`Promise #N pending`). */
  promise?: number;
  /** The main thread answered that it awaits. */
  pending: boolean;
  over: boolean;
}

/** What a session needs of its connection. */
export interface SessionOwner {
  readonly id: number;
  readonly peer: string;
  readonly door: Door;
  /** A fresh main-side context id for this session. */
  newContext(): number;
  /** A session op (common/ops.ts, `runs: 'session'`), done here in the worker. */
  sessionOp(op: string, args: Args): OpResult;
  audit(event: AuditEvent): void;
  /** An op ended: the session is active (idleTimeoutMs counts from here). */
  active(): void;
  /** Runs a callback of the door's; an error in it ends the session only. */
  guard(step: () => void): void;
  /** An op ended, or went to the background: lines that waited may be taken. */
  drain(): void;
}

/** Ops that are not audited: asked for at every TAB. */
const UNAUDITED = new Set(['complete', 'help', 'describe', 'break']);

/**
 * A session's ops, from submission to their audit event: each checked against the op table,
 * run where the table says (here, or through the door to the main thread), and ended with the
 * session. Its context on the main thread (the main thread owns what is in it) is named here.
 */
export class Session {
  readonly #owner: SessionOwner;
  readonly #tickets = new Map<Running, Ticket>();
  /** What waits for each completion: answered (no names) if the completion is dropped. */
  readonly #completions = new Map<Running, RunEvents>();
  #background = 0;
  #opsRun = 0;
  #typedBytes = 0;
  #context: number;
  #usedContext = false;
  /** The context may hold the `_` and `_error` of one `.clear` replaced, on the main thread. */
  #inherits = false;
  #lines = 0;

  constructor(owner: SessionOwner) {
    this.#owner = owner;
    this.#context = owner.newContext();
  }

  /** Bytes of input this session has sent to the main thread to compile and run. */
  get typedBytes(): number {
    return this.#typedBytes;
  }

  get opsRun(): number {
    return this.#opsRun;
  }

  /** Whether the session's context has been used on the main thread. */
  get usedContext(): boolean {
    return this.#usedContext;
  }

  /** Counts a line evaluated, as Node's REPL counts them for its script names (`REPL<n>`); returns its number. */
  countLine(): number {
    return ++this.#lines;
  }

  get lines(): number {
    return this.#lines;
  }

  /** Runs op `name` for this session; `events` hear of it. */
  run(name: string, args: Args, how: RunHow, events: RunEvents): Running {
    const running: Running = { op: name, typed: how.typed, started: performance.now(), id: how.id, pending: false, over: false };
    const finish = (result: OpResult) => {
      if (running.over) return;
      this.#end(running, result.status === 'done');
      events.done(result);
      this.#owner.drain();
    };
    const spec = opNamed(name);
    const refuse = (result: OpResult) => queueMicrotask(() => this.#owner.guard(() => finish(result)));
    if (!spec) {
      refuse({ status: 'error', code: 'unknown-op', value: { text: `Unknown op ${JSON.stringify(String(name).slice(0, 40))}` } });
      return running;
    }
    const checked = checkArgs(spec, args);
    if (typeof checked === 'string') {
      refuse({ status: 'error', code: 'bad-args', value: { text: `${spec.name}: ${checked}` } });
      return running;
    }
    if (spec.runs === 'session') {
      // Done at once, but heard of after `run` has returned, as every op's end is.
      queueMicrotask(() => this.#owner.guard(() => finish(this.#owner.sessionOp(spec.name, checked))));
      return running;
    }
    if (name === 'eval' && typeof checked.code === 'string') this.#typedBytes += Buffer.byteLength(checked.code);
    const guard = (step: () => void) => this.#owner.guard(step);
    const ticket = this.#owner.door.submit(
      {
        account: this,
        op: spec.name as never,
        args: checked,
        session: spec.name === 'eval' || spec.name === 'inspect' || spec.name === 'complete' ? this.#ref() : spec.name === 'exit-app' ? this.#who() : undefined,
        input: how.input,
        view: how.view,
        target: how.target,
        note: how.note,
      },
      {
        output: (text) => guard(() => events.output?.(text)),
        pending: () =>
          guard(() => {
            running.pending = true;
            events.pending?.();
          }),
        waiting: (ms, code, reason) => guard(() => events.waiting?.(ms, code, reason)),
        started: () => guard(() => events.started?.()),
        done: (result) => guard(() => finish(result)),
      },
    );
    this.#tickets.set(running, ticket);
    if (name === 'complete') this.#completions.set(running, events);
    return running;
  }

  /** The session goes on without waiting for `running`: it is `Promise #N` now. */
  background(running: Running): number {
    running.promise = ++this.#background;
    return running.promise;
  }

  /**
   * Stops waiting for an op: its result is never heard of (one running in the worker stops).
   * Returns whether its code still runs on the main thread, which only evalTimeoutMs stops:
   * `stopped` is called if it does.
   */
  abandon(running: Running, stopped?: () => void): boolean {
    const ticket = this.#tickets.get(running);
    const onMain = ticket ? this.#owner.door.abandon(ticket, stopped && (() => this.#owner.guard(stopped))) : false;
    this.#end(running, false);
    return onMain;
  }

  /** Whether the session is busy rather than idle: an op running that has not gone to the background. */
  working(now: number): boolean {
    for (const running of this.#tickets.keys()) {
      if (running.promise === undefined && (!running.pending || now - running.started < PENDING_NOTICE_MS)) return true;
    }
    return false;
  }

  /** How long the main thread has kept `running` waiting, if it is what holds it. */
  mainSilentMs(running: Running): number | undefined {
    const ticket = this.#tickets.get(running);
    return ticket ? this.#owner.door.mainSilentMs(ticket, performance.now()) : undefined;
  }

  /** Completions still waiting are answered with no names: the line editor waiting for them goes on. */
  #dropCompletions(): void {
    for (const [running, events] of this.#completions) {
      this.abandon(running);
      events.done({ status: 'error', code: 'interrupted', value: { text: '', names: [] } });
    }
    this.#completions.clear();
  }

  /**
   * `.clear`: a fresh context; the old one is forgotten on the main thread. Its `_` and `_error`
   * go on in the new one, as Node's REPL keeps them through `.clear` (it resets the context, not
   * its last result and error).
   */
  newContext(): void {
    // A completion still queued would make the dropped context again on the main thread.
    this.#dropCompletions();
    const old = this.#context;
    this.#context = this.#owner.newContext();
    if (this.#usedContext || this.#inherits) this.#owner.door.dropContext(old, this.#context);
    this.#inherits ||= this.#usedContext;
    this.#usedContext = false;
  }

  /** The session has ended, whichever way: every op of its is abandoned, its context forgotten. */
  close(): void {
    this.#dropCompletions();
    for (const running of [...this.#tickets.keys()]) this.abandon(running);
    this.#owner.door.forget(this);
    if (this.#usedContext || this.#inherits) this.#owner.door.dropContext(this.#context);
  }

  /** Ops that run long in the worker (a profile, a heap sample) are abandoned: the client has gone. */
  abandonLong(): string[] {
    const abandoned: string[] = [];
    for (const [running, ticket] of this.#tickets) {
      if (lastsSeconds(ticket.op.op)) {
        this.abandon(running);
        abandoned.push(running.typed);
      }
    }
    return abandoned;
  }

  // The main thread makes the context when a request first names it.
  #ref(): SessionRef {
    this.#usedContext = true;
    return this.#who();
  }

  #who(): SessionRef {
    return { context: this.#context, session: this.#owner.id, peer: this.#owner.peer };
  }

  #end(running: Running, ok: boolean): void {
    if (running.over) return;
    running.over = true;
    this.#tickets.delete(running);
    this.#completions.delete(running);
    if (UNAUDITED.has(running.op) || opNamed(running.op)?.runs === 'session') return;
    this.#opsRun++;
    this.#owner.active();
    this.#owner.audit({
      type: 'command',
      time: new Date().toISOString(),
      session: this.#owner.id,
      peer: this.#owner.peer,
      code: running.typed,
      durationMs: performance.now() - running.started,
      ok,
    });
  }
}
