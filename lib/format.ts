import { inspect, types, type InspectOptions } from 'node:util';
import vm from 'node:vm';
import { visibleWidth } from '../common/ansi.ts';
import { isRefusal } from './session-realms.ts';
import { backdoorVmCall, formatStackOnce, libraryFiles } from './stack.ts';

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

/**
 * Formats something thrown the way Node's REPL does: `Uncaught TypeError: ...`, with the frames
 * its REPL would keep (see stack.ts), a SyntaxError with its source line and caret but no frames,
 * and `Uncaught:` on a line of its own before a first line longer than the line width. Never throws.
 *
 * @param sessionError the `Error` of the realm the code ran in, to format its errors' stacks
 */
export function formatThrown(thrown: unknown, prefix = 'Uncaught', { timeoutMs = 0, inspectOptions = replInspectOptions }: FormatOptions = {}, sessionError?: ErrorConstructor): string {
  let text: string;
  try {
    const trimmed = formatStackOnce(thrown, sessionError);
    if (isErrorLike(thrown)) stripSyntaxErrorStack(thrown as Error);
    text = limitedInspect(thrown, inspectOptions, timeoutMs);
    if (isErrorLike(thrown)) {
      if (!trimmed) text = trimStack(text, true);
      // An error without a stack prints as `[Error: x]`: Node's REPL drops the brackets.
      if (text.startsWith('[') && text.endsWith(']')) text = text.slice(1, -1);
    }
    // A compile error that V8 raised inside Node's vm module (a RangeError for input nested too
    // deeply) carries Node's source line: not the typed code's, so not shown.
    text = dropInternalFrames(text)
      .replace(/^node:[\w/]+:\d+\n.*\n *\^+\n\n/, '')
      .replace(/\n$/, '');
    // So does a refusal of the backdoor's thrown through `vm` that session code called: Node
    // decorates it with the line of the backdoor's that threw it.
    if (isRefusal(thrown)) text = text.replace(/^[^\n]*:\d+\n.*\n *\^+\n+/, '');
  } catch (error) {
    text = formatFailure(thrown, error, timeoutMs, 'thrown value');
  }
  return prefixUncaught(prefix, text, inspectOptions.breakLength ?? 80);
}

/** Node's REPL: the prefix goes before the first line that names an error, or before the whole. */
function prefixUncaught(prefix: string, text: string, width: number): string {
  const lines = text.split(/(?<=\n)/);
  const named = lines.findIndex((line) => /^\[?([A-Z][a-z0-9_]*)*Error/.test(line));
  if (named === -1) return `${prefix}${lines.length === 1 ? ' ' : ':\n'}${text}`;
  const line = lines[named];
  // Measured as it shows (Node's REPL measures `line.length`, colours and all); its newline counts, as there.
  lines[named] = width >= visibleWidth(line) + (line.endsWith('\n') ? 1 : 0) ? `${prefix} ${line}` : `${prefix}:\n${line}`;
  return lines.join('');
}

/**
 * A SyntaxError is printed without frames, as Node's REPL does (also for `JSON.parse`'s): only
 * the source line and caret that V8 puts above a compile error stay. The error's own `stack`
 * is changed, as there, so that `_error` shows the same.
 */
function stripSyntaxErrorStack(error: Error): void {
  if (types.isProxy(error)) return;
  try {
    if (error.name !== 'SyntaxError' || typeof error.stack !== 'string') return;
    error.stack = error.stack.replace(/^REPL\d+:\d+\r?\n/, '').replace(/^\s+at\s.*\n?/gm, '');
  } catch {
    // a frozen error, or a hostile getter: printed as it is
  }
}

function limitedInspect(value: unknown, options: InspectOptions, timeoutMs: number): string {
  const maxString = options.maxStringLength ?? Infinity;
  if (typeof value === 'string' && value.length > maxString) {
    // Cut before inspecting: util.inspect splits the whole string into lines first.
    return `${inspect(value.slice(0, maxString), options)}... ${value.length - maxString} more characters`;
  }
  const mayRunCode = (typeof value === 'object' && value !== null) || typeof value === 'function';
  const many = mayRunCode ? manyKeys(value as object) : undefined;
  const target = many ? many.head : value;
  const text = timeoutMs > 0 && mayRunCode ? within(timeoutMs, () => inspect(target, options)) : inspect(target, options);
  return many ? `${text}\n... ${many.more} more keys (the first ${MAX_OBJECT_KEYS} are shown)` : text;
}

/** Keys of a plain object printed, as `maxArrayLength` bounds the items of an array. */
const MAX_OBJECT_KEYS = 100;

/**
 * An object with a great many keys (a cache, an index), which util.inspect would print whole,
 * is printed as its first keys: in bounded time, rather than stopped by the watchdog in the
 * middle of util.inspect (terminating V8 inside Node's internals is what the watchdog is for
 * only in the last resort). Only plain data is read: own enumerable keys and their descriptors
 * (no getter runs); a proxy is left to util.inspect, which does not trap it. Returns the head
 * (the first MAX_OBJECT_KEYS, on an object of the same prototype) and how many more there are.
 */
export function manyKeys(value: object): { head: object; more: number } | undefined {
  if (types.isProxy(value) || Array.isArray(value) || ArrayBuffer.isView(value) || typeof value === 'function') return undefined;
  let keys: string[];
  try {
    keys = Object.keys(value);
  } catch {
    return undefined;
  }
  if (keys.length <= MAX_OBJECT_KEYS * 10) return undefined;
  try {
    const head = Object.create(Object.getPrototypeOf(value) as object | null) as object;
    for (const key of keys.slice(0, MAX_OBJECT_KEYS)) {
      Object.defineProperty(head, key, Reflect.getOwnPropertyDescriptor(value, key)!);
    }
    return { head, more: keys.length - MAX_OBJECT_KEYS };
  } catch {
    return undefined;
  }
}

export function formatFailure(value: unknown, error: unknown, timeoutMs: number, what: string): string {
  if ((error as { code?: unknown } | null)?.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' && types.isNativeError(error)) {
    const shape = Array.isArray(value) ? `an array of ${value.length} items` : types.isProxy(value) ? 'a proxy' : `a ${typeof value}`;
    return `[${what} too large to print within ${timeoutMs} ms: ${shape}]`;
  }
  // A custom inspect function or a hostile object threw while being printed.
  return `[${what} could not be formatted: ${describeError(error)}]`;
}

let guard: { context: vm.Context; script: vm.Script } | undefined;

/** What `within` holds, dropped (a stopped command's `finally` never ran). */
export function releaseGuard(): void {
  if (guard) guard.context.run = undefined;
}

/** The error `vm` throws at a timeout, for a command stopped another way (see runaway-stop.ts). */
export function timeoutError(ms: number): Error {
  return Object.assign(new Error(`Script execution timed out after ${ms}ms`), { code: 'ERR_SCRIPT_EXECUTION_TIMEOUT' });
}

/** Runs `fn` under V8's watchdog when `ms` > 0 (see `within`), else as it is. */
export function guarded(ms: number, fn: () => void): void {
  if (ms > 0) within(ms, fn);
  else fn();
}

/** Runs `fn` under V8's watchdog: it is stopped, with ERR_SCRIPT_EXECUTION_TIMEOUT, after `ms`. */
export function within<T>(ms: number, fn: () => T): T {
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
  // The last top-level frame (session code may call a function of its top level), else the
  // backdoor's call into vm (session code may call vm itself above it).
  let cut = thrown ? lines.findLastIndex((line) => /^\s+at REPL\d+:\d+:\d+( \{)?$/.test(line)) : -1;
  if (cut === -1)
    cut = backdoorVmCall(
      lines.map((line) => (/^\s+at /.test(line) ? frameFile(line) : '')),
      true,
    );
  if (cut === -1) return text;
  let end = cut;
  while (end < lines.length && /^\s+at /.test(lines[end])) end++;
  const kept = lines.slice(0, cut);
  // util.inspect puts the opening brace of an error's own properties on its last stack line.
  if (lines[end - 1].endsWith(' {')) kept[kept.length - 1] += ' {';
  return [...kept, ...lines.slice(end)].join('\n');
}

/** Frames of this library. */
const libraryFrame = new RegExp(`^\\s+at [^\\n]*(?:${libraryFiles.map(escapeRegExp).join('|')})`);
/** The file a printed frame names: `node:vm`, a URL or path (or '' when it names none). */
const frameFile = (line: string) => /\(?((?:node:[\w/]+|file:\/\/|\/)[^:()]*)(?::\d+)*\)?,?( \{)?$/.exec(line)?.[1] ?? '';
/** util.inspect's count of the frames an error shares with its cause. */
const causeCount = /^\s+\.\.\. \d+ lines? matching cause stack trace \.\.\./;

/**
 * Removes the backdoor's machinery from every stack in a printed value (errors nested in
 * objects, causes): the frames of this library wherever they are (a timer's wrapper), and at
 * the bottom of a command's stack everything from its call into `vm` down (frames of session
 * code that calls vm itself stay); then util.inspect's count of frames shared with a cause,
 * which counted them. What util.inspect put at the end of a dropped line (` {` opening the
 * error's properties, `,` before the next entry) goes on the line kept before it.
 */
function dropInternalFrames(text: string): string {
  if (!text.includes('    at ')) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  const drop = (line: string) => {
    const suffix = /( \{|,)$/.exec(line)?.[1];
    if (suffix && kept.length > 0 && !kept[kept.length - 1].endsWith(suffix)) kept[kept.length - 1] += suffix;
  };
  for (let i = 0; i < lines.length; ) {
    if (!/^\s+at /.test(lines[i])) {
      kept.push(lines[i++]);
      continue;
    }
    let end = i;
    while (end < lines.length && (/^\s+at /.test(lines[end]) || causeCount.test(lines[end]))) end++;
    // The command's call into vm, and everything below it (the backdoor's, and what runs it).
    // (A count of frames shared with a cause stands for them: below a vm call, the backdoor's.)
    const vmCall = backdoorVmCall(
      lines.slice(i, end).map((line) => (causeCount.test(line) ? libraryFiles[0] : frameFile(line))),
      false,
    );
    const bottom = vmCall === -1 ? end : i + vmCall;
    let dropped = bottom < end;
    const first = kept.length;
    for (let at = i; at < bottom; at++) {
      if (libraryFrame.test(lines[at])) {
        dropped = true;
        drop(lines[at]);
      } else kept.push(lines[at]);
    }
    for (let at = bottom; at < end; at++) drop(lines[at]);
    if (dropped) {
      for (let at = kept.length - 1; at >= first; at--) {
        if (!causeCount.test(kept[at])) continue;
        const [line] = kept.splice(at, 1);
        if (at === kept.length) drop(line);
      }
    }
    i = end;
  }
  return kept.join('\n');
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
