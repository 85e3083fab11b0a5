import { performance } from 'node:perf_hooks';
import { lastsSeconds, opNamed, parseCommand, type Args } from '../../common/ops.ts';
import type { OpResult, OpValue } from '../../common/protocol.ts';
import { classifyInput, prepareInput } from '../input/input.ts';
import type { Line } from '../transport/line-splitter.ts';
import { completionTarget } from './completion.ts';
import { errLine, modeLine, outLine, parseJsonInput, retLine, startedLine, tapLine, uncaughtLine, waitLine, type JsonId, type JsonInput } from './json-mode.ts';
import { inputTooLong, type Mode, type ModeSession } from './mode.ts';
import type { RunHow, Running } from './session.ts';

const INTERRUPTED = 'Interrupted: no longer waited for (synchronous code still runs to its end or evalTimeoutMs)';

/**
 * The JSON-lines protocol for tools (see json-mode.ts for its messages): one input per line,
 * one op each, every answer tagged with the input's id, and `{"interrupt": id}` answered at
 * once, ahead of the inputs queued before it.
 */
export class JsonRepl implements Mode {
  readonly #session: ModeSession;
  #running: { running: Running; id: JsonId; op: string } | undefined;

  constructor(session: ModeSession) {
    this.#session = session;
    session.write(modeLine());
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  line({ text, overflowed }: Line): void {
    const session = this.#session;
    if (text.trim() === '') return;
    const input = overflowed ? { ok: false as const, id: null, message: inputTooLong(session.facts.maxInputBytes) } : parseJsonInput(text);
    if (!input.ok) return session.write(errLine(input.id, 'bad-args', input.message));
    if ('interrupt' in input) return session.write(errLine(input.interrupt, 'bad-args', 'nothing is running with that id'));
    if ('command' in input) {
      const parsed = parseCommand(input.command.trim().replace(/^\./, ''));
      if (!parsed) return session.write(errLine(input.id, 'unknown-op', `unknown command ${JSON.stringify(input.command.slice(0, 40))} (see {"op": "describe"})`));
      if ('usage' in parsed) return this.#answer(input.id, parsed.op.name, { status: 'error', code: 'bad-args', value: { text: `usage: ${parsed.usage}` } });
      return this.#op(input.id, parsed.op.name, parsed.args, input.command);
    }
    const typed = input.op === 'eval' && typeof (input.args as Args | undefined)?.code === 'string' ? String((input.args as Args).code) : JSON.stringify({ op: input.op, args: input.args }).slice(0, 1000);
    this.#op(input.id, input.op, input.args, typed);
  }

  /** An op, with what typed code needs prepared: parsed, rewritten for await, and counted as a line. */
  #op(id: JsonId, op: string, args: unknown, typed: string): void {
    const how: RunHow = { typed };
    const code = (args as Args | undefined)?.code;
    if ((op === 'eval' || op === 'inspect') && typeof code === 'string') {
      const verdict = classifyInput(code);
      if (verdict.kind === 'incomplete') return this.#answer(id, op, { status: 'error', code: 'incomplete', value: { text: 'incomplete input: the code must be complete in one input' } });
      if (verdict.kind === 'refused') return this.#answer(id, op, { status: 'error', code: 'thrown', value: { text: `Uncaught ${verdict.message}` } });
      if (op === 'inspect' && (verdict.kind !== 'complete' || verdict.awaited)) return this.#answer(id, op, { status: 'error', code: 'bad-args', value: { text: 'inspect takes an expression without await' } });
      if (verdict.kind === 'empty' && !this.#session.facts.usedContext) return this.#answer(id, op, { status: 'done', value: { text: 'undefined', json: { json: null, meta: { values: ['undefined'] } } } });
      how.input = prepareInput(verdict, code, op === 'eval' ? this.#session.facts.countLine() : this.#session.facts.lines);
      how.view = { colors: false, json: op === 'eval' };
    } else if (op === 'complete' && typeof (args as Args | undefined)?.line === 'string') {
      const line = String((args as Args).line);
      const target = completionTarget(line);
      if (!target) return this.#answer(id, op, { status: 'done', value: { text: '', names: [], completed: line } });
      how.target = { path: target.path, prefix: target.prefix };
      return this.#start(id, op, args as Args, how, (result) => ({
        ...result,
        value: { ...result.value, names: (result.value.names ?? []).map((name) => target.chain + name), completed: target.chain + target.prefix },
      }));
    } else if (op === 'stats') {
      how.note = this.#session.facts.workerReport();
    }
    this.#start(id, op, (args ?? {}) as Args, how);
  }

  #start(id: JsonId, op: string, args: Args, how: RunHow, shape: (result: OpResult) => OpResult = (result) => result): void {
    const session = this.#session;
    const started = performance.now();
    const running = session.run(op, args, how, {
      output: (text) => session.write(outLine(id, text)),
      waiting: (ms, code, reason) => session.write(waitLine(id, ms, code, reason)),
      started: () => {
        if (lastsSeconds(op)) session.write(startedLine(id, op));
      },
      done: (result) => {
        if (this.#running?.running === running) this.#running = undefined;
        // `mode` to text: that mode speaks now (it greets).
        if (op !== 'mode' || result.status === 'error') session.write(retLine(id, op, shape(result), performance.now() - started));
      },
    });
    if (!running.over) this.#running = { running, id, op };
  }

  #answer(id: JsonId, op: string, result: OpResult): void {
    this.#session.write(retLine(id, opNamed(op) ? op : String(op), result, 0));
  }

  /**
   * An input running: the queued `{"interrupt": id}` lines for it (or for an input still queued
   * behind it, which is then dropped) are answered now.
   */
  queued(lines: Line[]): void {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      // A line looked at once is decided: an interrupt of nothing running nor queued before it
      // is answered in its turn.
      if (examined.has(line)) continue;
      examined.add(line);
      if (line.overflowed || !line.text.includes('"interrupt"')) continue;
      const input = parsedLine(line);
      if (!input.ok || !('interrupt' in input)) continue;
      const current = this.#running;
      const queued = lines.findIndex((other, at) => at < i && queuedInputId(other) === input.interrupt);
      if (current?.id === input.interrupt) {
        this.#session.abandon(current.running);
        this.#running = undefined;
        this.#answer(input.interrupt, current.op, { status: 'error', code: 'interrupted', value: { text: INTERRUPTED } });
      } else if (queued !== -1) {
        const [dropped] = lines.splice(queued, 1);
        i--;
        const op = parsedLine(dropped);
        this.#answer(input.interrupt, op.ok && 'op' in op ? op.op : 'eval', { status: 'error', code: 'interrupted', value: { text: INTERRUPTED } });
      } else {
        continue; // answered in its turn: nothing is running with that id
      }
      lines.splice(i, 1);
      i--;
    }
  }

  interrupt(): void {} // a tool sends {"interrupt": id}

  /** The client closed its side: a running profile or heap sample is abandoned. */
  inputEnded(): void {
    const current = this.#running;
    if (current && lastsSeconds(current.op)) {
      this.#session.abandon(current.running);
      this.#running = undefined;
      this.#answer(current.id, current.op, { status: 'error', code: 'interrupted', value: { text: 'Abandoned: the client closed its side of the connection.' } });
    }
  }

  close(): void {
    if (this.#running) this.#session.abandon(this.#running.running);
    this.#running = undefined;
  }

  output(text: string): void {
    this.#session.write(outLine(null, text));
  }

  uncaught(text: string): void {
    this.#session.write(uncaughtLine(text));
  }

  tap(value: OpValue): void {
    this.#session.write(tapLine(value));
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
  if (line.overflowed || !(line.text.includes('"code"') || line.text.includes('"command"') || line.text.includes('"op"'))) return undefined;
  const input = parsedLine(line);
  return input.ok && ('op' in input || 'command' in input) ? input.id : undefined;
}
