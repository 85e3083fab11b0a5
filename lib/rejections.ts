/** Each session context's `Promise.prototype`, to the function that reports to that session. */
const realms = new WeakMap<object, (reason: unknown) => void>();
let installed = false;

/**
 * Routes unhandled rejections of session code to the session that made them, and keeps them
 * from the app.
 *
 * A promise made by code evaluated in a session is an instance of that session's context's
 * `Promise`, which tells it apart from the app's own promises. Node reports an unhandled
 * rejection by calling `process.emit('unhandledRejection', reason, promise)`, and applies its
 * default (by default: crash) when that returns false. An `unhandledRejection` listener of
 * ours would turn that default off for the app's rejections too, and the app's own listeners
 * (which may exit the process) would still see the sessions' rejections. So instead the
 * backdoor wraps `process.emit` once: a session's rejection is reported to its session and
 * counts as handled; every other call goes to the original `emit` untouched, so the app's
 * listeners and Node's default see exactly what they would without the backdoor.
 *
 * The wrapper stays for the life of the process: a timer set by a session can reject long
 * after the backdoor closed, and must not crash the app then either.
 */
export function watchRejections(promisePrototype: object, report: (reason: unknown) => void): void {
  realms.set(promisePrototype, report);
  if (installed) return;
  installed = true;
  const emit = process.emit;
  process.emit = function emitUnlessSessionRejection(this: NodeJS.Process, event: string | symbol, ...args: unknown[]) {
    if (event === 'unhandledRejection' && claim(args[0], args[1])) return true;
    return Reflect.apply(emit, this, [event, ...args]) as boolean;
  } as typeof process.emit;
}

/** Reports the rejection to its session and returns true if a session made the promise. */
function claim(reason: unknown, promise: unknown): boolean {
  if (typeof promise !== 'object' || promise === null) return false;
  let proto: object | null = Object.getPrototypeOf(promise);
  // Walk up past subclasses of Promise defined in a session.
  for (let depth = 0; proto !== null && depth < 8; depth++, proto = Object.getPrototypeOf(proto)) {
    const report = realms.get(proto);
    if (report) {
      report(reason);
      return true;
    }
  }
  return false;
}
