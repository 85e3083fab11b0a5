/**
 * One end of the MessagePort between the main thread and the worker. It carries the
 * backdoor's own messages (common/protocol.ts: ops, their replies, notices), each wrapped as
 * `{ backdoor: message }` and handed to `onMessage`, and comlink's, which it hands to comlink
 * through `endpoint` (an adapter of a `worker_threads` port to comlink's Endpoint: comlink
 * listens with `addEventListener` and expects `event.data`; Node ports emit the data itself).
 *
 * Everything one side sends arrives in the order it was sent. A reply is posted by the side
 * that answers, as its op ends (not a few microtasks later by a library), so that what the op
 * starts and tells afterwards (an awaited value settling, later output) always follows it.
 */
import type { Endpoint } from 'comlink';
import type { MessagePort } from 'node:worker_threads';
import { now } from './primordials.ts';

type Listener = Parameters<Endpoint['addEventListener']>[1];

export class Channel<Outgoing, Incoming> {
  readonly endpoint: Endpoint;
  readonly #port: MessagePort;
  readonly #listeners = new Set<Listener>();
  #busyMs = 0;

  /**
   * @param onMessage what the other side sends of the backdoor's own, one message at a time
   * @param onFault a handler threw (ours, or comlink's): the channel goes on
   */
  constructor(port: MessagePort, onMessage: (message: Incoming) => void, onFault: (error: unknown) => void) {
    this.#port = port;
    port.on('message', (data: unknown) => {
      const start = now();
      // Nothing thrown here may reach the thread's own handlers: on the main thread, they
      // are the app's.
      try {
        if (typeof data === 'object' && data !== null && 'backdoor' in data) return onMessage((data as { backdoor: Incoming }).backdoor);
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
      postMessage: (message: unknown, transfer?: readonly unknown[]) => this.#post(message, transfer),
      addEventListener: (_type: string, listener: Listener) => void this.#listeners.add(listener),
      removeEventListener: (_type: string, listener: Listener) => void this.#listeners.delete(listener),
    };
  }

  /** Sends one of the backdoor's messages. */
  send(message: Outgoing): void {
    this.#post({ backdoor: message });
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
}
