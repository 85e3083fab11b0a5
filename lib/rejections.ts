import { formatThrown } from './format.ts';

/** Each session context's `Promise.prototype`, to the function that reports to that session. */
const realms = new WeakMap<object, (reason: unknown) => void>();
let installed = false;

/**
 * Routes unhandled rejections of session code to the session that made them.
 *
 * A promise made by code evaluated in a session is an instance of that session's context's
 * `Promise`, which tells it apart from the app's own promises. But any `unhandledRejection`
 * listener turns off Node's default for every rejection, the app's included, so for
 * rejections that are not a session's the listener re-creates what Node would have done had
 * it not been installed: nothing when the app has listeners of its own, else what the
 * `--unhandled-rejections` mode says (by default, an uncaught exception).
 *
 * The listener stays for the life of the process: a timer set by a session can reject long
 * after the backdoor closed, and must not crash the app then either.
 */
export function watchRejections(promisePrototype: object, report: (reason: unknown) => void): void {
  realms.set(promisePrototype, report);
  if (!installed) {
    installed = true;
    process.on('unhandledRejection', onUnhandledRejection);
  }
}

function onUnhandledRejection(reason: unknown, promise: Promise<unknown>): void {
  let proto: object | null = Object.getPrototypeOf(promise);
  // Walk up past subclasses of Promise defined in a session.
  for (let depth = 0; proto !== null && depth < 8; depth++, proto = Object.getPrototypeOf(proto)) {
    const report = realms.get(proto);
    if (report) return report(reason);
  }
  if (process.listenerCount('unhandledRejection') > 1) return; // the app listens itself
  switch (rejectionMode()) {
    case 'none':
    case 'strict': // Node already raised it as an uncaught exception before emitting the event
      return;
    case 'warn':
    case 'warn-with-error-code':
      if (rejectionMode() === 'warn-with-error-code') process.exitCode = 1;
      process.emitWarning(formatThrown(reason, 'Unhandled promise rejection:'), 'UnhandledPromiseRejectionWarning');
      return;
    default:
      // Throwing from the listener makes it an uncaught exception, as Node's default does.
      throw reason instanceof Error ? reason : unhandledRejectionError(reason);
  }
}

function unhandledRejectionError(reason: unknown): Error {
  const error = new Error(
    'This error originated either by throwing inside of an async function without a catch block, ' +
      'or by rejecting a promise which was not handled with .catch(). ' +
      `The promise rejected with the reason "${formatThrown(reason, '').trim()}".`,
  );
  error.name = 'UnhandledPromiseRejection';
  Object.defineProperty(error, 'code', { value: 'ERR_UNHANDLED_REJECTION', enumerable: true });
  return error;
}

let mode: string | undefined;

function rejectionMode(): string {
  if (mode === undefined) {
    const flags = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
    const flag = flags.findLast((arg) => arg.startsWith('--unhandled-rejections='));
    mode = flag ? flag.slice('--unhandled-rejections='.length) : 'throw';
  }
  return mode;
}
