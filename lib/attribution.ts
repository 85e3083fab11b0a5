import { AsyncLocalStorage, createHook, executionAsyncResource } from 'node:async_hooks';
import { ObjectDefineProperty, ReflectApply } from '../common/primordials.ts';

/**
 * Whatever code a session started, now or later: a session context, told about errors that its
 * code throws after the command that started it has returned.
 */
export interface SessionOwner {
  /**
   * Something thrown by the session's code outside a command (a timer, a callback, a
   * rejection); `exit`: by its listener of the process's `exit` event, as the app ends.
   */
  report(thrown: unknown, kind: 'exception' | 'rejection' | 'exit'): void;
}

/**
 * Tells which session, if any, the code running now belongs to: the command itself, and every
 * callback it scheduled, directly or through others (timers, immediates, `nextTick`, promise
 * reactions, I/O callbacks, listeners of servers and sockets it created).
 *
 * Two mechanisms, chosen once:
 *
 * - Where `AsyncLocalStorage` is built on async context frames (Node 24 by default; 22 with
 *   `--experimental-async-context-frame`), it is used as it is: V8 carries the frame through
 *   promise reactions and Node through every other callback, whether or not anybody asks, so
 *   it costs the app nothing.
 * - Elsewhere (Node 20, 22), `AsyncLocalStorage` is built on async hooks, whose promise hook
 *   makes every `await` of the app 3-5 times dearer (measured: 70 -> 220-380 ns) for as long as
 *   it is enabled. So the backdoor runs its own init hook, and only while a session context
 *   exists or something a session made may still call back: each async resource created while
 *   session code runs is mapped to its owner (in a WeakMap, nothing on the resource), and the
 *   hook stays on until the last of them (promises aside) has been collected, so that what their
 *   callbacks start later is the session's too.
 */
export interface Attribution {
  /** Runs `fn` as `owner`'s code. */
  run<T>(owner: SessionOwner, fn: () => T): T;
  /** The owner of the code running now, if a session's. */
  current(): SessionOwner | undefined;
  /**
   * Called in a callback of the resource a stopped command ran in (see runaway-stop.ts): what
   * `run` would have put back when it returned. A command stopped by V8 returns nowhere.
   */
  forget(): void;
  /** A session context exists (reference counted); `release` when it is dropped. */
  retain(): void;
  release(): void;
}

class FrameAttribution implements Attribution {
  readonly #storage = new AsyncLocalStorage<SessionOwner>();

  run<T>(owner: SessionOwner, fn: () => T): T {
    return this.#storage.run(owner, fn);
  }

  current(): SessionOwner | undefined {
    return this.#storage.getStore();
  }

  forget(): void {} // the frame is Node's own: it is put back when the stopped callback ends

  retain(): void {}
  release(): void {}
}

/**
 * Owners of async resources, kept beside them rather than on them: nothing of the backdoor's
 * shows on a promise or a timer that session code lists or prints.
 */
const owners = new WeakMap<object, SessionOwner>();

/**
 * A microtask queued by a session through the app's own `queueMicrotask` (`global.queueMicrotask`;
 * the session's is wrapped already): Node 20 and 22 report an exception of a microtask after
 * clearing the async context, and a thrown primitive has no realm to tell whose it is. Node
 * keeps the callback on the microtask's resource (`resource.callback = callback`, right after
 * the resource is made): the callback stored there catches what the session's throws.
 */
function catchInMicrotask(resource: object, owner: SessionOwner): void {
  let callback: unknown;
  ObjectDefineProperty(resource, 'callback', {
    configurable: true,
    get: () => callback,
    set: (value: unknown) => {
      callback =
        typeof value !== 'function'
          ? value
          : function (this: unknown, ...args: unknown[]) {
              try {
                return ReflectApply(value as (...a: unknown[]) => unknown, this, args);
              } catch (error) {
                owner.report(error, 'exception');
                return undefined;
              }
            };
    },
  });
}

class HookAttribution implements Attribution {
  #contexts = 0;
  /**
   * Resources of a session's (other than promises) that may still call back: while one is
   * reachable, the hook stays on after the last context is gone, so that what its callbacks
   * start is known to be the session's too (a socket it opened failing later, an error emitted
   * in a `nextTick` of Node's). Counted down as V8 collects them.
   */
  #live = 0;
  readonly #collected = new FinalizationRegistry<undefined>(() => {
    this.#live--;
    this.#maybeDisable();
  });
  readonly #hook = createHook({
    init: (_id, type, _trigger, resource: object) => {
      // An exception thrown in an async hook ends the process: never let one out.
      try {
        const owner = owners.get(executionAsyncResource());
        if (owner === undefined) return;
        owners.set(resource, owner);
        if (type === 'Microtask') catchInMicrotask(resource, owner);
        if (type !== 'PROMISE') {
          this.#live++;
          this.#collected.register(resource, undefined);
        }
      } catch {
        // (a WeakMap takes any object: nothing is expected to throw here)
      }
    },
  });

  run<T>(owner: SessionOwner, fn: () => T): T {
    const resource = executionAsyncResource();
    const previous = owners.get(resource);
    owners.set(resource, owner);
    try {
      return fn();
    } finally {
      if (previous === undefined) owners.delete(resource);
      else owners.set(resource, previous);
    }
  }

  current(): SessionOwner | undefined {
    return owners.get(executionAsyncResource());
  }

  forget(): void {
    owners.delete(executionAsyncResource());
  }

  retain(): void {
    if (this.#contexts++ === 0) this.#hook.enable();
  }

  release(): void {
    if (this.#contexts > 0 && --this.#contexts === 0) this.#maybeDisable();
  }

  #maybeDisable(): void {
    if (this.#contexts === 0 && this.#live <= 0) this.#hook.disable();
  }
}

/** The hook-based `AsyncLocalStorage` keeps its store on resources under a symbol of its own. */
export const contextFrames = typeof (new AsyncLocalStorage() as unknown as { kResourceStore?: unknown }).kResourceStore !== 'symbol';

/** The one attribution of this process (several backdoors share it). */
export const attribution: Attribution = contextFrames ? new FrameAttribution() : new HookAttribution();
