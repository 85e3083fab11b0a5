import type { Args } from '../../common/ops.ts';
import type { OpValue } from '../../common/protocol.ts';
import type { Line } from '../transport/line-splitter.ts';
import type { RunEvents, RunHow, Running } from './session.ts';

/** Completions: the names, the part of the line they replace, and why there are none (the budget holds completions now). */
export type Completions = [names: string[], completed: string, note?: string];

/**
 * What a session does with its input: one mode at a time, the text REPL or the JSON REPL
 * (text-repl.ts, json-repl.ts; before the token, token-gate.ts). The connection hands the mode
 * its lines and events, in order; the mode decides what they mean, and runs ops through its
 * session (`ModeSession`).
 */
export interface Mode {
  /** While true, lines wait in the connection's queue (an op runs). */
  readonly busy: boolean;
  /** One complete line of input, in its turn; `ahead`, the lines that wait behind it (a paste). */
  line(line: Line, ahead?: readonly Line[]): void;
  /** Lines arrived while busy: a mode may answer some of them at once (JSON interrupts). */
  queued?(lines: Line[]): void;
  /** Ctrl-C; `hadText` when the line editor cleared a half-typed line. */
  interrupt(hadText: boolean): void;
  /** The client closed its side: what was sent is still answered, long diagnoses stop. */
  inputEnded?(): void;
  /** Console output of the session's context outside of an op. */
  output(text: string): void;
  /** The session's code threw after its op returned (`Uncaught ...`). */
  uncaught(text: string): void;
  /** A value passed to `tap()` by the session's code. */
  tap(value: OpValue): void;
  /** The line editor took over (a telnet client in character mode): redraw what is typed. */
  characterMode?(): void;
  /** The connection has ended. */
  close?(): void;
  /** Completions for the end of `line`: the names, the part of the line they replace, and why there are none (when there is a reason to tell). */
  complete?(line: string): Promise<Completions>;
}

/** What a mode may know of its session and its client. */
export interface SessionFacts {
  readonly banner: string;
  readonly locals: readonly string[];
  readonly maxInputBytes: number;
  /** What stops a command's synchronous code on the main thread (0: nothing). */
  readonly evalTimeoutMs: number;
  /** Whether Node's line editor runs the client's terminal. */
  readonly characterMode: boolean;
  readonly colors: boolean;
  /** The client's window width, in character mode. */
  readonly columns: number | undefined;
  /** Whether the session's context exists on the main thread. */
  readonly usedContext: boolean;
  /** Counts a line evaluated (Node's REPL names inputs `REPL<n>` by it); returns its number. */
  countLine(): number;
  /** Lines evaluated so far. */
  readonly lines: number;
  /** The worker's own line for `.stats`. */
  workerReport(): string;
}

/** What a mode may use of its session: ops, and the client's screen. */
export interface ModeSession {
  /** Runs an op (common/ops.ts); what happens to it comes back through `events`. */
  run(op: string, args: Args, how: RunHow, events: RunEvents): Running;
  /**
   * Stops waiting for an op: its result is never heard of. Returns whether its code still runs
   * on the main thread (only evalTimeoutMs stops it there): `stopped` is called if it does.
   */
  abandon(running: Running, stopped?: () => void): boolean;
  /** The mode goes on without waiting for `running`: it is `Promise #N` now. */
  background(running: Running): number;
  /** How long the main thread has kept `running` waiting, if it is what holds it. */
  mainSilentMs(running: Running): number | undefined;
  /** Output for the client (through the line editor in character mode). */
  write(text: string): void;
  /** Show a prompt (the line editor's, in character mode). */
  prompt(prompt: string): void;
  /** Close the session once what is written has been sent; `reason` goes to the audit trail. */
  end(reason?: string): void;
  /** Runs `step` after `ms` (an error in it ends the session only); not after the session ended. */
  after(ms: number, step: () => void): void;
  readonly facts: SessionFacts;
}

/** The message for an input over the limit, wherever it is met. */
export const inputTooLong = (maxInputBytes: number): string => `longer than ${maxInputBytes} bytes (the maxInputBytes option)`;
