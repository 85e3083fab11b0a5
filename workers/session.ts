import type { Socket } from 'node:net';
import { createInterface, type Interface } from 'node:readline';
import { PassThrough } from 'node:stream';
import type { EvalOutcome } from '../lib/protocol.ts';
import type { Command, Dispatcher } from './dispatcher.ts';
import { classifyInput } from './input.ts';
import { helpText, replCommands } from './texts.ts';
import { refuseNegotiation, TelnetParser, type TelnetPart } from './telnet.ts';

/** What a session needs from the server it belongs to. */
export interface SessionHost {
  readonly dispatcher: Dispatcher;
  readonly locals: readonly string[];
  readonly banner: string;
  /** A fresh main-side context id, and the session it belongs to (for output routing). */
  newContext(session: Session): number;
  /** The session has ended; its context is no longer used. */
  ended(session: Session): void;
}

/** Queued lines past which the client's input is paused until the session catches up. */
const MAX_QUEUED_LINES = 256;
/** Output bytes waiting for the client past which its input is paused. */
const MAX_UNSENT_OUTPUT = 1024 * 1024;

/** Recent distinct inputs whose script names are remembered. */
const MAX_NAMED_SCRIPTS = 256;

const PROMPT = '> ';
const CONTINUATION = '... ';

/**
 * One connection: socket -> telnet -> line editor -> input parser -> dispatcher, and the
 * outcome back to the socket. Commands of a session run one after the other, in order;
 * lines that arrive meanwhile (a paste, a pipe) wait their turn.
 */
export class Session {
  readonly #socket: Socket;
  readonly #host: SessionHost;
  readonly #telnet = new TelnetParser();
  readonly #input = new PassThrough();
  readonly #editor: Interface;
  readonly #lines: string[] = [];
  #context: number;
  #usedContext = false;
  #buffer = '';
  #command: Command | undefined;
  #commands = 0;
  /** Script numbers of recent inputs, by their code (see #run). */
  readonly #scripts = new Map<string, number>();
  #inputEnded = false;
  #closed = false;
  #interruptedOnce = false;

  constructor(socket: Socket, host: SessionHost) {
    this.#socket = socket;
    this.#host = host;
    this.#context = host.newContext(this);
    socket.setNoDelay(true);
    this.#editor = createInterface({ input: this.#input, output: socket, terminal: false, prompt: PROMPT });
    this.#editor.on('line', (line) => this.#onLine(line));
    this.#editor.on('close', () => {
      this.#inputEnded = true;
      this.#drain();
    });
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#input.end());
    socket.on('drain', () => this.#flowControl());
    socket.on('error', () => {}); // a reset client is handled by 'close'
    socket.on('close', () => this.#destroy());

    this.#write(host.banner);
    this.#prompt();
  }

  /** Console output printed by this session's context outside of a command. */
  asyncOutput(text: string): void {
    this.#write(text);
  }

  /** The backdoor is closing: say so and disconnect. */
  shutdown(notice: string): void {
    if (this.#closed) return;
    this.#write(`\n${notice}`); // on a line of its own, after a prompt or a half-typed line
    this.#end();
  }

  #onData(chunk: Buffer): void {
    const parts = this.#telnet.push(chunk);
    // Answers to negotiation go first: a client that sent Ctrl-C discards our output until its
    // DO TIMING-MARK is answered, and the fresh prompt must not be lost.
    for (const part of parts) {
      if (part.type === 'negotiate') {
        const answer = refuseNegotiation(part.verb, part.option);
        if (answer) this.#socket.write(answer);
      }
    }
    for (const part of parts) this.#onPart(part);
  }

  #onPart(part: TelnetPart): void {
    switch (part.type) {
      case 'data':
        this.#input.write(part.data);
        break;
      case 'interrupt':
        this.#interrupt();
        break;
      case 'eof':
        this.#input.end();
        break;
      default:
        break; // negotiation answered above; other commands mean nothing in line mode
    }
  }

  #onLine(line: string): void {
    if (this.#closed) return;
    this.#lines.push(line);
    this.#drain();
  }

  /** Handle queued lines until one starts a command or none are left. */
  #drain(): void {
    while (!this.#command && this.#lines.length > 0 && !this.#closed) {
      this.#handleLine(this.#lines.shift()!);
    }
    if (!this.#command && this.#lines.length === 0 && this.#inputEnded) this.#end();
    this.#flowControl();
  }

  #handleLine(line: string): void {
    if (line.startsWith('\u0004') && this.#buffer === '') return this.#end(); // Ctrl-D sent as a byte
    this.#interruptedOnce = false;
    if (this.#replCommand(line)) return;
    if (this.#buffer === '' && /^\s*(exit|quit)(\(\))?\s*;?\s*$/.test(line)) return this.#end();

    this.#buffer = this.#buffer === '' ? line : `${this.#buffer}\n${line}`;
    const verdict = classifyInput(this.#buffer);
    switch (verdict.kind) {
      case 'empty':
        this.#buffer = '';
        return this.#prompt();
      case 'incomplete':
        return this.#prompt(CONTINUATION);
      case 'error':
        this.#buffer = '';
        this.#write(`Uncaught ${verdict.message}\n`);
        return this.#prompt();
      case 'complete':
        this.#buffer = '';
        this.#run(verdict.code, verdict.awaited);
    }
  }

  /** `.help` and friends. Returns false when the line is JavaScript after all. */
  #replCommand(line: string): boolean {
    const match = /^\s*\.([a-zA-Z]\w*)\s*(.*)$/.exec(line);
    if (!match) return false;
    const name = match[1];
    if (!(name in replCommands)) {
      // Inside a multi-line input, `.then(...)` is a method call, not a command.
      if (this.#buffer !== '') return false;
      this.#write(`Invalid REPL keyword\n`);
      this.#prompt();
      return true;
    }
    switch (name) {
      case 'help':
        this.#write(helpText(this.#host.locals));
        break;
      case 'exit':
        this.#end();
        return true;
      case 'clear':
        this.#newContext();
        this.#write('Clearing context...\n');
        break;
      case 'break':
        break;
    }
    this.#buffer = '';
    this.#prompt();
    return true;
  }

  #run(code: string, awaited: boolean): void {
    this.#usedContext = true;
    // Inputs are named REPL1, REPL2... in stack traces, as in Node. An input typed again gets
    // its first name back: V8 caches compiled code by source and name, and a repeated command
    // (a person's `stats.requests`, a script polling) then compiles in a third of the time.
    let number = this.#scripts.get(code);
    if (number === undefined) {
      number = ++this.#commands;
      this.#scripts.set(code, number);
      if (this.#scripts.size > MAX_NAMED_SCRIPTS) this.#scripts.delete(this.#scripts.keys().next().value!);
    }
    const request = { context: this.#context, code, awaited, filename: `REPL${number}` };
    this.#command = this.#host.dispatcher.submit(request, {
      output: (text) => this.#write(text),
      done: (outcome) => this.#done(outcome),
    });
  }

  #done(outcome: EvalOutcome): void {
    this.#command = undefined;
    this.#write(`${outcome.text}\n`);
    this.#prompt();
    this.#drain();
  }

  /** Ctrl-C: abandon the running command, or the half-typed input, and give a fresh prompt. */
  #interrupt(): void {
    this.#lines.length = 0; // typed ahead before the interrupt: discarded, as a terminal does
    if (this.#command) {
      this.#host.dispatcher.abandon(this.#command);
      this.#command = undefined;
      this.#write('\n');
    } else if (this.#buffer !== '') {
      this.#buffer = '';
      this.#write('\n');
    } else if (!this.#interruptedOnce) {
      this.#interruptedOnce = true;
      this.#write('\n(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n');
    } else {
      return this.#end();
    }
    this.#prompt();
    this.#flowControl();
  }

  #newContext(): void {
    if (this.#usedContext) this.#host.dispatcher.dropContext(this.#context);
    this.#context = this.#host.newContext(this);
    this.#usedContext = false;
  }

  #prompt(prompt = PROMPT): void {
    if (this.#closed) return;
    this.#editor.setPrompt(prompt);
    this.#editor.prompt();
  }

  #write(text: string): void {
    if (!this.#closed && text !== '') this.#socket.write(text);
  }

  // Stop reading from a client that is far ahead of its commands or does not read its output.
  #flowControl(): void {
    if (this.#closed) return;
    const behind = this.#lines.length >= MAX_QUEUED_LINES || this.#socket.writableLength > MAX_UNSENT_OUTPUT;
    if (behind && !this.#socket.isPaused()) this.#socket.pause();
    else if (!behind && this.#socket.isPaused()) this.#socket.resume();
  }

  /** Finish: send what is pending, then close the connection. */
  #end(): void {
    if (this.#closed) return;
    this.#socket.end();
    this.#destroy();
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#command) this.#host.dispatcher.abandon(this.#command);
    this.#command = undefined;
    this.#lines.length = 0;
    this.#editor.close();
    if (this.#usedContext) this.#host.dispatcher.dropContext(this.#context);
    this.#host.ended(this);
  }
}
