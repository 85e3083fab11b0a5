import type { AuditEvent } from '../common/audit-event.ts';
import type { EvalOutcome, WorkerConfig } from '../common/protocol.ts';
import type { CommandEvents, CommandRunner } from './command-runner.ts';
import type { Diagnostics } from './diagnostics.ts';
import type { Line } from './line-splitter.ts';
import type { Negotiation } from './negotiation.ts';

/**
 * What a session does with its input: one mode at a time, token gate -> text REPL -> JSON REPL
 * (see token-gate.ts, text-repl.ts, json-repl.ts). The connection hands each mode the lines
 * and events; the mode decides what they mean.
 */
export interface Mode extends CommandEvents {
  readonly name: 'token' | 'text' | 'json';
  /** While true, lines wait in the connection's queue (a command runs, a token is checked). */
  readonly busy: boolean;
  /** One complete line of input, in its turn. */
  line(line: Line): void;
  /** Lines arrived while busy: a mode may answer some of them at once (JSON interrupts). */
  queued?(lines: Line[]): void;
  /** Ctrl-C; `hadText` when the line editor cleared a half-typed line. */
  interrupt(hadText: boolean): void;
  /** Console output of the session's context outside of a command. */
  output(text: string): void;
  /** The session's code threw after its command returned (`Uncaught ...`). */
  uncaught(text: string): void;
  /** A value passed to `tap()` by the session's code. */
  tap(outcome: EvalOutcome): void;
  /** The line editor took over (a telnet client in character mode): redraw what is typed. */
  characterMode?(): void;
  /** The connection has ended. */
  close?(): void;
  /** Completions for the end of `line` (character mode). */
  complete?(line: string): Promise<[string[], string]>;
}

/** What a mode may use of its connection. */
export interface ModeHost {
  readonly id: number;
  readonly peer: string;
  readonly config: WorkerConfig;
  readonly banner: string;
  readonly runner: CommandRunner;
  readonly negotiation: Negotiation;
  /** Whether Node's line editor runs the client's terminal. */
  readonly characterMode: boolean;
  /** Output for the client (through the line editor in character mode). */
  write(text: string): void;
  /** Raw bytes for the client (telnet), past the line editor. */
  send(data: string | Buffer): void;
  /** Show a prompt (the line editor's, in character mode). */
  prompt(prompt: string): void;
  /** Close the session once what is written has been sent; `reason` goes to the audit trail. */
  end(reason?: string): void;
  /** Switch to another mode. */
  use(mode: Mode): void;
  /** Take the next queued lines, if the mode is no longer busy. */
  drain(): void;
  /** Stop reading or read on, as the client keeps up. */
  flowControl(): void;
  /** Offer character mode to a telnet client that agreed to it (after the token). */
  maybeCharacterMode(): void;
  /** Leave character mode (the JSON mode reads plain lines). */
  leaveCharacterMode(): void;
  /** Drop what was typed ahead (Ctrl-C). */
  discardTypedAhead(): void;
  /** Whether more lines wait. */
  readonly linesQueued: number;
  /** Runs a timer's callback; an error in it ends the session only. */
  guard(step: () => void): void;
  /** Audits an event of this session (rate limited before it gave the token). */
  audit(event: AuditEvent): void;
  /** The server's: a slot for a session that gave the token. */
  admit(): boolean;
  /** A line about the worker for `.stats`. */
  workerReport(): string;
  /** `.stack`, `.profile`, `.heap sample`: one inspector for the whole worker. */
  readonly diagnostics: Diagnostics;
}

/** The message for an input over the limit, wherever it is met. */
export const inputTooLong = (maxInputBytes: number): string => `longer than ${maxInputBytes} bytes (the maxInputBytes option)`;
