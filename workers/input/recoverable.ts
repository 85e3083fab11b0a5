/**
 * Whether more lines could complete an input that does not parse: Node's REPL's own test
 * (`isRecoverableError` of its lib/internal/repl/utils.js), on current acorn.
 */
import { Parser, tokTypes } from 'acorn';

/** What the parser below leaves behind (one parse at a time: the worker is one thread). */
let recoverable = false;
/** Where the input's code ends (its trailing white space trimmed). */
let end = 0;

/** What of acorn's parser state the test reads (not in acorn's type declarations). */
interface ParserState {
  type: unknown;
  input: string;
  lastTokStart: number;
  pos: number;
}

/**
 * A parser that notes an error as recoverable when the tokenizer had reached the end of the
 * input before it (so `1 +`, `foo(` but not `2e` or `[] \`), or when it is an unterminated
 * template or comment, or a string whose line ends in a backslash. One difference from Node's:
 * an error raised after the end was reached but about something before it (`let let`, a name
 * checked once parsed) is not recoverable: Node's REPL waits for a line there, then reports
 * the same error, as no line can mend it.
 */
const RecoverableParser = Parser.extend(
  (Base) =>
    class extends (Base as unknown as new (...args: unknown[]) => ParserState & { nextToken(): void; raise(pos: number, message: string): never; raiseRecoverable(pos: number, message: string): never }) {
      override nextToken(): void {
        super.nextToken();
        if (this.type === tokTypes.eof) recoverable = true;
      }

      override raise(pos: number, message: string): never {
        if (message === 'Unterminated template' || message === 'Unterminated comment') recoverable = true;
        else if (message === 'Unterminated string constant') {
          const token = this.input.slice(this.lastTokStart, this.pos);
          if (/\\(?:\r\n?|\n|\u2028|\u2029)$/.test(token)) recoverable = true;
        } else if (pos < end) {
          recoverable = false;
        }
        return super.raise(pos, message);
      }

      // acorn's checks of what it has parsed (`let let`) raise through this, not `raise`.
      override raiseRecoverable(pos: number, message: string): never {
        if (pos < end) recoverable = false;
        return super.raiseRecoverable(pos, message);
      }
    } as unknown as typeof Parser,
);

/**
 * Whether `source`, which acorn refused, could still become valid with more lines, as Node's
 * REPL decides it: parsed with its newline, as Node's REPL gathers lines, and with top-level
 * `await` allowed (Node's REPL asks this of the input without its `await`s, when one is in
 * the way). An input starting with `{` is also tried as the start of an object (`({`).
 */
export function isRecoverable(source: string): boolean {
  if (/^\s*\{/.test(source) && isRecoverable(`(${source}`)) return true;
  recoverable = false;
  end = source.trimEnd().length;
  try {
    RecoverableParser.parse(`${source}\n`, { ecmaVersion: 'latest', allowAwaitOutsideFunction: true });
    // acorn sees no error where V8 saw one: more text will not mend it.
    return false;
  } catch {
    return recoverable;
  }
}
