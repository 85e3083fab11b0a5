import { MessageChannel } from 'node:worker_threads';

/**
 * Runs callbacks in a later turn of the main thread's event loop, through a MessageChannel of
 * the backdoor's own rather than `setImmediate`.
 *
 * The backdoor must stay able to answer whatever session code does to the app's scheduling:
 * on Node 20 and 22, `clearImmediate({})` corrupts Node's count of immediates, after which no
 * `setImmediate` callback ever runs again; timers can be unlinked by objects that look like
 * timers. A message on a private port is delivered by libuv (an async handle, in the poll
 * phase) from a queue that no JavaScript of the app or of a session can reach.
 *
 * Callbacks queued while a batch runs go to the next message, so two commands queued one after
 * the other always have at least one turn of the loop (the app's I/O) between them. While
 * something is queued the channel keeps the loop alive (as a pending immediate would), and
 * not otherwise.
 */
export class NextTurn {
  #queue: (() => void)[] = [];
  #posted = false;
  readonly #channel = new MessageChannel();
  readonly #onFault: (error: unknown) => void;

  /** `onFault`: a callback threw (a fault of the backdoor's): told here, never to Node's handlers. */
  constructor(onFault: (error: unknown) => void = () => {}) {
    this.#onFault = onFault;
    this.#channel.port2.on('message', () => this.#run());
    this.#channel.port2.unref();
    this.#channel.port1.unref();
  }

  /** Queues `callback` for the next turn. */
  schedule(callback: () => void): void {
    this.#queue.push(callback);
    if (!this.#posted) {
      this.#posted = true;
      this.#channel.port2.ref();
      this.#channel.port1.postMessage(0);
    }
  }

  /** Drops what is queued; nothing runs any more. */
  close(): void {
    this.#queue = [];
    this.#channel.port1.close();
  }

  /**
   * After a callback of a batch was stopped by V8 (a runaway command, see runaway-stop.ts):
   * the rest of its batch, still queued, runs in the next turn.
   */
  resume(): void {
    if (this.#queue.length > 0 && !this.#posted) {
      this.#posted = true;
      this.#channel.port2.ref();
      this.#channel.port1.postMessage(0);
    }
  }

  #run(): void {
    this.#posted = false;
    this.#channel.port2.unref();
    // One at a time off the front, so that what a stopped callback did not get to stays queued.
    // A callback that throws (a fault of ours) neither skips the rest nor reaches the app's
    // handlers: from a message listener, Node would rethrow it as the app's uncaught exception.
    for (let left = this.#queue.length; left > 0 && this.#queue.length > 0; left--) {
      try {
        this.#queue.shift()!();
      } catch (error) {
        try {
          this.#onFault(error);
        } catch {
          // nowhere left to tell
        }
      }
    }
    if (this.#queue.length > 0) this.resume();
  }
}
