import { Console } from 'node:console';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { builtinModules } from 'node:module';
import { attribution, type SessionOwner } from './attribution.ts';
import { replInspectOptions } from './format.ts';
import { importFunctionName } from './protocol.ts';

/**
 * Console output kept per command (and per batch of output printed between commands): a
 * command that prints without end must not fill the main thread's memory.
 */
export const MAX_OUTPUT_CHARS = 1024 * 1024;

/** The line that stands for output that was dropped, or ''. */
export function truncationNote(dropped: number): string {
  return dropped > 0 ? `[... ${dropped} more characters of output dropped]\n` : '';
}

/** What a session context tells its evaluator. */
export interface SessionEvents {
  /** Console output printed while no command of this context runs. */
  asyncOutput(text: string): void;
  /** A value passed to `tap(value)`. */
  tap(value: unknown): void;
  /** Something the context's code threw or rejected after its command had returned. */
  uncaught(thrown: unknown, kind: 'exception' | 'rejection'): void;
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
  readonly context: vm.Context;
  /** The context's own `Object.prototype`: every object made by session code leads to it. */
  readonly objectPrototype: object;
  /** The context's own `Error`, whose `prepareStackTrace` formats its errors' stacks. */
  readonly Error: ErrorConstructor;
  readonly #events: SessionEvents;
  #output = '';
  #dropped = 0;
  #capturing = false;
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
    this.context = vm.createContext({}, { name: 'backdoor session' });
    const realm = vm.runInContext('({ Object, Error })', this.context) as { Object: ObjectConstructor; Error: ErrorConstructor };
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
    const define = (name: string, value: unknown) =>
      Object.defineProperty(this.context, name, { value, writable: true, configurable: true, enumerable: false });
    const { colors: _colors, ...inspectOptions } = replInspectOptions;
    define('console', new Console({ stdout: sink, stderr: sink, colorMode: false, inspectOptions }));
    define('global', globalThis);
    define('require', createRequire(pathToFileURL(`${process.cwd()}/`)));
    define(importFunctionName, importFromApp);
    // tap(value): hands a value to the session (a `tap` event in the JSON mode), returns it.
    define('tap', (value: unknown) => {
      events.tap(value);
      return value;
    });
    for (const [name, value] of Object.entries(trackedTimers())) define(name, value);
    define('queueMicrotask', (callback: () => void) => {
      if (typeof callback !== 'function') return queueMicrotask(callback); // Node's own TypeError
      // Node 20 and 22 report an exception of a microtask with no async context left to tell
      // whose it was: caught here instead.
      queueMicrotask(() => {
        try {
          callback();
        } catch (error) {
          this.report(error, 'exception');
        }
      });
    });

    // `_` and `_error` follow the last result until the session assigns them itself, as in Node.
    this.#autoLast = !Object.hasOwn(locals, '_');
    this.#autoLastError = !Object.hasOwn(locals, '_error');
    this.#defineLast('_', () => this.#last, (value) => {
      if (this.#autoLast) this.#write('Expression assignment to _ now disabled.\n');
      this.#autoLast = false;
      this.#last = value;
    });
    this.#defineLast('_error', () => this.#lastError, (value) => {
      if (this.#autoLastError) this.#write('Expression assignment to _error now disabled.\n');
      this.#autoLastError = false;
      this.#lastError = value;
    });

    for (const [name, value] of Object.entries(locals)) {
      Object.defineProperty(this.context, name, { value, writable: true, configurable: true, enumerable: true });
    }
    defineBuiltinModules(this.context);
  }

  /** Something this context's code threw (or rejected) outside its commands. */
  report(thrown: unknown, kind: 'exception' | 'rejection'): void {
    this.#events.uncaught(thrown, kind);
  }

  /** Start collecting console output for the command about to run. */
  beginCommand(): void {
    this.#capturing = true;
  }

  /** Stop collecting and return what the command printed. */
  endCommand(): string {
    this.#capturing = false;
    const output = this.#output + truncationNote(this.#dropped);
    this.#output = '';
    this.#dropped = 0;
    return output;
  }

  /** Numbers a value for `.inspect` listings: defines `$N` in the context and returns its name. */
  handle(value: object): string {
    const existing = this.#handles.get(value);
    if (existing) return existing;
    const name = `$${++this.#lastHandle}`;
    this.#handles.set(value, name);
    Object.defineProperty(this.context, name, { value, writable: true, configurable: true, enumerable: false });
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
      const value = vm.runInContext(`typeof ${name} === 'undefined' ? undefined : ${name}`, this.context, { timeout: timeoutMs || undefined, displayErrors: false });
      return { found: value !== undefined, value };
    } catch {
      return { found: false };
    }
  }

  /** The session's global names (its own globals and the language's), for completion. */
  globalNames(): string[] {
    const names = new Set<string>(Reflect.ownKeys(this.context).filter((key): key is string => typeof key === 'string'));
    for (const name of builtinNames(this.context)) names.add(name);
    return [...names];
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
    if (!this.#capturing) this.#events.asyncOutput(text);
    else if (this.#output.length + text.length <= MAX_OUTPUT_CHARS) this.#output += text;
    else this.#dropped += text.length;
  }

  #defineLast(name: string, get: () => unknown, set: (value: unknown) => void): void {
    Object.defineProperty(this.context, name, { get, set, configurable: true, enumerable: false });
  }
}

/** Names of Node's globals forwarded to every session (accessors of ours, safe to read). */
const forwarded = new Set<string>();

/** The language's own globals in a context (Object, Array, Math...). */
function builtinNames(context: vm.Context): string[] {
  return Object.getOwnPropertyNames(vm.runInContext('globalThis', context));
}

/**
 * A fresh context has only the language's globals. Give it Node's (process, Buffer, timers,
 * URL, fetch...) as accessors to the app's own, so that it sees them as the app does, and an
 * assignment replaces the name for this session only.
 */
function forwardNodeGlobals(context: vm.Context): void {
  const own = new Set(builtinNames(context));
  const appGlobal = globalThis as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    if (own.has(name) || name === 'console' || name === 'global') continue;
    forwarded.add(name);
    Object.defineProperty(context, name, {
      get: () => appGlobal[name],
      set: (value: unknown) =>
        Object.defineProperty(context, name, { value, writable: true, configurable: true, enumerable: false }),
      configurable: true,
      enumerable: false,
    });
  }
}

/**
 * Node's built-in modules by their bare names (`fs`, `util`, `os`...), each loaded when first
 * read, as Node's REPL has them; a name the context already has (a global, a local) is left
 * alone, and assigning the name replaces the module for this session.
 */
function defineBuiltinModules(context: vm.Context): void {
  const load = createRequire(import.meta.url);
  for (const name of builtinModules) {
    if (name.startsWith('_') || name.includes('/') || name === 'module' || Object.hasOwn(context, name)) continue;
    const settle = (value: unknown) => Object.defineProperty(context, name, { value, writable: true, configurable: true, enumerable: false });
    Object.defineProperty(context, name, {
      get: () => {
        const value: unknown = load(name);
        settle(value);
        return value;
      },
      set: settle,
      configurable: true,
      enumerable: false,
    });
  }
}

/**
 * The timer functions of a session. Each timer its code sets keeps the attribution hook on
 * (see attribution.ts) until it has run or been cleared, also after the session has ended: on
 * Node 20 and 22, what its callback then starts (a promise of `fs.promises` that rejects) is
 * still known to be the session's. An interval keeps it on until it is cleared. (Cleared through
 * `global.clearTimeout`, a timer keeps it on for good: a cost, never a wrong owner.)
 */
function trackedTimers(): Record<string, unknown> {
  const pending = new Set<object>();
  const settle = (handle: unknown) => {
    if (typeof handle === 'object' && handle !== null && pending.delete(handle)) attribution.release();
  };
  const schedule = (native: (...args: never[]) => object, repeats: boolean) => {
    const scheduled = function (this: unknown, callback: unknown, ...rest: unknown[]): object {
      if (typeof callback !== 'function') return Reflect.apply(native, this, [callback, ...rest]) as object; // Node's own TypeError
      let handle: object | undefined;
      const run = function (this: unknown, ...args: unknown[]): unknown {
        try {
          return Reflect.apply(callback, this, args);
        } finally {
          if (!repeats) settle(handle);
        }
      };
      handle = Reflect.apply(native, this, [run, ...rest]) as object;
      pending.add(handle);
      attribution.retain();
      return handle;
    };
    // `util.promisify(setTimeout)` and the like, as on Node's own.
    for (const key of Reflect.ownKeys(native)) {
      if (typeof key === 'symbol') Object.defineProperty(scheduled, key, Reflect.getOwnPropertyDescriptor(native, key)!);
    }
    Object.defineProperty(scheduled, 'name', { value: native.name });
    return scheduled;
  };
  const clear = (native: (handle: never) => void, name: string) =>
    Object.defineProperty(function (this: unknown, handle: unknown) {
      settle(handle);
      return Reflect.apply(native, this, [handle]);
    }, 'name', { value: name });
  return {
    setTimeout: schedule(setTimeout as never, false),
    setInterval: schedule(setInterval as never, true),
    setImmediate: schedule(setImmediate as never, false),
    clearTimeout: clear(clearTimeout as never, 'clearTimeout'),
    clearInterval: clear(clearInterval as never, 'clearInterval'),
    clearImmediate: clear(safeClearImmediate as never, 'clearImmediate'),
  };
}

let Immediate: (new () => unknown) | undefined;

/**
 * `clearImmediate` for session code. On Node 20 and 22, clearing something that is not an
 * Immediate (`{}`, a Timeout) corrupts Node's count of immediates, and no `setImmediate`
 * callback of the app runs again; Node 24 ignores it, and so does this.
 */
function safeClearImmediate(immediate: unknown): void {
  if (Immediate === undefined) {
    const probe = setImmediate(() => {});
    clearImmediate(probe);
    Immediate = probe.constructor as new () => unknown;
  }
  if (immediate instanceof Immediate) clearImmediate(immediate as NodeJS.Immediate);
}

/**
 * `import()` for session code: relative paths from the app's working directory, as `require`
 * does; packages and builtins as the app itself would import them.
 */
function importFromApp(specifier: unknown, options?: ImportCallOptions): Promise<unknown> {
  const text = String(specifier);
  const target = /^\.{0,2}\//.test(text) ? pathToFileURL(resolve(process.cwd(), text)).href : text;
  return import(target, options);
}
