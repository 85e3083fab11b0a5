import { types } from 'node:util';
import { attribution, type SessionOwner } from './attribution.ts';

/** Each session context's `Object.prototype`, to its owner: any object made there leads to it. */
const realms = new WeakMap<object, SessionOwner>();
let installed = false;

/**
 * Keeps what session code throws or rejects outside its commands in its session, and leaves
 * everything else exactly as it would be without the backdoor.
 *
 * Node reports an uncaught exception by calling `process.emit('uncaughtExceptionMonitor')`
 * then `process.emit('uncaughtException')`, and goes to its fatal path (print, exit 1) when
 * the latter returns false; an unhandled rejection by `process.emit('unhandledRejection')`,
 * with its default (crash) when that returns false. A listener of ours would turn those
 * defaults off for the app's own errors too, and the app's listeners would still see the
 * sessions'. So the backdoor wraps `process.emit` once: an error that belongs to a session is
 * given to that session and counts as handled; every other call goes to the original `emit`
 * untouched, so the app's listeners, its exit code and Node's messages are what they were.
 *
 * An error belongs to a session when the code running as it is thrown is the session's (see
 * `attribution`), or when the thrown object or the rejected promise was made in the session's
 * realm (a callback of the session's that app code called, or, on Node 20 and 22, an exception
 * in a microtask, for which Node clears the async context before reporting it).
 *
 * The wrapper stays for the life of the process: a timer set by a session can throw long after
 * the backdoor closed, and must not crash the app then either. Installing it also refuses
 * `uncaughtException` listeners added by session code, as Node's REPL does, and
 * `unhandledRejection` listeners and `process.setUncaughtExceptionCaptureCallback()`: each would
 * take the app's crash handling away from it.
 */
export function watchSession(objectPrototype: object, owner: SessionOwner): void {
  realms.set(objectPrototype, owner);
  if (installed) return;
  installed = true;
  const emit = process.emit;
  process.emit = function emitUnlessSessions(this: NodeJS.Process, event: string | symbol, ...args: unknown[]) {
    if (event === 'uncaughtException' || event === 'uncaughtExceptionMonitor') {
      const owner = attribution.current() ?? realmOwner(args[0]);
      if (owner) {
        if (event === 'uncaughtException') owner.report(args[0], 'exception');
        return true;
      }
    } else if (event === 'unhandledRejection') {
      const owner = realmOwner(args[1]) ?? realmOwner(args[0]) ?? attribution.current();
      if (owner) {
        owner.report(args[0], 'rejection');
        return true;
      }
    }
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof process.emit;
  (process as NodeJS.EventEmitter).prependListener('newListener', refuseCrashHandlers);
  const setCapture = process.setUncaughtExceptionCaptureCallback;
  process.setUncaughtExceptionCaptureCallback = function setUnlessSession(this: NodeJS.Process, callback) {
    if (attribution.current() !== undefined) throw replInputError('process.setUncaughtExceptionCaptureCallback() cannot be used in the REPL');
    return Reflect.apply(setCapture, this, [callback]) as void;
  };
}

/**
 * The app's crash handling is not the session's to change: listeners for `uncaughtException`
 * (refused by Node's REPL too) and `unhandledRejection` (either one turns a crash into
 * silence for the app's own errors), and the capture callback.
 */
function refuseCrashHandlers(event: string | symbol): void {
  if ((event === 'uncaughtException' || event === 'unhandledRejection') && attribution.current() !== undefined) {
    throw replInputError(`Listeners for \`${event}\` cannot be used in the REPL`);
  }
}

/** Node's `ERR_INVALID_REPL_INPUT`, as its REPL throws it. */
function replInputError(message: string): TypeError {
  const error = new TypeError(message);
  // Node's own errors print their code in the first line of the stack.
  Object.defineProperty(error, 'name', { value: 'TypeError [ERR_INVALID_REPL_INPUT]', configurable: true, writable: true, enumerable: false });
  void error.stack; // formatted now, with that name
  delete (error as { name?: string }).name;
  Object.assign(error, { code: 'ERR_INVALID_REPL_INPUT' });
  return error;
}

/** The session whose realm made `value`, if any; never runs a proxy trap. */
function realmOwner(value: unknown): SessionOwner | undefined {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return undefined;
  let current: unknown = value;
  for (let depth = 0; depth < 32; depth++) {
    if (types.isProxy(current)) return undefined;
    const proto = Object.getPrototypeOf(current as object) as object | null;
    if (proto === null) return realms.get(current as object);
    current = proto;
  }
  return undefined;
}
