/**
 * One end of the MessageChannel between the main thread and the worker: comlink's calls and
 * our notifications share it, so that what one side sends arrives in the order it was sent
 * (a command's reply before the output its timers print later).
 *
 * - Calls (`evaluate`, `listen`, `close`) go through comlink over `endpoint`, which adapts a
 *   `worker_threads` port to comlink's Endpoint (comlink listens with `addEventListener` and
 *   expects `event.data`; Node ports emit the data itself. comlink ships such an adapter, but
 *   without types that resolve under NodeNext).
 * - A notification is one message, `{ notification }`, handed to the other side's handler and
 *   never answered: comlink would answer every call, and each answer to a call of the main
 *   thread's (a settlement, a batch of output) would wake the main thread again for nothing.
 *   comlink ignores these messages; they never reach it.
 *
 * A notification sent with `afterAnswer` never overtakes the answer to a call: once
 * `holdForAnswer()` says that the answer being handled is ready, such notifications wait until
 * comlink has posted it, then follow it. (A promise that settles within microtasks of its
 * command would otherwise be reported before comlink, a few microtasks later, sends the reply
 * of the call that started it.) Other notifications go at once, as they always did.
 */
import type { Endpoint } from 'comlink';
import type { MessagePort } from 'node:worker_threads';
import { now } from './primordials.ts';

type Listener = Parameters<Endpoint['addEventListener']>[1];

export class Channel<Outgoing, Incoming> {
  readonly endpoint: Endpoint;
  readonly #port: MessagePort;
  readonly #listeners = new Set<Listener>();
  #held: Outgoing[] | undefined;
  #busyMs = 0;

  /**
   * @param onNotification what the other side notifies, one message at a time
   * @param onFault a handler threw (ours, or comlink's): the channel goes on
   */
  constructor(port: MessagePort, onNotification: (message: Incoming) => void, onFault: (error: unknown) => void) {
    this.#port = port;
    port.on('message', (data: unknown) => {
      const start = now();
      // Nothing thrown here may reach the thread's own handlers: on the main thread, they
      // are the app's.
      try {
        if (isNotification<Incoming>(data)) return onNotification(data.notification);
        const event = { data } as MessageEvent;
        for (const listener of this.#listeners) {
          if (typeof listener === 'function') listener(event);
          else listener.handleEvent(event);
        }
      } catch (error) {
        try {
          onFault(error);
        } catch {
          // nowhere left to tell
        }
      } finally {
        this.#busyMs += now() - start;
      }
    });
    this.endpoint = {
      postMessage: (message: unknown, transfer?: readonly unknown[]) => {
        this.#post(message, transfer);
        if (this.#held && isAnswer(message)) this.#release();
      },
      addEventListener: (_type: string, listener: Listener) => void this.#listeners.add(listener),
      removeEventListener: (_type: string, listener: Listener) => void this.#listeners.delete(listener),
    };
  }

  /** Tell the other side, without an answer; `afterAnswer`: not before the answer being sent. */
  notify(message: Outgoing, afterAnswer = false): void {
    if (afterAnswer && this.#held) this.#held.push(message);
    else this.#post({ notification: message });
  }

  /** Milliseconds this thread has spent on the channel: handling messages, and sending (cloning) them. */
  get busyMs(): number {
    return this.#busyMs;
  }

  #post(message: unknown, transfer?: readonly unknown[]): void {
    const start = now();
    this.#port.postMessage(message, transfer as never);
    this.#busyMs += now() - start;
  }

  /** The answer to the call being handled is ready: what is notified from now on follows it. */
  holdForAnswer(): void {
    this.#held ??= [];
  }

  #release(): void {
    const held = this.#held!;
    this.#held = undefined;
    for (const message of held) this.#post({ notification: message });
  }
}

function isNotification<T>(data: unknown): data is { notification: T } {
  return typeof data === 'object' && data !== null && 'notification' in data;
}

/** comlink's answer to a call: a wire value (`RAW`, or `HANDLER` for a thrown error) with the call's id. */
function isAnswer(message: unknown): boolean {
  if (typeof message !== 'object' || message === null || !('id' in message)) return false;
  const { type } = message as { type?: unknown };
  return type === 'RAW' || type === 'HANDLER';
}
