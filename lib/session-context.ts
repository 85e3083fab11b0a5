import { Console } from 'node:console';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { constants as vmConstants, createContext, runInContext, type Context } from 'node:vm';
import type { SessionOwner } from './attribution.ts';
import { builtinNames, defineBuiltinModules, forwarded, forwardNodeGlobals, importFromApp, sessionRequire, trackedTimers } from './context-globals.ts';
import { replInspectOptions } from './format.ts';
import { importFunctionName } from '../common/protocol.ts';
import { OutputBuffer } from './output-buffer.ts';
import { nativeQueueMicrotask, ObjectDefineProperty, ObjectEntries, ObjectHasOwn } from '../common/primordials.ts';

/** What a session context tells its evaluator. */
export interface SessionEvents {
  /** Console output was printed while no command of this context runs: take it soon (`laterOutput`). */
  asyncOutput(): void;
  /** A value passed to `tap(value)`. */
  tap(value: unknown): void;
  /** Something the context's code threw or rejected after its command had returned. */
  uncaught(thrown: unknown, kind: 'exception' | 'rejection' | 'exit'): void;
}

/**
 * A context without interceptors where Node has them (20.18+, 22.8+, 24): its global is an
 * ordinary object, so session code runs at the speed of the app's own realm instead of 2-3x
 * slower through a contextified sandbox's interceptors (a 2,000-object build: 1.3 ms against
 * 4.6 ms, Node 20.20). Node's globals and the locals are put on it (forwardNodeGlobals).
 */
function contextObject(): object {
  return ((vmConstants as unknown as { DONT_CONTEXTIFY?: object } | undefined)?.DONT_CONTEXTIFY ?? {}) as object;
}

/** A context's `_` and `_error`. */
export interface LastValues {
  last: unknown;
  lastError: unknown;
}

/**
 * The global scope of one session: a `vm` context in which declarations (`let x`, functions,
 * classes) persist between commands, with the app's `locals`, Node's globals and built-in
 * modules (`fs`, `util`... loaded when first used, as in Node's REPL), `require`, `_`, `_error`,
 * and a `console` whose output goes to the session instead of the app's stdout.
 *
 * It is also the owner of everything its code starts (see attribution.ts): what that code
 * throws later comes back here.
 */
export class SessionContext implements SessionOwner {
  /** The contextified global object. */
  readonly context: Context;
  /** The context's own `Object.prototype`: every object made by session code leads to it. */
  readonly objectPrototype: object;
  /** The context's own `Error`, whose `prepareStackTrace` formats its errors' stacks. */
  readonly Error: ErrorConstructor;
  readonly #events: SessionEvents;
  /** What the running command prints, and what is printed between commands. */
  readonly #commandOutput = new OutputBuffer();
  readonly #laterOutput = new OutputBuffer();
  #laterScheduled = false;
  #capturing = false;
  #closed = false;
  /** Names declared at the top level (`let`, `class`): not properties of the global, but completed. */
  readonly #declared = new Set<string>();
  #last: unknown;
  #lastError: unknown;
  #autoLast: boolean;
  #autoLastError: boolean;
  readonly #handles = new WeakMap<object, string>();
  #lastHandle = 0;

  /**
   * @param locals names to define as globals of the context (shared objects, not copies)
   * @param events where output, tapped values and late errors of the context go
   */
  constructor(locals: Record<string, unknown>, events: SessionEvents) {
    this.#events = events;
    this.context = createContext(contextObject(), { name: 'backdoor session' });
    const realm = runInContext('({ Object, Error })', this.context) as { Object: ObjectConstructor; Error: ErrorConstructor };
    this.objectPrototype = realm.Object.prototype;
    this.Error = realm.Error;
    forwardNodeGlobals(this.context);

    const sink = new Writable({
      decodeStrings: false,
      write: (chunk: string, _encoding, callback) => {
        this.#write(chunk);
        callback();
      },
    });
    const define = (name: string, value: unknown) => ObjectDefineProperty(this.context, name, { value, writable: true, configurable: true, enumerable: false });
    const { colors: _colors, ...inspectOptions } = replInspectOptions;
    define('console', new Console({ stdout: sink, stderr: sink, colorMode: false, inspectOptions }));
    define('global', globalThis);
    define('require', sessionRequire(pathToFileURL(`${process.cwd()}/`).href));
    define(importFunctionName, importFromApp);
    // tap(value): hands a value to the session (a `tap` event in the JSON mode), returns it.
    define('tap', (value: unknown) => {
      events.tap(value);
      return value;
    });
    for (const [name, value] of ObjectEntries(trackedTimers())) define(name, value);
    define('queueMicrotask', (callback: () => void) => {
      if (typeof callback !== 'function') return nativeQueueMicrotask(callback); // Node's own TypeError
      // Node 20 and 22 report an exception of a microtask with no async context left to tell
      // whose it was: caught here instead.
      nativeQueueMicrotask(() => {
        try {
          callback();
        } catch (error) {
          this.report(error, 'exception');
        }
      });
    });

    // `_` and `_error` follow the last result until the session assigns them itself, as in Node.
    this.#autoLast = !ObjectHasOwn(locals, '_');
    this.#autoLastError = !ObjectHasOwn(locals, '_error');
    this.#defineLast(
      '_',
      () => this.#last,
      (value) => {
        if (this.#autoLast) this.#write('Expression assignment to _ now disabled.\n');
        this.#autoLast = false;
        this.#last = value;
      },
    );
    this.#defineLast(
      '_error',
      () => this.#lastError,
      (value) => {
        if (this.#autoLastError) this.#write('Expression assignment to _error now disabled.\n');
        this.#autoLastError = false;
        this.#lastError = value;
      },
    );

    for (const [name, value] of ObjectEntries(locals)) {
      ObjectDefineProperty(this.context, name, { value, writable: true, configurable: true, enumerable: true });
    }
    defineBuiltinModules(this.context);
  }

  /** Something this context's code threw (or rejected) outside its commands. */
  report(thrown: unknown, kind: 'exception' | 'rejection' | 'exit'): void {
    this.#events.uncaught(thrown, kind);
  }

  /** Start collecting console output for the command about to run. */
  beginCommand(): void {
    this.#capturing = true;
  }

  /** Stop collecting and return what the command printed. */
  endCommand(): string {
    this.#capturing = false;
    return this.#commandOutput.take();
  }

  /**
   * Output printed between commands, taken by the next command or settlement (which keeps the
   * order) or by the flush `asyncOutput` asked for (`flushing`: a new batch asks again).
   */
  laterOutput(flushing = false): string {
    if (flushing) this.#laterScheduled = false;
    return this.#laterOutput.take();
  }

  /** Names the session's code declares at the top level. */
  declare(names: readonly string[]): void {
    for (const name of names) this.#declared.add(name);
  }

  /** The session has ended: what its timers print from now on goes nowhere. */
  close(): void {
    this.#closed = true;
    this.#laterOutput.take();
  }

  /** Numbers a value for `.inspect` listings: defines `$N` in the context and returns its name. */
  handle(value: object): string {
    const existing = this.#handles.get(value);
    if (existing) return existing;
    const name = `$${++this.#lastHandle}`;
    this.#handles.set(value, name);
    ObjectDefineProperty(this.context, name, { value, writable: true, configurable: true, enumerable: false });
    return name;
  }

  /**
   * The value of a global of the session for tab completion, without running a getter: its own
   * data property, one of Node's globals as the app has it, or (for `let`, `const`, `class` and
   * the language's builtins, which are not properties of the sandbox) a plain read of the name.
   */
  globalForCompletion(name: string, timeoutMs: number): { found: boolean; value?: unknown } {
    const descriptor = Reflect.getOwnPropertyDescriptor(this.context, name);
    if (descriptor) {
      if ('value' in descriptor) return { found: true, value: descriptor.value };
      if (forwarded.has(name)) return { found: true, value: (globalThis as Record<string, unknown>)[name] };
      return { found: false }; // a getter of the session's: not run
    }
    if (!/^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u.test(name)) return { found: false };
    try {
      const value = runInContext(`typeof ${name} === 'undefined' ? undefined : ${name}`, this.context, { timeout: timeoutMs || undefined, displayErrors: false });
      return { found: value !== undefined, value };
    } catch {
      return { found: false };
    }
  }

  /** The session's global names (its own globals and the language's), for completion. */
  globalNames(): string[] {
    const names = new Set<string>(Reflect.ownKeys(this.context).filter((key): key is string => typeof key === 'string'));
    for (const name of builtinNames(this.context)) names.add(name);
    for (const name of this.#declared) names.add(name);
    return [...names];
  }

  /** `_` and `_error` now: what `.clear` hands to the session's next context. */
  get lastValues(): LastValues {
    return { last: this.#last, lastError: this.#lastError };
  }

  /** Starts with the `_` and `_error` of the context it replaces (`.clear`). */
  inherit({ last, lastError }: LastValues): void {
    this.#last = last;
    this.#lastError = lastError;
  }

  /** Record a command's result as `_`, or what it threw as `_error`. */
  remember(value: unknown, threw: boolean): void {
    if (threw) {
      if (this.#autoLastError) this.#lastError = value;
    } else if (this.#autoLast) {
      this.#last = value;
    }
  }

  #write(text: string): void {
    if (this.#capturing) return this.#commandOutput.append(text);
    if (this.#closed) return;
    this.#laterOutput.append(text);
    if (!this.#laterScheduled) {
      this.#laterScheduled = true;
      this.#events.asyncOutput();
    }
  }

  #defineLast(name: string, get: () => unknown, set: (value: unknown) => void): void {
    ObjectDefineProperty(this.context, name, { get, set, configurable: true, enumerable: false });
  }
}
