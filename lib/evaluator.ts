import { performance } from 'node:perf_hooks';
import { types } from 'node:util';
import vm from 'node:vm';
import { attribution } from './attribution.ts';
import { formatThrown, formatValue, replInspectOptions, within, type FormatOptions } from './format.ts';
import { HealthMonitor, listValue, preview, propertyNames } from './inspector.ts';
import { toJsonValue } from './json-value.ts';
import { NextTurn } from './next-turn.ts';
import type { AuditEvent, EvalOutcome, EvalReply, EvalRequest } from './protocol.ts';
import { MAX_OUTPUT_CHARS, SessionContext, truncationNote } from './session-context.ts';
import { watchSession } from './uncaught.ts';

/** The app's own `then`, taken before any session could replace it in its realm. */
const promiseThen = Promise.prototype.then;

/** The longest a value may take to print (when evalTimeoutMs is not 0 nor less). */
const MAX_FORMAT_MS = 250;

/** Compiled scripts kept for commands that are typed again. */
const MAX_CACHED_SCRIPTS = 64;
/** ...and the most source text they may hold together (UTF-16 bytes): inputs can be large. */
const MAX_CACHED_SOURCE_BYTES = 4 * 1024 * 1024;

/** What the evaluator tells the worker on its own initiative. */
export interface EvaluatorEvents {
  settle(id: number, out: string, outcome: EvalOutcome, cost: number): void;
  output(context: number, text: string): void;
  tap(context: number, outcome: EvalOutcome): void;
  /** Something a session's code threw or rejected after its command returned, formatted. */
  uncaught(context: number, session: number, text: string): void;
  /** An audit event of the main thread's (a late error of a session that has ended). */
  audit(event: AuditEvent): void;
}

export interface EvaluatorOptions {
  locals: Record<string, unknown>;
  evalTimeoutMs: number;
  /** For `.stats`: the share the backdoor may use. Default 0.1. */
  mainThreadBudget?: number;
}

/**
 * The main thread's whole share of the work: run one complete input in its session's context
 * and format the outcome. It is called once per command, from a message, so the app's own
 * callbacks run between any two commands.
 */
export class Evaluator {
  readonly #contexts = new Map<number, SessionContext>();
  /** Compiled inputs by context, name and source; a session's go when it ends. */
  readonly #scripts = new Map<string, { script: vm.Script; context: number; bytes: number }>();
  #scriptBytes = 0;
  readonly #options: EvaluatorOptions;
  readonly #events: EvaluatorEvents;
  readonly #runOptions: vm.RunningScriptOptions;
  readonly #format: FormatOptions;
  readonly #colorFormat: FormatOptions;
  readonly #health = new HealthMonitor();
  readonly #turn = new NextTurn();
  #closed = false;
  #commands = 0;
  #mainThreadMs = 0;

  constructor(options: EvaluatorOptions, events: EvaluatorEvents) {
    this.#options = options;
    this.#events = events;
    this.#runOptions = options.evalTimeoutMs > 0 ? { timeout: options.evalTimeoutMs, displayErrors: false } : { displayErrors: false };
    // Printing a value is guarded too, and for less long: a value that takes longer than this
    // to print is too large to read anyway.
    this.#format = { timeoutMs: Math.min(options.evalTimeoutMs, MAX_FORMAT_MS) };
    this.#colorFormat = { ...this.#format, inspectOptions: { ...replInspectOptions, colors: true } };
  }

  /**
   * Runs the command in a turn of the event loop of its own. A MessagePort delivers every
   * message that is queued while it delivers (up to a thousand), so a fast worker could
   * otherwise get two commands run back to back with no I/O of the app's between them;
   * an immediate always has a poll phase (the app's I/O) between it and the next one.
   */
  evaluate(request: EvalRequest): Promise<EvalReply> {
    return new Promise((resolve) => this.#turn.schedule(() => resolve(this.evaluateNow(request))));
  }

  /** Runs the command now; `evaluate` is what the worker calls. */
  evaluateNow(request: EvalRequest): EvalReply {
    const start = performance.now();
    let reply: EvalReply;
    try {
      reply = this.#evaluate(request, start);
    } catch (error) {
      // A fault of ours (or of a session that sabotaged its own context's Promise): report it
      // as the command's outcome rather than across the port.
      const text = `Internal error: ${formatThrown(error, '').trim()}`;
      reply = { out: '', outcome: { ok: false, text }, cost: performance.now() - start };
    }
    this.#commands++;
    this.#mainThreadMs += reply.cost;
    return reply;
  }

  /** Commands run so far, and the main-thread time they used (running and formatting). */
  stats(): { commands: number; mainThreadMs: number } {
    return { commands: this.#commands, mainThreadMs: this.#mainThreadMs };
  }

  #evaluate(request: EvalRequest, start: number): EvalReply {
    // (.stats and .locals need no session context: none is made for them.)
    if (request.kind === 'stats') {
      return this.#answer(start, this.#health.report(this.stats(), this.#options.mainThreadBudget ?? 0.1, request.workerReport ?? ''));
    }
    if (request.kind === 'locals') {
      const listing = this.#bounded('the locals', () => this.#listLocals(request.colors === true));
      return this.#answer(start, listing.text);
    }
    // An input that does not compile, in a session that has no context yet (a client typing
    // garbage), makes none: a context costs the main thread a millisecond and a megabyte.
    if (request.kind !== 'complete' && !this.#contexts.has(request.context)) {
      try {
        this.#script(request); // kept in the cache for the run below
      } catch (error) {
        const outcome: EvalOutcome = { ok: false, text: capText(formatThrown(error, 'Uncaught', request.colors ? this.#colorFormat : this.#format)) };
        const json = request.json ? toJsonValue(error) : undefined;
        if (json) outcome.value = json;
        return { out: '', outcome, cost: performance.now() - start };
      }
    }
    const session = this.#context(request);
    // Whatever the session's code starts now (timers, callbacks) stays the session's.
    return attribution.run(session, () => this.#run(request, session, start));
  }

  #run(request: EvalRequest, session: SessionContext, start: number): EvalReply {
    if (request.kind === 'complete') {
      return { out: '', outcome: { ok: true, text: '', names: this.#complete(session, request) }, cost: performance.now() - start };
    }
    const earlier = this.#takeOutput(request.context);
    session.beginCommand();
    let value: unknown;
    let threw = false;
    try {
      value = this.#script(request).runInContext(session.context, this.#runOptions);
    } catch (error) {
      threw = true;
      value = error;
    }
    const out = earlier + session.endCommand();
    if (request.awaited && !threw) {
      this.#settleLater(request, session, value as Promise<{ value: unknown } | undefined>);
      return { out, outcome: undefined, cost: performance.now() - start };
    }
    const outcome = this.#outcome(session, value, threw, request);
    return { out, outcome, cost: performance.now() - start };
  }

  /**
   * A listing (`.inspect`, `.locals`) under the formatting watchdog, as every formatter: a
   * custom inspect function met on the way could loop.
   */
  #bounded(what: string, list: () => string): EvalOutcome {
    const ms = this.#format.timeoutMs ?? 0;
    try {
      return { ok: true, text: capText(ms > 0 ? within(ms, list) : list()) };
    } catch (error) {
      return { ok: false, text: `[${what} could not be made within ${ms} ms: ${String((error as Error)?.message ?? error)}]` };
    }
  }

  #answer(start: number, text: string): EvalReply {
    return { out: '', outcome: { ok: true, text }, cost: performance.now() - start };
  }

  #listLocals(colors: boolean): string {
    const names = Object.keys(this.#options.locals);
    if (names.length === 0) return 'The app provided no locals.';
    const width = Math.max(...names.map((name) => name.length));
    return names.map((name) => `${name.padEnd(width)}  ${preview(this.#options.locals[name], 100, colors)}`).join('\n');
  }

  #complete(session: SessionContext, { path = [], prefix = '' }: EvalRequest): string[] {
    if (path.length === 0) return session.globalNames().filter((name) => name.startsWith(prefix)).sort();
    const first = session.globalForCompletion(path[0], this.#format.timeoutMs ?? 0);
    return first.found ? propertyNames(first.value, path.slice(1), prefix) : [];
  }

  // A command typed again (the worker gives it its first name back) reuses its compiled
  // script: no new vm.Script at all. What is kept is bounded in count and bytes, and a
  // session's inputs (which may hold secrets) are forgotten with its context.
  #script({ code, filename, importHint, context }: EvalRequest): vm.Script {
    const key = `${context}\0${filename}\0${code}`;
    const cached = this.#scripts.get(key);
    if (cached) {
      this.#scripts.delete(key); // most recently used last
      this.#scripts.set(key, cached);
      return cached.script;
    }
    let script: vm.Script;
    try {
      script = new vm.Script(code, { filename });
    } catch (error) {
      if (importHint !== undefined) hintDynamicImport(error as Error, importHint);
      throw error;
    }
    const bytes = key.length * 2;
    if (bytes <= MAX_CACHED_SOURCE_BYTES / 4) {
      this.#scripts.set(key, { script, context, bytes });
      this.#scriptBytes += bytes;
      while (this.#scripts.size > MAX_CACHED_SCRIPTS || this.#scriptBytes > MAX_CACHED_SOURCE_BYTES) {
        this.#forgetScript(this.#scripts.keys().next().value!);
      }
    }
    return script;
  }

  #forgetScript(key: string): void {
    const entry = this.#scripts.get(key);
    if (!entry) return;
    this.#scripts.delete(key);
    this.#scriptBytes -= entry.bytes;
  }

  /** Source text of compiled inputs kept, in UTF-16 bytes (for tests). */
  get cachedSourceBytes(): number {
    return this.#scriptBytes;
  }

  dropContext(context: number): void {
    if (this.#contexts.delete(context)) attribution.release();
    for (const [key, entry] of this.#scripts) if (entry.context === context) this.#forgetScript(key);
  }

  /** Stop sending events; contexts are released. */
  close(): void {
    this.#closed = true;
    this.#health.stop();
    this.#turn.close();
    for (let i = 0; i < this.#contexts.size; i++) attribution.release();
    this.#contexts.clear();
    this.#scripts.clear();
    this.#scriptBytes = 0;
  }

  #settleLater(request: EvalRequest, session: SessionContext, promise: Promise<{ value: unknown } | undefined>): void {
    const { id, context: contextId } = request;
    const settle = (value: unknown, threw: boolean) => {
      if (this.#closed) return;
      const start = performance.now();
      const outcome = this.#outcome(session, value, threw, request);
      const cost = performance.now() - start;
      this.#mainThreadMs += cost;
      this.#events.settle(id, this.#takeOutput(contextId), outcome, cost);
    };
    // The app's own `then`: the session may have replaced its own realm's.
    try {
      Reflect.apply(promiseThen, promise, [
        (result: { value: unknown } | undefined) => settle(result?.value, false),
        (error: unknown) => settle(error, true),
      ]);
    } catch (error) {
      settle(error, true);
    }
  }

  #outcome(session: SessionContext, value: unknown, threw: boolean, request: EvalRequest): EvalOutcome {
    session.remember(value, threw);
    let format = request.colors ? this.#colorFormat : this.#format;
    if (request.columns) format = { ...format, inspectOptions: { ...(format.inspectOptions ?? replInspectOptions), breakLength: request.columns } };
    let outcome: EvalOutcome;
    if (!threw && request.kind === 'inspect') {
      outcome = this.#bounded('the listing', () => listValue(value, (entry) => session.handle(entry), request.depth ?? 1, request.colors === true));
    } else if (!threw) {
      outcome = { ok: true, text: capText(formatValue(value, format)) };
    } else if (this.#isTimeout(value)) {
      outcome = { ok: false, text: `Uncaught Error: ${(value as Error).message} (the evalTimeoutMs option)` };
    } else {
      outcome = { ok: false, text: capText(formatThrown(value, 'Uncaught', format, session.Error)) };
    }
    if (request.json) {
      const json = toJsonValue(value);
      if (json) outcome.value = json;
    }
    return outcome;
  }

  // Only vm's own error: a thrown proxy or getter must not run here.
  #isTimeout(value: unknown): boolean {
    if (!types.isNativeError(value)) return false;
    try {
      return (value as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
    } catch {
      return false;
    }
  }

  #context({ context: id, session: number = 0 }: EvalRequest): SessionContext {
    let session = this.#contexts.get(id);
    if (!session) {
      session = new SessionContext(this.#options.locals, {
        asyncOutput: (text) => this.#asyncOutput(id, text),
        tap: (value) => {
          if (this.#closed || !this.#contexts.has(id)) return;
          this.#events.tap(id, { ok: true, text: capText(formatValue(value, this.#format)), value: toJsonValue(value) });
        },
        uncaught: (thrown) => this.#uncaught(id, number, thrown, session!.Error),
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
  #uncaught(context: number, session: number, thrown: unknown, sessionError: ErrorConstructor): void {
    const text = capText(formatThrown(thrown, 'Uncaught', this.#format, sessionError));
    if (this.#closed) {
      this.#events.audit({ type: 'uncaught', time: new Date().toISOString(), session, message: text });
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

  readonly #pendingOutput = new Map<number, string>();
  readonly #droppedOutput = new Map<number, number>();

  // Output printed outside a command (timers, promise callbacks) is batched per turn of the
  // event loop, so a loop of console.log calls costs one message, not one per call. A command
  // or settlement of the same context takes the batch with it, which keeps the order.
  #asyncOutput(context: number, text: string): void {
    // A session that has ended may have left timers printing: nobody reads that any more.
    if (this.#closed || !this.#contexts.has(context)) return;
    const pending = this.#pendingOutput.get(context);
    if (pending !== undefined) {
      if (pending.length + text.length <= MAX_OUTPUT_CHARS) this.#pendingOutput.set(context, pending + text);
      else this.#droppedOutput.set(context, (this.#droppedOutput.get(context) ?? 0) + text.length);
      return;
    }
    this.#pendingOutput.set(context, text.slice(0, MAX_OUTPUT_CHARS));
    if (text.length > MAX_OUTPUT_CHARS) this.#droppedOutput.set(context, text.length - MAX_OUTPUT_CHARS);
    this.#turn.schedule(() => this.#flushOutput(context));
  }

  #flushOutput(context: number): void {
    const all = this.#pendingOutput.get(context) ?? '';
    this.#pendingOutput.delete(context);
    if (all !== '' && !this.#closed) this.#events.output(context, all);
  }

  // Leaves an empty batch behind: the flush already scheduled for it still owns the entry.
  #takeOutput(context: number): string {
    const pending = this.#pendingOutput.get(context);
    if (pending === undefined) return '';
    this.#pendingOutput.set(context, '');
    const dropped = this.#droppedOutput.get(context) ?? 0;
    this.#droppedOutput.delete(context);
    return pending + truncationNote(dropped);
  }
}

/**
 * Node's REPL: a static `import` is not possible in a script; say how to write it instead.
 * `hint` is the worker's rewrite of the input's import declarations.
 */
function hintDynamicImport(error: Error, hint: string): void {
  try {
    if (error.name !== 'SyntaxError' || !error.message.includes('Cannot use import statement outside a module')) return;
    error.message = `Cannot use import statement inside the Node.js REPL, alternatively use dynamic import: ${hint}`;
    error.stack = String(error.stack).replace(/SyntaxError:.*\n/, `SyntaxError: ${error.message}\n`);
  } catch {
    // printed as V8 said it
  }
}

/** A result is printed within REPL limits, but an object with a million keys still prints them all. */
function capText(text: string): string {
  return text.length <= MAX_OUTPUT_CHARS ? text : text.slice(0, MAX_OUTPUT_CHARS) + `\n${truncationNote(text.length - MAX_OUTPUT_CHARS).trimEnd()}`;
}
