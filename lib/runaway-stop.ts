/**
 * How a runaway command is stopped after `evalTimeoutMs` without V8's per-call watchdog.
 *
 * `vm`'s `timeout` starts and joins a thread for every call: 0.1-0.2 ms of the main thread's
 * time per command, and up to 0.4 ms on a busy machine, where the join waits for that thread to
 * get a core (more than a small command costs). Instead, the worker keeps the time (see
 * workers/runaway-watch.ts) and, once a command has run for `evalTimeoutMs`, asks the main
 * thread through the inspector (served between two statements of whatever runs there) to run
 * the hook installed here (HOOK). The hook decides on the main thread itself, so no race can stop
 * anything but that command: only if that very command is still running, and has run its
 * time, does it ask V8 to terminate the running JavaScript (Runtime.terminateExecution through
 * an inspector session of the main thread's own). V8 then unwinds the whole callback the
 * command runs in, which is the backdoor's own (a MessagePort message, see next-turn.ts), and
 * lets the app go on after it; the evaluator then puts its own state back (`recover`).
 *
 * Where the inspector cannot be used (Node built without it), `create` returns undefined and
 * the evaluator uses `vm`'s `timeout` as before.
 */
import inspector from 'node:inspector';
import { now, ObjectDefineProperty, ObjectHasOwn, ReflectApply } from '../common/primordials.ts';

// Taken before any session runs (as the primordials are): a session can reach the app's
// globals and modules, and must not be able to keep its own runaway from being stopped by
// replacing what the stop uses. (Nothing on the hook's path calls a method a session could
// replace: no Map, Math or Reflect of the app's realm, only what is taken at load and plain
// property and array access.)
const post = inspector.Session.prototype.post;
const stops: (RunawayStop | undefined)[] = [];
let instances = 0;

/**
 * The hook's name: a property of the app's global object that cannot be deleted, replaced or
 * redefined (non-configurable, non-writable), defined once per process, and looked up by the
 * worker's probe as `this[HOOK]` at the top level of a script (`this` there is the global
 * object, which no code can rebind, unlike `globalThis`).
 */
export const HOOK = '__backdoorStopRunaway';

function installHook(): boolean {
  if (ObjectHasOwn(globalThis, HOOK)) return true;
  try {
    ObjectDefineProperty(globalThis, HOOK, {
      value: (stop: number, id: number, limitMs: number) => stops[stop]?.check(id, limitMs) ?? -1,
      configurable: false,
      enumerable: false,
      writable: false,
    });
    return true;
  } catch {
    return false; // a frozen global object: V8's watchdog then
  }
}

export class RunawayStop {
  /** This stop's number, for the hook (several backdoors may run in one process). */
  readonly number: number;
  readonly #session: inspector.Session;
  #running = 0;
  #startedAt = 0;

  private constructor(session: inspector.Session) {
    this.#session = session;
    this.number = ++instances;
    stops[this.number] = this;
  }

  /** A stop for this process, or undefined when its inspector cannot be used. */
  static create(): RunawayStop | undefined {
    if (!process.features.inspector || !installHook()) return undefined;
    try {
      const session = new inspector.Session();
      session.connect();
      return new RunawayStop(session);
    } catch {
      return undefined;
    }
  }

  #onStop: (() => void) | undefined;

  /**
   * Command `id` starts running (synchronously, to its `end`); `onStop` runs at the moment it
   * is stopped, if it is (inside it, before V8 unwinds it).
   */
  begin(id: number, onStop?: () => void): void {
    this.#running = id;
    this.#onStop = onStop;
    this.#startedAt = now();
  }

  end(): void {
    this.#running = 0;
    this.#onStop = undefined;
  }

  /** The command running now, or 0. */
  get running(): number {
    return this.#running;
  }

  close(): void {
    this.#running = 0;
    stops[this.number] = undefined;
    try {
      this.#session.disconnect();
    } catch {
      // already gone
    }
  }

  /**
   * The hook's answer: -1 when command `id` is not running; the ms it has left; or 0, having
   * asked V8 to stop it (the termination takes effect when this returns into the command's code).
   */
  check(id: number, limitMs: number): number {
    if (this.#running !== id || id === 0) return -1;
    const left = limitMs - (now() - this.#startedAt);
    if (left > 0) return left;
    try {
      this.#onStop?.();
    } catch {
      // (the evaluator's own bookkeeping: nothing is expected to throw)
    }
    ReflectApply(post, this.#session, ['Runtime.terminateExecution', () => {}]);
    return 0;
  }
}
