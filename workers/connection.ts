import type { Socket } from 'node:net';
import type { AuditEvent } from '../common/audit-event.ts';
import { completionAnswer, parseCompletionRequest } from '../common/completion-wire.ts';
import { formatDuration } from '../common/duration.ts';
import type { EvalOutcome, WorkerConfig } from '../common/protocol.ts';
import { CommandRunner, type CommandEvents } from './command-runner.ts';
import { IdleTimer } from './idle-timer.ts';
import type { Diagnostics } from './diagnostics.ts';
import type { Dispatcher } from './dispatcher.ts';
import { ClientInput } from './client-input.ts';
import type { Line } from './line-splitter.ts';
import type { Mode, ModeHost } from './mode.ts';
import type { Negotiation } from './negotiation.ts';
import { describeFault } from './texts.ts';
import { TextRepl } from './text-repl.ts';
import { TokenGate } from './token-gate.ts';

/** What a connection needs from the server it belongs to. */
export interface SessionHost {
  readonly dispatcher: Dispatcher;
  readonly config: WorkerConfig;
  readonly banner: string;
  /** A fresh main-side context id, and the connection it belongs to (for output routing). */
  newContext(connection: Connection): number;
  /** The connection has ended; its contexts are no longer used. */
  ended(connection: Connection): void;
  /** The connection gave the token: whether a slot (maxSessions) is free for it. */
  admit(connection: Connection): boolean;
  /** Records an audit event; those of unauthenticated connections are rate limited. */
  audit(event: AuditEvent, unauthenticated?: boolean): void;
  /** A line about the worker for `.stats`. */
  workerReport(): string;
  readonly diagnostics: Diagnostics;
}

/** The longest token line kept before authentication (a longer one is a wrong token). */
const MAX_TOKEN_LINE = 1024;
/** Queued lines past which the client's input is paused until the session catches up. */
const MAX_QUEUED_LINES = 256;
/** ...or past which the text of queued lines (each up to maxInputBytes) is paused. */
const MAX_QUEUED_CHARS = 4 * 1024 * 1024;
/** Output waiting for a client that does not read, past which its input is paused... */
const PAUSE_UNSENT_OUTPUT = 1024 * 1024;
/** ...and past which it is disconnected: its results would pile up without end. */
const MAX_UNSENT_OUTPUT = 16 * 1024 * 1024;

/**
 * One connection: socket -> telnet -> lines (or, for a telnet client in character mode, Node's
 * line editor) -> its mode (token gate, text REPL, JSON REPL), which runs commands through
 * the session's CommandRunner. Lines that arrive while the mode is busy (a paste, a pipe) wait
 * their turn, and past a point the client is paused. Whatever goes wrong in handling a
 * connection's input ends that connection, never the worker.
 */
export class Connection implements ModeHost {
  readonly id: number;
  readonly peer: string;
  readonly runner: CommandRunner;
  readonly #socket: Socket;
  readonly #host: SessionHost;
  readonly #input: ClientInput;
  readonly #lines: Line[] = [];
  #mode: Mode;
  #inputEnded = false;
  #closed = false;
  readonly #idle: IdleTimer;
  #endReason = 'client left';
  /** A completion the backdoor client asked for is on its way from the main thread. */
  #completing = false;

  constructor(id: number, socket: Socket, host: SessionHost) {
    this.id = id;
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    this.#socket = socket;
    this.#host = host;
    this.#input = new ClientInput(host.config.maxInputBytes, {
      line: (line) => {
        this.#takeLine(line);
        if (this.characterMode) this.drain();
      },
      interrupt: (hadText) => this.#mode.interrupt(hadText),
      end: () => this.#endOfInput(),
      send: (data) => this.send(data),
      write: (text) => this.write(text),
      complete: (line) => this.#mode.complete?.(line) ?? Promise.resolve([[], line]),
      completionRequest: (data) => this.#completionRequest(data),
      guard: (step) => this.guard(step),
    });
    const connection = this;
    this.runner = new CommandRunner({
      id,
      peer: this.peer,
      dispatcher: host.dispatcher,
      get events(): CommandEvents {
        return connection.#mode;
      },
      newContext: () => host.newContext(this),
      audit: (event) => this.audit(event),
      active: () => this.#idle.touch(),
      guard: (step) => this.guard(step),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.guard(() => {
      this.#input.push(chunk, this.#mode.name === 'text');
      this.maybeCharacterMode();
      this.drain();
    }));
    socket.on('end', () => this.guard(() => this.#endOfInput()));
    socket.on('drain', () => this.guard(() => this.flowControl()));
    socket.on('error', () => {}); // a reset client is handled by 'close'
    socket.on('close', () => this.#destroy());
    const idleMs = host.config.idleTimeoutMs;
    this.#idle = new IdleTimer(idleMs, (now) => this.runner.working(now), () => this.guard(() => {
      this.write(`\nNo input for ${formatDuration(idleMs)} (the idleTimeoutMs option): closing this session.\n`);
      this.end('idle');
    }));
    // With a token, a connection is a session, and audited as one, once it has given it.
    if (host.config.token === undefined) {
      const repl = new TextRepl(this);
      this.#mode = repl;
      this.audit({ type: 'connect', time: new Date().toISOString(), session: id, peer: this.peer });
      repl.greet();
    } else {
      // Before the token, a line is a token: a connection that never gives one must not hold
      // up to maxInputBytes of memory meanwhile.
      this.#input.lineLimit = MAX_TOKEN_LINE;
      this.#mode = new TokenGate(this);
    }
  }

  get negotiation(): Negotiation {
    return this.#input.negotiation;
  }

  get config(): WorkerConfig {
    return this.#host.config;
  }

  get banner(): string {
    return this.#host.banner;
  }

  /** Whether the connection has given the token (or none was needed). */
  get authenticated(): boolean {
    return this.#mode.name !== 'token';
  }

  get characterMode(): boolean {
    return this.#input.terminal !== undefined;
  }

  get linesQueued(): number {
    return this.#lines.length;
  }

  /** Closes a connection still waiting for its token, to make room for a newer one. */
  evict(): void {
    if (this.#closed) return;
    this.write('\nToo many connections are waiting to give the token: closing the one that waited longest.\n');
    this.end('evicted while waiting for the token');
  }

  /** The backdoor is closing: say so and disconnect. */
  shutdown(notice: string): void {
    if (this.#closed) return;
    this.write(`\n${notice}`); // on a line of its own, after a prompt or a half-typed line
    this.end('backdoor closed');
  }

  /** Console output printed by this session's context outside of a command. */
  asyncOutput(text: string): void {
    this.#mode.output(text);
  }

  /** This session's code threw after its command returned. */
  uncaught(text: string): void {
    this.#mode.uncaught(text);
  }

  /** A value passed to `tap()` by this session's code. */
  tap(outcome: EvalOutcome): void {
    this.#mode.tap(outcome);
  }

  use(mode: Mode): void {
    if (this.#mode.name === 'token' && mode.name !== 'token') this.#input.lineLimit = this.#host.config.maxInputBytes;
    this.#mode = mode;
  }

  admit(): boolean {
    return this.#host.admit(this);
  }

  workerReport(): string {
    return this.#host.workerReport();
  }

  get diagnostics(): Diagnostics {
    return this.#host.diagnostics;
  }

  /**
   * Audits an event. Rate limited: those of a connection that has not given the token, and,
   * without a token, connects and disconnects (nothing else gates a flood of connections). A
   * session that gave the token is audited in full: a flood of connections before it must not
   * hide who got in. Commands are never dropped.
   */
  audit(event: AuditEvent): void {
    const connection = event.type === 'connect' || event.type === 'disconnect';
    this.#host.audit(event, !this.authenticated || (connection && this.config.token === undefined));
  }

  /** Runs `step`; an exception in it ends this session (reported to the audit trail), nothing more. */
  guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#endReason = 'internal error';
      this.#host.audit({ type: 'fault', time: new Date().toISOString(), message: `session ${this.id} (${this.peer}) closed on an internal error: ${describeFault(error)}` });
      try {
        this.write('\nbackdoor: internal error; this session is closed (the app and other sessions go on)\n');
      } catch {
        // the connection is going anyway
      }
      this.#socket.destroy();
      this.#destroy();
    }
  }

  /** A telnet client agreed to character mode: Node's line editor takes over. */
  maybeCharacterMode(): void {
    if (this.#mode.name !== 'text' || this.#closed) return;
    if (this.#input.startCharacterMode(this.#socket)) this.#mode.characterMode?.();
  }

  leaveCharacterMode(): void {
    this.#input.stopCharacterMode();
  }

  /**
   * The backdoor client asks for the completions of a line (completion-wire.ts): answered in a
   * subnegotiation, apart from the session's text, one at a time (a second request while one
   * is out gets no names at once). Not before the token: nothing is answered then.
   */
  #completionRequest(data: Buffer): void {
    const request = parseCompletionRequest(data);
    if (!request || !this.authenticated) return;
    const answer = ([names, completed]: [string[], string]) => this.send(completionAnswer(request.id, names, completed));
    if (this.#completing || !this.#mode.complete) return answer([[], request.line]);
    this.#completing = true;
    this.#mode.complete(request.line).then(answer, () => answer([[], request.line])).finally(() => {
      this.#completing = false;
    });
  }

  #endOfInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    for (const line of this.#input.end()) this.#takeLine(line);
    this.drain();
  }

  /** A line has arrived: queued for its turn (a busy mode may answer some at once). */
  #takeLine(line: Line): void {
    this.#lines.push(line);
    if (this.#mode.busy) this.#mode.queued?.(this.#lines);
  }

  discardTypedAhead(): void {
    this.#lines.length = 0;
    this.#input.clear();
  }

  /** Handle queued lines until the mode is busy, or none are left. */
  drain(): void {
    while (!this.#mode.busy && this.#lines.length > 0 && !this.#closed) {
      // Activity is a complete line: a client that drips a byte at a time holds no session.
      this.#idle.touch();
      this.#mode.line(this.#lines.shift()!);
      if (this.#mode.busy) this.#mode.queued?.(this.#lines);
    }
    if (!this.#mode.busy && this.#lines.length === 0 && this.#inputEnded) this.end();
    this.flowControl();
  }

  prompt(prompt: string): void {
    if (this.#closed) return;
    const terminal = this.#input.terminal;
    if (terminal) terminal.prompt(prompt);
    else this.write(prompt);
  }

  write(text: string): void {
    if (this.#closed || text === '') return;
    const terminal = this.#input.terminal;
    if (terminal) terminal.write(text);
    else this.#out(text);
    this.#checkUnsent();
  }

  send(data: string | Buffer): void {
    if (this.#closed) return;
    this.#out(data);
    this.#checkUnsent();
  }

  // What one turn writes (a value, then the prompt) leaves in one system call.
  #out(data: string | Buffer): void {
    const socket = this.#socket;
    if (!socket.writableCorked) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(data);
  }

  #checkUnsent(): void {
    if (this.#socket.writableLength > MAX_UNSENT_OUTPUT) {
      // It does not read what it is sent: it cannot be told either.
      this.#endReason = 'client not reading its output';
      this.#socket.destroy();
    }
  }

  // Stop reading from a client that is far ahead of its commands or does not read its output.
  flowControl(): void {
    if (this.#closed) return;
    let queued = 0;
    for (const line of this.#lines) queued += line.text.length;
    const behind = this.#lines.length >= MAX_QUEUED_LINES || queued > MAX_QUEUED_CHARS || this.#socket.writableLength > PAUSE_UNSENT_OUTPUT || (this.#mode.name === 'token' && this.#mode.busy);
    if (behind && !this.#socket.isPaused()) this.#socket.pause();
    else if (!behind && this.#socket.isPaused()) this.#socket.resume();
  }

  /** Finish: send what is pending, then close the connection. */
  end(reason?: string): void {
    if (this.#closed) return;
    if (reason !== undefined) this.#endReason = reason;
    if (this.#input.terminal) this.send('\r\n');
    this.#socket.end();
    this.#destroy();
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#idle.stop();
    this.#mode.close?.();
    this.#input.stopCharacterMode();
    this.runner.close();
    this.#lines.length = 0;
    this.audit({ type: 'disconnect', time: new Date().toISOString(), session: this.id, peer: this.peer, commands: this.runner.commandsRun, reason: this.#endReason });
    this.#host.ended(this);
  }
}
