import type vm from 'node:vm';
import type { AuditEvent } from '../common/audit-event.ts';
import type { EvalOutcome, EvalReply, EvalRequest, RequestOf } from '../common/protocol.ts';
import { AppLoad } from './app-load.ts';
import { attribution } from './attribution.ts';
import { formatThrown, guarded, releaseGuard, timeoutError } from './format.ts';
import { heapReport } from './heap-report.ts';
import { HealthMonitor, preview, propertyNames } from './inspector.ts';
import { NextTurn } from './next-turn.ts';
import { OutcomeFormatter } from './outcome.ts';
import type { RunawayStop } from './runaway-stop.ts';
import { ScriptCache } from './script-cache.ts';
import { SessionContext } from './session-context.ts';
import { leaveDomains } from './module-guard.ts';
import { exitApp, guardsBefore, restoreGuards } from './process-guard.ts';
import { watchSession } from './uncaught.ts';
import { now, ObjectDefineProperty, PromiseCtor, promiseThen } from '../common/primordials.ts';

/** A command's own run: the watchdog is around it and its printing (see `#run`). */
const RUN_OPTIONS: vm.RunningScriptOptions = { displayErrors: false };

/** What the evaluator tells the worker on its own initiative. */
export interface EvaluatorEvents {
  settle(id: number, out: string, outcome: EvalOutcome, cost: number): void;
  output(context: number, text: string): void;
  tap(context: number, outcome: EvalOutcome): void;
  /** Something a session's code threw or rejected after its command returned, formatted. */
  uncaught(context: number, session: number, text: string): void;
  /** An audit event of the main thread's (a late error of a session that has ended). */
  audit(event: AuditEvent): void;
  /**
   * A command's reply is ready and about to be sent: what is told from now on must follow it
   * (a promise that settles within microtasks would otherwise overtake it).
   */
  replying(): void;
}

export interface EvaluatorOptions {
  locals: Record<string, unknown>;
  evalTimeoutMs: number;
  /** For `.stats`: the share the backdoor may use. Default 0.1. */
  mainThreadBudget?: number;
  /** Main-thread milliseconds the backdoor spent on its messages, to tell the app's own load. */
  messagingMs?: () => number;
  /** How runaway commands are stopped, when the inspector can do it (else V8's watchdog). */
  runawayStop?: RunawayStop;
}

/** A command from its start to its reply (what `recover` needs of a stopped one). */
interface CommandState {
  readonly request: RequestOf<'eval' | 'inspect'>;
  readonly session: SessionContext;
  readonly start: number;
  readonly earlier: string;
  phase: 'run' | 'print' | 'done';
  value: unknown;
  threw: boolean;
  out: string;
  outcome: EvalOutcome | undefined;
  printing: number;
  /** Its output was taken when it was stopped (see runaway-stop.ts). */
  ended?: boolean;
}

/**
 * The main thread's whole share of the work: run one complete input in its session's context
 * and format the outcome. It is called once per command, from a message, so the app's own
 * callbacks run between any two commands.
 */
export class Evaluator {
  readonly #contexts = new Map<number, SessionContext>();
  readonly #scripts = new ScriptCache();
  readonly #options: EvaluatorOptions;
  readonly #events: EvaluatorEvents;
  readonly #format: OutcomeFormatter;
  readonly #health = new HealthMonitor();
  readonly #turn = new NextTurn((error) => this.#fault(error));
  readonly #appLoad = new AppLoad();
  #closed = false;
  /** The command running now, when runaways are stopped through the inspector. */
  #inFlight: CommandState | undefined;
  #commands = 0;
  /** Calls for the load alone (`load`): messages of the backdoor's too. */
  #loadCalls = 0;
  #mainThreadMs = 0;

  constructor(options: EvaluatorOptions, events: EvaluatorEvents) {
    this.#options = options;
    this.#events = events;
    this.#format = new OutcomeFormatter(options.evalTimeoutMs);
  }

  /**
   * Runs the command in a turn of the event loop of its own. A MessagePort delivers every
   * message that is queued while it delivers (up to a thousand), so a fast worker could
   * otherwise get two commands run back to back with no I/O of the app's between them;
   * an immediate always has a poll phase (the app's I/O) between it and the next one.
   */
  evaluate(request: EvalRequest): Promise<EvalReply> {
    return new PromiseCtor((resolve) => this.#turn.schedule(() => {
      let reply: EvalReply;
      try {
        reply = this.evaluateNow(request);
      } catch (error) {
        reply = { out: '', outcome: { ok: false, text: `Internal error: ${describe(error)}` }, cost: 0 };
      }
      try {
        this.#events.replying();
      } finally {
        resolve(reply);
      }
    }));
  }

  /** Runs the command now; `evaluate` is what the worker calls. */
  evaluateNow(request: EvalRequest): EvalReply {
    const start = now();
    const emitBefore = guardsBefore();
    let reply: EvalReply;
    try {
      reply = this.#evaluate(request, start);
    } catch (error) {
      // A fault of ours (or of a session that sabotaged its own context's Promise): report it
      // as the command's outcome rather than across the port.
      const text = `Internal error: ${formatThrown(error, '').trim()}`;
      reply = { out: '', outcome: { ok: false, text }, cost: now() - start };
    }
    const restored = restoreChannelBuiltins() + restoreGuards(emitBefore);
    if (restored) reply.out += restored;
    return this.#account(reply);
  }

  /** A command's reply, counted: with its cost, and the app's own load for the budget. */
  #account(reply: EvalReply): EvalReply {
    this.#commands++;
    this.#mainThreadMs += reply.cost;
    const load = this.#measureLoad();
    if (load !== undefined) reply.load = load;
    return reply;
  }

  /** The app's own load now, for a command the budget holds (MainApi.load). */
  load(): number | undefined {
    this.#loadCalls++;
    return this.#measureLoad();
  }

  #measureLoad(): number | undefined {
    try {
      const load = this.#appLoad.measure(this.#mainThreadMs + (this.#options.messagingMs?.() ?? 0), this.#commands + this.#loadCalls);
      return Number.isNaN(load) ? undefined : load;
    } catch {
      // Node's event-loop utilisation reads `process.hrtime`, which session code can replace:
      // the reply goes without the load (the budget keeps the last one).
      return undefined;
    }
  }

  /** A fault of the backdoor's own on the main thread: to the audit trail, never the app's handlers. */
  #fault(error: unknown): void {
    this.#events.audit({ type: 'fault', time: new Date().toISOString(), message: `main thread: ${describe(error)}` });
  }

  /** Commands run so far, and the main-thread time they used (running and formatting). */
  stats(): { commands: number; mainThreadMs: number } {
    return { commands: this.#commands, mainThreadMs: this.#mainThreadMs };
  }

  #evaluate(request: EvalRequest, start: number): EvalReply {
    // (.stats and .locals need no session context: none is made for them.)
    switch (request.kind) {
      case 'stats':
        return this.#answer(start, this.#health.report(this.stats(), this.#options.mainThreadBudget ?? 0.1, request.workerReport));
      case 'heap':
        return this.#answer(start, heapReport());
      case 'exit-app':
        // Told before it happens: nothing of the backdoor's runs after process.exit.
        this.#events.audit({ type: 'exit-app', time: new Date().toISOString(), session: request.session, peer: request.peer, code: request.exitCode });
        return exitApp(request.exitCode);
      case 'locals':
        return this.#answer(start, this.#format.bounded('the locals', () => this.#listLocals(request.colors)).text);
      case 'complete': {
        const session = this.#context(request);
        return { out: '', outcome: { ok: true, text: '', names: attribution.run(session, () => this.#complete(session, request)) }, cost: now() - start };
      }
      default:
        return this.#runCode(request, start);
    }
  }

  #runCode(request: RequestOf<'eval' | 'inspect'>, start: number): EvalReply {
    // An input that does not compile, in a session that has no context yet (a client typing
    // garbage), makes none: a context costs the main thread a millisecond and a megabyte.
    if (!this.#contexts.has(request.context)) {
      try {
        this.#script(request); // kept in the cache for the run below
      } catch (error) {
        return { out: '', outcome: this.#format.syntaxError(error, request), cost: now() - start };
      }
    }
    const session = this.#context(request);
    // Whatever the session's code starts now (timers, callbacks) stays the session's.
    return attribution.run(session, () => this.#run(request, session, start));
  }

  #run(request: RequestOf<'eval' | 'inspect'>, session: SessionContext, start: number): EvalReply {
    if (request.kind === 'eval') session.declare(request.declared);
    const state: CommandState = { request, session, start, earlier: session.laterOutput(), phase: 'run', value: undefined, threw: false, out: '', outcome: undefined, printing: 0 };
    let script: vm.Script | undefined;
    try {
      script = this.#script(request);
    } catch (error) {
      state.threw = true; // it does not compile: printed as the error it is
      state.value = error;
    }
    const awaited = request.kind === 'eval' && request.awaited;
    // Running and printing are one stretch of the main thread, bounded by evalTimeoutMs as one.
    const body = () => {
      try {
        if (script) state.value = script.runInContext(session.context, RUN_OPTIONS);
      } catch (error) {
        state.threw = true;
        state.value = error;
      }
      state.out = state.earlier + session.endCommand();
      if (awaited && !state.threw) return;
      state.phase = 'print';
      state.printing = now();
      state.outcome = this.#format.outcome(session, state.value, state.threw, request, true);
      state.phase = 'done';
    };
    session.beginCommand();
    const domain = (process as { domain?: unknown }).domain;
    const stop = this.#options.runawayStop;
    if (stop && this.#options.evalTimeoutMs > 0) {
      // The worker keeps the time; a runaway is stopped by V8 and finished by `recover`.
      this.#inFlight = state;
      // What it printed is its own up to the moment it is stopped; its timers' later.
      stop.begin(request.id, () => {
        if (state.phase === 'run') state.out = state.earlier + session.endCommand();
        state.ended = true;
      });
      body();
      stop.end();
      this.#inFlight = undefined;
    } else {
      // V8's watchdog (a thread per call), where the inspector cannot be used.
      try {
        guarded(this.#options.evalTimeoutMs, body);
      } catch (error) {
        this.#stopped(state, error);
      }
    }
    if ((process as { domain?: unknown }).domain !== domain) leaveDomains(domain);
    return this.#finish(state);
  }

  /** The command was stopped at evalTimeoutMs by `error`, while running or printing. */
  #stopped(state: CommandState, error: unknown): void {
    if (state.phase === 'run') {
      if (!state.ended) state.out = state.earlier + state.session.endCommand();
      state.threw = true;
      state.value = error;
    } else if (state.phase === 'print') {
      state.outcome = this.#format.printStopped(state.value, state.threw, error, this.#options.evalTimeoutMs - (state.printing - state.start));
    }
  }

  #finish(state: CommandState): EvalReply {
    const { request, session, start } = state;
    if (state.outcome) return { out: state.out, outcome: state.outcome, cost: now() - start };
    if (request.kind === 'eval' && request.awaited && !state.threw) {
      const refused = this.#settleLater(request, session, state.value as Promise<{ value: unknown } | undefined>);
      if (!refused) return { out: state.out, outcome: undefined, cost: now() - start };
      // Its promise cannot be waited for (the session broke its own Promise): the error is the
      // command's outcome now, in the reply, not a settlement that would come before it.
      state.value = refused.error;
      state.threw = true;
    }
    // The code was stopped, or its promise refused: printed under a watchdog of its own.
    return { out: state.out, outcome: this.#format.outcome(session, state.value, state.threw, request), cost: now() - start };
  }

  /**
   * The worker had command `id` stopped by V8 (see runaway-stop.ts): it is answered as Node's
   * REPL answers a timeout, and what its stop skipped is put back. Undefined when that command
   * is not the one left running (it ended by itself, or never started).
   */
  recover(id: number): EvalReply | undefined {
    const state = this.#inFlight;
    if (!state || state.request.id !== id) return undefined;
    this.#inFlight = undefined;
    this.#options.runawayStop?.end();
    releaseGuard();
    // The rest of the stopped turn's batch runs in the next; so does what `run` would have
    // put back on the resource the command ran in.
    this.#turn.schedule(() => attribution.forget());
    this.#turn.resume();
    this.#stopped(state, timeoutError(this.#options.evalTimeoutMs));
    this.#turn.schedule(() => this.#flushOutput(state.request.context));
    return this.#account(this.#finish(state));
  }

  #answer(start: number, text: string): EvalReply {
    return { out: '', outcome: { ok: true, text }, cost: now() - start };
  }

  #listLocals(colors: boolean): string {
    const names = Object.keys(this.#options.locals);
    if (names.length === 0) return 'The app provided no locals.';
    const width = Math.max(...names.map((name) => name.length));
    return names.map((name) => `${name.padEnd(width)}  ${preview(this.#options.locals[name], 100, colors)}`).join('\n');
  }

  #complete(session: SessionContext, { path, prefix }: RequestOf<'complete'>): string[] {
    if (path.length === 0) return session.globalNames().filter((name) => name.startsWith(prefix)).sort();
    const first = session.globalForCompletion(path[0], this.#format.plain.timeoutMs ?? 0);
    return first.found ? propertyNames(first.value, path.slice(1), prefix) : [];
  }

  #script({ context, code, line, ...request }: RequestOf<'eval' | 'inspect'>): vm.Script {
    return this.#scripts.get(context, code, line, 'importHint' in request ? request.importHint : undefined).script;
  }

  /** Source text of compiled inputs kept, in UTF-16 bytes (for tests). */
  get cachedSourceBytes(): number {
    return this.#scripts.bytes;
  }

  /**
   * Forget a context. Scheduled as the commands are, so that a command already on its way to
   * run (sent before the session ended) runs first and cannot make the context again after.
   */
  dropContextLater(context: number): void {
    this.#turn.schedule(() => this.dropContext(context));
  }

  dropContext(context: number): void {
    const session = this.#contexts.get(context);
    if (session) {
      this.#contexts.delete(context);
      session.close();
      attribution.release();
    }
    this.#scripts.forget(context);
  }

  /** Stop sending events; contexts are released. */
  close(): void {
    this.#closed = true;
    this.#health.stop();
    this.#turn.close();
    for (let i = 0; i < this.#contexts.size; i++) attribution.release();
    for (const session of this.#contexts.values()) session.close();
    this.#contexts.clear();
    this.#scripts.clear();
  }

  /** Settles the command when its promise does; what `then` threw, if it could not be waited for. */
  #settleLater(request: RequestOf<'eval'>, session: SessionContext, promise: Promise<{ value: unknown } | undefined>): { error: unknown } | undefined {
    const { id } = request;
    const settle = (value: unknown, threw: boolean) => {
      if (this.#closed) return;
      const start = now();
      const outcome = this.#format.outcome(session, value, threw, request);
      const cost = now() - start;
      this.#mainThreadMs += cost;
      this.#events.settle(id, session.laterOutput(), outcome, cost);
    };
    // The app's own `then`: the session may have replaced its own realm's.
    try {
      Reflect.apply(promiseThen, promise, [
        (result: { value: unknown } | undefined) => settle(result?.value, false),
        (error: unknown) => settle(error, true),
      ]);
    } catch (error) {
      return { error };
    }
    return undefined;
  }

  #context({ context: id, session: number }: { context: number; session: number }): SessionContext {
    let session = this.#contexts.get(id);
    if (!session) {
      session = new SessionContext(this.#options.locals, {
        // Output printed outside a command (timers, promise callbacks) is sent once per turn of
        // the event loop, so a loop of console.log calls costs one message, not one per call.
        asyncOutput: () => this.#turn.schedule(() => this.#flushOutput(id)),
        tap: (value) => {
          if (this.#closed || !this.#contexts.has(id)) return;
          this.#events.tap(id, this.#format.tapped(value));
        },
        uncaught: (thrown, kind) => this.#uncaught(id, number, thrown, session!.Error, kind === 'exit'),
      });
      this.#contexts.set(id, session);
      attribution.retain();
      watchSession(session.objectPrototype, session);
    }
    return session;
  }

  /**
   * A session's code threw (or rejected) outside its commands: its session is told, after the
   * output printed before it; a session that has ended (or a closed backdoor) leaves it to the
   * audit trail. Either way the app never sees it.
   */
  #uncaught(context: number, session: number, thrown: unknown, sessionError: ErrorConstructor, exiting: boolean): void {
    const text = this.#format.uncaught(thrown, sessionError);
    // As the app exits, the audit trail is told now: no turn of the event loop is left.
    if (this.#closed || exiting) {
      this.#events.audit({ type: 'uncaught', time: new Date().toISOString(), session, message: text, ...(exiting ? { exiting: true as const } : {}) });
      return;
    }
    // In a turn of its own, as Node's REPL prints it after the command's value (a `nextTick`
    // callback throws before the reply has left), and after the output printed before it. The
    // worker prints it in the session (also for a context it replaced with `.clear`), or
    // audits it if the session has ended.
    this.#turn.schedule(() => {
      this.#flushOutput(context);
      this.#events.uncaught(context, session, text);
    });
  }

  #flushOutput(context: number): void {
    // A stopped command of this context is answered first (by `recover`), as Node's REPL
    // prints a timeout before what the command's timers print after it.
    if (this.#inFlight?.request.context === context) return;
    const text = this.#contexts.get(context)?.laterOutput(true) ?? '';
    if (text !== '' && !this.#closed) this.#events.output(context, text);
  }
}

/** An error of the backdoor's own, in a line, without running anything of the value's. */
function describe(error: unknown): string {
  try {
    return formatThrown(error, '').trim().split('\n')[0];
  } catch {
    return 'an error that cannot be printed';
  }
}

/**
 * What comlink, on the main thread, calls by name for every answer: a command that set one of
 * these to something that cannot be called would leave every session unanswered. Put back, and
 * said, as a command's output. (A replacement that can be called, such as a tracing subclass
 * of Promise, is left alone.)
 */
const channelBuiltins: [owner: object, key: string, name: string, original: unknown][] = [
  [globalThis, 'Promise', 'global.Promise', Promise],
  [Promise, 'resolve', 'Promise.resolve', Promise.resolve],
  [Object, 'assign', 'Object.assign', Object.assign],
];

function restoreChannelBuiltins(): string {
  let said = '';
  for (const [owner, key, name, original] of channelBuiltins) {
    const current: unknown = (owner as Record<string, unknown>)[key];
    if (current === original || typeof (key === 'Promise' ? (current as { resolve?: unknown } | undefined)?.resolve : current) === 'function') continue;
    ObjectDefineProperty(owner, key, { value: original, writable: true, configurable: true, enumerable: false });
    said += `(${name} was replaced by something that cannot be called; the backdoor's channel needs it: it was put back)\n`;
  }
  return said;
}
