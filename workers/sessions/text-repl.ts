import { lastsSeconds, parseCommand, startedText, type Args } from '../../common/ops.ts';
import { formatDuration } from '../../common/duration.ts';
import { CONFIRM_PROMPT_END, CONTINUATION_PROMPT, type OpResult, type OpValue } from '../../common/protocol.ts';
import { classifyInput, prepareInput } from '../input/input.ts';
import { InputBuffer } from '../input/input-buffer.ts';
import type { Line } from '../transport/line-splitter.ts';
import { completeLine } from './completion.ts';
import { inputTooLong, type Completions, type Mode, type ModeSession } from './mode.ts';
import { PENDING_NOTICE_MS, type RunHow, type Running } from './session.ts';

const PROMPT = '> ';
/** `.stats` answers from the worker when the main thread has not answered it within this. */
export const STATS_FALLBACK_MS = 500;

/**
 * The REPL as a person uses it, from `telnet`, `nc` or the `backdoor` client: lines gather
 * into one input until it is complete, dot-commands (the op table's), Ctrl-C, and each op's
 * output, value or error printed as Node's REPL prints them. A command that awaits for more
 * than a second gives the prompt back (`Promise #1 pending`) and prints its outcome when it
 * settles.
 */
export class TextRepl implements Mode {
  readonly #session: ModeSession;
  readonly #buffer = new InputBuffer();
  #interruptedOnce = false;
  /** The op the session waits for. */
  #running: Running | undefined;
  /** What the next line confirms (`yes`), when an op asked (`.exit-app`). */
  #confirming: (() => void) | undefined;
  #inputEnded = false;

  constructor(session: ModeSession) {
    this.#session = session;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  /** The banner and the first prompt. */
  greet(): void {
    this.#session.write(this.#session.facts.banner);
    this.#prompt();
  }

  line({ text: line, overflowed }: Line, ahead: readonly Line[] = []): void {
    const session = this.#session;
    const { maxInputBytes } = session.facts;
    const bytes = Buffer.byteLength(line) + 1;
    if (overflowed || this.#buffer.bytes + bytes > maxInputBytes) {
      this.#buffer.clear();
      session.write(`Input discarded: ${inputTooLong(maxInputBytes)}\n`);
      return this.#prompt();
    }
    if (line.startsWith('\u0004') && this.#buffer.empty) return session.end(); // Ctrl-D sent as a byte
    this.#interruptedOnce = false;
    if (this.#confirming) return this.#answer(line);
    if (this.#command(line)) return;
    if (this.#buffer.empty && /^\s*(exit|quit)(\(\))?\s*;?\s*$/.test(line)) return session.end();
    // Node's REPL numbers every line it evaluates, a line of a multi-line input or an empty
    // one too: `REPL3` is the input whose last line was the third.
    const number = session.facts.countLine();
    // As in Node's REPL, an empty line alone does nothing (white space or a comment is run:
    // it prints `undefined`); inside a multi-line input it is part of the input.
    if (line === '' && this.#buffer.empty) return this.#prompt();

    const { verdict, typed } = this.#buffer.add(line, bytes, ahead);
    if (verdict.kind === 'incomplete') return this.#prompt(CONTINUATION_PROMPT);
    if (verdict.kind === 'refused') {
      session.write(`Uncaught ${verdict.message}\n`);
      return this.#prompt();
    }
    // Node's REPL answers a line like `npm install x` that does not compile with this.
    if (verdict.kind === 'error' && typed === line && line.trim().startsWith('npm ')) {
      session.write('npm should be run outside of the Node.js REPL, in your normal shell.\n(Press Ctrl+D to exit.)\n');
      return this.#prompt();
    }
    // White space or comments before any code ran: `undefined`, as the main thread would say,
    // without making a context there for it.
    if (verdict.kind === 'empty' && !session.facts.usedContext) {
      session.write('undefined\n');
      return this.#prompt();
    }
    this.#run('eval', { code: typed }, { typed, input: prepareInput(verdict, typed, number), view: this.#view() });
  }

  /**
   * A dot-command. Returns false when the line is JavaScript after all: as in Node's REPL, a
   * line is a command when it starts with one `.` and is not a number (`.5`), and an unknown
   * name is an error unless it continues a multi-line input (`.then(...)`).
   */
  #command(line: string): boolean {
    const trimmed = line.trim();
    if (!trimmed.startsWith('.') || trimmed[1] === '.' || !Number.isNaN(Number.parseFloat(trimmed))) return false;
    const parsed = parseCommand(trimmed.slice(1));
    if (!parsed) {
      if (!this.#buffer.empty) return false;
      this.#session.write('Invalid REPL keyword\n');
      this.#prompt();
      return true;
    }
    // Typed inside an unfinished input, a command leaves it as it is, as in Node's REPL.
    if ('usage' in parsed) {
      this.#session.write(`Usage: ${parsed.usage}\n`);
      this.#prompt();
      return true;
    }
    const { op, args } = parsed;
    if (op.name === 'inspect') {
      const verdict = classifyInput(String(args.code));
      if (verdict.kind !== 'complete' || verdict.awaited) {
        this.#session.write('Usage: .inspect <expression> [depth]  (an expression without await; `const v = await ...` first)\n');
        this.#prompt();
        return true;
      }
      this.#run('inspect', args, { typed: trimmed, input: prepareInput(verdict, trimmed, this.#session.facts.lines), view: this.#view() });
    } else if (op.name === 'exit-app') {
      this.#confirm(`End the app (pid ${process.pid}) with exit code ${String(args.code)}? Its 'exit' listeners run, every session ends. ${CONFIRM_PROMPT_END}`, () => {
        this.#session.write(`Ending the app (pid ${process.pid}) with exit code ${String(args.code)}.\n`);
        this.#run('exit-app', { ...args, confirm: true }, { typed: trimmed });
      });
    } else if (op.name === 'stats') {
      this.#stats(trimmed);
    } else {
      this.#run(op.name, args, { typed: trimmed });
    }
    return true;
  }

  /** Runs an op and prints what comes of it, as the REPL prints it. */
  #run(op: string, args: Args, how: RunHow): Running {
    if (this.#inputEnded && lastsSeconds(op)) {
      this.#session.write(`Not started: ${how.typed} would run after the client closed its side of the connection.\n`);
      this.#prompt();
      return { op, typed: how.typed, started: 0, pending: false, over: true };
    }
    const session = this.#session;
    const running = session.run(op, args, how, {
      output: (text) => session.write(text),
      started: () => session.write(startedText(op, args)),
      waiting: (ms, _code, reason) => session.write(`(waiting ${(ms / 1000).toFixed(1)} s: ${reason}; Ctrl+C abandons it)\n`),
      pending: () =>
        session.after(PENDING_NOTICE_MS, () => {
          if (this.#running !== running || running.over) return;
          this.#running = undefined;
          session.write(`Promise #${session.background(running)} pending\n`);
          this.#prompt();
        }),
      done: (result) => this.#done(running, op, result),
    });
    if (!running.over) this.#running = running;
    return running;
  }

  #done(running: Running, op: string, result: OpResult): void {
    const session = this.#session;
    if (running.promise !== undefined) {
      // Printed above the prompt the session has gone on with.
      session.write(`Promise #${running.promise} ${result.status === 'done' ? 'fulfilled' : 'rejected'}: ${result.value.text}\n`);
      if (!session.facts.characterMode && !this.busy) this.#prompt();
      return;
    }
    if (this.#running === running) this.#running = undefined;
    if (op === 'mode' || op === 'exit') return; // another mode speaks now, or the session is over
    if (op === 'clear' || op === 'break') this.#buffer.clear();
    if (result.value.text !== '') session.write(result.value.text.endsWith('\n') ? result.value.text : `${result.value.text}\n`);
    this.#prompt();
  }

  /** `.stats`: when the main thread does not answer, what the worker knows, rather than a silent wait. */
  #stats(typed: string): void {
    const session = this.#session;
    const running = this.#run('stats', {}, { typed, note: session.facts.workerReport() });
    session.after(STATS_FALLBACK_MS, () => {
      if (this.#running !== running || running.over) return;
      // Only when the main thread is what it waits for; else (the budget, its turn) the notice
      // says why it waits, after a second.
      const silent = session.mainSilentMs(running);
      if (silent === undefined) return;
      session.abandon(running);
      this.#running = undefined;
      session.write(`The app's main thread has not answered for ${(silent / 1000).toFixed(1)} s: it is busy (the app's own work, or a long command). .stack shows where.\n${session.facts.workerReport()}\n`);
      this.#prompt();
    });
  }

  #confirm(question: string, then: () => void): void {
    this.#confirming = then;
    this.#prompt(question);
  }

  /** The line after a question (`#confirm`): only `yes` goes on. */
  #answer(line: string): void {
    const then = this.#confirming!;
    this.#confirming = undefined;
    if (line.trim() === 'yes') return then();
    this.#session.write('Not confirmed: nothing was done.\n');
    this.#prompt();
  }

  close(): void {
    if (this.#running) this.#session.abandon(this.#running);
  }

  /**
   * Lines typed while an op runs wait for it, but `.exit` behind a profile or heap sample ends
   * it at once: the operator is leaving, and nobody would read it.
   */
  queued(lines: Line[]): void {
    const running = this.#running;
    if (!running || !lastsSeconds(running.op) || !lines.some((line) => line.text.trim() === '.exit')) return;
    this.#session.abandon(running);
    this.#running = undefined;
    this.#session.write(`Abandoned: ${running.typed} (.exit).\n`);
  }

  /** The client closed its side: a running profile or heap sample is abandoned (nobody reads it). */
  inputEnded(): void {
    this.#inputEnded = true;
    const running = this.#running;
    if (running && lastsSeconds(running.op)) {
      this.#session.abandon(running);
      this.#running = undefined;
      this.#session.write(`Abandoned: the client closed its side of the connection.\n`);
      this.#prompt();
    }
  }

  /** Ctrl-C: abandon the running op, or the half-typed input, and give a fresh prompt. */
  interrupt(hadText: boolean): void {
    const session = this.#session;
    const newline = () => {
      if (!session.facts.characterMode) session.write('\n');
    };
    if (this.#confirming) {
      this.#confirming = undefined;
      newline();
      session.write('Not confirmed: nothing was done.\n');
    } else if (this.#running) {
      const running = this.#running;
      this.#running = undefined;
      newline();
      // Synchronous code cannot be interrupted on the main thread: say so, and say when it ends.
      const limit = session.facts.evalTimeoutMs;
      if (session.abandon(running, () => this.uncaught(`The interrupted command was stopped at ${formatDuration(limit)} (evalTimeoutMs).`))) {
        session.write(`The command is still running on the main thread; ${limit > 0 ? `it will be stopped at ${formatDuration(limit)}` : 'nothing stops it'} (evalTimeoutMs).\n`);
      }
    } else if (!this.#buffer.empty || hadText) {
      this.#buffer.clear();
      newline();
    } else if (!this.#interruptedOnce) {
      this.#interruptedOnce = true;
      session.write(`${session.facts.characterMode ? '' : '\n'}(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n`);
    } else {
      return session.end();
    }
    this.#prompt();
  }

  output(text: string): void {
    this.#session.write(text);
  }

  /** Printed as Node's REPL prints it (and other news of the session's), then a fresh prompt when none is being answered. */
  uncaught(text: string): void {
    this.#session.write(`${text}\n`);
    if (!this.#session.facts.characterMode && !this.busy && this.#buffer.empty) this.#prompt();
  }

  tap(value: OpValue): void {
    this.#session.write(`tap: ${value.text}\n`);
  }

  characterMode(): void {
    if (!this.busy) this.#prompt(this.#buffer.empty ? PROMPT : CONTINUATION_PROMPT);
  }

  /** Tab completion: dot-commands, names of the session (declared, or globals), or properties. */
  complete(line: string): Promise<Completions> {
    return completeLine(this.#session, line);
  }

  #view(): { colors: boolean; columns?: number; json: false } {
    const { characterMode, colors, columns } = this.#session.facts;
    return characterMode && columns ? { colors, columns, json: false } : { colors, json: false };
  }

  /** The prompt: `... ` while an input is unfinished, as Node's REPL shows it. */
  #prompt(prompt = this.#buffer.empty ? PROMPT : CONTINUATION_PROMPT): void {
    this.#session.prompt(prompt);
  }
}
