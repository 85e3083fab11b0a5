import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CONTINUATION_PROMPT, type AuditEvent, type EvalOutcome, type EvalRequest, type WorkerConfig } from '../lib/protocol.ts';
import type { Command, Dispatcher } from './dispatcher.ts';
import { classifyInput, type InputVerdict } from './input.ts';
import { errLine, modeLine, outLine, parseJsonInput, retLine, tapLine, uncaughtLine, type JsonId } from './json-mode.ts';
import { LineSplitter, type Line } from './line-splitter.ts';
import { Negotiation } from './negotiation.ts';
import { ScriptNames } from './script-names.ts';
import { ECHO_ON, TelnetParser, type TelnetPart } from './telnet.ts';
import { Terminal } from './terminal.ts';
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
  /** The session gave the token: whether a slot (maxSessions) is free for it. */
  admit(session: Session): boolean;
  /** Records an audit event; those of unauthenticated connections are rate limited. */
  audit(event: AuditEvent, unauthenticated?: boolean): void;
  /** A line about the worker for `.stats`. */
  workerReport(): string;
}

/** Queued lines past which the client's input is paused until the session catches up. */
const MAX_QUEUED_LINES = 256;
/** ...or past which the text of queued lines (each up to maxInputBytes) is paused. */
const MAX_QUEUED_CHARS = 4 * 1024 * 1024;
/** Output waiting for a client that does not read, past which its input is paused... */
const PAUSE_UNSENT_OUTPUT = 1024 * 1024;
/** ...and past which it is disconnected: its results would pile up without end. */
const MAX_UNSENT_OUTPUT = 16 * 1024 * 1024;
/** Wrong tokens before the connection is closed, and the pause after each. */
const MAX_TOKEN_ATTEMPTS = 3;
const WRONG_TOKEN_DELAY_MS = 1000;
/** An awaited command still pending after this long gives the prompt back. */
const PENDING_NOTICE_MS = 1000;

const PROMPT = '> ';
const CONTINUATION = CONTINUATION_PROMPT;

/** A command of this session in flight, and what it was typed as. */
interface Running {
  command: Command;
  typed: string;
  started: number;
  /** JSON mode: the input's id. */
  id?: JsonId;
  /** Set once it has been sent to the background (`Promise #N pending`). */
  promise?: number;
  /** The main thread answered that it awaits. */
  pending: boolean;
}

/**
 * One connection: socket -> telnet -> lines (or, for a telnet client in character mode, Node's
 * line editor) -> input parser -> dispatcher, and the outcome back to the socket. Commands of a
 * session run one after the other, in order; lines that arrive meanwhile (a paste, a pipe) wait
 * their turn, and past a point the client is paused.
 */
export class Session {
  readonly id: number;
  readonly peer: string;
  readonly #socket: Socket;
  readonly #host: SessionHost;
  readonly #telnet = new TelnetParser();
  readonly #negotiation = new Negotiation();
  readonly #splitter: LineSplitter;
  readonly #lines: Line[] = [];
  #terminal: Terminal | undefined;
  #mode: 'token' | 'text' | 'json';
  #tokenFailures = 0;
  #checkingToken = false;
  #context: number;
  #usedContext = false;
  #buffer = '';
  #bufferBytes = 0;
  #running: Running | undefined;
  /** Commands sent to the background (`Promise #N pending`), until they settle. */
  readonly #backgrounded = new Set<Running>();
  #background = 0;
  #commandsRun = 0;
  readonly #scriptNames = new ScriptNames();
  /** Lines evaluated so far, as Node's REPL counts them for its script names. */
  #linesEvaluated = 0;
  /** Names this session declared at the top level (completion: they are not properties). */
  readonly #declared = new Set<string>();
  #inputEnded = false;
  #closed = false;
  #interruptedOnce = false;
  #lastActivity = performance.now();
  #idleTimer: NodeJS.Timeout | undefined;
  #authTimer: NodeJS.Timeout | undefined;
  #endReason = 'client left';

  constructor(id: number, socket: Socket, host: SessionHost) {
    this.id = id;
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    this.#socket = socket;
    this.#host = host;
    this.#splitter = new LineSplitter(host.config.maxInputBytes);
    this.#context = host.newContext(this);
    socket.setNoDelay(true);
    // Whatever goes wrong in handling a session's input ends that session, never the worker
    // (and with it every other session).
    socket.on('data', (chunk: Buffer) => this.#guard(() => this.#onData(chunk)));
    socket.on('end', () => this.#guard(() => this.#endOfInput()));
    socket.on('drain', () => this.#guard(() => this.#flowControl()));
    socket.on('error', () => {}); // a reset client is handled by 'close'
    socket.on('close', () => this.#destroy());
    this.#armIdleTimer();

    this.#mode = host.config.token === undefined ? 'text' : 'token';
    if (this.#mode === 'text') {
      // (With a token, a connection is a session, and audited as one, once it has given it.)
      this.#audit({ type: 'connect', time: new Date().toISOString(), session: id, peer: this.peer });
      this.#greet();
    } else {
      // Nothing of the REPL before the token. The offer (WILL ECHO first) also stops a telnet
      // client from echoing the token as it is typed. A connection gets a few seconds to give it.
      this.#send(this.#negotiation.offer());
      this.#write('Token: ');
      this.#authTimer = setTimeout(() => this.#guard(() => {
        this.#write(`\nNo token within ${formatDuration(host.config.authTimeoutMs)} (the authTimeoutMs option).\n`);
        this.#endReason = 'no token in time';
        this.#end();
      }), host.config.authTimeoutMs);
    }
  }

  /** Whether the connection has given the token (or none was needed). */
  get authenticated(): boolean {
    return this.#mode !== 'token';
  }

  /** Closes a connection still waiting for its token, to make room for a newer one. */
  evict(): void {
    if (this.#closed) return;
    this.#write('\nToo many connections are waiting to give the token: closing the one that waited longest.\n');
    this.#endReason = 'evicted while waiting for the token';
    this.#end();
  }

  /** Runs `step`; an exception in it ends this session (reported to the audit trail), nothing more. */
  #guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#endReason = 'internal error';
      this.#host.audit({ type: 'fault', time: new Date().toISOString(), message: `session ${this.id} (${this.peer}) closed on an internal error: ${String((error as Error)?.stack ?? error).split('\n').slice(0, 3).join(' | ')}` });
      try {
        this.#write('\nbackdoor: internal error; this session is closed (the app and other sessions go on)\n');
      } catch {
        // the connection is going anyway
      }
      this.#socket.destroy();
      this.#destroy();
    }
  }

  /** Audits an event; those of connections that never gave the token are rate limited. */
  #audit(event: AuditEvent): void {
    this.#host.audit(event, !this.authenticated);
  }

  /** Console output printed by this session's context outside of a command. */
  asyncOutput(text: string): void {
    if (this.#mode === 'json') this.#write(outLine(null, text));
    else if (this.#mode === 'text') this.#write(text);
  }

  /**
   * This session's code threw after its command returned. Printed as Node's REPL prints it,
   * followed by a fresh prompt when none is being answered (in JSON mode, an `uncaught` event).
   */
  uncaught(text: string): void {
    if (this.#mode === 'json') return this.#write(uncaughtLine(text));
    if (this.#mode !== 'text') return;
    this.#write(`${text}\n`);
    if (!this.#terminal && !this.#running && this.#buffer === '') this.#prompt();
  }

  /** A value passed to `tap()` by this session's code. */
  tap(outcome: EvalOutcome): void {
    if (this.#mode === 'json') this.#write(tapLine(outcome));
    else if (this.#mode === 'text') this.#write(`tap: ${outcome.text}\n`);
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
    this.#prompt();
  }

  #onData(chunk: Buffer): void {
    const parts = this.#telnet.push(chunk);
    // Answers to negotiation go first, in one write: a client that sent Ctrl-C discards our
    // output until its DO TIMING-MARK is answered, and the fresh prompt must not be lost.
    const answers: Buffer[] = [];
    for (const part of parts) {
      if (part.type === 'negotiate') {
        const answer = this.#negotiation.negotiate(part.verb, part.option);
        if (answer) answers.push(answer);
      }
    }
    if (answers.length > 0) this.#send(Buffer.concat(answers));
    // A telnet client says nothing of itself until the server negotiates, and nc, scripts and
    // the backdoor client must never see a telnet byte. But a telnet client ends its lines with
    // CR LF (nc with a bare LF) and sends Ctrl-C as a telnet command: then it is offered
    // character mode (from its first line on).
    if (!this.#negotiation.offered && this.#mode === 'text' && (this.#telnet.sawCarriageReturn || this.#telnet.sawCommand)) {
      this.#send(this.#negotiation.offer());
    }
    for (const part of parts) this.#onPart(part);
    this.#maybeCharacterMode();
    this.#drain();
  }

  #onPart(part: TelnetPart): void {
    switch (part.type) {
      case 'data':
        if (this.#terminal) this.#terminal.feed(part.data);
        else for (const line of this.#splitter.push(part.data)) this.#takeLine(line);
        break;
      case 'interrupt':
        this.#interrupt(false);
        break;
      case 'eof':
        this.#endOfInput();
        break;
      case 'subnegotiation':
        this.#negotiation.subnegotiate(part.option, part.data);
        if (this.#terminal && this.#negotiation.columns) this.#terminal.resize(this.#negotiation.columns, this.#negotiation.rows);
        break;
      default:
        break;
    }
  }

  /** A telnet client agreed to echo and go-ahead suppression: Node's line editor takes over. */
  #maybeCharacterMode(): void {
    if (this.#terminal || this.#mode !== 'text' || !this.#negotiation.characterMode || this.#closed) return;
    this.#terminal = new Terminal(this.#socket, {
      line: (text) => this.#guard(() => {
        this.#takeLine({ text, overflowed: false });
        this.#drain();
      }),
      interrupt: (hadText) => this.#guard(() => this.#interrupt(hadText)),
      end: () => this.#guard(() => this.#endOfInput()),
      complete: (line) => this.#complete(line),
      overflow: () => this.#write(`Input discarded: longer than ${this.#host.config.maxInputBytes} bytes (the maxInputBytes option)\n`),
    }, { columns: this.#negotiation.columns, maxInputBytes: this.#host.config.maxInputBytes });
    // Whatever was typed in line mode is kept; the prompt is redrawn by the editor.
    this.#send('\r\x1b[K');
    if (!this.#running && this.#lines.length === 0) this.#prompt(this.#buffer === '' ? PROMPT : CONTINUATION);
  }

  #endOfInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    for (const line of this.#splitter.end()) this.#takeLine(line);
    this.#drain();
  }

  /**
   * A line has arrived: queued for its turn, except a JSON-mode `{"interrupt": id}`, which
   * cannot wait behind the input it interrupts.
   */
  #takeLine(line: Line): void {
    this.#lines.push(line);
    if (this.#mode === 'json' && this.#running) this.#takeInterrupts();
  }

  /**
   * JSON mode, an input running: the queued `{"interrupt": id}` lines for it (or for an input
   * still queued behind it, which is then dropped) are answered now. Lines that arrived before
   * `.mode json` was handled are looked at too, once it has been.
   */
  #takeInterrupts(): void {
    for (let i = 0; i < this.#lines.length; i++) {
      const line = this.#lines[i];
      if (line.overflowed || !line.text.includes('"interrupt"')) continue;
      const input = parseJsonInput(line.text);
      if (!input.ok || !('interrupt' in input)) continue;
      const running = this.#running;
      const queued = this.#lines.findIndex((other, at) => at < i && queuedInputId(other) === input.interrupt);
      if (running?.id === input.interrupt) {
        this.#host.dispatcher.abandon(running.command);
        this.#finishCommand(running, false);
        this.#write(retLine(input.interrupt, { ok: false, text: INTERRUPTED }, performance.now() - running.started));
      } else if (queued !== -1) {
        this.#lines.splice(queued, 1);
        i--;
        this.#write(retLine(input.interrupt, { ok: false, text: INTERRUPTED }, 0));
      } else {
        continue; // answered in its turn: nothing is running with that id
      }
      this.#lines.splice(i, 1);
      i--;
    }
  }

  /** Handle queued lines until one starts a command (or a token check), or none are left. */
  #drain(): void {
    while (!this.#running && !this.#checkingToken && this.#lines.length > 0 && !this.#closed) {
      const line = this.#lines.shift()!;
      // Activity is a complete line: a client that drips a byte at a time holds no session.
      this.#lastActivity = performance.now();
      if (this.#mode === 'token') this.#checkToken(line);
      else if (this.#mode === 'json') this.#handleJson(line);
      else this.#handleLine(line);
      if (this.#mode === 'json' && this.#running) this.#takeInterrupts();
    }
    if (!this.#running && !this.#checkingToken && this.#lines.length === 0 && this.#inputEnded) this.#end();
    this.#flowControl();
  }

  #checkToken(line: Line): void {
    if (!line.overflowed && tokenMatches(this.#host.config.token!, line.text.replace(/\r$/, ''))) {
      clearTimeout(this.#authTimer);
      // Those who gave the token have slots of their own (maxSessions).
      if (!this.#host.admit(this)) {
        this.#write(`\nbackdoor: too many sessions (the maxSessions option is ${this.#host.config.maxSessions})\n`);
        this.#endReason = 'too many sessions';
        return this.#end();
      }
      this.#mode = 'text';
      this.#audit({ type: 'connect', time: new Date().toISOString(), session: this.id, peer: this.peer });
      if (!this.#negotiation.characterMode) {
        // Not a telnet client in character mode: it echoes its own input again.
        if (this.#negotiation.echo) this.#send(ECHO_ON);
        this.#write('\n');
        this.#greet();
      } else {
        this.#write('\n');
        this.#write(this.#host.banner);
        this.#maybeCharacterMode();
      }
      return;
    }
    this.#tokenFailures++;
    this.#audit({ type: 'auth-failure', time: new Date().toISOString(), session: this.id, peer: this.peer, attempt: this.#tokenFailures });
    // Wrong: wait before saying so (and before reading the next try), three strikes and out.
    this.#checkingToken = true;
    setTimeout(() => this.#guard(() => {
      this.#checkingToken = false;
      if (this.#closed) return;
      if (this.#tokenFailures >= MAX_TOKEN_ATTEMPTS) {
        this.#write('\nWrong token. Too many attempts.\n');
        this.#endReason = 'wrong token';
        return this.#end();
      }
      this.#write('\nWrong token.\nToken: ');
      this.#drain();
    }), WRONG_TOKEN_DELAY_MS);
  }

  #handleLine({ text: line, overflowed }: Line): void {
    if (overflowed || this.#bufferBytes + Buffer.byteLength(line) + 1 > this.#host.config.maxInputBytes) {
      this.#clearBuffer();
      this.#write(`Input discarded: longer than ${this.#host.config.maxInputBytes} bytes (the maxInputBytes option)\n`);
      return this.#prompt();
    }
    if (line.startsWith('\u0004') && this.#buffer === '') return this.#end(); // Ctrl-D sent as a byte
    this.#interruptedOnce = false;
    if (this.#replCommand(line)) return;
    if (this.#buffer === '' && /^\s*(exit|quit)(\(\))?\s*;?\s*$/.test(line)) return this.#end();
    // Node's REPL numbers every line it evaluates, a line of a multi-line input or an empty
    // one too: `REPL3` is the input whose last line was the third.
    this.#linesEvaluated++;
    // As in Node's REPL, an empty line alone does nothing (white space or a comment is run:
    // it prints `undefined`); inside a multi-line input it is part of the input.
    if (line === '' && this.#buffer === '') return this.#prompt();

    this.#buffer = this.#buffer === '' ? line : `${this.#buffer}\n${line}`;
    this.#bufferBytes += Buffer.byteLength(line) + 1;
    const verdict = classifyInput(this.#buffer);
    if (verdict.kind === 'incomplete') return this.#prompt(CONTINUATION);
    const typed = this.#buffer;
    this.#clearBuffer();
    if (verdict.kind === 'refused') {
      this.#write(`Uncaught ${verdict.message}\n`);
      return this.#prompt();
    }
    // White space or comments before any code ran: `undefined`, as the main thread would say,
    // without making a context there for it.
    if (verdict.kind === 'empty' && !this.#usedContext) {
      this.#write('undefined\n');
      return this.#prompt();
    }
    if (verdict.kind === 'complete') for (const name of verdict.declared) this.#declared.add(name);
    this.#run(runnable(verdict, typed), typed);
  }

  #handleJson({ text, overflowed }: Line): void {
    if (text.trim() === '') return;
    const input = overflowed ? { ok: false as const, id: null, message: `longer than ${this.#host.config.maxInputBytes} bytes (the maxInputBytes option)` } : parseJsonInput(text);
    if (!input.ok) return this.#write(errLine(input.id, input.message));
    if ('interrupt' in input) return this.#write(errLine(input.interrupt, 'nothing is running with that id'));
    const verdict = classifyInput(input.code);
    if (verdict.kind === 'incomplete') return this.#write(errLine(input.id, 'incomplete input: the code must be complete in one input'));
    if (verdict.kind === 'refused') return this.#write(retLine(input.id, { ok: false, text: `Uncaught ${verdict.message}` }, 0));
    if (verdict.kind === 'empty' && !this.#usedContext) {
      return this.#write(retLine(input.id, { ok: true, text: 'undefined', value: { json: null, meta: { values: ['undefined'] } } }, 0));
    }
    if (verdict.kind === 'complete') for (const name of verdict.declared) this.#declared.add(name);
    this.#run({ ...runnable(verdict, input.code), json: true }, input.code, input.id);
  }

  /**
   * `.help` and friends. Returns false when the line is JavaScript after all: as in Node's REPL,
   * a line is a command when it starts with one `.` and is not a number (`.5`), and an unknown
   * name is an error unless it continues a multi-line input (`.then(...)`).
   */
  #replCommand(line: string): boolean {
    const trimmed = line.trim();
    if (!trimmed.startsWith('.') || trimmed[1] === '.' || !Number.isNaN(Number.parseFloat(trimmed))) return false;
    const [, name, rest] = /^\.(\S+)\s*(.*)$/s.exec(trimmed)!;
    if (!Object.hasOwn(replCommands, name)) {
      if (this.#buffer !== '') return false;
      this.#write('Invalid REPL keyword\n');
      this.#prompt();
      return true;
    }
    this.#clearBuffer();
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
      case 'mode':
        if (rest.trim() !== 'json') {
          this.#write("Usage: .mode json (one JSON object per line from now on; see the README)\n");
          break;
        }
        this.#mode = 'json';
        this.#terminal?.close();
        this.#terminal = undefined;
        this.#write(modeLine());
        return true;
      case 'stats':
        this.#run({ code: '', awaited: false, kind: 'stats', workerReport: this.#host.workerReport() }, '.stats');
        return true;
      case 'locals':
        this.#run({ code: '', awaited: false, kind: 'locals' }, '.locals');
        return true;
      case 'inspect': {
        const parsed = /^(.*?)(?:\s+(\d+))?\s*$/s.exec(rest)!;
        const verdict = classifyInput(parsed[1] || '_');
        if (verdict.kind !== 'complete' || verdict.awaited) {
          this.#write('Usage: .inspect <expression> [depth]  (an expression without await; `const v = await ...` first)\n');
          break;
        }
        this.#run({ code: verdict.code, awaited: false, kind: 'inspect', depth: Math.min(Number(parsed[2] ?? 1), 4) }, line.trim());
        return true;
      }
      case 'break':
        break;
    }
    this.#prompt();
    return true;
  }

  #run(request: Pick<EvalRequest, 'code' | 'awaited' | 'kind' | 'depth' | 'json' | 'workerReport' | 'importHint'>, typed: string, id?: JsonId): void {
    this.#usedContext = true;
    const running: Running = { command: undefined as never, typed, started: performance.now(), id, pending: false };
    running.command = this.#host.dispatcher.submit(
      {
        ...request,
        context: this.#context,
        session: this.id,
        filename: this.#scriptNames.nameOf(request.code, this.#mode === 'json' ? ++this.#linesEvaluated : this.#linesEvaluated),
        colors: this.#mode === 'text' && this.#negotiation.colors,
        columns: this.#terminal ? this.#negotiation.columns : undefined,
      },
      {
        output: (text) => this.#guard(() => this.#commandOutput(running, text)),
        pending: () => this.#guard(() => this.#pending(running)),
        done: (outcome) => this.#guard(() => this.#done(running, outcome)),
      },
    );
    this.#running = running;
  }

  #commandOutput(running: Running, text: string): void {
    if (this.#mode === 'json') this.#write(outLine(running.id ?? null, text));
    else this.#write(text);
  }

  /** The main thread is awaiting it: if that lasts, give the prompt back (in text mode). */
  #pending(running: Running): void {
    running.pending = true;
    if (this.#mode !== 'text') return;
    setTimeout(() => this.#guard(() => {
      if (this.#running !== running || this.#closed) return;
      running.promise = ++this.#background;
      this.#backgrounded.add(running);
      this.#running = undefined;
      this.#write(`Promise #${running.promise} pending\n`);
      this.#prompt();
      this.#drain();
    }), PENDING_NOTICE_MS);
  }

  #done(running: Running, outcome: EvalOutcome): void {
    this.#finishCommand(running, outcome.ok);
    if (this.#mode === 'json') {
      this.#write(retLine(running.id ?? null, outcome, performance.now() - running.started));
    } else if (running.promise !== undefined) {
      // Printed above the prompt the session has gone on with.
      this.#write(`Promise #${running.promise} ${outcome.ok ? 'fulfilled' : 'rejected'}: ${outcome.text}\n`);
      if (!this.#terminal && !this.#running) this.#prompt();
      return;
    } else {
      this.#write(`${outcome.text}\n`);
      this.#prompt();
    }
    this.#drain();
  }

  #finishCommand(running: Running, ok: boolean): void {
    if (this.#running === running) this.#running = undefined;
    this.#backgrounded.delete(running);
    this.#commandsRun++;
    this.#lastActivity = performance.now();
    this.#host.audit({
      type: 'command',
      time: new Date().toISOString(),
      session: this.id,
      peer: this.peer,
      code: running.typed,
      durationMs: performance.now() - running.started,
      ok,
    });
  }

  /** Ctrl-C: abandon the running command, or the half-typed input, and give a fresh prompt. */
  #interrupt(hadText: boolean): void {
    if (this.#mode !== 'text') return;
    this.#lines.length = 0; // typed ahead before the interrupt: discarded, as a terminal does
    this.#splitter.clear();
    if (this.#running) {
      this.#host.dispatcher.abandon(this.#running.command);
      this.#finishCommand(this.#running, false);
      if (!this.#terminal) this.#write('\n');
    } else if (this.#buffer !== '' || hadText) {
      this.#clearBuffer();
      if (!this.#terminal) this.#write('\n');
    } else if (!this.#interruptedOnce) {
      this.#interruptedOnce = true;
      this.#write(`${this.#terminal ? '' : '\n'}(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n`);
    } else {
      return this.#end();
    }
    this.#prompt();
  }

  /** Tab completion: names of the session (declared here, or globals), or properties. */
  async #complete(line: string): Promise<[string[], string]> {
    if (/^\s*\.\w*$/.test(line)) {
      const typed = line.trim();
      return [Object.keys(replCommands).map((name) => `.${name}`).filter((name) => name.startsWith(typed)), typed];
    }
    const match = /((?:[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*\.)*)([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)?$/u.exec(line);
    const chain = match?.[1] ?? '';
    const prefix = match?.[2] ?? '';
    const path = chain === '' ? [] : chain.slice(0, -1).split('.');
    if (path.length === 0 && prefix === '') return [[], line];
    const outcome = await new Promise<EvalOutcome>((resolve) => {
      this.#host.dispatcher.submit(
        { context: this.#context, session: this.id, code: '', awaited: false, filename: 'REPL', kind: 'complete', path, prefix },
        { output: () => {}, pending: () => {}, done: resolve },
      );
    });
    const names = new Set(outcome.names ?? []);
    if (path.length === 0) for (const name of this.#declared) if (name.startsWith(prefix)) names.add(name);
    return [[...names].sort().map((name) => chain + name), chain + prefix];
  }

  #clearBuffer(): void {
    this.#buffer = '';
    this.#bufferBytes = 0;
  }

  #newContext(): void {
    if (this.#usedContext) this.#host.dispatcher.dropContext(this.#context);
    this.#context = this.#host.newContext(this);
    this.#usedContext = false;
    this.#declared.clear();
  }

  #prompt(prompt = PROMPT): void {
    if (this.#mode !== 'text' || this.#closed) return;
    if (this.#terminal) this.#terminal.prompt(prompt);
    else this.#write(prompt);
  }

  #write(text: string): void {
    if (this.#closed || text === '') return;
    if (this.#terminal) this.#terminal.write(text);
    else this.#socket.write(text);
    this.#checkUnsent();
  }

  /** Raw bytes (telnet, terminal control) past the line editor: counted like any output. */
  #send(data: string | Buffer): void {
    if (this.#closed) return;
    this.#socket.write(data);
    this.#checkUnsent();
  }

  #checkUnsent(): void {
    if (this.#socket.writableLength > MAX_UNSENT_OUTPUT) {
      // It does not read what it is sent: it cannot be told either.
      this.#endReason = 'client not reading its output';
      this.#socket.destroy();
    }
  }

  // Stop reading from a client that is far ahead of its commands or does not read its output.
  #flowControl(): void {
    if (this.#closed) return;
    let queued = 0;
    for (const line of this.#lines) queued += line.text.length;
    const behind = this.#lines.length >= MAX_QUEUED_LINES || queued > MAX_QUEUED_CHARS || this.#socket.writableLength > PAUSE_UNSENT_OUTPUT || this.#checkingToken;
    if (behind && !this.#socket.isPaused()) this.#socket.pause();
    else if (!behind && this.#socket.isPaused()) this.#socket.resume();
  }

  #armIdleTimer(): void {
    const idleMs = this.#host.config.idleTimeoutMs;
    if (idleMs === 0) return;
    const left = idleMs - (performance.now() - this.#lastActivity);
    this.#idleTimer = setTimeout(() => {
      if (this.#closed) return;
      // A command running on the main thread is activity (evalTimeoutMs bounds it); one that
      // awaits is for a second (then, in text mode, it goes to the background), not for ever.
      const running = this.#running;
      const working = running !== undefined && (!running.pending || performance.now() - running.started < PENDING_NOTICE_MS);
      if (working || performance.now() - this.#lastActivity < idleMs) return this.#armIdleTimer();
      this.#write(`\nNo input for ${formatDuration(idleMs)} (the idleTimeoutMs option): closing this session.\n`);
      this.#endReason = 'idle';
      this.#end();
    }, Math.max(0, left));
  }

  /** Finish: send what is pending, then close the connection. */
  #end(): void {
    if (this.#closed) return;
    if (this.#terminal) this.#send('\r\n');
    this.#socket.end();
    this.#destroy();
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#authTimer);
    this.#terminal?.close();
    for (const running of [this.#running, ...this.#backgrounded]) {
      if (!running) continue;
      this.#host.dispatcher.abandon(running.command);
      this.#finishCommand(running, false);
    }
    this.#lines.length = 0;
    if (this.#usedContext) this.#host.dispatcher.dropContext(this.#context);
    this.#audit({
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

/**
 * What to send the main thread for an input that is complete, empty (white space or comments:
 * it runs, and prints `undefined`) or a syntax error (compiled there, so that V8's own message,
 * source line and caret are printed and the error becomes `_error`, as in Node's REPL).
 */
function runnable(verdict: Exclude<InputVerdict, { kind: 'incomplete' | 'refused' }>, typed: string): Pick<EvalRequest, 'code' | 'awaited' | 'importHint'> {
  if (verdict.kind === 'complete') return { code: verdict.code, awaited: verdict.awaited };
  if (verdict.kind === 'empty') return { code: typed, awaited: false };
  return { code: verdict.source, awaited: false, importHint: verdict.importHint };
}

const INTERRUPTED = 'Interrupted: no longer waited for (synchronous code still runs to its end or evalTimeoutMs)';

/** The id of a queued JSON-mode input line, or undefined for anything else. */
function queuedInputId(line: Line): JsonId | undefined {
  if (line.overflowed || !line.text.includes('"code"')) return undefined;
  const input = parseJsonInput(line.text);
  return input.ok && 'code' in input ? input.id : undefined;
}

function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  if (ms % 1000 === 0) return `${ms / 1000} s`;
  return `${ms} ms`;
}
