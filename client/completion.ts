/**
 * The client's tab completions, asked of the session (see common/completion-wire.ts): one
 * request at a time, as Node's readline waits for each; an answer that does not come within
 * COMPLETION_WAIT_MS gives no candidates and says why, so that TAB never freezes the prompt.
 */
import { completionRequest, type CompletionAnswer } from '../common/completion-wire.ts';

/** How long TAB waits for the app (whose main thread answers it) before giving up. */
export const COMPLETION_WAIT_MS = 2000;

type Done = (names: string[], completed: string) => void;

export class CompletionRequests {
  readonly #send: (request: Buffer) => void;
  readonly #notice: (text: string) => void;
  readonly #waitMs: number;
  #lastId = 0;
  #waiting: { id: number; line: string; done: Done; timer: NodeJS.Timeout } | undefined;

  /** `send` writes a request to the server; `notice` tells the user something, above the line. */
  constructor(send: (request: Buffer) => void, notice: (text: string) => void, waitMs = COMPLETION_WAIT_MS) {
    this.#send = send;
    this.#notice = notice;
    this.#waitMs = waitMs;
  }

  /** Asks for the completions of `line` (up to the cursor); `done` is called once. */
  ask(line: string, done: Done): void {
    this.#giveUp(); // never two at once: readline asks again only once answered
    this.#lastId = (this.#lastId + 1) & 0xff;
    const id = this.#lastId;
    const timer = setTimeout(() => {
      this.#giveUp();
      this.#notice(`(no completions: the app did not answer within ${this.#waitMs / 1000} s; its main thread may be busy)`);
    }, this.#waitMs);
    this.#waiting = { id, line, done, timer };
    this.#send(completionRequest(id, line));
  }

  /** An answer from the server: the one waited for, or a late one, which is dropped. */
  answered(answer: CompletionAnswer): void {
    const waiting = this.#waiting;
    if (!waiting || answer.id !== waiting.id) return;
    this.#waiting = undefined;
    clearTimeout(waiting.timer);
    if (answer.note !== undefined && answer.names.length === 0) this.#notice(`(no completions: ${answer.note})`);
    waiting.done(answer.names, answer.completed);
  }

  /** The connection has closed: whatever waits gets no candidates. */
  close(): void {
    this.#giveUp();
  }

  #giveUp(): void {
    const waiting = this.#waiting;
    if (!waiting) return;
    this.#waiting = undefined;
    clearTimeout(waiting.timer);
    waiting.done([], waiting.line);
  }
}
