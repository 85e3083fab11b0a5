/**
 * Where the profile's top function spent its time, line by line: V8's line ticks
 * (`ProfileNode.positionTicks`, in every profile `Profiler.stop` returns, on Node 20, 22 and
 * 24), and what the hottest line calls, read from the app's file in the worker (the main thread
 * does nothing more for it).
 *
 * Why: V8's profiler gives no frame of its own to code it did not see made. A function whose
 * loop V8 optimized (on-stack replacement) or that it inlined before the profile began, and
 * most built-ins, count as their caller's own time, on the line of the call. Measured on Node
 * 20, 22 and 24: a function stuck in a loop since before the profile began shows as its caller,
 * all of its time on the line that calls it (with `--no-use-osr`, as itself); `.stack` names
 * it. That call names it here. A profile begun before the loop names it on all three.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tokenizer, tokTypes, type Token } from 'acorn';
import { sanitize } from '../../common/discovery.ts';

/** Profiler.PositionTickInfo: `line` 1-based. */
export interface LineTicks {
  line: number;
  ticks: number;
}

/** A file larger is not read: the note is left out. */
const MAX_SOURCE_BYTES = 8 * 1024 * 1024;
/** A longer line (minified code) is not searched for calls: there would be too many to tell. */
const MAX_LINE = 400;
/** Calls named at most. */
const MAX_CALLS = 3;

/** The text of the app's file at `url` (`file:` URLs only), or undefined. */
export async function readSource(url: string): Promise<string | undefined> {
  if (!url.startsWith('file:')) return undefined;
  let file: FileHandle | undefined;
  try {
    // A regular file only, and no more of it than the bound: a URL a session gave its code (a
    // `sourceURL`) may name a FIFO, which would hang the read, or a device without end.
    file = await open(fileURLToPath(url), constants.O_RDONLY | constants.O_NONBLOCK);
    const stats = await file.stat();
    if (!stats.isFile() || stats.size > MAX_SOURCE_BYTES) return undefined;
    const buffer = Buffer.alloc(stats.size);
    const { bytesRead } = await file.read(buffer, 0, stats.size, 0);
    return buffer.toString('utf8', 0, bytesRead);
  } catch {
    return undefined;
  } finally {
    await file?.close().catch(() => {});
  }
}

/** Line ticks of several nodes (one function's, on several paths) added up by line. */
export function addTicks(into: Map<number, number>, ticks: readonly LineTicks[] | undefined): void {
  for (const { line, ticks: count } of ticks ?? []) into.set(line, (into.get(line) ?? 0) + count);
}

/**
 * The note on function `name`, at `lineNumber`/`columnNumber` (0-based) of `source`, whose line
 * ticks are `ticks`: its hottest line, and what that line calls. Empty when the source is not
 * the code V8 ran (a function's position is its parameter list: a loader that transpiled the
 * file moved it) or there are no ticks.
 */
export function hotLineNote(name: string, where: string, position: { lineNumber: number; columnNumber: number }, ticks: ReadonlyMap<number, number>, source: string): string[] {
  let total = 0;
  let hottest: [number, number] | undefined;
  for (const [line, count] of ticks) {
    total += count;
    if (!hottest || count > hottest[1]) hottest = [line, count];
  }
  const line = hottest && hottest[0] >= 1 ? lineOf(source, hottest[0] - 1) : undefined;
  if (!hottest || line === undefined || !ranHere(source, position)) return [];
  // The app's text, shown at a terminal: no escape sequence of it is sent as one.
  const text = sanitize(line.trim());
  const note = [`  Hottest line of ${name}, ${((hottest[1] / total) * 100).toFixed(1)}% of its samples: ${where}:${hottest[0]}  ${text.length > 120 ? `${text.slice(0, 117)}...` : text}`];
  // On the line the function begins, only what its body calls (not `setTimeout(` in `setTimeout(() => f())`).
  const from = hottest[0] === position.lineNumber + 1 ? position.columnNumber : 0;
  const calls = line.length > MAX_LINE ? [] : callsOn(line, from).filter((call) => call !== name);
  if (calls.length > 0) {
    const named = calls.length > MAX_CALLS ? `${calls.slice(0, MAX_CALLS).join(', ')} (and ${calls.length - MAX_CALLS} more)` : calls.join(', ');
    note.push(`  It calls ${named}: the time is likely ${calls.length > 1 ? 'theirs' : `${calls[0]}'s`}. V8 counts a function it optimized or inlined before the profile began, and most built-ins, as their caller.`);
  }
  return note;
}

/** Whether the function's position in `source` is where V8 puts one: its `(`, or a lone arrow parameter's start; top-level code has none. */
function ranHere(source: string, { lineNumber, columnNumber }: { lineNumber: number; columnNumber: number }): boolean {
  if (lineNumber < 0 || (lineNumber === 0 && columnNumber === 0)) return true;
  const line = lineOf(source, lineNumber) ?? '';
  return line[columnNumber] === '(' || /^[^$\w]?[$\w]$/.test(line.slice(Math.max(0, columnNumber - 1), columnNumber + 1));
}

/** Line `index` (0-based) of `source`, without its end; undefined past the last. Not split whole: a bundle has many. */
function lineOf(source: string, index: number): string | undefined {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const end = source.indexOf('\n', start);
    if (end < 0) return undefined;
    start = end + 1;
  }
  const end = source.indexOf('\n', start);
  return source.slice(start, end < 0 ? source.length : end).replace(/\r$/, '');
}

/** Names that are followed by `(` without being called. */
const NOT_CALLS = new Set(['async', 'await', 'yield', 'of', 'get', 'set', 'static']);

/** What a called name's object can be: `a.b(`, `this.b(`, `super.b(`. */
const OBJECTS = new Set([tokTypes.name, tokTypes._this, tokTypes._super]);

/**
 * The functions a line of JavaScript calls (from `fromColumn` on), in order, once each: `f(`,
 * `a.b.c(`, `new C(`; not definitions (`name() {`, `function name(`), nor keywords (`if (`).
 * Tokenized alone, so a line inside a template or comment may read wrongly; where it stops
 * tokenizing, the calls end.
 */
export function callsOn(line: string, fromColumn = 0): string[] {
  const tokens: Token[] = [];
  try {
    for (const token of tokenizer(line, { ecmaVersion: 'latest', allowHashBang: true })) tokens.push(token);
  } catch {
    // as far as it read
  }
  const text = (token: Token) => line.slice(token.start, token.end);
  const calls: string[] = [];
  for (let i = 0; i < tokens.length - 1; i++) {
    const token = tokens[i];
    if (token.start < fromColumn || token.type !== tokTypes.name || tokens[i + 1].type !== tokTypes.parenL || NOT_CALLS.has(text(token))) continue;
    if (tokens[i - 1]?.type === tokTypes._function || defined(tokens, i + 1)) continue;
    let name = text(token);
    for (let j = i - 1; j >= 1 && (tokens[j].type === tokTypes.dot || tokens[j].type === tokTypes.questionDot) && OBJECTS.has(tokens[j - 1].type); j -= 2) {
      name = `${text(tokens[j - 1])}.${name}`;
    }
    if (!calls.includes(name)) calls.push(name);
  }
  return calls;
}

/** Whether the parenthesis at `open` closes before `{` or `=>`: parameters, not arguments. */
function defined(tokens: readonly Token[], open: number): boolean {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i].type === tokTypes.parenL) depth++;
    else if (tokens[i].type === tokTypes.parenR && --depth === 0) {
      const next = tokens[i + 1]?.type;
      return next === tokTypes.braceL || next === tokTypes.arrow;
    }
  }
  return false;
}
