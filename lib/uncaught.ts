import { attribution, type SessionOwner } from './attribution.ts';
import { guardProcess } from './process-guard.ts';
import { addRealm, realmOwner } from './session-realms.ts';

/**
 * Keeps what session code throws or rejects outside its commands in its session, and leaves
 * everything else exactly as it would be without the backdoor.
 *
 * Node reports an uncaught exception by calling `process.emit('uncaughtExceptionMonitor')`
 * then `process.emit('uncaughtException')`, and goes to its fatal path (print, exit 1) when
 * the latter returns false; an unhandled rejection by `process.emit('unhandledRejection')`,
 * with its default (crash) when that returns false. A listener of ours would turn those
 * defaults off for the app's own errors too, and the app's listeners would still see the
 * sessions'. So the backdoor wraps `process.emit` (process-guard.ts): an error that belongs to
 * a session is given to that session and counts as handled; every other call goes on to the
 * `emit` it wrapped, so the app's listeners, its exit code and Node's messages are what they
 * were.
 *
 * An error belongs to a session when the code running as it is thrown is the session's (see
 * `attribution`), or when the thrown object or the rejected promise was made in the session's
 * realm (a callback of the session's that app code called, or, on Node 20 and 22, an exception
 * in a microtask, for which Node clears the async context before reporting it).
 *
 * The wrapper stays for the life of the process: a timer set by a session can throw long after
 * the backdoor closed, and must not crash the app then either.
 */
export function watchSession(objectPrototype: object, owner: SessionOwner): void {
  addRealm(objectPrototype, owner);
  guardProcess();
}

/** A session's uncaught error or unhandled rejection, given to it: true when `event` was one (handled). */
export function routeUncaught(event: string | symbol, args: unknown[]): boolean {
  if (event === 'uncaughtException' || event === 'uncaughtExceptionMonitor') {
    const owner = attribution.current() ?? realmOwner(args[0]);
    if (!owner) return false;
    if (event === 'uncaughtException') owner.report(args[0], 'exception');
    return true;
  }
  if (event === 'unhandledRejection') {
    const owner = realmOwner(args[1]) ?? realmOwner(args[0]) ?? attribution.current();
    if (!owner) return false;
    owner.report(args[0], 'rejection');
    return true;
  }
  return false;
}
