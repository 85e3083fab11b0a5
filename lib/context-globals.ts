/**
 * What a session's global scope is made of besides the language's own: Node's globals as the
 * app has them, the built-in modules by name, timers that keep their owner, and `import()`.
 */
import { builtinModules, createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInContext, type Context } from 'node:vm';
import { attribution } from './attribution.ts';
import { checkModuleLoad } from './module-guard.ts';
import {
  PromiseCtor,
  clearImmediate,
  clearInterval,
  clearTimeout,
  ObjectDefineProperty,
  ObjectGetOwnPropertyNames,
  ObjectHasOwn,
  ReflectApply,
  ReflectGetOwnPropertyDescriptor,
  ReflectOwnKeys,
  setImmediate,
  setInterval,
  setTimeout,
} from '../common/primordials.ts';

/** Names of Node's globals forwarded to every session (accessors of ours, safe to read). */
export const forwarded = new Set<string>();

/** The language's own globals in a context (Object, Array, Math...). */
export function builtinNames(context: Context): string[] {
  return ObjectGetOwnPropertyNames(runInContext('globalThis', context));
}

/**
 * A fresh context has only the language's globals. Give it Node's (process, Buffer, timers,
 * URL, fetch...) as accessors to the app's own, so that it sees them as the app does, and an
 * assignment replaces the name for this session only.
 */
export function forwardNodeGlobals(context: Context): void {
  const own = new Set(builtinNames(context));
  const appGlobal = globalThis as Record<string, unknown>;
  for (const name of ObjectGetOwnPropertyNames(globalThis)) {
    if (own.has(name) || name === 'console' || name === 'global') continue;
    forwarded.add(name);
    ObjectDefineProperty(context, name, {
      get: () => appGlobal[name],
      set: (value: unknown) => ObjectDefineProperty(context, name, { value, writable: true, configurable: true, enumerable: false }),
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
export function defineBuiltinModules(context: Context): void {
  const load = createRequire(import.meta.url);
  for (const name of builtinModules) {
    if (name.startsWith('_') || name.includes('/') || name === 'module' || ObjectHasOwn(context, name)) continue;
    const settle = (value: unknown) => ObjectDefineProperty(context, name, { value, writable: true, configurable: true, enumerable: false });
    ObjectDefineProperty(context, name, {
      get: () => {
        checkModuleLoad(name);
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
export function trackedTimers(): Record<string, unknown> {
  const pending = new Set<object>();
  const settle = (handle: unknown) => {
    if (typeof handle === 'object' && handle !== null && pending.delete(handle)) attribution.release();
  };
  const schedule = (native: (...args: never[]) => object, repeats: boolean) => {
    const scheduled = function (this: unknown, callback: unknown, ...rest: unknown[]): object {
      if (typeof callback !== 'function') return ReflectApply(native, this, [callback, ...rest]) as object; // Node's own TypeError
      let handle: object | undefined;
      const run = function (this: unknown, ...args: unknown[]): unknown {
        try {
          return ReflectApply(callback, this, args);
        } finally {
          if (!repeats) settle(handle);
        }
      };
      // On before the timer is made, so that the timer itself is known to be the session's.
      attribution.retain();
      try {
        handle = ReflectApply(native, this, [run, ...rest]) as object;
      } catch (error) {
        attribution.release();
        throw error;
      }
      pending.add(handle);
      return handle;
    };
    // `util.promisify(setTimeout)` and the like, as on Node's own.
    for (const key of ReflectOwnKeys(native)) {
      if (typeof key === 'symbol') ObjectDefineProperty(scheduled, key, ReflectGetOwnPropertyDescriptor(native, key)!);
    }
    ObjectDefineProperty(scheduled, 'name', { value: native.name });
    return scheduled;
  };
  const clear = (native: (handle: never) => void, name: string) =>
    ObjectDefineProperty(
      function (this: unknown, handle: unknown) {
        settle(handle);
        return ReflectApply(native, this, [handle]);
      },
      'name',
      { value: name },
    );
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
 * The app's `require` for session code (resolving from `base`), which refuses what would
 * change the whole process as it loads (process-guard.ts).
 */
export function sessionRequire(base: string): NodeJS.Require {
  const appRequire = createRequire(base);
  const require = function require(id: string): unknown {
    checkModuleLoad(id);
    return appRequire(id);
  };
  return Object.assign(require, { resolve: appRequire.resolve, cache: appRequire.cache, main: appRequire.main, extensions: appRequire.extensions }) as NodeJS.Require;
}

/**
 * `import()` for session code: relative paths from the app's working directory, as `require`
 * does; packages and builtins as the app itself would import them.
 */
export function importFromApp(specifier: unknown, options?: ImportCallOptions): Promise<unknown> {
  const text = String(specifier);
  try {
    checkModuleLoad(text);
  } catch (error) {
    return PromiseCtor.reject(error);
  }
  const target = /^\.{0,2}\//.test(text) ? pathToFileURL(resolve(process.cwd(), text)).href : text;
  return import(target, options);
}
