import type { Socket } from 'node:net';
import { MAX_COMPLETION_LINE } from '../../common/completion-wire.ts';
import { Option, TelnetParser, type TelnetPart } from '../../common/telnet.ts';
import { LineSplitter, type Line } from './line-splitter.ts';
import { inputTooLong } from '../sessions/mode.ts';
import { Negotiation } from './negotiation.ts';
import { Terminal } from './terminal.ts';

/** What the client's input comes to. */
export interface InputEvents {
  /** A complete line. */
  line(line: Line): void;
  /** Ctrl-C; `hadText` when the line editor cleared a half-typed line. */
  interrupt(hadText: boolean): void;
  /** Ctrl-D, a telnet EOF, or the end of the stream. */
  end(): void;
  /** Bytes for the client (negotiation answers, the line editor's redraw). */
  send(data: string | Buffer): void;
  /** Text for the client, past the line editor's prompt. */
  write(text: string): void;
  /** Completions for the end of a line typed in character mode. */
  complete(line: string): Promise<[string[], string]>;
  /** The backdoor client asks for completions (a subnegotiation of its option, see completion-wire.ts). */
  completionRequest(data: Buffer): void;
  /** Runs a callback of the line editor's; an error in it ends the session only. */
  guard(step: () => void): void;
}

/**
 * The client's bytes as lines: telnet commands and negotiation taken out, then either plain
 * lines (nc, scripts, the backdoor client, a telnet client in line mode), or Node's line
 * editor for a telnet client that agreed to character mode. The source of lines is switched
 * once, when the client agrees; everything after it reads lines the same way.
 */
export class ClientInput {
  readonly negotiation = new Negotiation();
  readonly #telnet = new TelnetParser(MAX_COMPLETION_LINE + 2);
  readonly #splitter: LineSplitter;
  readonly #maxInputBytes: number;
  readonly #events: InputEvents;
  #terminal: Terminal | undefined;

  constructor(maxInputBytes: number, events: InputEvents) {
    this.#maxInputBytes = maxInputBytes;
    this.#splitter = new LineSplitter(maxInputBytes);
    this.#events = events;
  }

  /** Bytes of a line kept, from now on (a token line is short: 1 KB before authentication). */
  set lineLimit(bytes: number) {
    this.#splitter.max = bytes;
  }

  /** The line editor, in character mode. */
  get terminal(): Terminal | undefined {
    return this.#terminal;
  }

  /**
   * Bytes from the client. A telnet client says nothing of itself until the server negotiates,
   * and nc, scripts and the backdoor client must never see a telnet byte. But a telnet client
   * ends its lines with CR LF (nc with a bare LF) and sends Ctrl-C as a telnet command: when
   * `offer` allows, it is then offered character mode (from its first line on).
   */
  push(chunk: Buffer, offer: boolean): void {
    const parts = this.#telnet.push(chunk);
    // Answers to negotiation go first, in one write: a client that sent Ctrl-C discards our
    // output until its DO TIMING-MARK is answered, and the fresh prompt must not be lost.
    const answers: Buffer[] = [];
    for (const part of parts) {
      if (part.type !== 'negotiate') continue;
      const answer = this.negotiation.negotiate(part.verb, part.option);
      if (answer) answers.push(answer);
    }
    if (answers.length > 0) this.#events.send(Buffer.concat(answers));
    if (offer && !this.negotiation.offered && (this.#telnet.sawCarriageReturn || this.#telnet.sawCommand)) {
      this.#events.send(this.negotiation.offer());
    }
    for (const part of parts) this.#part(part);
  }

  #part(part: TelnetPart): void {
    switch (part.type) {
      case 'data':
        if (this.#terminal) this.#terminal.feed(part.data);
        else for (const line of this.#splitter.push(part.data)) this.#events.line(line);
        break;
      case 'interrupt':
        this.#events.interrupt(false);
        break;
      case 'eof':
        this.#events.end();
        break;
      case 'subnegotiation':
        if (part.option === Option.BACKDOOR_COMPLETION) {
          if (this.negotiation.completion) this.#events.completionRequest(part.data);
          break;
        }
        this.negotiation.subnegotiate(part.option, part.data);
        if (this.#terminal && this.negotiation.columns) this.#terminal.resize(this.negotiation.columns, this.negotiation.rows);
        break;
      default:
        break;
    }
  }

  /** The client agreed to echo and go-ahead suppression: Node's line editor takes over. */
  startCharacterMode(socket: Socket): boolean {
    if (this.#terminal || !this.negotiation.characterMode) return false;
    const events = this.#events;
    this.#terminal = new Terminal(
      socket,
      {
        line: (text) => events.guard(() => events.line({ text, overflowed: false })),
        interrupt: (hadText) => events.guard(() => events.interrupt(hadText)),
        end: () => events.guard(() => events.end()),
        complete: (line) => events.complete(line),
        overflow: (limit) => events.write(`Input discarded: ${limit < this.#maxInputBytes ? `longer than ${limit} bytes, the most the line editor takes (paste larger inputs in line mode)` : inputTooLong(limit)}\n`),
      },
      { columns: this.negotiation.columns, maxInputBytes: this.#maxInputBytes },
    );
    // Whatever was typed in line mode is kept; the prompt is redrawn by the editor.
    events.send('\r\x1b[K');
    return true;
  }

  stopCharacterMode(): void {
    this.#terminal?.close();
    this.#terminal = undefined;
  }

  /** The stream has ended: a last line without its newline is a line. */
  end(): Line[] {
    return this.#splitter.end();
  }

  /** Forget a partial line (Ctrl-C). */
  clear(): void {
    this.#splitter.clear();
  }
}
