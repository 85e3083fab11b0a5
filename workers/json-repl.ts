import { performance } from 'node:perf_hooks';
import type { EvalOutcome } from '../common/protocol.ts';
import type { Running } from './command-runner.ts';
import { classifyInput, evalRequest } from './input.ts';
import { diagnosisCommand } from './diagnostics.ts';
import { exitCode } from './repl-commands.ts';
import { DiagnosisRun } from './diagnosis-run.ts';
import { diagnosisLine, errLine, modeLine, outLine, parseJsonInput, retLine, tapLine, uncaughtLine, waitLine, type JsonId, type JsonInput } from './json-mode.ts';
import type { Line } from './line-splitter.ts';
import { inputTooLong, type Mode, type ModeHost } from './mode.ts';

const INTERRUPTED = 'Interrupted: no longer waited for (synchronous code still runs to its end or evalTimeoutMs)';

/**
 * The JSON-lines protocol for tools (see json-mode.ts for its messages): one complete input
 * per line, every answer tagged with the input's id, and `{"interrupt": id}` answered at once,
 * ahead of the inputs queued before it.
 */
export class JsonRepl implements Mode {
  readonly name = 'json';
  readonly #host: ModeHost;
  /** A diagnosis running in the worker, and its input's id. */
  #diagnosis: { run: DiagnosisRun; id: JsonId; tag: string } | undefined;

  constructor(host: ModeHost) {
    this.#host = host;
    host.write(modeLine());
  }

  get busy(): boolean {
    return this.#host.runner.running !== undefined || this.#diagnosis !== undefined;
  }

  line({ text, overflowed }: Line): void {
    const host = this.#host;
    if (text.trim() === '') return;
    const input = overflowed ? { ok: false as const, id: null, message: inputTooLong(host.config.maxInputBytes) } : parseJsonInput(text);
    if (!input.ok) return host.write(errLine(input.id, input.message));
    if ('interrupt' in input) return host.write(errLine(input.interrupt, 'nothing is running with that id'));
    if ('command' in input) return /^\s*\.exit-app\b/.test(input.command) ? this.#exitApp(input.id, input.command, input.confirm) : this.#diagnose(input.id, input.command);
    const verdict = classifyInput(input.code);
    if (verdict.kind === 'incomplete') return host.write(errLine(input.id, 'incomplete input: the code must be complete in one input'));
    if (verdict.kind === 'refused') return host.write(retLine(input.id, { ok: false, text: `Uncaught ${verdict.message}` }, 0));
    if (verdict.kind === 'empty' && !host.runner.usedContext) {
      return host.write(retLine(input.id, { ok: true, text: 'undefined', value: { json: null, meta: { values: ['undefined'] } } }, 0));
    }
    const line = ++host.runner.linesEvaluated;
    host.runner.run({ ...evalRequest(verdict, input.code, line), json: true, colors: false }, input.code, input.id);
  }

  /** `{"id": ..., "command": ".exit-app 3", "confirm": true}`: the app ends; no answer comes. */
  #exitApp(id: JsonId, typed: string, confirmed: boolean): void {
    const code = exitCode(typed.replace(/^\s*\.exit-app/, ''));
    if (code === undefined) return this.#host.write(errLine(id, 'usage: .exit-app [code] (an exit code from 0 to 255)'));
    if (!confirmed) return this.#host.write(errLine(id, '.exit-app ends the app: send it with "confirm": true'));
    this.#host.runner.run({ kind: 'exit-app', exitCode: code }, typed, id);
  }

  /** `{"id": ..., "command": ".stack"}`: answered with a line tagged with the command's name. */
  #diagnose(id: JsonId, typed: string): void {
    const host = this.#host;
    const [, name, rest] = /^\s*\.(\S*)\s*(.*)$/s.exec(typed) ?? [];
    const command = name === undefined ? undefined : diagnosisCommand(name, rest);
    if (!command) return host.write(errLine(id, `unknown command ${JSON.stringify(typed.slice(0, 40))}: ".stack", ".profile [seconds]" or ".heap sample [seconds]"`));
    if ('usage' in command) return host.write(errLine(id, `usage: ${command.usage}`));
    const run = new DiagnosisRun(host, typed, command.diagnose, (diagnosis, ok) => {
      this.#diagnosis = undefined;
      host.write(diagnosisLine(command.tag, id, ok, diagnosis));
      host.drain();
    });
    this.#diagnosis = { run, id, tag: command.tag };
  }

  /**
   * An input running: the queued `{"interrupt": id}` lines for it (or for an input still queued
   * behind it, which is then dropped) are answered now. Lines that arrived before `.mode json`
   * was handled are looked at too, once it has been.
   */
  queued(lines: Line[]): void {
    const host = this.#host;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      // A line looked at once is decided: an interrupt of nothing running nor queued before it
      // is answered in its turn.
      if (examined.has(line)) continue;
      examined.add(line);
      if (line.overflowed || !line.text.includes('"interrupt"')) continue;
      const input = parsedLine(line);
      if (!input.ok || !('interrupt' in input)) continue;
      const running = host.runner.running;
      const diagnosis = this.#diagnosis;
      const queued = lines.findIndex((other, at) => at < i && queuedInputId(other) === input.interrupt);
      if (diagnosis?.id === input.interrupt) {
        this.#diagnosis = undefined;
        diagnosis.run.abandon();
        host.write(diagnosisLine(diagnosis.tag, input.interrupt, false, { text: 'Interrupted' }));
      } else if (running?.id === input.interrupt) {
        host.runner.abandon(running);
        host.write(retLine(input.interrupt, { ok: false, text: INTERRUPTED }, performance.now() - running.started));
      } else if (queued !== -1) {
        lines.splice(queued, 1);
        i--;
        host.write(retLine(input.interrupt, { ok: false, text: INTERRUPTED }, 0));
      } else {
        continue; // answered in its turn: nothing is running with that id
      }
      lines.splice(i, 1);
      i--;
    }
  }

  interrupt(): void {} // a tool sends {"interrupt": id}

  close(): void {
    this.#diagnosis?.run.abandon();
    this.#diagnosis = undefined;
  }

  output(text: string): void {
    this.#host.write(outLine(null, text));
  }

  uncaught(text: string): void {
    this.#host.write(uncaughtLine(text));
  }

  tap(outcome: EvalOutcome): void {
    this.#host.write(tapLine(outcome));
  }

  commandOutput(running: Running, text: string): void {
    this.#host.write(outLine(running.id ?? null, text));
  }

  commandPending(): void {} // answered when it settles

  commandWaiting(running: Running, ms: number, reason: string): void {
    this.#host.write(waitLine(running.id ?? null, ms, reason));
  }

  commandDone(running: Running, outcome: EvalOutcome): void {
    this.#host.write(retLine(running.id ?? null, outcome, performance.now() - running.started));
    this.#host.drain();
  }
}

/**
 * Queued lines as read, each parsed once: `queued` looks at the whole queue for every line that
 * arrives, and parsing it all again each time would be quadratic in the queue's size.
 */
const parsedLines = new WeakMap<Line, JsonInput>();
/** Queued lines that `queued` has looked at. */
const examined = new WeakSet<Line>();

function parsedLine(line: Line): JsonInput {
  let input = parsedLines.get(line);
  if (input === undefined) {
    input = parseJsonInput(line.text);
    parsedLines.set(line, input);
  }
  return input;
}

/** The id of a queued JSON-mode input line, or undefined for anything else. */
function queuedInputId(line: Line): JsonId | undefined {
  if (line.overflowed || !(line.text.includes('"code"') || line.text.includes('"command"'))) return undefined;
  const input = parsedLine(line);
  return input.ok && ('code' in input || 'command' in input) ? input.id : undefined;
}
