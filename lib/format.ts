import { inspect, types, type InspectOptions } from 'node:util';

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

/** Formats a value the way Node's REPL prints a result. Never throws. */
export function formatValue(value: unknown, options: InspectOptions = replInspectOptions): string {
  try {
    const text = inspect(value, options);
    // An error as a result (`new Error('x')`): its stack without this library's frames.
    return isErrorLike(value) ? trimStack(text, false) : text;
  } catch (error) {
    // A custom inspect function or a hostile object threw while being printed.
    return `[value could not be formatted: ${describeError(error)}]`;
  }
}

/** Formats something thrown the way Node's REPL does: `Uncaught TypeError: ...`. Never throws. */
export function formatThrown(thrown: unknown, prefix = 'Uncaught', options: InspectOptions = replInspectOptions): string {
  let text: string;
  try {
    text = inspect(thrown, options);
    if (isErrorLike(thrown)) text = trimStack(text, true);
  } catch (error) {
    text = `[thrown value could not be formatted: ${describeError(error)}]`;
  }
  return `${prefix} ${text}`;
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

// Errors made in a session's context are not `instanceof Error` of the main realm.
function isErrorLike(value: unknown): boolean {
  return types.isNativeError(value) || value instanceof Error;
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
