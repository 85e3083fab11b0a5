/**
 * What typed code may do to the process it runs in. A session is inside the app, so it can do
 * anything on purpose; these guards are for the accidents that take a production app down or
 * keep it from ending:
 *
 * - Ending the app: `process.exit()`, `process.reallyExit()`, `process.abort()`, and
 *   `process.kill()` of the app's own process (or its group) are refused when typed code calls
 *   them (caller.ts): the app's own calls go through untouched, also when a session ran the
 *   app's code that made them. `.exit-app` ends the app on purpose.
 * - The app's crash and exit handling: listeners for `uncaughtException` and
 *   `unhandledRejection` (as Node's REPL refuses them), `beforeExit` (what it schedules keeps the
 *   app from ending) and signals (a listener turns off the signal's default: `kill <pid>` would
 *   no longer end the app), and `process.setUncaughtExceptionCaptureCallback()`.
 * - `domain`: loading it changes how the whole process handles errors, for good (an async hook
 *   on every resource, the capture callback taken): refused from a session (its `require`, its
 *   bare name, `import()`, `process.getBuiltinModule()`). A domain the app's module makes can be
 *   used; one left entered by a command is left again when the command returns (evaluator.ts).
 * - Every other listener a session's function adds to `process` runs guarded: what it throws
 *   goes to its session (or the audit trail), never up through `process.emit` into the app's
 *   code; an `exit` listener is bounded in time (EXIT_LISTENER_MS) and cannot change the app's
 *   exit code.
 *
 * Refusals come before anything changes: a refused call leaves no state behind.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { sessionCalled } from './caller.ts';
import { within } from './format.ts';
import { attribution, type SessionOwner } from './attribution.ts';
import { nodeReplInputError, realmOwner, replInputError } from './session-realms.ts';
import { ObjectDefineProperty, ReflectApply, ReflectGetOwnPropertyDescriptor } from '../common/primordials.ts';

/** How long a session's `exit` listener may run: the app is ending, and waits for it. */
export const EXIT_LISTENER_MS = 250;

const signals = new Set(Object.keys(constants.signals));
/** Events whose listeners, from a session, would change how the app crashes, ends, or takes signals. */
const refusedEvent = (event: string | symbol): string | undefined => {
  if (event === 'uncaughtException' || event === 'unhandledRejection') return 'it would take the app\'s crash handling away from it';
  if (event === 'beforeExit') return 'what it schedules would keep the app from ending';
  if (typeof event === 'string' && signals.has(event)) return `it would turn off what ${event} does to the app (\`kill\` would no longer end it)`;
  return undefined;
};

/** Events that have had a listener made by a session: their emits go through `emitGuarded`. */
const guardedEvents = new Set<string | symbol>();
let installed = false;

/** Installs the guards (once for the process: several backdoors share them, and they stay). */
export function guardProcess(): void {
  if (installed) return;
  installed = true;
  (process as NodeJS.EventEmitter).prependListener('newListener', onNewListener);
  refuse('exit', 'it would end the app');
  refuse('reallyExit', 'it would end the app');
  refuse('abort', 'it would end the app');
  refuse('kill', 'a signal to the app\'s own process may end it', (pid, signal) => signal !== 0 && signal !== '0' && targetsSelf(pid));
  refuse('_kill', 'a signal to the app\'s own process may end it', (pid, signal) => signal !== 0 && targetsSelf(pid));
  const setCapture = process.setUncaughtExceptionCaptureCallback;
  process.setUncaughtExceptionCaptureCallback = function setUncaughtExceptionCaptureCallback(this: NodeJS.Process, callback) {
    if (sessionCalled(setUncaughtExceptionCaptureCallback, true)) {
      throw replInputError('process.setUncaughtExceptionCaptureCallback() cannot be used in the REPL: it would take the app\'s crash handling away from it');
    }
    return ReflectApply(setCapture, this, [callback]) as void;
  };
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof getBuiltin === 'function') {
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = function getBuiltinModule(this: unknown, id: string) {
      if (isDomain(id) && !domainLoaded() && sessionCalled(getBuiltinModule)) throw domainRefusal();
      return ReflectApply(getBuiltin, this, [id]);
    };
  }
}

const originalExit = process.exit;

/** Ends the app with `code`, as `.exit-app` does on purpose (Node's own `process.exit`, unguarded). */
export function exitApp(code: number): never {
  return ReflectApply(originalExit, process, [code]) as never;
}

/** Replaces `process[name]` with one that refuses typed code's calls (those `applies` to). */
function refuse(name: string, why: string, applies: (...args: unknown[]) => boolean = () => true): void {
  const target = process as unknown as Record<string, unknown>;
  const original = target[name];
  if (typeof original !== 'function') return;
  const guarded = {
    [name](this: unknown, ...args: unknown[]): unknown {
      if (applies(...args) && sessionCalled(guarded)) {
        throw replInputError(`process.${name}() cannot be used in the REPL: ${why} (pid ${process.pid}); .exit-app [code] ends it on purpose`);
      }
      return ReflectApply(original as (...a: unknown[]) => unknown, this, args);
    },
  }[name] as (...args: unknown[]) => unknown;
  ObjectDefineProperty(guarded, 'length', { value: (original as { length: number }).length });
  target[name] = guarded;
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

const isDomain = (id: unknown): boolean => id === 'domain' || id === 'node:domain';

/** Whether Node's `domain` module is loaded: it puts an accessor on `process.domain` as it loads. */
export function domainLoaded(): boolean {
  return typeof ReflectGetOwnPropertyDescriptor(process, 'domain')?.get === 'function';
}

function domainRefusal(): TypeError {
  return replInputError('The domain module cannot be loaded in the REPL: loading it changes how the whole process handles errors, for good');
}

/** Throws the refusal when `id` names the `domain` module and loading it would change the process. */
export function checkModuleLoad(id: unknown): void {
  if (isDomain(id) && !domainLoaded()) throw domainRefusal();
}

/**
 * Leaves the domains that typed code entered and left entered (`d.enter()` without `exit`),
 * until `process.domain` is `before` again: else the app's code after the command, and all it
 * creates, would run in the session's domain.
 */
export function leaveDomains(before: unknown): void {
  for (let i = 0; i < 100; i++) {
    const domain = (process as { domain?: { exit?: () => void } | null }).domain;
    if (domain === before || domain === null || domain === undefined || typeof domain.exit !== 'function') return;
    try {
      domain.exit();
    } catch {
      return;
    }
  }
}

function onNewListener(event: string | symbol, listener: unknown): void {
  const why = refusedEvent(event);
  if (why !== undefined) {
    if (realmOwner(listener) === undefined && !sessionCalled(onNewListener)) return;
    // Worded as Node's REPL words the one it refuses too.
    if (event === 'uncaughtException') throw nodeReplInputError('Listeners for `uncaughtException` cannot be used in the REPL');
    throw replInputError(`Listeners for \`${String(event)}\` cannot be used in the REPL: ${why}`);
  }
  if (realmOwner(listener) !== undefined) guardedEvents.add(event);
}

/** Whether `process.emit(event)` must go through `emitGuarded`. */
export function isGuarded(event: string | symbol): boolean {
  return guardedEvents.has(event);
}

const rawListeners = process.rawListeners;

/**
 * `process.emit(event, ...args)` for an event that a session's function listens to: each
 * listener in order, as EventEmitter does, the session's guarded (see above). `emit` is Node's
 * own, for an event with no listener left (an 'error' must throw as it would).
 */
export function emitGuarded(emit: (...args: unknown[]) => boolean, event: string | symbol, args: unknown[]): boolean {
  const handlers = ReflectApply(rawListeners, process, [event]) as ((...a: unknown[]) => unknown)[];
  if (handlers.length === 0) return ReflectApply(emit, process, [event, ...args]);
  for (const handler of handlers) {
    // A `once` listener is wrapped by Node; its own function is on the wrapper.
    const owner = realmOwner(handler) ?? realmOwner(ReflectGetOwnPropertyDescriptor(handler, 'listener')?.value);
    if (owner === undefined) ReflectApply(handler, process, args);
    else runListener(owner, event, handler, args);
  }
  return true;
}

function runListener(owner: SessionOwner, event: string | symbol, handler: (...a: unknown[]) => unknown, args: unknown[]): void {
  if (event !== 'exit') {
    try {
      attribution.run(owner, () => ReflectApply(handler, process, args));
    } catch (error) {
      owner.report(error, 'exception');
    }
    return;
  }
  const code = process.exitCode;
  try {
    attribution.run(owner, () => within(EXIT_LISTENER_MS, () => ReflectApply(handler, process, args)));
  } catch (error) {
    try {
      // Told at once: nothing asynchronous runs any more.
      owner.report(error, 'exit');
    } catch {
      // the app is ending: nothing of ours may stop it
    }
  } finally {
    if (process.exitCode !== code) process.exitCode = code;
  }
}
