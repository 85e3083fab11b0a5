import { Parser, tokTypes as tt, type Token } from 'acorn';
import { MAX_NESTING, nestingDepth, parseOptions } from './input.ts';

/**
 * Which of `lines`, added one by one to the unfinished input `before`, could end it: planned
 * with one parse of them all, for lines that arrived together (a paste). Parsing the input
 * again at each line, as Node's REPL does, is quadratic: a function of 2,000 lines took the
 * worker seconds. A line cannot end the input when a bracket (`(`, `[`, `{`, `${`) or a
 * template opened before its end is still open there: the input up to it holds an unclosed
 * bracket token, which neither acorn nor V8 accepts, whatever follows. The tokens of a prefix
 * are those of the whole text up to that point. Only lines the parse read past, before any
 * error it met, are planned (`false`); every other line is `true`, to be parsed as it comes,
 * so that an error is still told at the line that makes it.
 */
export function linesThatMayEnd(before: string, lines: readonly string[]): boolean[] {
  const mayEnd = lines.map(() => true);
  const source = before === '' ? lines.join('\n') : `${before}\n${lines.join('\n')}`;
  // An input `{` is parsed as an object (input.ts), whose tokens may differ; a deep one may overflow.
  if (/^\s*\{/.test(source) || nestingDepth(source) > MAX_NESTING) return mayEnd;
  const ends: number[] = [];
  let at = before === '' ? 0 : before.length + 1;
  for (const line of lines) {
    ends.push(at + line.length);
    at += line.length + 1;
  }
  const open: string[] = [];
  let next = 0;
  const onToken = (token: Token) => {
    // The line ends before this token: decided by the brackets open there.
    for (; next < ends.length && ends[next] < token.start; next++) mayEnd[next] = open.length === 0;
    const { type } = token;
    if (type === tt.parenL || type === tt.bracketL || type === tt.braceL || type === tt.dollarBraceL) open.push('(');
    else if (type === tt.parenR || type === tt.bracketR || type === tt.braceR) open.pop();
    else if (type === tt.backQuote) open.at(-1) === '`' ? open.pop() : open.push('`');
  };
  try {
    Parser.parse(source, { ...parseOptions, onToken });
  } catch (error) {
    if (error instanceof RangeError) return lines.map(() => true);
    // Lines that reach the error are parsed as they come: the error is told at its line.
    const pos = (error as { pos?: unknown }).pos;
    const stop = typeof pos === 'number' ? pos : 0;
    for (let i = 0; i < ends.length; i++) if (ends[i] >= stop) mayEnd[i] = true;
  }
  return mayEnd;
}
