import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { AuditEvent, EvalOutcome, WorkerConfig } from '../lib/protocol.ts';
import type { Command, Dispatcher } from './dispatcher.ts';
import { classifyInput } from './input.ts';
import { LineSplitter, type Line } from './line-splitter.ts';
import { DO, ECHO_OFF, ECHO_ON, Option, refuseNegotiation, TelnetParser, type TelnetPart } from './telnet.ts';
import { helpText, replCommands } from './texts.ts';
import { tokenMatches } from './token.ts';

/** What a session needs from the server it belongs to. */
export interface SessionHost {
  readonly dispatcher: Dispatcher;
  readonly config: WorkerConfig;
  readonly banner: string;
  /** A fresh main-side context id, and the session it belongs to (for output routing). */
  newContext(session: Session): number;
  /** The session has ended; its context is no longer used. */
  ended(session: Session): void;
  audit(event: AuditEvent): void;
}

/** Queued lines past which the client's input is paused until the session catches up. */
const MAX_QUEUED_LINES = 256;
/** Output waiting for a client that does not read, past which its input is paused... */
const PAUSE_UNSENT_OUTPUT = 1024 * 1024;
/** ...and past which it is disconnected: its results would pile up without end. */
const MAX_UNSENT_OUTPUT = 16 * 1024 * 1024;
/** Recent distinct inputs whose script names are remembered. */
const MAX_NAMED_SCRIPTS = 256;
/** Wrong tokens before the connection is closed, and the pause after each. */
const MAX_TOKEN_ATTEMPTS = 3;
const WRONG_TOKEN_DELAY_MS = 1000;

const PROMPT = '> ';
const CONTINUATION = '... ';

/**
 * One connection: socket -> telnet -> lines -> input parser -> dispatcher, and the outcome
 * back to the socket. Commands of a session run one after the other, in order; lines that
 * arrive meanwhile (a paste, a pipe) wait their turn, and past a point the client is paused.
 */
export class Session {
  readonly id: number;
  readonly peer: string;
  readonly #socket: Socket;
  readonly #host: SessionHost;
  readonly #telnet = new TelnetParser();
  readonly #splitter: LineSplitter;
  readonly #lines: Line[] = [];
  #phase: 'token' | 'repl';
  #tokenFailures = 0;
  #askedEcho = false;
  #checkingToken = false;
  #context: number;
  #usedContext = false;
  #buffer = '';
  #bufferBytes = 0;
  #command: { command: Command; code: string; started: number } | undefined;
  #commandsRun = 0;
  #scriptNumber = 0;
  /** Script numbers of recent inputs, by their code (see #run). */
  readonly #scripts = new Map<string, number>();
  #inputEnded = false;
  #closed = false;
  #interruptedOnce = false;
  #lastActivity = performance.now();
  #idleTimer: NodeJS.Timeout | undefined;
  #endReason = 'client left';

  constructor(id: number, socket: Socket, host: SessionHost) {
    this.id = id;
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    this.#socket = socket;
    this.#host = host;
    this.#splitter = new LineSplitter(host.config.maxInputBytes);
    this.#context = host.newContext(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => this.#endOfInput());
    socket.on('drain', () => this.#flowControl());
    socket.on('error', () => {}); // a reset client is handled by 'close'
    socket.on('close', () => this.#destroy());
    this.#armIdleTimer();

    host.audit({ type: 'connect', time: new Date().toISOString(), session: id, peer: this.peer });
    if (host.config.token === undefined) {
      this.#phase = 'repl';
      this.#greet();
    } else {
      // Nothing of the REPL before the token. A telnet client stops echoing what is typed
      // while the server says it will echo (which it does not).
      this.#phase = 'token';
      this.#askedEcho = true;
      socket.write(ECHO_OFF);
      this.#write('Token: ');
    }
  }

  /** Console output printed by this session's context outside of a command. */
  asyncOutput(text: string): void {
    if (this.#phase === 'repl') this.#write(text);
  }

  /** The backdoor is closing: say so and disconnect. */
  shutdown(notice: string): void {
    if (this.#closed) return;
    this.#write(`\n${notice}`); // on a line of its own, after a prompt or a half-typed line
    this.#endReason = 'backdoor closed';
    this.#end();
  }

  #greet(): void {
    this.#write(this.#host.banner);
    this.#write(PROMPT);
  }

  #onData(chunk: Buffer): void {
    this.#lastActivity = performance.now();
    const parts = this.#telnet.push(chunk);
    // Answers to negotiation go first: a client that sent Ctrl-C discards our output until its
    // DO TIMING-MARK is answered, and the fresh prompt must not be lost.
    for (const part of parts) {
      // (A DO ECHO answers our own WILL ECHO around the token: agreed, nothing to say.)
      if (part.type === 'negotiate' && !(this.#askedEcho && part.verb === DO && part.option === Option.ECHO)) {
        const answer = refuseNegotiation(part.verb, part.option);
        if (answer) this.#socket.write(answer);
      }
    }
    for (const part of parts) this.#onPart(part);
    this.#drain();
  }

  #onPart(part: TelnetPart): void {
    switch (part.type) {
      case 'data':
        this.#lines.push(...this.#splitter.push(part.data));
        break;
      case 'interrupt':
        this.#interrupt();
        break;
      case 'eof':
        this.#endOfInput();
        break;
      default:
        break; // negotiation answered above; other commands mean nothing in line mode
    }
  }

  #endOfInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    this.#lines.push(...this.#splitter.end());
    this.#drain();
  }

  /** Handle queued lines until one starts a command (or a token check), or none are left. */
  #drain(): void {
    while (!this.#command && !this.#checkingToken && this.#lines.length > 0 && !this.#closed) {
      const line = this.#lines.shift()!;
      if (this.#phase === 'token') this.#checkToken(line);
      else this.#handleLine(line);
    }
    if (!this.#command && !this.#checkingToken && this.#lines.length === 0 && this.#inputEnded) this.#end();
    this.#flowControl();
  }

  #checkToken(line: Line): void {
    if (!line.overflowed && tokenMatches(this.#host.config.token!, line.text.replace(/\r$/, ''))) {
      this.#phase = 'repl';
      this.#socket.write(ECHO_ON);
      this.#write('\n');
      this.#greet();
      return;
    }
    this.#tokenFailures++;
    this.#host.audit({ type: 'auth-failure', time: new Date().toISOString(), session: this.id, peer: this.peer, attempt: this.#tokenFailures });
    // Wrong: wait before saying so (and before reading the next try), three strikes and out.
    this.#checkingToken = true;
    setTimeout(() => {
      this.#checkingToken = false;
      if (this.#closed) return;
      if (this.#tokenFailures >= MAX_TOKEN_ATTEMPTS) {
        this.#write('\nWrong token. Too many attempts.\n');
        this.#endReason = 'wrong token';
        return this.#end();
      }
      this.#write('\nWrong token.\nToken: ');
      this.#drain();
    }, WRONG_TOKEN_DELAY_MS);
  }

  #handleLine({ text: line, overflowed }: Line): void {
    if (overflowed || this.#bufferBytes + Buffer.byteLength(line) + 1 > this.#host.config.maxInputBytes) {
      this.#buffer = '';
      this.#bufferBytes = 0;
      this.#write(`Input discarded: longer than ${this.#host.config.maxInputBytes} bytes (the maxInputBytes option)\n`);
      return this.#prompt();
    }
    if (line.startsWith('\u0004') && this.#buffer === '') return this.#end(); // Ctrl-D sent as a byte
    this.#interruptedOnce = false;
    if (this.#replCommand(line)) return;
    if (this.#buffer === '' && /^\s*(exit|quit)(\(\))?\s*;?\s*$/.test(line)) return this.#end();

    this.#buffer = this.#buffer === '' ? line : `${this.#buffer}\n${line}`;
    this.#bufferBytes += Buffer.byteLength(line) + 1;
    const verdict = classifyInput(this.#buffer);
    switch (verdict.kind) {
      case 'empty':
        this.#clearBuffer();
        return this.#prompt();
      case 'incomplete':
        return this.#prompt(CONTINUATION);
      case 'error':
        this.#clearBuffer();
        this.#write(`Uncaught ${verdict.message}\n`);
        return this.#prompt();
      case 'complete': {
        const code = this.#buffer;
        this.#clearBuffer();
        this.#run(verdict.code, verdict.awaited, code);
      }
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
      this.#write('Invalid REPL keyword\n');
      this.#prompt();
      return true;
    }
    switch (name) {
      case 'help':
        this.#write(helpText(this.#host.config.locals));
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
    this.#clearBuffer();
    this.#prompt();
    return true;
  }

  #run(code: string, awaited: boolean, typed: string): void {
    this.#usedContext = true;
    // Inputs are named REPL1, REPL2... in stack traces, as in Node. An input typed again gets
    // its first name back: V8 caches compiled code by source and name, and a repeated command
    // (a person's `stats.requests`, a script polling) then compiles in a third of the time.
    let number = this.#scripts.get(code);
    if (number === undefined) {
      number = ++this.#scriptNumber;
      this.#scripts.set(code, number);
      if (this.#scripts.size > MAX_NAMED_SCRIPTS) this.#scripts.delete(this.#scripts.keys().next().value!);
    }
    const request = { context: this.#context, code, awaited, filename: `REPL${number}` };
    const command = this.#host.dispatcher.submit(request, {
      output: (text) => this.#write(text),
      done: (outcome) => this.#done(outcome),
    });
    this.#command = { command, code: typed, started: performance.now() };
  }

  #done(outcome: EvalOutcome): void {
    this.#finishCommand(outcome.ok);
    this.#write(`${outcome.text}\n`);
    this.#prompt();
    this.#drain();
  }

  #finishCommand(ok: boolean): void {
    const running = this.#command;
    if (!running) return;
    this.#command = undefined;
    this.#commandsRun++;
    this.#lastActivity = performance.now();
    this.#host.audit({
      type: 'command',
      time: new Date().toISOString(),
      session: this.id,
      peer: this.peer,
      code: running.code,
      durationMs: performance.now() - running.started,
      ok,
    });
  }

  /** Ctrl-C: abandon the running command, or the half-typed input, and give a fresh prompt. */
  #interrupt(): void {
    if (this.#phase === 'token') return;
    this.#lines.length = 0; // typed ahead before the interrupt: discarded, as a terminal does
    this.#splitter.clear();
    if (this.#command) {
      this.#host.dispatcher.abandon(this.#command.command);
      this.#finishCommand(false);
      this.#write('\n');
    } else if (this.#buffer !== '') {
      this.#clearBuffer();
      this.#write('\n');
    } else if (!this.#interruptedOnce) {
      this.#interruptedOnce = true;
      this.#write('\n(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n');
    } else {
      return this.#end();
    }
    this.#prompt();
  }

  #clearBuffer(): void {
    this.#buffer = '';
    this.#bufferBytes = 0;
  }

  #newContext(): void {
    if (this.#usedContext) this.#host.dispatcher.dropContext(this.#context);
    this.#context = this.#host.newContext(this);
    this.#usedContext = false;
  }

  #prompt(prompt = PROMPT): void {
    this.#write(prompt);
  }

  #write(text: string): void {
    if (this.#closed || text === '') return;
    this.#socket.write(text);
    if (this.#socket.writableLength > MAX_UNSENT_OUTPUT) {
      // It does not read what it is sent: it cannot be told either.
      this.#endReason = 'client not reading its output';
      this.#socket.destroy();
    }
  }

  // Stop reading from a client that is far ahead of its commands or does not read its output.
  #flowControl(): void {
    if (this.#closed) return;
    const behind = this.#lines.length >= MAX_QUEUED_LINES || this.#socket.writableLength > PAUSE_UNSENT_OUTPUT || this.#checkingToken;
    if (behind && !this.#socket.isPaused()) this.#socket.pause();
    else if (!behind && this.#socket.isPaused()) this.#socket.resume();
  }

  #armIdleTimer(): void {
    const idleMs = this.#host.config.idleTimeoutMs;
    if (idleMs === 0) return;
    const left = idleMs - (performance.now() - this.#lastActivity);
    this.#idleTimer = setTimeout(() => {
      if (this.#closed) return;
      if (this.#command || performance.now() - this.#lastActivity < idleMs) return this.#armIdleTimer();
      this.#write(`\nNo input for ${formatDuration(idleMs)} (the idleTimeoutMs option): closing this session.\n`);
      this.#endReason = 'idle';
      this.#end();
    }, Math.max(0, left));
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
    clearTimeout(this.#idleTimer);
    if (this.#command) {
      this.#host.dispatcher.abandon(this.#command.command);
      this.#finishCommand(false);
    }
    this.#lines.length = 0;
    if (this.#usedContext) this.#host.dispatcher.dropContext(this.#context);
    this.#host.audit({
      type: 'disconnect',
      time: new Date().toISOString(),
      session: this.id,
      peer: this.peer,
      commands: this.#commandsRun,
      reason: this.#endReason,
    });
    this.#host.ended(this);
  }
}

function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
