import { types } from 'node:util';
import type { EvalOutcome, RequestOf } from '../common/protocol.ts';
import { formatFailure, formatThrown, formatValue, replInspectOptions, within, type FormatOptions } from './format.ts';
import { listValue } from './inspector.ts';
import { toJsonValue } from './json-value.ts';
import { capText } from './output-buffer.ts';
import type { SessionContext } from './session-context.ts';

/** The longest a value may take to print (evalTimeoutMs, when it is shorter). */
const MAX_FORMAT_MS = 250;

/**
 * How a command's value or error is printed: as Node's REPL prints it (colours and the
 * window's width when the client has them), capped in length, and within a time limit of its
 * own, since printing runs getters and custom inspect functions of the session's objects.
 */
export class OutcomeFormatter {
  /** Without colours: for `tap()`, late errors and the listings' watchdog. */
  readonly plain: FormatOptions;
  readonly #colored: FormatOptions;
  /** The same, for printing under a watchdog that is already there (a command's own). */
  readonly #plainGuarded: FormatOptions = { timeoutMs: 0 };
  readonly #coloredGuarded: FormatOptions = { timeoutMs: 0, inspectOptions: { ...replInspectOptions, colors: true } };

  constructor(evalTimeoutMs: number) {
    // A value that takes longer than this to print is too large to read anyway.
    // Also with evalTimeoutMs 0 (commands may run as long as they like): printing is bounded.
    this.plain = { timeoutMs: evalTimeoutMs > 0 ? Math.min(evalTimeoutMs, MAX_FORMAT_MS) : MAX_FORMAT_MS };
    this.#colored = { ...this.plain, inspectOptions: { ...replInspectOptions, colors: true } };
  }

  /**
   * The outcome of a command that returned `value` or threw it; it becomes `_` or `_error`.
   * `guarded`: the caller runs this under a watchdog already (the command's), so none of its own.
   */
  outcome(session: SessionContext, value: unknown, threw: boolean, request: RequestOf<'eval' | 'inspect'>, guarded = false): EvalOutcome {
    session.remember(value, threw);
    let format = guarded ? (request.colors ? this.#coloredGuarded : this.#plainGuarded) : request.colors ? this.#colored : this.plain;
    if (request.columns) format = { ...format, inspectOptions: { ...(format.inspectOptions ?? replInspectOptions), breakLength: request.columns } };
    let outcome: EvalOutcome;
    if (!threw && request.kind === 'inspect') {
      outcome = this.bounded('the listing', () => listValue(value, (entry) => session.handle(entry), request.depth, request.colors));
    } else if (!threw) {
      outcome = { ok: true, text: capText(formatValue(value, format)) };
    } else if (isTimeout(value)) {
      outcome = { ok: false, text: `Uncaught Error: ${(value as Error).message} (the evalTimeoutMs option)` };
    } else {
      outcome = { ok: false, text: capText(formatThrown(value, 'Uncaught', format, session.Error)) };
    }
    if (request.kind === 'eval' && request.json) {
      const json = toJsonValue(value);
      if (json) outcome.value = json;
    }
    return outcome;
  }

  /** The command's watchdog stopped the printing of its outcome, with `leftMs` of it left when it began. */
  printStopped(value: unknown, threw: boolean, error: unknown, leftMs: number): EvalOutcome {
    const ms = Math.max(0, Math.round(leftMs));
    return threw ? { ok: false, text: `Uncaught ${formatFailure(value, error, ms, 'thrown value')}` } : { ok: true, text: formatFailure(value, error, ms, 'value') };
  }

  /** A syntax error met before the session had a context. */
  syntaxError(error: unknown, request: RequestOf<'eval' | 'inspect'>): EvalOutcome {
    const outcome: EvalOutcome = { ok: false, text: capText(formatThrown(error, 'Uncaught', request.colors ? this.#colored : this.plain)) };
    const json = request.kind === 'eval' && request.json ? toJsonValue(error) : undefined;
    if (json) outcome.value = json;
    return outcome;
  }

  /** `Uncaught ...` for what a session's code threw after its command. */
  uncaught(thrown: unknown, sessionError: ErrorConstructor): string {
    // Outside any command, so under no other watch: a getter of the error's could loop.
    const ms = this.plain.timeoutMs ?? 0;
    try {
      return capText(ms > 0 ? within(ms, () => formatThrown(thrown, 'Uncaught', this.plain, sessionError)) : formatThrown(thrown, 'Uncaught', this.plain, sessionError));
    } catch {
      return `Uncaught [a thrown value that could not be printed within ${ms} ms]`;
    }
  }

  /** A value passed to `tap()`. */
  tapped(value: unknown): EvalOutcome {
    return { ok: true, text: capText(formatValue(value, this.plain)), value: toJsonValue(value) };
  }

  /**
   * A listing (`.inspect`, `.locals`) under the formatting watchdog of its own (250 ms), also
   * inside a command's: a custom inspect function met on the way could loop, and a listing
   * that takes longer is too long to read anyway.
   */
  bounded(what: string, list: () => string): EvalOutcome {
    const ms = this.plain.timeoutMs ?? 0;
    try {
      return { ok: true, text: capText(ms > 0 ? within(ms, list) : list()) };
    } catch (error) {
      return { ok: false, text: `[${what} could not be made within ${ms} ms: ${String((error as Error)?.message ?? error)}]` };
    }
  }
}

// Only vm's own error: a thrown proxy or getter must not run here.
function isTimeout(value: unknown): boolean {
  if (!types.isNativeError(value)) return false;
  try {
    return (value as { code?: unknown }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
  } catch {
    return false;
  }
}
