import type { MessagePort } from 'node:worker_threads';
import { Channel } from '../common/channel.ts';
import type { MainNotice, OpReply, OpRequest, ToMain, ToWorker, WorkerNotice } from '../common/protocol.ts';
import { now } from '../common/primordials.ts';
import type { CodeRunner } from './code-runner.ts';
import type { MainAccount } from './main-account.ts';
import type { NextTurn } from './next-turn.ts';
import type { Handler, HandlerReply } from './op-handlers.ts';
import { guardsBefore, restoreGuards } from './process-guard.ts';
import { formatThrown } from './format.ts';

/**
 * The main thread's end of the channel: each op the worker sends runs in a turn of the event
 * loop of its own (a MessagePort delivers every message queued while it delivers, up to a
 * thousand, so two ops would otherwise run back to back with no I/O of the app's between
 * them), is timed and counted, and answered by the reply this side posts itself as the op's
 * turn ends: what the op starts and tells afterwards (an awaited value, later output) follows
 * it. Two requests are answered at once, in the message's own turn: the app's load (for an op
 * the budget holds), and a stopped command's reply (`recover`).
 */
export class MainEnd {
  readonly #channel: Channel<ToWorker, ToMain>;
  readonly #handlers: Record<string, Handler>;
  readonly #code: CodeRunner;
  readonly #account: MainAccount;
  readonly #turn: NextTurn;
  readonly #onNotice: (notice: WorkerNotice) => void;
  #closed = false;

  constructor(port: MessagePort, deps: { handlers: Record<string, Handler>; code: CodeRunner; account: MainAccount; turn: NextTurn; onNotice(notice: WorkerNotice): void; onFault(error: unknown): void }) {
    this.#handlers = deps.handlers;
    this.#code = deps.code;
    this.#account = deps.account;
    this.#turn = deps.turn;
    this.#onNotice = deps.onNotice;
    this.#channel = new Channel<ToWorker, ToMain>(port, (message) => this.#receive(message), deps.onFault);
  }

  /** For comlink: the worker's control calls share the port. */
  get endpoint(): Channel<ToWorker, ToMain>['endpoint'] {
    return this.#channel.endpoint;
  }

  /** Milliseconds the main thread has spent on the channel. */
  get busyMs(): number {
    return this.#channel.busyMs;
  }

  /** Tells the worker something on the main thread's own initiative; what it cost is counted. */
  notify(notice: MainNotice): void {
    this.#account.spent(notice.cost);
    if (!this.#closed) this.#channel.send(notice);
  }

  close(): void {
    this.#closed = true;
  }

  #receive(message: ToMain): void {
    if ('type' in message) return this.#onNotice(message);
    if (message.op === 'load') {
      this.#account.loadCall();
      return this.#send({ id: message.id, status: 'done', out: '', cost: 0, measured: this.#account.load() });
    }
    if (message.op === 'recover') {
      const recovered = this.#code.recover(Number(message.args.id));
      if (!recovered) return this.#send({ id: message.id, status: 'done', out: '', cost: 0 });
      this.#account.op(recovered.cost);
      return this.#send({ id: message.id, status: 'done', out: '', cost: 0, recovered: { ...recovered, ...this.#load() } });
    }
    this.#turn.schedule(() => this.#run(message));
  }

  #run(request: OpRequest): void {
    const start = now();
    const emitBefore = guardsBefore();
    let reply: HandlerReply;
    try {
      const handler = this.#handlers[request.op];
      reply = handler ? handler(request, start) : { status: 'error', code: 'unknown-op', value: { text: `Unknown op ${request.op}` }, out: '' };
    } catch (error) {
      // A fault of ours (or of a session that sabotaged its own context's Promise): the op's
      // outcome, not an exception across the port.
      reply = { status: 'error', code: 'internal', value: { text: `Internal error: ${describe(error)}` }, out: '' };
    }
    const restored = restoreGuards(emitBefore);
    if (restored) reply.out += restored;
    const cost = now() - start;
    this.#account.op(cost);
    this.#send({ ...reply, id: request.id, cost, ...this.#load() });
  }

  #load(): { load?: number } {
    const load = this.#account.load();
    return load === undefined ? {} : { load };
  }

  #send(reply: OpReply): void {
    if (!this.#closed) this.#channel.send(reply);
  }
}

/** An error of the backdoor's own, in a line, without running anything of the value's. */
export function describe(error: unknown): string {
  try {
    return formatThrown(error, '').trim().split('\n')[0];
  } catch {
    return 'an error that cannot be printed';
  }
}
