import type vm from 'node:vm';
import type { OpReply, OpRequest, OpResult, PreparedInput, SessionRef, ValueView } from '../common/protocol.ts';
import { now, promiseThen, ReflectApply, SyntaxErrorCtor } from '../common/primordials.ts';
import { attribution } from './attribution.ts';
import type { SessionContexts } from './contexts.ts';
import { guarded, releaseGuard, timeoutError } from './format.ts';
import { leaveDomains } from './module-guard.ts';
import type { NextTurn } from './next-turn.ts';
import type { OutcomeFormatter, PrintRequest } from './outcome.ts';
import type { RunawayStop } from './runaway-stop.ts';
import { ScriptCache } from './script-cache.ts';
import type { SessionContext } from './session-context.ts';

/** A command's own run: the watchdog is around it and its printing (see `#run`). */
const RUN_OPTIONS: vm.RunningScriptOptions = { displayErrors: false };

/** What a command of typed code needs (an eval or inspect request). */
export interface CodeRequest {
  id: number;
  session: SessionRef;
  input: PreparedInput;
  print: PrintRequest;
}

/** A command from its start to its reply (what `recover` needs of a stopped one). */
interface CommandState {
  readonly request: CodeRequest;
  readonly session: SessionContext;
  readonly start: number;
  readonly earlier: string;
  phase: 'run' | 'print' | 'done';
  value: unknown;
  threw: boolean;
  out: string;
  result: OpResult | undefined;
  printing: number;
  /** It did not compile. */
  syntax?: boolean;
  /** Its output was taken when it was stopped (see runaway-stop.ts). */
  ended?: boolean;
}

/** How an awaited command ends: told as a `settle` notice (with what printing it cost). */
export type Settle = (id: number, out: string, result: OpResult, cost: number) => void;

/**
 * Typed code run in its session's context, and its value printed as Node's REPL prints it,
 * bounded by evalTimeoutMs together. A command that awaits is answered `pending` and settles
 * later; a runaway one is stopped by the worker through the inspector (runaway-stop.ts) and
 * answered by `recover`.
 */
export class CodeRunner {
  readonly #contexts: SessionContexts;
  readonly #scripts = new ScriptCache();
  readonly #format: OutcomeFormatter;
  readonly #turn: NextTurn;
  readonly #evalTimeoutMs: number;
  readonly #stop: RunawayStop | undefined;
  readonly #settle: Settle;
  /** The command running now, when runaways are stopped through the inspector. */
  #inFlight: CommandState | undefined;
  #closed = false;

  constructor(contexts: SessionContexts, format: OutcomeFormatter, turn: NextTurn, options: { evalTimeoutMs: number; runawayStop: RunawayStop | undefined; settle: Settle }) {
    this.#contexts = contexts;
    this.#format = format;
    this.#turn = turn;
    this.#evalTimeoutMs = options.evalTimeoutMs;
    this.#stop = options.runawayStop;
    this.#settle = options.settle;
  }

  /** The request of an eval or inspect op, as the runner takes it. */
  static request(request: OpRequest, view: ValueView): CodeRequest {
    return { id: request.id, session: request.session!, input: request.input!, print: { op: request.op as 'eval' | 'inspect', depth: request.args.depth as number | undefined, view } };
  }

  /** The context of the command the worker had stopped and that is not answered yet. */
  get stoppedContext(): number | undefined {
    return this.#inFlight?.request.session.context;
  }

  run(request: CodeRequest, start: number): Omit<OpReply, 'id' | 'cost'> {
    // An input that does not compile, in a session that has no context yet (a client typing
    // garbage), makes none: a context costs the main thread a millisecond and a megabyte.
    if (!this.#contexts.has(request.session.context)) {
      try {
        this.#script(request); // kept in the cache for the run below
      } catch (error) {
        return reply(this.#format.syntaxError(error, request.print), '');
      }
    }
    const session = this.#contexts.get(request.session.context, request.session.session);
    // Whatever the session's code starts now (timers, callbacks) stays the session's.
    return attribution.run(session, () => this.#run(request, session, start));
  }

  #run(request: CodeRequest, session: SessionContext, start: number): Omit<OpReply, 'id' | 'cost'> {
    if (request.print.op === 'eval') session.declare(request.input.declared);
    const state: CommandState = { request, session, start, earlier: session.laterOutput(), phase: 'run', value: undefined, threw: false, out: '', result: undefined, printing: 0 };
    let script: vm.Script | undefined;
    try {
      script = this.#script(request);
    } catch (error) {
      state.threw = true; // it does not compile: printed as the error it is
      state.syntax = true;
      state.value = error;
    }
    const awaited = request.print.op === 'eval' && request.input.awaited;
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
      state.result = this.#format.outcome(session, state.value, state.threw, request.print, true);
      state.phase = 'done';
    };
    session.beginCommand();
    const domain = (process as { domain?: unknown }).domain;
    const stop = this.#stop;
    if (stop && this.#evalTimeoutMs > 0) {
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
        guarded(this.#evalTimeoutMs, body);
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
      state.result = this.#format.printStopped(state.value, state.threw, error, this.#evalTimeoutMs - (state.printing - state.start));
    }
  }

  #finish(state: CommandState): Omit<OpReply, 'id' | 'cost'> {
    const { request, session } = state;
    if (state.result?.code === 'thrown' && state.syntax) state.result.code = 'syntax';
    if (state.result) return reply(state.result, state.out);
    if (request.print.op === 'eval' && request.input.awaited && !state.threw) {
      const refused = this.#settleLater(request, session, state.value as Promise<{ value: unknown } | undefined>);
      if (!refused) return { status: 'pending', out: state.out };
      // Its promise cannot be waited for (the session broke its own Promise): the error is the
      // command's outcome now, in the reply, not a settlement that would come before it.
      state.value = refused.error;
      state.threw = true;
    }
    // The code was stopped, or its promise refused: printed under a watchdog of its own.
    return reply(this.#format.outcome(session, state.value, state.threw, request.print), state.out);
  }

  /**
   * The worker had command `id` stopped by V8 (see runaway-stop.ts): it is answered as Node's
   * REPL answers a timeout, and what its stop skipped is put back. Undefined when that command
   * is not the one left running (it ended by itself, or never started).
   */
  recover(id: number): Omit<OpReply, 'id'> | undefined {
    const state = this.#inFlight;
    if (!state || state.request.id !== id) return undefined;
    this.#inFlight = undefined;
    this.#stop?.end();
    releaseGuard();
    // The rest of the stopped turn's batch runs in the next; so does what `run` would have
    // put back on the resource the command ran in.
    this.#turn.schedule(() => attribution.forget());
    this.#turn.resume();
    this.#stopped(state, timeoutError(this.#evalTimeoutMs));
    const context = state.request.session.context;
    this.#turn.schedule(() => this.#contexts.flushOutput(context));
    // What it cost: the whole time since it began (its turn was stopped, never timed).
    return { ...this.#finish(state), cost: now() - state.start };
  }

  /** Settles the command when its promise does; what `then` threw, if it could not be waited for. */
  #settleLater(request: CodeRequest, session: SessionContext, promise: Promise<{ value: unknown } | undefined>): { error: unknown } | undefined {
    const settle = (value: unknown, threw: boolean) => {
      if (this.#closed) return;
      const start = now();
      const result = this.#format.outcome(session, value, threw, request.print);
      this.#settle(request.id, session.laterOutput(), result, now() - start);
    };
    // The app's own `then`: the session may have replaced its own realm's.
    try {
      ReflectApply(promiseThen, promise, [(result: { value: unknown } | undefined) => settle(result?.value, false), (error: unknown) => settle(error, true)]);
    } catch (error) {
      return { error };
    }
    return undefined;
  }

  #script({ session, input }: CodeRequest): vm.Script {
    // Made here, in the app's realm, as Node's REPL makes it (and as V8's compile errors are).
    if (input.syntaxError !== undefined) throw new SyntaxErrorCtor(input.syntaxError);
    return this.#scripts.get(session.context, input.code, input.line, input.importHint).script;
  }

  /** A context's compiled inputs are forgotten with it. */
  forget(context: number): void {
    this.#scripts.forget(context);
  }

  /** Source text of compiled inputs kept, in UTF-16 bytes (for tests). */
  get cachedSourceBytes(): number {
    return this.#scripts.bytes;
  }

  close(): void {
    this.#closed = true;
    this.#scripts.clear();
  }
}

function reply(result: OpResult, out: string): Omit<OpReply, 'id' | 'cost'> {
  return { status: result.status, ...(result.code && { code: result.code }), value: result.value, out };
}
