/**
 * Listeners a session adds to `process`, and what typed code emits on it.
 *
 * - Refused (before anything changes): listeners for `uncaughtException`,
 *   `uncaughtExceptionMonitor` and `unhandledRejection` (the app's crash handling), `beforeExit`
 *   (what it schedules keeps the app from ending) and every signal (a listener turns off what
 *   the signal does: `kill` would no longer end the app); and typed code emitting those or
 *   `exit` itself (the app's exit handlers would run, and its files go, while it goes on).
 * - Any other listener of a session's (a function made in its realm, or added by typed code)
 *   is added guarded, as Node adds a `once` listener: a wrapper whose `listener` is the
 *   function, so that `listeners()` and `removeListener()` see the function itself. What it
 *   throws goes to its session (or the audit trail), never up through `process.emit` into the
 *   app's code or the libraries that wrap `emit`. The sessions' `exit` listeners together get
 *   EXIT_LISTENERS_MS as the app ends (the rest are skipped), and cannot change its exit code.
 */
import EventEmitter from 'node:events';
import { constants } from 'node:os';
import { attribution, type SessionOwner } from './attribution.ts';
import { sessionCalled } from './caller.ts';
import { within } from './format.ts';
import { nodeReplInputError, realmOwner, replInputError } from './session-realms.ts';
import { now, ObjectDefineProperty, ReflectApply } from '../common/primordials.ts';

/** How long the sessions' `exit` listeners may run in all: the app is ending, and waits for them. */
export const EXIT_LISTENERS_MS = 250;

type Listener = (...args: unknown[]) => unknown;

const signals = new Set(Object.keys(constants.signals));

/** Why a session may not listen for (nor emit) `event`, or undefined when it may. */
function refusedEvent(event: string | symbol): string | undefined {
  if (event === 'uncaughtException' || event === 'uncaughtExceptionMonitor' || event === 'unhandledRejection') return "it would take the app's crash handling away from it";
  if (event === 'beforeExit') return 'what it schedules would keep the app from ending';
  if (typeof event === 'string' && signals.has(event)) return `it would turn off what ${event} does to the app (\`kill\` would no longer end it)`;
  return undefined;
}

function refusal(event: string | symbol, why: string): TypeError {
  // Worded as Node's REPL words the one it refuses too.
  if (event === 'uncaughtException') return nodeReplInputError('Listeners for `uncaughtException` cannot be used in the REPL');
  return replInputError(`Listeners for \`${String(event)}\` cannot be used in the REPL: ${why}`);
}

/**
 * Whose `listener` is, when a session's: made in its realm, or added by typed code (then the
 * session running now). Undefined for the app's. (`caller`: the function typed code called.)
 */
function sessionOf(listener: unknown, caller: (...args: never[]) => unknown): { owner: SessionOwner | undefined } | undefined {
  const owner = realmOwner(listener);
  if (owner !== undefined) return { owner };
  return sessionCalled(caller) ? { owner: attribution.current() } : undefined;
}

/** The wrapper being added by one of ours (see `onNewListener`). */
let adding: Listener | undefined;
let exitDeadline: number | undefined;

/**
 * Replaces `process`'s own methods for adding listeners: the app's go on untouched; a
 * session's is refused or added guarded (see above).
 */
export function guardListenerMethods(): void {
  const base = EventEmitter.prototype as unknown as Record<string, Listener>;
  for (const name of ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener']) {
    const once = name === 'once' || name === 'prependOnceListener';
    const add = base[name.startsWith('prepend') ? 'prependListener' : 'on'];
    const method = {
      [name](this: unknown, event: string | symbol, listener: unknown): unknown {
        // Not a function: Node's own error. `uncaughtException`: refused as Node's REPL refuses
        // it, from the `newListener` event, so that it prints as Node's does.
        if (typeof listener !== 'function' || event === 'uncaughtException') return ReflectApply(base[name], this, [event, listener]);
        const session = sessionOf(listener, method);
        if (session === undefined) return ReflectApply(base[name], this, [event, listener]);
        const why = refusedEvent(event);
        if (why !== undefined) throw refusal(event, why);
        const wrapper = guarded(this, event, listener as Listener, session.owner, once);
        adding = wrapper;
        try {
          return ReflectApply(add, this, [event, wrapper]);
        } finally {
          adding = undefined;
        }
      },
    }[name] as Listener;
    ObjectDefineProperty(process, name, { value: method, writable: true, configurable: true, enumerable: false });
  }
}

/**
 * The `newListener` listener (kept first on `process`: see process-guard.ts): what was not
 * added through the methods above (`EventEmitter.prototype.on.call(process, ...)`) is refused
 * when it is a session's.
 */
export function onNewListener(event: string | symbol, listener: unknown): void {
  if (adding !== undefined && (adding as { listener?: unknown }).listener === listener) return;
  const session = sessionOf(listener, onNewListener);
  if (session === undefined) return;
  const why = refusedEvent(event);
  if (why !== undefined) throw refusal(event, why);
  throw replInputError('Listeners can be added to process in the REPL only with process.on(), once() and prependListener(), which guard them');
}

/** `listener` as a session's, guarded; `once`: it removes itself before it runs, as Node's `once` does. */
function guarded(target: unknown, event: string | symbol, listener: Listener, owner: SessionOwner | undefined, once: boolean): Listener {
  let fired = false;
  const wrapper = function (this: unknown, ...args: unknown[]): void {
    if (once) {
      if (fired) return;
      fired = true;
      ReflectApply((EventEmitter.prototype as unknown as Record<string, Listener>).removeListener, target, [event, wrapper]);
    }
    if (event === 'exit') runExitListener(owner, listener, this, args);
    else run(owner, listener, this, args);
  };
  ObjectDefineProperty(wrapper, 'listener', { value: listener, writable: true, configurable: true, enumerable: true });
  return wrapper;
}

function run(owner: SessionOwner | undefined, listener: Listener, self: unknown, args: unknown[]): void {
  try {
    if (owner) attribution.run(owner, () => ReflectApply(listener, self, args));
    else ReflectApply(listener, self, args);
  } catch (error) {
    owner?.report(error, 'exception');
  }
}

/** A session's `exit` listener, in what is left of the time they all get; it cannot change the exit code. */
function runExitListener(owner: SessionOwner | undefined, listener: Listener, self: unknown, args: unknown[]): void {
  exitDeadline ??= now() + EXIT_LISTENERS_MS;
  const left = Math.floor(exitDeadline - now());
  if (left < 1) return; // the app does not wait for it
  const code = process.exitCode;
  try {
    const go = () => within(left, () => ReflectApply(listener, self, args));
    if (owner) attribution.run(owner, go);
    else go();
  } catch (error) {
    try {
      // Told at once: nothing asynchronous runs any more.
      owner?.report(error, 'exit');
    } catch {
      // the app is ending: nothing of ours may stop it
    }
  } finally {
    if (process.exitCode !== code) process.exitCode = code;
  }
}

/** Throws when typed code emits an event it may not (see above). */
export function checkEmit(event: string | symbol, emit: Listener): void {
  if ((event === 'exit' || refusedEvent(event) !== undefined) && sessionCalled(emit)) {
    throw replInputError(`process.emit('${String(event)}') cannot be used in the REPL: it would run the app's own handlers as if it were so`);
  }
}
