/**
 * The main thread seen through Node's inspector, from the worker: `Session.connectToMainThread()`.
 * The main thread serves the inspector's messages by interrupt, between two statements of
 * whatever JavaScript it runs, so this works while the app's own code keeps it busy (not while
 * it is blocked outside JavaScript: a synchronous system call, `Atomics.wait`, an addon).
 *
 * One diagnosis at a time, for the whole backdoor: the profiler and the debugger are the
 * isolate's, not a session's. The session is connected for one diagnosis and disconnected
 * after it, which disables whatever it enabled and resumes a pause it left (V8 does both when
 * an inspector session goes), so nothing of it stays in the app.
 */
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';

/** How long an inspector call may take before the main thread counts as not serving it. */
export const ANSWER_MS = 2000;

export class InspectorTimeout extends Error {}

/**
 * One connected inspector session; `post` and `on` as in node:inspector, with promises. What
 * each call takes, from the request to its answer, counts as the main thread's time (it serves
 * the call, and is held for it: a measure from above); `charge` adds what else it was held for.
 */
export interface MainSession {
  post<T = unknown>(method: string, params?: object, timeoutMs?: number): Promise<T>;
  charge(ms: number): void;
  /** Calls `listener` with each `method` notification's params until the session ends. */
  on<T = unknown>(method: string, listener: (params: T) => void): void;
  /** Resolves with the next `method` notification's params, or undefined after `timeoutMs`. */
  next<T = unknown>(method: string, timeoutMs: number, signal?: AbortSignal): Promise<T | undefined>;
}

export class MainInspector {
  #holder: { what: string; signal: AbortSignal | undefined; released: Promise<void> } | undefined;

  /** What is being diagnosed now (for the session that has to wait), or undefined. */
  get busy(): string | undefined {
    return this.#holder?.signal?.aborted ? undefined : this.#holder?.what;
  }

  /**
   * Runs `task` with a session connected to the main thread; `what` names it for anyone who
   * asks meanwhile. Undefined when another diagnosis holds the inspector. One that was
   * abandoned (its `signal` aborted: Ctrl-C, or its session ended) is only letting go of it,
   * in calls bounded by ANSWER_MS: that is waited for rather than refused.
   */
  async use<T>(what: string, task: (session: MainSession) => Promise<T>, signal?: AbortSignal, charge: (ms: number) => void = () => {}): Promise<{ value: T } | undefined> {
    while (this.#holder?.signal?.aborted) await this.#holder.released;
    // Abandoned while it waited: nothing to do on the main thread for nobody.
    if (this.#holder !== undefined || signal?.aborted) return undefined;
    let release!: () => void;
    this.#holder = { what, signal, released: new Promise<void>((resolve) => (release = resolve)) };
    const session = new Session();
    try {
      session.connectToMainThread();
      return { value: await task(wrap(session, charge)) };
    } finally {
      this.#holder = undefined;
      release();
      try {
        session.disconnect();
      } catch {
        // already gone
      }
    }
  }
}

function wrap(session: Session, charge: (ms: number) => void): MainSession {
  return {
    post<T>(method: string, params: object = {}, timeoutMs = ANSWER_MS): Promise<T> {
      const sent = performance.now();
      return new Promise<T>((resolve, reject) => {
        // Not answered: the main thread was not serving it (blocked outside JavaScript).
        const timer = setTimeout(() => reject(new InspectorTimeout(`${method}: no answer within ${timeoutMs} ms`)), timeoutMs);
        session.post(method, params, (error: Error | null, result: unknown) => {
          clearTimeout(timer);
          charge(performance.now() - sent);
          if (error) reject(error);
          else resolve(result as T);
        });
      });
    },
    charge,
    on<T>(method: string, listener: (params: T) => void): void {
      session.on(method, (message: { params: T }) => listener(message.params));
    },
    next<T>(method: string, timeoutMs: number, signal?: AbortSignal): Promise<T | undefined> {
      return new Promise<T | undefined>((resolve) => {
        const done = (value: T | undefined) => {
          clearTimeout(timer);
          session.off(method, listener);
          signal?.removeEventListener('abort', aborted);
          resolve(value);
        };
        const listener = (message: { params: T }) => done(message.params);
        const aborted = () => done(undefined);
        const timer = setTimeout(() => done(undefined), timeoutMs);
        session.on(method, listener);
        signal?.addEventListener('abort', aborted, { once: true });
      });
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts; true when it ran its time. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', aborted);
      resolve(true);
    }, ms);
    const aborted = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', aborted, { once: true });
  });
}
