import type { Socket } from 'node:net';
import type { AuditEvent } from '../../common/audit-event.ts';
import { formatDuration } from '../../common/duration.ts';
import { ECHO_ON } from '../../common/telnet.ts';
import type { Mode } from '../sessions/mode.ts';
import { ReplSession, type Wire } from '../sessions/repl-session.ts';
import { TokenGate } from '../sessions/token-gate.ts';
import { ClientInput } from './client-input.ts';
import { ClientOutput } from './client-output.ts';
import { CompletionDesk } from './completion-desk.ts';
import { LineQueue } from './line-queue.ts';
import { IdleTimer } from './idle-timer.ts';
import type { Line } from './line-splitter.ts';
import { describeFault } from './texts.ts';
import type { Server } from './server-link.ts';

export type { Server } from './server-link.ts';

/** The longest token line kept before authentication (a longer one is a wrong token). */
const MAX_TOKEN_LINE = 1024;

/**
 * One connection: socket -> telnet -> lines (or, for a telnet client in character mode, Node's
 * line editor) -> its mode (token gate, then its session's text or JSON REPL). Lines that
 * arrive while the mode is busy (a paste, a pipe) wait their turn, and past a point the client
 * is paused. Whatever goes wrong in handling a connection's input ends that connection, never
 * the worker.
 */
export class Connection implements Wire {
  readonly id: number;
  readonly peer: string;
  readonly #socket: Socket;
  readonly #server: Server;
  readonly #input: ClientInput;
  readonly #output: ClientOutput;
  readonly #queue = new LineQueue();
  readonly #lines = this.#queue.lines;
  #mode: Mode;
  /** Once the connection may have one (it gave the token, or none was needed). */
  #session: ReplSession | undefined;
  #inputEnded = false;
  #closed = false;
  readonly #idle: IdleTimer;
  #endReason = 'client left';
  readonly #completions = new CompletionDesk((data) => this.#send(data));

  constructor(id: number, socket: Socket, server: Server) {
    this.id = id;
    this.peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix';
    this.#socket = socket;
    this.#server = server;
    const { config } = server;
    this.#output = new ClientOutput(socket, () => {
      this.#endReason = 'client not reading its output';
    });
    this.#input = new ClientInput(config.maxInputBytes, {
      line: (line) => {
        this.#takeLine(line);
        if (this.characterMode) this.drain();
      },
      interrupt: (hadText) => {
        // Typed ahead before the interrupt: discarded, as a terminal does.
        this.#lines.length = 0;
        this.#input.clear();
        this.#mode.interrupt(hadText);
      },
      end: () => this.#endOfInput(),
      send: (data) => this.#send(data),
      write: (text) => this.write(text),
      complete: (line) => this.#completions.forEditor(line, this.#mode.complete?.bind(this.#mode), (text) => this.write(text)),
      completionRequest: (data) => this.#completionRequest(data),
      guard: (step) => this.guard(step),
    });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) =>
      this.guard(() => {
        this.#input.push(chunk, this.#offersTerminal());
        this.maybeCharacterMode();
        this.drain();
      }),
    );
    socket.on('end', () => this.guard(() => this.#endOfInput()));
    socket.on('drain', () => this.guard(() => this.#flowControl()));
    socket.on('error', () => {}); // a reset client is handled by 'close'
    socket.on('close', () => this.#destroy());
    const idleMs = config.idleTimeoutMs;
    const working = (now: number) => this.#session?.session.working(now) ?? false;
    const told = `No input for ${formatDuration(idleMs)} (the idleTimeoutMs option): closing this session.\n`;
    this.#idle = new IdleTimer(idleMs, working, () => this.guard(() => this.close(told, 'idle')));
    if (config.token === undefined) {
      const repl = this.#startSession().start();
      this.#mode = repl;
      repl.greet();
    } else {
      // Before the token, a line is a token: a connection that never gives one must not hold
      // up to maxInputBytes of memory meanwhile; and no completion is offered or answered.
      this.#input.lineLimit = MAX_TOKEN_LINE;
      this.#mode = new TokenGate(this, {
        token: config.token,
        authTimeoutMs: config.authTimeoutMs,
        offer: () => this.#send(this.#input.negotiation.offer()),
        admitted: () => this.#admitted(),
      });
    }
  }

  get characterMode(): boolean {
    return this.#input.terminal !== undefined;
  }

  get colors(): boolean {
    return this.#input.negotiation.colors;
  }

  get columns(): number | undefined {
    return this.#input.negotiation.columns;
  }

  /** Whether the connection has given the token (or none was needed). */
  get authenticated(): boolean {
    return this.#session !== undefined;
  }

  /** The session's ops, once it has one. */
  get replSession(): ReplSession | undefined {
    return this.#session;
  }

  /** A session for this connection; audited from now on as one. */
  #startSession(): ReplSession {
    this.#input.lineLimit = this.#server.config.maxInputBytes;
    this.#input.negotiation.completionAllowed = true;
    this.#session = new ReplSession(this.id, this.peer, this, this.#server, () => this.#idle.touch());
    this.audit({ type: 'connect', time: new Date().toISOString(), session: this.id, peer: this.peer });
    return this.#session;
  }

  /** The token was given: a session, if a slot (maxSessions) is free. */
  #admitted(): void {
    if (!this.#server.admit(this)) {
      this.write(`\nbackdoor: too many sessions (the maxSessions option is ${this.#server.config.maxSessions})\n`);
      return this.end('too many sessions');
    }
    const repl = this.#startSession().start();
    const negotiation = this.#input.negotiation;
    // A client that asked for completion before the token is told now that it may.
    const agreed = negotiation.grantCompletion();
    if (agreed) this.#send(agreed);
    if (negotiation.characterMode) {
      this.write(`\n${this.#server.banner}`);
      this.maybeCharacterMode(); // the line editor shows the prompt
    } else {
      // Not a telnet client in character mode: it echoes its own input again.
      if (negotiation.echo) this.#send(ECHO_ON);
      this.write('\n');
      repl.greet();
    }
  }

  /** Tells the client why (on a line of its own, after a prompt or a half-typed line), and disconnects. */
  close(notice: string, reason: string): void {
    if (this.#closed) return;
    this.write(`\n${notice}`);
    this.end(reason);
  }

  /** What reads the connection's lines now. */
  get mode(): Mode {
    return this.#mode;
  }

  use(mode: Mode): void {
    this.#mode = mode;
  }

  /**
   * Audits an event. Rate limited: those of a connection that has not given the token, and,
   * without a token, connects and disconnects (nothing else gates a flood of connections). A
   * session that gave the token is audited in full: a flood of connections before it must not
   * hide who got in. Commands are never dropped.
   */
  audit(event: AuditEvent): void {
    const connection = event.type === 'connect' || event.type === 'disconnect';
    this.#server.audit(event, !this.authenticated || (connection && this.#server.config.token === undefined));
  }

  /** Runs `step`; an exception in it ends this session (reported to the audit trail), nothing more. */
  guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      this.#endReason = 'internal error';
      this.#server.audit({ type: 'fault', time: new Date().toISOString(), message: `session ${this.id} (${this.peer}) closed on an internal error: ${describeFault(error)}` });
      try {
        this.write('\nbackdoor: internal error; this session is closed (the app and other sessions go on)\n');
      } catch {
        // the connection is going anyway
      }
      this.#socket.destroy();
      this.#destroy();
    }
  }

  /** A telnet client agreed to character mode: Node's line editor takes over (a mode that can have it). */
  maybeCharacterMode(): void {
    if (!this.#offersTerminal() || this.#closed) return;
    if (this.#input.startCharacterMode(this.#socket)) this.#mode.characterMode?.();
  }

  leaveCharacterMode(): void {
    this.#input.stopCharacterMode();
  }

  /** Whether the mode reading the lines can have Node's line editor (the text REPL: not the gate, nor JSON). */
  #offersTerminal(): boolean {
    return this.#session !== undefined && this.#mode.characterMode !== undefined;
  }

  /** Never before the token: the option is not even agreed. */
  #completionRequest(data: Buffer): void {
    if (this.#session) this.#completions.request(data, this.#mode.complete?.bind(this.#mode));
  }

  #endOfInput(): void {
    if (this.#inputEnded) return;
    this.#inputEnded = true;
    for (const line of this.#input.end()) this.#takeLine(line);
    this.#mode.inputEnded?.();
    this.drain();
  }

  /** A line has arrived: queued for its turn (a busy mode may answer some at once). */
  #takeLine(line: Line): void {
    this.#lines.push(line);
    if (this.#mode.busy) this.#mode.queued?.(this.#lines);
  }

  /** Handle queued lines until the mode is busy, or none are left. */
  drain(): void {
    while (!this.#mode.busy && this.#lines.length > 0 && !this.#closed) {
      // Activity is a complete line: a client that drips a byte at a time holds no session.
      this.#idle.touch();
      this.#mode.line(this.#lines.shift()!, this.#lines);
      if (this.#mode.busy) this.#mode.queued?.(this.#lines);
    }
    if (!this.#mode.busy && this.#lines.length === 0 && this.#inputEnded) this.end();
    this.#flowControl();
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
    if (terminal) {
      terminal.write(text);
      this.#output.check();
    } else {
      this.#output.send(this.#input.negotiation.telnet ? text.replace(/(?<!\r)\n/g, '\r\n') : text);
    }
  }

  #send(data: string | Buffer): void {
    if (!this.#closed) this.#output.send(data);
  }

  // Stop reading from a client that is far ahead of its ops or does not read its output.
  #flowControl(): void {
    if (this.#closed) return;
    const behind = this.#queue.full || this.#output.behind || (!this.#session && this.#mode.busy);
    if (behind && !this.#socket.isPaused()) this.#socket.pause();
    else if (!behind && this.#socket.isPaused()) this.#socket.resume();
  }

  /** Finish: send what is pending, then close the connection. */
  end(reason?: string): void {
    if (this.#closed) return;
    if (reason !== undefined) this.#endReason = reason;
    if (this.#input.terminal) this.#send('\r\n');
    this.#socket.end();
    this.#destroy();
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#idle.stop();
    this.#mode.close?.();
    this.#input.stopCharacterMode();
    this.#session?.close();
    this.#lines.length = 0;
    this.audit({ type: 'disconnect', time: new Date().toISOString(), session: this.id, peer: this.peer, commands: this.#session?.session.opsRun ?? 0, reason: this.#endReason });
    this.#server.ended(this);
  }
}
