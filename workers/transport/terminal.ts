/**
 * Character mode for a telnet client that agreed to it: Node's own line editor (readline, as
 * in Node's REPL) runs here in the worker, on the client's keystrokes. Arrows, Home/End,
 * Ctrl-A/E/K/U/W, history, tab completion and the window width are readline's.
 */
import type { Socket } from 'node:net';
import { createInterface, type Interface } from 'node:readline';
import { PassThrough, Writable } from 'node:stream';

export interface TerminalEvents {
  line(text: string): void;
  /** Ctrl-C; `hadText` when it cleared a half-typed line. */
  interrupt(hadText: boolean): void;
  /** Ctrl-D on an empty line. */
  end(): void;
  /** Completions for the end of `line`, as readline's completer wants them. */
  complete(line: string): Promise<[string[], string]>;
  /** The typed line grew past `limit` bytes and was cleared. */
  overflow(limit: number): void;
}

const HISTORY_SIZE = 1000;
/**
 * The longest line the line editor takes, whatever maxInputBytes says: readline spends some
 * microseconds per character, in the worker that serves every session (a 900 KB paste held it
 * for seconds). A larger input is pasted in line mode, or sent by a client that edits its lines.
 */
export const MAX_EDITED_LINE = 64 * 1024;
/** Lines longer than this (characters) are not kept in the history, and all it keeps stays under HISTORY_BYTES characters. */
const MAX_HISTORY_LINE = 4096;
const HISTORY_BYTES = 256 * 1024;

export class Terminal {
  readonly #input = new PassThrough();
  readonly #output: Writable & { columns?: number; rows?: number };
  readonly #editor: Interface;
  readonly #maxInputBytes: number;
  readonly #events: TerminalEvents;
  #promptShown = false;
  #closed = false;

  constructor(socket: Socket, events: TerminalEvents, options: { columns?: number; maxInputBytes: number }) {
    this.#maxInputBytes = Math.min(options.maxInputBytes, MAX_EDITED_LINE);
    this.#events = events;
    // A raw terminal does not return the carriage on a line feed.
    this.#output = new Writable({
      decodeStrings: false,
      write(chunk: string | Buffer, _encoding, callback) {
        if (!socket.destroyed) socket.write(String(chunk).replace(/(?<!\r)\n/g, '\r\n'));
        callback();
      },
    });
    this.#output.columns = options.columns ?? 80;
    this.#editor = createInterface({
      input: this.#input,
      output: this.#output,
      terminal: true,
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
      prompt: '',
      completer: (line: string, callback: (error: Error | null, result: [string[], string]) => void) => {
        events.complete(line).then(
          (result) => callback(null, result),
          () => callback(null, [[], line]),
        );
      },
    });
    this.#editor.on('line', (line) => {
      this.#promptShown = false;
      this.#boundHistory();
      events.line(line);
    });
    this.#editor.on('SIGINT', () => {
      // As Node's REPL: ^C after what was typed, and a fresh line.
      const hadText = this.#editor.line !== '';
      this.#output.write('^C\n');
      this.#forgetLine();
      this.#promptShown = false;
      events.interrupt(hadText);
    });
    this.#editor.on('close', () => {
      if (!this.#closed) events.end();
    });
  }

  /** Keystrokes from the client (telnet commands already removed). */
  feed(data: Buffer): void {
    // A chunk that would make the line too long, without ending it: not given to readline.
    if (data.indexOf(13) === -1 && data.indexOf(10) === -1 && Buffer.byteLength(this.#editor.line) + data.length > this.#maxInputBytes) {
      this.#clearLine();
      this.#events.overflow(this.#maxInputBytes);
      return;
    }
    this.#input.write(data);
    // readline takes the keys on the next tick; check the line's size after it has.
    if (Buffer.byteLength(this.#editor.line) + data.length > this.#maxInputBytes) {
      setImmediate(() => {
        if (Buffer.byteLength(this.#editor.line) > this.#maxInputBytes) {
          this.#clearLine();
          this.#events.overflow(this.#maxInputBytes);
        }
      });
    }
  }

  /** Output: above the prompt and the half-typed line when one is shown, which are redrawn. */
  write(text: string): void {
    if (this.#closed || text === '') return;
    if (this.#promptShown) {
      this.#output.write('\r\x1b[K');
      this.#output.write(text);
      if (!text.endsWith('\n')) this.#output.write('\n');
      this.#editor.prompt(true);
    } else {
      this.#output.write(text);
    }
  }

  prompt(prompt: string): void {
    if (this.#closed) return;
    this.#editor.setPrompt(prompt);
    this.#editor.prompt(true);
    this.#promptShown = true;
  }

  /** The client's window changed size. */
  resize(columns: number, rows?: number): void {
    this.#output.columns = columns;
    if (rows) this.#output.rows = rows;
    this.#output.emit('resize');
  }

  close(): void {
    this.#closed = true;
    this.#editor.close();
  }

  /** What the history holds now, newest first (for tests). */
  historyLines(): string[] {
    return [...(this.#editor as unknown as { history: string[] }).history];
  }

  #clearLine(): void {
    // Ctrl-E then Ctrl-U: to the end, then delete back to the start (readline's own keys).
    this.#editor.write('', { ctrl: true, name: 'e' });
    this.#editor.write('', { ctrl: true, name: 'u' });
  }

  // The history (newest first) bounded in characters, not only in lines: a long line is not kept, and the
  // oldest go while the rest is over HISTORY_BYTES.
  #boundHistory(): void {
    const history = (this.#editor as unknown as { history: string[] }).history;
    if (history.length > 0 && history[0].length > MAX_HISTORY_LINE) history.shift();
    let bytes = 0;
    for (let i = 0; i < history.length; i++) {
      bytes += history[i].length;
      if (bytes > HISTORY_BYTES) {
        history.length = i;
        break;
      }
    }
  }

  // Empties the line being edited without redrawing it (it stays on screen, above).
  #forgetLine(): void {
    const editor = this.#editor as unknown as { line: string; cursor: number };
    editor.line = '';
    editor.cursor = 0;
  }
}
