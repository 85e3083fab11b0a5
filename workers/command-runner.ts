import { performance } from 'node:perf_hooks';
import type { AuditEvent } from '../common/audit-event.ts';
import type { EvalOutcome, RequestBody } from '../common/protocol.ts';
import type { Command, Dispatcher } from './dispatcher.ts';
import type { JsonId } from './json-mode.ts';

/** An awaited command still pending after this long gives the prompt back (text mode). */
export const PENDING_NOTICE_MS = 1000;

/** A command of a session in flight, and what it was typed as. */
export interface Running {
  readonly command: Command;
  readonly typed: string;
  readonly started: number;
  /** JSON mode: the input's id. */
  readonly id?: JsonId;
  /** Set once it has been sent to the background (`Promise #N pending`). */
  promise?: number;
  /** The main thread answered that it awaits. */
  pending: boolean;
}

/** Where a runner's commands are heard of: the session's current mode. */
export interface CommandEvents {
  commandOutput(running: Running, text: string): void;
  commandPending(running: Running): void;
  /** The command has waited `ms` for the main thread; `reason` says why (told once). */
  commandWaiting(running: Running, ms: number, reason: string): void;
  commandDone(running: Running, outcome: EvalOutcome): void;
}

/** What a runner needs from its session. */
export interface RunnerOwner {
  readonly id: number;
  readonly peer: string;
  readonly dispatcher: Dispatcher;
  /** The mode the session is in now (a command started in text mode may end in JSON mode). */
  readonly events: CommandEvents;
  /** A fresh main-side context id for this session. */
  newContext(): number;
  audit(event: AuditEvent): void;
  /** A command ended: the session is active (idleTimeoutMs counts from here). */
  active(): void;
  /** Runs a callback of the dispatcher's; an error in it ends the session only. */
  guard(step: () => void): void;
}

/** A request of a session's, before the runner adds its context. */
export type SessionRequest = RequestBody extends infer R ? (R extends RequestBody ? Omit<R, 'context' | 'session' | 'peer'> : never) : never;

/**
 * A session's link to the main thread: its context there (the main thread owns what is in
 * it), and its commands from submission to their audit event. A session runs one command at a
 * time; one that awaits may be sent to the background, and then others run meanwhile.
 */
export class CommandRunner {
  #running: Running | undefined;
  /** Commands sent to the background (`Promise #N pending`), until they settle. */
  readonly #backgrounded = new Set<Running>();
  #background = 0;
  #commandsRun = 0;
  #typedBytes = 0;
  /** Completion requests not yet answered, and how to answer them when they are dropped. */
  readonly #completions = new Map<Command, (outcome: EvalOutcome) => void>();
  #context: number;
  #usedContext = false;
  /** Lines evaluated so far, as Node's REPL counts them for its script names. */
  linesEvaluated = 0;
  readonly #owner: RunnerOwner;

  constructor(owner: RunnerOwner) {
    this.#owner = owner;
    this.#context = owner.newContext();
  }

  /** The command the session waits for, if any. */
  get running(): Running | undefined {
    return this.#running;
  }

  /** Bytes of input this session has sent to the main thread to compile and run. */
  get typedBytes(): number {
    return this.#typedBytes;
  }

  get commandsRun(): number {
    return this.#commandsRun;
  }

  /** Whether the session's context has been used on the main thread. */
  get usedContext(): boolean {
    return this.#usedContext;
  }

  /** Sends a request for this session; its events go to the session's mode. */
  run(request: SessionRequest, typed: string, id?: JsonId): Running {
    const body = (request.kind === 'stats' || request.kind === 'locals'
      ? request
      : request.kind === 'exit-app'
        ? { ...request, session: this.#owner.id, peer: this.#owner.peer }
        : this.#inContext(request)) as RequestBody;
    if (request.kind === 'eval') this.#typedBytes += Buffer.byteLength(request.code);
    const running: { -readonly [K in keyof Running]: Running[K] } = { command: undefined as never, typed, started: performance.now(), id, pending: false };
    const guard = this.#owner.guard;
    running.command = this.#owner.dispatcher.submit(body, {
      output: (text) => guard(() => this.#owner.events.commandOutput(running, text)),
      pending: () => guard(() => {
        running.pending = true;
        this.#owner.events.commandPending(running);
      }),
      waiting: (ms, reason) => guard(() => this.#owner.events.commandWaiting(running, ms, reason)),
      done: (outcome) => guard(() => {
        this.finish(running, outcome.ok);
        this.#owner.events.commandDone(running, outcome);
      }),
    });
    this.#running = running;
    return running;
  }

  /** Names for tab completion from the main thread (nothing is audited or waited for). */
  complete(path: string[], prefix: string): Promise<EvalOutcome> {
    return new Promise((resolve) => {
      const command = this.#owner.dispatcher.submit(this.#inContext({ kind: 'complete', path, prefix }), {
        output: () => {},
        done: (outcome) => {
          this.#completions.delete(command);
          resolve(outcome);
        },
      });
      this.#completions.set(command, resolve);
    });
  }

  // A completion still queued would make the dropped context again on the main thread. It is
  // answered with no names, so that the line editor waiting for it goes on.
  #dropCompletions(): void {
    for (const [command, resolve] of this.#completions) {
      this.#owner.dispatcher.abandon(command);
      resolve({ ok: true, text: '', names: [] });
    }
    this.#completions.clear();
  }

  // The main thread makes the context when a request first names it.
  #inContext<T extends object>(request: T): T & { context: number; session: number } {
    this.#usedContext = true;
    return { ...request, context: this.#context, session: this.#owner.id };
  }

  /** The session goes on without waiting for `running`: it is `Promise #N` now. */
  background(running: Running): number {
    running.promise = ++this.#background;
    this.#backgrounded.add(running);
    if (this.#running === running) this.#running = undefined;
    return running.promise;
  }

  /** Stops waiting for a command: its result is never heard of. */
  abandon(running: Running): void {
    this.#owner.dispatcher.abandon(running.command);
    this.finish(running, false);
  }

  /** A command has ended (or was abandoned): it is audited. */
  finish(running: Running, ok: boolean): void {
    if (this.#running === running) this.#running = undefined;
    this.#backgrounded.delete(running);
    this.record(running.typed, running.started, ok);
  }

  /** Something the session ran has ended (a command, or a diagnosis the worker ran): it is audited. */
  record(typed: string, started: number, ok: boolean): void {
    this.#commandsRun++;
    this.#owner.active();
    this.#owner.audit({
      type: 'command',
      time: new Date().toISOString(),
      session: this.#owner.id,
      peer: this.#owner.peer,
      code: typed,
      durationMs: performance.now() - started,
      ok,
    });
  }

  /** How long the main thread has kept `running` waiting, if it is what holds it (Dispatcher.mainSilentMs). */
  mainSilentMs(running: Running): number | undefined {
    return this.#owner.dispatcher.mainSilentMs(running.command, performance.now());
  }

  /**
   * Whether the session is busy rather than idle: a command running on the main thread is
   * (evalTimeoutMs bounds it); one that awaits is for a second, then it goes to the background.
   */
  working(now: number): boolean {
    const running = this.#running;
    return running !== undefined && (!running.pending || now - running.started < PENDING_NOTICE_MS);
  }

  /** `.clear`: a fresh context; the old one is forgotten on the main thread. */
  newContext(): void {
    this.#dropCompletions();
    if (this.#usedContext) this.#owner.dispatcher.dropContext(this.#context);
    this.#context = this.#owner.newContext();
    this.#usedContext = false;
  }

  /** The session has ended: its commands are abandoned and its context forgotten. */
  close(): void {
    for (const running of [this.#running, ...this.#backgrounded]) if (running) this.abandon(running);
    this.#dropCompletions();
    if (this.#usedContext) this.#owner.dispatcher.dropContext(this.#context);
  }
}
