import { attribution, type SessionOwner } from './attribution.ts';
import { emitGuarded, guardProcess, isGuarded } from './process-guard.ts';
import { addRealm, realmOwner } from './session-realms.ts';
import { ReflectApply } from '../common/primordials.ts';

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
 * given to that session and counts as handled; an event a session's function listens to goes
 * through process-guard.ts; every other call goes to the original `emit` untouched, so the
 * app's listeners, its exit code and Node's messages are what they were.
 *
 * An error belongs to a session when the code running as it is thrown is the session's (see
 * `attribution`), or when the thrown object or the rejected promise was made in the session's
 * realm (a callback of the session's that app code called, or, on Node 20 and 22, an exception
 * in a microtask, for which Node clears the async context before reporting it).
 *
 * The wrapper stays for the life of the process: a timer set by a session can throw long after
 * the backdoor closed, and must not crash the app then either. Installing it also installs the
 * process's guards (process-guard.ts).
 */
export function watchSession(objectPrototype: object, owner: SessionOwner): void {
  addRealm(objectPrototype, owner);
  if (installed) return;
  installed = true;
  guardProcess();
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
    } else if (isGuarded(event)) {
      return emitGuarded(emit as (...a: unknown[]) => boolean, event, args);
    }
    return ReflectApply(emit, this, [event, ...args]) as boolean;
  } as typeof process.emit;
}
