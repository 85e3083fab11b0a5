import { types } from 'node:util';
import type { OpResult, OpValue, ValueView } from '../common/protocol.ts';
import { formatFailure, formatThrown, formatValue, replInspectOptions, within, type FormatOptions } from './format.ts';
import { listValue } from './inspector.ts';
import { toJsonValue } from './json-value.ts';
import { capText } from './output-buffer.ts';
import type { SessionContext } from './session-context.ts';

/** What is printed: a command's value (`eval`), or a listing of it (`inspect`, to `depth`). */
export interface PrintRequest {
  op: 'eval' | 'inspect';
  depth?: number;
  view: ValueView;
}

/** An op that ended well, with what it answers. */
export const done = (value: OpValue): OpResult => ({ status: 'done', value });
/** One whose code threw (or does not compile: `syntax`). */
export const thrown = (value: OpValue, code: 'thrown' | 'syntax' | 'timeout' = 'thrown'): OpResult => ({ status: 'error', code, value });

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
  outcome(session: SessionContext, value: unknown, threw: boolean, request: PrintRequest, guarded = false): OpResult {
    session.remember(value, threw);
    const { view } = request;
    let format = guarded ? (view.colors ? this.#coloredGuarded : this.#plainGuarded) : view.colors ? this.#colored : this.plain;
    if (view.columns) format = { ...format, inspectOptions: { ...(format.inspectOptions ?? replInspectOptions), breakLength: view.columns } };
    let result: OpResult;
    if (!threw && request.op === 'inspect') {
      result = this.bounded('the listing', () => listValue(value, (entry) => session.handle(entry), request.depth, view.colors));
    } else if (!threw) {
      result = done({ text: capText(formatValue(value, format)) });
    } else if (isTimeout(value)) {
      result = thrown({ text: `Uncaught Error: ${(value as Error).message} (the evalTimeoutMs option)` }, 'timeout');
    } else {
      result = thrown({ text: capText(formatThrown(value, 'Uncaught', format, session.Error)) });
    }
    if (request.op === 'eval' && view.json) {
      const json = toJsonValue(value);
      if (json) result.value.json = json;
    }
    return result;
  }

  /** The command's watchdog stopped the printing of its outcome, with `leftMs` of it left when it began. */
  printStopped(value: unknown, threw: boolean, error: unknown, leftMs: number): OpResult {
    const ms = Math.max(0, Math.round(leftMs));
    return threw ? thrown({ text: `Uncaught ${formatFailure(value, error, ms, 'thrown value')}` }) : done({ text: formatFailure(value, error, ms, 'value') });
  }

  /** A syntax error met before the session had a context. */
  syntaxError(error: unknown, request: PrintRequest): OpResult {
    const result = thrown({ text: capText(formatThrown(error, 'Uncaught', request.view.colors ? this.#colored : this.plain)) }, 'syntax');
    const json = request.op === 'eval' && request.view.json ? toJsonValue(error) : undefined;
    if (json) result.value.json = json;
    return result;
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
  tapped(value: unknown): OpValue {
    const json = toJsonValue(value);
    return json ? { text: capText(formatValue(value, this.plain)), json } : { text: capText(formatValue(value, this.plain)) };
  }

  /**
   * A listing (`.inspect`, `.locals`) under the formatting watchdog of its own (250 ms), also
   * inside a command's: a custom inspect function met on the way could loop, and a listing
   * that takes longer is too long to read anyway.
   */
  bounded(what: string, list: () => string): OpResult {
    const ms = this.plain.timeoutMs ?? 0;
    try {
      return done({ text: capText(ms > 0 ? within(ms, list) : list()) });
    } catch (error) {
      return { status: 'error', code: 'timeout', value: { text: `[${what} could not be made within ${ms} ms: ${String((error as Error)?.message ?? error)}]` } };
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
