import { inspect, types, type InspectOptions } from 'node:util';
import vm from 'node:vm';

/**
 * How results are printed: Node's REPL settings (depth 2, 100 items, proxies shown, getters not
 * called). These limits are what bound the main thread's cost of formatting any value.
 */
export const replInspectOptions: InspectOptions = {
  depth: 2,
  maxArrayLength: 100,
  maxStringLength: 10_000,
  breakLength: 80,
  showProxy: true,
  getters: false,
  colors: false,
};

/**
 * Formatting within a time limit. The REPL limits bound most values, not all: an object with a
 * million keys prints them all (seconds of main-thread time), and a custom inspect function can
 * loop for ever. With `timeoutMs`, objects are formatted under V8's watchdog (the same as
 * `evalTimeoutMs`' for code), which costs a thread start, ~0.1 ms; numbers and short strings,
 * which can run no code and cannot be large, are not.
 */
export interface FormatOptions {
  /** Stop formatting after this many ms; 0 for no limit. Default 0. */
  timeoutMs?: number;
  inspectOptions?: InspectOptions;
}

/** Formats a value the way Node's REPL prints a result. Never throws. */
export function formatValue(value: unknown, { timeoutMs = 0, inspectOptions = replInspectOptions }: FormatOptions = {}): string {
  try {
    const text = limitedInspect(value, inspectOptions, timeoutMs);
    // An error as a result (`new Error('x')`): its stack without this library's frames.
    return dropInternalFrames(isErrorLike(value) ? trimStack(text, false) : text);
  } catch (error) {
    return formatFailure(value, error, timeoutMs, 'value');
  }
}

/** Formats something thrown the way Node's REPL does: `Uncaught TypeError: ...`. Never throws. */
export function formatThrown(thrown: unknown, prefix = 'Uncaught', { timeoutMs = 0, inspectOptions = replInspectOptions }: FormatOptions = {}): string {
  let text: string;
  try {
    text = limitedInspect(thrown, inspectOptions, timeoutMs);
    if (isErrorLike(thrown)) text = trimStack(text, true);
    text = dropInternalFrames(text);
  } catch (error) {
    text = formatFailure(thrown, error, timeoutMs, 'thrown value');
  }
  return `${prefix} ${text}`;
}

function limitedInspect(value: unknown, options: InspectOptions, timeoutMs: number): string {
  const maxString = options.maxStringLength ?? Infinity;
  if (typeof value === 'string' && value.length > maxString) {
    // Cut before inspecting: util.inspect splits the whole string into lines first.
    return `${inspect(value.slice(0, maxString), options)}... ${value.length - maxString} more characters`;
  }
  const mayRunCode = (typeof value === 'object' && value !== null) || typeof value === 'function';
  return timeoutMs > 0 && mayRunCode ? within(timeoutMs, () => inspect(value, options)) : inspect(value, options);
}

function formatFailure(value: unknown, error: unknown, timeoutMs: number, what: string): string {
  if ((error as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' && types.isNativeError(error)) {
    const shape = Array.isArray(value) ? `an array of ${value.length} items` : types.isProxy(value) ? 'a proxy' : `a ${typeof value}`;
    return `[${what} too large to print within ${timeoutMs} ms: ${shape}]`;
  }
  // A custom inspect function or a hostile object threw while being printed.
  return `[${what} could not be formatted: ${describeError(error)}]`;
}

let guard: { context: vm.Context; script: vm.Script } | undefined;

/** Runs `fn` under V8's watchdog: it is stopped, with ERR_SCRIPT_EXECUTION_TIMEOUT, after `ms`. */
function within<T>(ms: number, fn: () => T): T {
  guard ??= { context: vm.createContext({ run: undefined }), script: new vm.Script('run()', { filename: 'backdoor-format' }) };
  guard.context.run = fn;
  try {
    return guard.script.runInContext(guard.context, { timeout: ms, displayErrors: false }) as T;
  } finally {
    guard.context.run = undefined;
  }
}

/**
 * Removes the frames that are the REPL's own from a printed stack: everything from the call
 * into `vm` down (this library, comlink, Node internals) and, for something thrown, also the
 * anonymous top-level frame of the typed input (`at REPL3:1:5`), as Node's REPL does. Works
 * on the text, so that the error object itself is never modified.
 */
export function trimStack(text: string, thrown: boolean): string {
  const lines = text.split('\n');
  let cut = thrown ? lines.findIndex((line) => /^\s+at REPL\d+:\d+:\d+( \{)?$/.test(line)) : -1;
  if (cut === -1) cut = lines.findIndex((line) => /^\s+at .*\bnode:vm:/.test(line));
  if (cut === -1) return text;
  let end = cut;
  while (end < lines.length && /^\s+at /.test(lines[end])) end++;
  const kept = lines.slice(0, cut);
  // util.inspect puts the opening brace of an error's own properties on its last stack line.
  if (lines[end - 1].endsWith(' {')) kept[kept.length - 1] += ' {';
  return [...kept, ...lines.slice(end)].join('\n');
}

/** Frames of the REPL's machinery: the call into `vm`, this library, Node's internals. */
const internalFrame = new RegExp(
  `\\n\\s+at [^\\n]*(?:node:vm:|node:internal/|${escapeRegExp(new URL('.', import.meta.url).href)}|${escapeRegExp(new URL('.', import.meta.url).pathname)})[^\\n]*?( \\{)?(?=\\n|$)`,
  'g',
);

/** Removes those frames anywhere in a printed value (errors nested in objects, causes). */
function dropInternalFrames(text: string): string {
  return text.includes('    at ') ? text.replace(internalFrame, (_line, brace: string | undefined) => brace ?? '') : text;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

// Errors made in a session's context are not `instanceof Error` of the main realm; and
// `instanceof` on a proxy would run its getPrototypeOf trap.
function isErrorLike(value: unknown): boolean {
  if (types.isProxy(value)) return false;
  try {
    return types.isNativeError(value) || value instanceof Error;
  } catch {
    return false;
  }
}

function describeError(error: unknown): string {
  try {
    if (error instanceof Error || (typeof error === 'object' && error !== null)) {
      const { name, message } = error as Error;
      return `${String(name)}: ${String(message)}`;
    }
    return String(error);
  } catch {
    return 'unknown error';
  }
}
