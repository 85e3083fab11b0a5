/**
 * The worker's side of stopping a runaway command (see lib/runaway-stop.ts): it keeps the time
 * of the command in flight, and once that may have run for evalTimeoutMs, has the main thread
 * run its hook through the inspector. The hook answers how long the command has left (it may
 * have started late, the main thread being busy), or that it is not running, or stops it; the
 * command stopped, the main thread's `recover` answers it as a timeout.
 *
 * One timer, only while a command is in flight; nothing at all for a command that ends in time.
 */
import { Session } from 'node:inspector';
import type { OpReply } from '../../common/protocol.ts';

/** A stopped command's reply, as `recover` gives it. */
type Recovered = Omit<OpReply, 'id'>;

/** What the watch needs of the main thread. */
export interface RunawayTarget {
  /** Runs the hook on the main thread: ms left, -1 when not running, 0 when stopped; undefined if it could not be asked. */
  probe(id: number, limitMs: number): Promise<number | undefined>;
  recover(id: number): Promise<Recovered | undefined>;
}

/** A command asked to stop that has not unwound yet is asked again this often. */
const RETRY_MS = 500;

export class RunawayWatch {
  readonly #limitMs: number;
  readonly #target: RunawayTarget;

  constructor(limitMs: number, target: RunawayTarget) {
    this.#limitMs = limitMs;
    this.#target = target;
  }

  /**
   * Command `id` was sent to the main thread: watch it until the returned function is called
   * (its reply came). `stopped` gets the reply of a command stopped at its time.
   */
  watch(id: number, stopped: (reply: Recovered) => void): () => void {
    let over = false;
    let timer: NodeJS.Timeout | undefined;
    const arm = (ms: number) => {
      timer = setTimeout(check, ms);
    };
    let recovering = false;
    const check = async () => {
      if (over) return;
      const left = await this.#target.probe(id, this.#limitMs);
      if (over) return;
      if (left !== undefined && left > 0) return arm(Math.ceil(left));
      // Stopped (0), or not running now (-1: it has not started, the main thread being busy
      // with the app, or it has just ended), or the probe failed (it was stopped mid-answer):
      // `recover` answers only a command that was left running. It is a message, served once
      // the main thread is back in its event loop; until then the command is asked to stop
      // again now and then, in case code of its own cancelled the stop (a nested inspector
      // call completing does).
      if (left === 0) arm(RETRY_MS);
      if (recovering) return;
      recovering = true;
      const reply = await this.#target.recover(id);
      recovering = false;
      if (over) return;
      if (reply) {
        over = true;
        clearTimeout(timer);
        stopped(reply);
      } else if (left !== 0) {
        arm(this.#limitMs);
      }
    };
    arm(this.#limitMs);
    return () => {
      over = true;
      clearTimeout(timer);
    };
  }
}

/**
 * The main thread's hook, run through an inspector session of the worker's (connected at first
 * need): `this` at the top level of the script is the global object, which no code can rebind.
 */
export function inspectorProbe(hook: { name: string; stop: number }): RunawayTarget['probe'] {
  let session: Session | undefined;
  const expression = (id: number, limitMs: number) => `this[${JSON.stringify(hook.name)}](${hook.stop}, ${id}, ${limitMs})`;
  return (id, limitMs) =>
    new Promise((resolve) => {
      try {
        if (!session) {
          session = new Session();
          session.connectToMainThread();
        }
        session.post('Runtime.evaluate', { expression: expression(id, limitMs), returnByValue: true, silent: true }, (error, result) => {
          const value = (result as { result?: { value?: unknown } } | undefined)?.result?.value;
          resolve(!error && typeof value === 'number' ? value : undefined);
        });
      } catch {
        resolve(undefined);
      }
    });
}
