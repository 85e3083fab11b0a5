import { CONTINUATION_PROMPT, type EvalOutcome } from '../common/protocol.ts';
import { PENDING_NOTICE_MS, type Running, type SessionRequest } from './command-runner.ts';
import { completionTarget } from './completion.ts';
import { DiagnosisRun } from './diagnosis-run.ts';
import { classifyInput, evalRequest } from './input.ts';
import { JsonRepl } from './json-repl.ts';
import type { Line } from './line-splitter.ts';
import { inputTooLong, type Mode, type ModeHost } from './mode.ts';
import type { Diagnose } from './diagnostics.ts';
import { replCommands, type CommandRequest, type ReplCommandHost } from './repl-commands.ts';

const PROMPT = '> ';
/** A multi-line input past this many bytes is parsed again only by a line that could end it. */
const BIG_INPUT_BYTES = 16 * 1024;
/** `.stats` answers from the worker when the main thread has not answered it within this. */
export const STATS_FALLBACK_MS = 500;

/**
 * The REPL as a person uses it, from `telnet`, `nc` or the `backdoor` client: lines gather
 * into one input until it is complete, dot-commands, Ctrl-C, and each command's output, value
 * or error printed as Node's REPL prints them. A command that awaits for more than a second
 * gives the prompt back (`Promise #1 pending`) and prints its outcome when it settles.
 */
export class TextRepl implements Mode, ReplCommandHost {
  readonly name = 'text';
  readonly #host: ModeHost;
  #buffer = '';
  #bufferBytes = 0;
  /** What the unfinished input waits for, when it was parsed last (see `#mightEnd`). */
  #until: string | undefined;
  #interruptedOnce = false;
  /** A diagnosis running in the worker (`.stack`, `.profile`): Ctrl-C aborts it. */
  #diagnosis: DiagnosisRun | undefined;
  /** What the next line confirms (`yes`), when a command asked (`.exit-app`). */
  #confirming: (() => void) | undefined;

  constructor(host: ModeHost) {
    this.#host = host;
  }

  get busy(): boolean {
    return this.#host.runner.running !== undefined || this.#diagnosis !== undefined;
  }

  get locals(): readonly string[] {
    return this.#host.config.locals;
  }

  /** The banner and the first prompt. */
  greet(): void {
    this.#host.write(this.#host.banner);
    this.#prompt();
  }

  line({ text: line, overflowed }: Line): void {
    const host = this.#host;
    const { maxInputBytes } = host.config;
    const bytes = Buffer.byteLength(line) + 1;
    if (overflowed || this.#bufferBytes + bytes > maxInputBytes) {
      this.#clearBuffer();
      host.write(`Input discarded: ${inputTooLong(maxInputBytes)}\n`);
      return this.#prompt();
    }
    if (line.startsWith('\u0004') && this.#buffer === '') return host.end(); // Ctrl-D sent as a byte
    this.#interruptedOnce = false;
    if (this.#confirming) return this.#answer(line);
    if (this.#command(line)) return;
    if (this.#buffer === '' && /^\s*(exit|quit)(\(\))?\s*;?\s*$/.test(line)) return host.end();
    // Node's REPL numbers every line it evaluates, a line of a multi-line input or an empty
    // one too: `REPL3` is the input whose last line was the third.
    host.runner.linesEvaluated++;
    // As in Node's REPL, an empty line alone does nothing (white space or a comment is run:
    // it prints `undefined`); inside a multi-line input it is part of the input.
    if (line === '' && this.#buffer === '') return this.#prompt();

    const mightEnd = this.#mightEnd(line);
    this.#buffer = this.#buffer === '' ? line : `${this.#buffer}\n${line}`;
    this.#bufferBytes += bytes;
    const verdict = mightEnd ? classifyInput(this.#buffer) : { kind: 'incomplete' as const, until: this.#until };
    if (verdict.kind === 'incomplete') {
      this.#until = verdict.until;
      return this.#prompt(CONTINUATION_PROMPT);
    }
    this.#until = undefined;
    const typed = this.#buffer;
    this.#clearBuffer();
    if (verdict.kind === 'refused') {
      host.write(`Uncaught ${verdict.message}\n`);
      return this.#prompt();
    }
    // White space or comments before any code ran: `undefined`, as the main thread would say,
    // without making a context there for it.
    if (verdict.kind === 'empty' && !host.runner.usedContext) {
      host.write('undefined\n');
      return this.#prompt();
    }
    host.runner.run({ ...evalRequest(verdict, typed, host.runner.linesEvaluated), json: false, colors: host.negotiation.colors, columns: this.#columns() }, typed);
  }

  /**
   * A dot-command. Returns false when the line is JavaScript after all: as in Node's REPL, a
   * line is a command when it starts with one `.` and is not a number (`.5`), and an unknown
   * name is an error unless it continues a multi-line input (`.then(...)`).
   */
  #command(line: string): boolean {
    const trimmed = line.trim();
    if (!trimmed.startsWith('.') || trimmed[1] === '.' || !Number.isNaN(Number.parseFloat(trimmed))) return false;
    const [, name, rest] = /^\.(\S+)\s*(.*)$/s.exec(trimmed)!;
    if (!Object.hasOwn(replCommands, name)) {
      if (this.#buffer !== '') return false;
      this.#host.write('Invalid REPL keyword\n');
      this.#prompt();
      return true;
    }
    this.#clearBuffer();
    if (replCommands[name].action(this, rest, trimmed) === 'prompt') this.#prompt();
    return true;
  }

  // ReplCommandHost: what the dot-commands do.

  write(text: string): void {
    this.#host.write(text);
  }

  end(): void {
    this.#host.end();
  }

  clearContext(): void {
    this.#host.runner.newContext();
  }

  jsonMode(): void {
    this.#host.leaveCharacterMode();
    this.#host.use(new JsonRepl(this.#host));
  }

  confirm(question: string, then: () => void): void {
    this.#confirming = then;
    this.#prompt(question);
  }

  /** The line after a question (`confirm`): only `yes` goes on. */
  #answer(line: string): void {
    const then = this.#confirming!;
    this.#confirming = undefined;
    if (line.trim() === 'yes') return then();
    this.#host.write('Not confirmed: nothing was done.\n');
    this.#prompt();
  }

  run(request: CommandRequest, typed: string): void {
    const host = this.#host;
    const colors = host.negotiation.colors;
    let body: SessionRequest;
    if (request.kind === 'inspect') body = { ...request, line: host.runner.linesEvaluated, colors, columns: this.#columns() };
    else if (request.kind === 'locals') body = { kind: 'locals', colors };
    else if (request.kind === 'heap') body = request;
    else if (request.kind === 'exit-app') {
      host.write(`Ending the app (pid ${process.pid}) with exit code ${request.exitCode}.\n`);
      body = request;
    } else body = { kind: 'stats', workerReport: host.workerReport() };
    const running = host.runner.run(body, typed);
    if (request.kind === 'stats') {
      // A main thread that does not answer: what the worker knows, rather than a silent wait.
      setTimeout(() => host.guard(() => {
        if (host.runner.running !== running) return;
        // Only when the main thread is what it waits for; else (the budget, its turn) the
        // dispatcher's notice says why it waits, after a second.
        const silent = host.runner.mainSilentMs(running);
        if (silent === undefined) return;
        host.runner.abandon(running);
        host.write(
          `The app's main thread has not answered for ${(silent / 1000).toFixed(1)} s: it is busy (the app's own work, or a long command). .stack shows where.\n` +
            `${host.workerReport()}\n`,
        );
        this.#prompt();
        host.drain();
      }), STATS_FALLBACK_MS);
    }
  }

  diagnose(diagnose: Diagnose, typed: string): void {
    const host = this.#host;
    const run = new DiagnosisRun(host, typed, diagnose, (diagnosis) => {
      this.#diagnosis = undefined;
      host.write(`${diagnosis.text}\n`);
      this.#prompt();
      host.drain();
    });
    this.#diagnosis = run;
  }

  close(): void {
    this.#abandonDiagnosis();
  }

  /** Stops the diagnosis running, if one is. */
  #abandonDiagnosis(): boolean {
    const diagnosis = this.#diagnosis;
    this.#diagnosis = undefined;
    diagnosis?.abandon();
    return diagnosis !== undefined;
  }

  /** Ctrl-C: abandon the running command, or the half-typed input, and give a fresh prompt. */
  interrupt(hadText: boolean): void {
    const host = this.#host;
    host.discardTypedAhead(); // typed ahead before the interrupt: discarded, as a terminal does
    const running = host.runner.running;
    if (this.#confirming) {
      this.#confirming = undefined;
      host.write(`${host.characterMode ? '' : '\n'}Not confirmed: nothing was done.\n`);
    } else if (running) {
      host.runner.abandon(running);
      if (!host.characterMode) host.write('\n');
    } else if (this.#abandonDiagnosis()) {
      if (!host.characterMode) host.write('\n');
    } else if (this.#buffer !== '' || hadText) {
      this.#clearBuffer();
      if (!host.characterMode) host.write('\n');
    } else if (!this.#interruptedOnce) {
      this.#interruptedOnce = true;
      host.write(`${host.characterMode ? '' : '\n'}(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n`);
    } else {
      return host.end();
    }
    this.#prompt();
  }

  output(text: string): void {
    this.#host.write(text);
  }

  /** Printed as Node's REPL prints it, then a fresh prompt when none is being answered. */
  uncaught(text: string): void {
    this.#host.write(`${text}\n`);
    if (!this.#host.characterMode && !this.busy && this.#buffer === '') this.#prompt();
  }

  tap(outcome: EvalOutcome): void {
    this.#host.write(`tap: ${outcome.text}\n`);
  }

  commandOutput(_running: Running, text: string): void {
    this.#host.write(text);
  }

  /** Never silent: the command waits for the main thread, and why. */
  commandWaiting(_running: Running, ms: number, reason: string): void {
    this.#host.write(`(waiting ${(ms / 1000).toFixed(1)} s: ${reason}; Ctrl+C abandons it)\n`);
  }

  /** The main thread is awaiting it: if that lasts, give the prompt back. */
  commandPending(running: Running): void {
    const host = this.#host;
    setTimeout(() => host.guard(() => {
      if (host.runner.running !== running) return;
      const number = host.runner.background(running);
      host.write(`Promise #${number} pending\n`);
      this.#prompt();
      host.drain();
    }), PENDING_NOTICE_MS);
  }

  commandDone(running: Running, outcome: EvalOutcome): void {
    const host = this.#host;
    if (running.promise !== undefined) {
      // Printed above the prompt the session has gone on with.
      host.write(`Promise #${running.promise} ${outcome.ok ? 'fulfilled' : 'rejected'}: ${outcome.text}\n`);
      if (!host.characterMode && !this.busy) this.#prompt();
      return;
    }
    host.write(`${outcome.text}\n`);
    this.#prompt();
    host.drain();
  }

  characterMode(): void {
    if (!this.busy && this.#host.linesQueued === 0) this.#prompt(this.#buffer === '' ? PROMPT : CONTINUATION_PROMPT);
  }

  /** Tab completion: dot-commands, names of the session (declared, or globals), or properties. */
  async complete(line: string): Promise<[string[], string]> {
    if (/^\s*\.\w*$/.test(line)) {
      const typed = line.trim();
      return [Object.keys(replCommands).map((name) => `.${name}`).filter((name) => name.startsWith(typed)), typed];
    }
    const target = completionTarget(line);
    if (!target) return [[], line];
    const outcome = await this.#host.runner.complete(target.path, target.prefix);
    return [(outcome.names ?? []).map((name) => target.chain + name), target.chain + target.prefix];
  }

  #columns(): number | undefined {
    return this.#host.characterMode ? this.#host.negotiation.columns : undefined;
  }

  #clearBuffer(): void {
    this.#buffer = '';
    this.#bufferBytes = 0;
    this.#until = undefined;
  }

  /**
   * Whether `line` could end the unfinished input in the buffer. Each line is parsed with all
   * those before it, which a paste of thousands of lines into one input makes quadratic (and the
   * worker serves every session). So past BIG_INPUT_BYTES, a line is not parsed when it cannot
   * end the input: it lacks what an unterminated template or comment waits for, or it ends with
   * an opening bracket or a comma (a pasted JSON object, line by line). (Such a line ending
   * inside a line comment, `x = 1 // (`, is then parsed with the next line.)
   */
  #mightEnd(line: string): boolean {
    if (this.#buffer === '' || this.#bufferBytes < BIG_INPUT_BYTES) return true;
    if (this.#until !== undefined) return line.includes(this.#until);
    return !/[([{,]\s*$/.test(line);
  }

  #prompt(prompt = PROMPT): void {
    this.#host.prompt(prompt);
  }
}
