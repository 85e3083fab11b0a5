import type { MessagePort } from 'node:worker_threads';
import { Channel } from '../../common/channel.ts';
import type { MainNotice, OpReply, OpRequest, ToMain, ToWorker, WorkerNotice } from '../../common/protocol.ts';

/** The main thread as the worker's ops see it: requests answered by replies, and notices. */
export interface MainLink {
  /** Sends `request`; resolves with its reply (rejects when the link closes first). */
  request(request: OpRequest): Promise<OpReply>;
  notify(notice: WorkerNotice): void;
}

/**
 * The worker's end of the channel: requests matched to their replies by id (a reply the
 * main thread never sends, because the backdoor is closing, rejects when the link closes:
 * nothing waits for ever), and the main thread's notices handed on.
 */
export class WorkerEnd implements MainLink {
  readonly #channel: Channel<ToMain, ToWorker>;
  readonly #pending = new Map<number, { resolve(reply: OpReply): void; reject(error: Error): void }>();
  #closed = false;

  constructor(port: MessagePort, onNotice: (notice: MainNotice) => void, onFault: (error: unknown) => void) {
    this.#channel = new Channel<ToMain, ToWorker>(
      port,
      (message) => {
        if ('type' in message) return onNotice(message);
        const waiting = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        waiting?.resolve(message);
      },
      onFault,
    );
  }

  /** For comlink: the main thread's control calls share the port. */
  get endpoint(): Channel<ToMain, ToWorker>['endpoint'] {
    return this.#channel.endpoint;
  }

  request(request: OpRequest): Promise<OpReply> {
    if (this.#closed) return Promise.reject(new Error('the backdoor is closing'));
    return new Promise((resolve, reject) => {
      this.#pending.set(request.id, { resolve, reject });
      this.#channel.send(request);
    });
  }

  notify(notice: WorkerNotice): void {
    if (!this.#closed) this.#channel.send(notice);
  }

  close(): void {
    this.#closed = true;
    for (const waiting of this.#pending.values()) waiting.reject(new Error('the backdoor is closing'));
    this.#pending.clear();
  }
}
