import { completionAnswer, parseCompletionRequest } from '../../common/completion-wire.ts';
import type { Completions } from '../sessions/mode.ts';

/**
 * The backdoor client asks for the completions of a line (common/completion-wire.ts): answered
 * in a subnegotiation, apart from the session's text, one at a time (a second request while one
 * is out gets no names at once, so a flood never queues work on the main thread).
 */
export class CompletionDesk {
  readonly #send: (data: Buffer) => void;
  #busy = false;

  constructor(send: (data: Buffer) => void) {
    this.#send = send;
  }

  /** Node's line editor asks (a telnet client in character mode): a reason for no names is told above the line. */
  async forEditor(line: string, complete: ((line: string) => Promise<Completions>) | undefined, write: (text: string) => void): Promise<[string[], string]> {
    const [names, completed, note] = (await complete?.(line)) ?? [[], line];
    if (note !== undefined) write(`(no completions: ${note})\n`);
    return [names, completed];
  }

  /** A request arrived; `complete` answers it (none: no session yet, or a mode without completion). */
  request(data: Buffer, complete: ((line: string) => Promise<Completions>) | undefined): void {
    const request = parseCompletionRequest(data);
    if (!request) return;
    const answer = ([names, completed, note]: Completions) => this.#send(completionAnswer(request.id, names, completed, note));
    if (this.#busy || !complete) return answer([[], request.line]);
    this.#busy = true;
    complete(request.line)
      .then(answer, () => answer([[], request.line]))
      .finally(() => {
        this.#busy = false;
      });
  }
}
