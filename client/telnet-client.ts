/**
 * The client's side of telnet: the backdoor client edits lines itself, so it refuses the
 * server's offer of character mode; it tells the server its terminal type (for colours) when
 * it runs at a colour terminal.
 */
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { DO, DONT, IAC, Option, SB, SE, TelnetParser, WILL, WONT } from '../common/telnet.ts';

const TTYPE_IS = 0;
const TTYPE_SEND = 1;

export class ClientTelnet {
  readonly #parser = new TelnetParser();
  readonly #term: string | undefined;

  /** `term`: the terminal type to tell the server (undefined: none, no colours). */
  constructor(term: string | undefined) {
    this.#term = term;
  }

  /** What to send on connecting: WILL TERMINAL-TYPE, when there is a type to tell. */
  hello(): Buffer {
    return this.#term ? Buffer.from([IAC, WILL, Option.TERMINAL_TYPE]) : Buffer.alloc(0);
  }

  /** The server's bytes: their data, and the answers to send back. */
  push(chunk: Buffer): { data: Buffer; answer: Buffer } {
    const data: Buffer[] = [];
    const answer: number[] = [];
    for (const part of this.#parser.push(chunk)) {
      if (part.type === 'data') data.push(part.data);
      else if (part.type === 'negotiate') {
        const { verb, option } = part;
        if (option === Option.TERMINAL_TYPE && this.#term) {
          if (verb === DO) answer.push(IAC, WILL, option);
        } else if (verb === WILL) answer.push(IAC, DONT, option);
        else if (verb === DO) answer.push(IAC, WONT, option);
      } else if (part.type === 'subnegotiation' && part.option === Option.TERMINAL_TYPE && part.data[0] === TTYPE_SEND && this.#term) {
        answer.push(IAC, SB, Option.TERMINAL_TYPE, TTYPE_IS, ...Buffer.from(this.#term, 'latin1'), IAC, SE);
      }
    }
    // The parser folds line ends to LF, which is what the client prints anyway.
    return { data: data.length === 1 ? data[0] : Buffer.concat(data), answer: Buffer.from(answer) };
  }
}

/**
 * Reads the server's output as text for every client mode: telnet commands answered and taken
 * out, UTF-8 decoded across chunks. `term` as for ClientTelnet. Returns what the decoder still
 * holds, for the end of the connection.
 */
export function readServerText(socket: Socket, term: string | undefined, onText: (text: string) => void): () => string {
  const telnet = new ClientTelnet(term);
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
  return () => decoder.end();
}
