/**
 * The client's side of telnet: the backdoor client edits lines itself, so it refuses the
 * server's offer of character mode; it tells the server its terminal type (for colours) when
 * it runs at a colour terminal, and at a terminal asks for tab completions on the backdoor's own
 * option (see completion-wire.ts).
 */
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { MAX_COMPLETION_ANSWER, parseCompletionAnswer, type CompletionAnswer } from '../common/completion-wire.ts';
import { DO, DONT, IAC, Option, SB, SE, TelnetParser, WILL, WONT } from '../common/telnet.ts';

const TTYPE_IS = 0;
const TTYPE_SEND = 1;

export interface ClientTelnetOptions {
  /** The terminal type to tell the server (undefined: none, no colours). */
  term?: string | undefined;
  /** Offer to ask for completions; their answers come here. */
  onCompletion?: ((answer: CompletionAnswer) => void) | undefined;
}

export class ClientTelnet {
  readonly #parser = new TelnetParser(MAX_COMPLETION_ANSWER + 16);
  readonly #term: string | undefined;
  readonly #onCompletion: ((answer: CompletionAnswer) => void) | undefined;
  /** The server agreed to answer completions (DO BACKDOOR-COMPLETION). */
  completion = false;

  constructor(options: ClientTelnetOptions = {}) {
    this.#term = options.term;
    this.#onCompletion = options.onCompletion;
  }

  /** What to send on connecting: WILL TERMINAL-TYPE, WILL BACKDOOR-COMPLETION, as wanted. */
  hello(): Buffer {
    const bytes: number[] = [];
    if (this.#term) bytes.push(IAC, WILL, Option.TERMINAL_TYPE);
    if (this.#onCompletion) bytes.push(IAC, WILL, Option.BACKDOOR_COMPLETION);
    return Buffer.from(bytes);
  }

  /** The server's bytes: their data, and the answers to send back. */
  push(chunk: Buffer): { data: Buffer; answer: Buffer } {
    const data: Buffer[] = [];
    const answer: number[] = [];
    for (const part of this.#parser.push(chunk)) {
      if (part.type === 'data') data.push(part.data);
      else if (part.type === 'negotiate') {
        const { verb, option } = part;
        if (option === Option.BACKDOOR_COMPLETION && this.#onCompletion) {
          // An answer to our WILL: never answered again.
          if (verb === DO || verb === DONT) this.completion = verb === DO;
        } else if (option === Option.TERMINAL_TYPE && this.#term) {
          if (verb === DO) answer.push(IAC, WILL, option);
        } else if (verb === WILL) answer.push(IAC, DONT, option);
        else if (verb === DO) answer.push(IAC, WONT, option);
      } else if (part.type === 'subnegotiation') {
        if (part.option === Option.TERMINAL_TYPE && part.data[0] === TTYPE_SEND && this.#term) {
          answer.push(IAC, SB, Option.TERMINAL_TYPE, TTYPE_IS, ...Buffer.from(this.#term, 'latin1'), IAC, SE);
        } else if (part.option === Option.BACKDOOR_COMPLETION && this.#onCompletion) {
          const completion = parseCompletionAnswer(part.data);
          if (completion) this.#onCompletion(completion);
        }
      }
    }
    // The parser folds line ends to LF, which is what the client prints anyway.
    return { data: data.length === 1 ? data[0] : Buffer.concat(data), answer: Buffer.from(answer) };
  }
}

/** The server's output as the client reads it. */
export interface ServerText {
  /** What the decoder still holds, for the end of the connection. */
  rest(): string;
  /** Whether the server answers completions. */
  readonly completion: boolean;
}

/**
 * Reads the server's output as text for every client mode: telnet commands answered and taken
 * out, UTF-8 decoded across chunks.
 */
export function readServerText(socket: Socket, options: ClientTelnetOptions, onText: (text: string) => void): ServerText {
  const telnet = new ClientTelnet(options);
  const decoder = new StringDecoder('utf8');
  const hello = telnet.hello();
  if (hello.length > 0) socket.write(hello);
  socket.on('data', (chunk: Buffer) => {
    const { data, answer } = telnet.push(chunk);
    // After our end (a pipe that has ended), no answer is needed.
    if (answer.length > 0 && !socket.writableEnded) socket.write(answer);
    const text = decoder.write(data);
    if (text !== '') onText(text);
  });
  return {
    rest: () => decoder.end(),
    get completion() {
      return telnet.completion;
    },
  };
}
