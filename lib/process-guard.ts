/**
 * What typed code may do to the process it runs in. A session is inside the app, so it can do
 * anything on purpose; these guards are for the accidents that take a production app down or
 * keep it from ending (what is not covered: docs/security.md, "Isolation"):
 *
 * - Ending the app: `process.exit()`, `process.reallyExit()`, `process.abort()`, and
 *   `process.kill()` of the app's own process (or its group) are refused when typed code calls
 *   them (caller.ts): the app's own calls go through untouched, also when a session ran the
 *   app's code that made them. `.exit-app` ends the app on purpose.
 * - The app's crash and exit handling: listeners and emits (process-listeners.ts), and
 *   `process.setUncaughtExceptionCaptureCallback()`.
 * - `domain` (module-guard.ts).
 * - What a command undoes of these: a command that replaced one of the guarded functions, or
 *   removed a listener the backdoor needs (the guard's own, the start and stop signals'), has
 *   it put back when it returns, and is told so.
 *
 * Refusals come before anything changes: a refused call leaves no state behind.
 */
import { readFileSync } from 'node:fs';
import { sessionCalled } from './caller.ts';
import { guardModules } from './module-guard.ts';
import { checkEmit, guardListenerMethods, onNewListener } from './process-listeners.ts';
import { replInputError } from './session-realms.ts';
import { routeUncaught } from './uncaught.ts';
import { ObjectDefineProperty, ReflectApply } from '../common/primordials.ts';

type Fn = (...args: unknown[]) => unknown;

/** The guarded functions of `process`, by name, as installed. */
const guarded = new Map<string, Fn>();
/** Listeners the backdoor needs on `process`, by event (a command that removes one gets it back). */
const kept = new Map<Fn, string>();
let installed = false;

/** Installs the guards (once for the process: several backdoors share them, and they stay). */
export function guardProcess(): void {
  if (installed) return;
  installed = true;
  guardListenerMethods();
  (process as NodeJS.EventEmitter).prependListener('newListener', onNewListener);
  kept.set(onNewListener as Fn, 'newListener');
  const endsApp = 'it would end the app';
  // Before the app's own exit, whatever put back an older `process.emit`: its session's exit
  // listeners are guarded as it ends.
  refuse('exit', endsApp, () => true, ensureEmitWrapped);
  refuse('reallyExit', endsApp);
  refuse('abort', endsApp);
  // The pid and the signal are read once, and what was read is passed on: an object whose
  // valueOf answers differently each time cannot pass the check as one process and reach another.
  refuse('kill', "a signal to the app's own process may end it", (args) => {
    args[0] = typeof args[0] === 'object' && args[0] !== null ? Number(args[0]) : args[0];
    return args[1] !== 0 && args[1] !== '0' && targetsSelf(args[0]);
  });
  refuse('_kill', "a signal to the app's own process may end it", (args) => args[1] !== 0 && targetsSelf(args[0]));
  const setCapture = process.setUncaughtExceptionCaptureCallback;
  const setUncaughtExceptionCaptureCallback = function setUncaughtExceptionCaptureCallback(this: NodeJS.Process, callback: unknown) {
    if (sessionCalled(setUncaughtExceptionCaptureCallback, true)) {
      throw replInputError("process.setUncaughtExceptionCaptureCallback() cannot be used in the REPL: it would take the app's crash handling away from it");
    }
    return ReflectApply(setCapture, this, [callback]);
  };
  install('setUncaughtExceptionCaptureCallback', setUncaughtExceptionCaptureCallback as Fn);
  guardModules();
  wrapEmit();
}

/** The `process.emit` wrappers of ours (one more each time another library put an older one back). */
const emitWrappers = new WeakSet<object>();

/**
 * Wraps the `process.emit` in place: a session's uncaught error goes to it (uncaught.ts), and
 * typed code's emits are checked (process-listeners.ts); everything else goes on to the
 * wrapped `emit` untouched.
 */
function wrapEmit(): void {
  const emit = process.emit as unknown as Fn;
  const emitUnlessSessions = function emitUnlessSessions(this: unknown, event: string | symbol, ...args: unknown[]): boolean {
    if (routeUncaught(event, args)) return true;
    checkEmit(event, emitUnlessSessions as Fn);
    return ReflectApply(emit, this, [event, ...args]) as boolean;
  };
  emitWrappers.add(emitUnlessSessions);
  process.emit = emitUnlessSessions as typeof process.emit;
}

/**
 * A library may put back the `process.emit` it found before ours (signal-exit does, when its
 * last handler goes): then ours wraps what is there again. Checked after every command and
 * before the app's process.exit.
 */
function ensureEmitWrapped(): boolean {
  if (emitWrappers.has(process.emit)) return false;
  wrapEmit();
  return true;
}

/** A listener the backdoor needs on `process` (the start and stop signals'): a command that removes it gets it back. */
export function keepListener(event: string, listener: Fn): void {
  kept.set(listener, event);
}

const originalExit = process.exit;

/** Ends the app with `code`, as `.exit-app` does on purpose (Node's own `process.exit`, unguarded). */
export function exitApp(code: number): never {
  ensureEmitWrapped();
  return ReflectApply(originalExit, process, [code]) as never;
}

/** What `restoreGuards` compares with after a command: `process.emit` before it. */
export function guardsBefore(): unknown {
  return process.emit;
}

/**
 * After a command: what it undid of the guards is put back, and said (as a line of the
 * command's output). A few property reads and listener counts; nothing when all is in place.
 */
export function restoreGuards(emitBefore: unknown): string {
  if (!installed) return '';
  let said = '';
  if (process.emit !== emitBefore && emitWrappers.has(emitBefore as object)) {
    process.emit = emitBefore as typeof process.emit;
    said += "(process.emit was replaced: the backdoor's is put back, so that the app's events and errors go where they belong)\n";
  } else {
    // Another library may have put back an older one meanwhile: wrapped again, not said.
    ensureEmitWrapped();
  }
  const target = process as unknown as Record<string, unknown>;
  for (const [name, fn] of guarded) {
    if (target[name] === fn) continue;
    ObjectDefineProperty(process, name, { value: fn, writable: true, configurable: true, enumerable: true });
    said += `(process.${name} was replaced: the backdoor's guard is put back, so that the app can still end as it decides)\n`;
  }
  for (const [listener, event] of kept) {
    if (ReflectApply(process.rawListeners, process, [event]).includes(listener)) continue;
    if (event === 'newListener') (process as NodeJS.EventEmitter).prependListener(event, listener);
    else process.on(event, listener);
    said += `(a listener the backdoor needs for '${event}' was removed: it is put back)\n`;
  }
  return said;
}

function install(name: string, fn: Fn): void {
  (process as unknown as Record<string, unknown>)[name] = fn;
  guarded.set(name, fn);
}

/**
 * Replaces `process[name]` with one that refuses typed code's calls (those `applies` to, given
 * the arguments); `before` runs before a call that goes on.
 */
function refuse(name: string, why: string, applies: (args: unknown[]) => boolean = () => true, before?: () => void): void {
  const original = (process as unknown as Record<string, unknown>)[name];
  if (typeof original !== 'function') return;
  const wrapper = {
    [name](this: unknown, ...args: unknown[]): unknown {
      if (applies(args) && sessionCalled(wrapper)) {
        throw replInputError(`process.${name}() cannot be used in the REPL: ${why} (pid ${process.pid}); .exit-app [code] ends it on purpose`);
      }
      before?.();
      return ReflectApply(original as Fn, this, args);
    },
  }[name] as Fn;
  ObjectDefineProperty(wrapper, 'length', { value: (original as { length: number }).length });
  install(name, wrapper);
}

/** Whether a signal to `pid` reaches this process: its own pid, its group (0, -pgid), or every process (-1). */
function targetsSelf(pid: unknown): boolean {
  const number = Number(pid);
  return number === process.pid || number === 0 || number === -1 || (number < 0 && -number === processGroup());
}

/** This process's group (field 5 of /proc/self/stat, after the command name); undefined elsewhere. */
function processGroup(): number | undefined {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}
