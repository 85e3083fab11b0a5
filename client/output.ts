/**
 * What the `backdoor` client does with the server's output: the server speaks a plain line
 * protocol (text, then a prompt `> `, `... ` or `| ` with no newline). Pure, for tests.
 */

import { unfinishedEscape } from '../common/ansi.ts';
import { CONFIRM_PROMPT_END } from '../common/protocol.ts';

/** The prompts: `> `, and for an unfinished input `... ` (Node 20, 22) or `| ` (Node 24). */
const PROMPTS = ['> ', '... ', '| '];

export type OutputPart = { text: string } | { prompt: string };

/**
 * At a terminal: output received so far as text to print and prompts, in order. Each line sent
 * is answered by a prompt, at the start of a line; the prompts of lines sent ahead (typed while
 * a command ran, or pasted) run together (`... ... `) or come between results (`2\n> 4\n> `).
 * So while `expected` prompts are owed, one at the start of a line is a prompt; otherwise only
 * one that ends what arrived is (a line of output may start with `> ` too). A tail that may
 * still become a prompt (`.`, `..`) is `held` until more arrives; so is an escape sequence cut in
 * two by the chunks (what the client prints between them, keys echoed or a prompt redrawn, would
 * land inside it), and with `wholeLines` (a prompt is shown, and redrawn after the text: it would
 * erase the start of a line) the line not yet ended. `atLineStart`: whether the output before
 * `received` ended a line (or a prompt); returned for what follows.
 */
export function splitOutput(received: string, expected: number, atLineStart: boolean, wholeLines = false): { parts: OutputPart[]; held: string; atLineStart: boolean } {
  const parts: OutputPart[] = [];
  let text = '';
  /** Whether the output before `text` ended a line. */
  let textAtLineStart = atLineStart;
  let at = 0;
  let lineStart = atLineStart;
  while (at < received.length) {
    if (lineStart) {
      const prompt = PROMPTS.find((candidate) => received.startsWith(candidate, at));
      if (prompt && (expected > 0 || at + prompt.length === received.length)) {
        if (text !== '') parts.push({ text });
        text = '';
        parts.push({ prompt });
        expected--;
        at += prompt.length;
        continue;
      }
      const rest = received.slice(at, at + 4);
      if (at + rest.length === received.length && PROMPTS.some((candidate) => candidate.length > rest.length && candidate.startsWith(rest))) {
        if (text !== '') parts.push({ text });
        return { parts, held: rest, atLineStart: true };
      }
    }
    const newline = received.indexOf('\n', at);
    const end = newline === -1 ? received.length : newline + 1;
    if (text === '') textAtLineStart = lineStart;
    text += received.slice(at, end);
    at = end;
    lineStart = newline !== -1;
  }
  // A question the session waits an answer to (`.exit-app`'s) ends what arrived: it is the
  // prompt that answers the line sent, the whole line of it.
  if (text.endsWith(CONFIRM_PROMPT_END)) {
    const start = text.lastIndexOf('\n', text.length - CONFIRM_PROMPT_END.length) + 1;
    if (start > 0) parts.push({ text: text.slice(0, start) });
    parts.push({ prompt: text.slice(start) });
    return { parts, held: '', atLineStart: true };
  }
  // The end of the last text, when it must wait for more (above).
  const cut = text === '' ? -1 : wholeLines ? text.lastIndexOf('\n') + 1 : unfinishedEscape(text);
  if (cut !== -1 && cut < text.length) {
    if (cut > 0) parts.push({ text: text.slice(0, cut) });
    return { parts, held: text.slice(cut), atLineStart: cut === 0 ? textAtLineStart : text[cut - 1] === '\n' };
  }
  if (text !== '') parts.push({ text });
  return { parts, held: '', atLineStart: lineStart };
}

/** A line that only tells why a command waits (never a result): for stderr. */
const NOTICE = /^\(waiting \d+(\.\d+)? s: .*; Ctrl\+C abandons it\)\n$/;

/**
 * For piped use: the banner (everything before the first prompt) and the prompts go, the
 * results stay, so that `echo 'stats.requests' | backdoor 3000` prints just the value; a line
 * that only says why a command waits goes to `notice` (stderr), not among the results. Piped
 * lines are not echoed, so the prompts of several inputs run together at the start of the line
 * that follows them (`> ... undefined`); they may be split across chunks anywhere. `prompts`
 * counts the prompts seen (each line sent is answered by one).
 */
export class PipeFilter {
  #inBanner = true;
  #atLineStart = false;
  #pending = '';
  #line = '';
  prompts = 0;
  readonly #notice: (line: string) => void;

  constructor(notice: (line: string) => void = () => {}) {
    this.#notice = notice;
  }

  push(text: string): string {
    let data = this.#pending + text;
    this.#pending = '';
    if (this.#inBanner) {
      const first = /(^|\n)> /.exec(data);
      if (!first) {
        this.#pending = data;
        return '';
      }
      this.#inBanner = false;
      this.#atLineStart = true;
      this.prompts++;
      data = data.slice(first.index + first[0].length);
    }
    let out = '';
    while (data !== '') {
      if (this.#atLineStart && this.#line === '') {
        const prompt = PROMPTS.find((p) => data.startsWith(p));
        if (prompt) {
          this.prompts++;
          data = data.slice(prompt.length);
          continue;
        }
        if (PROMPTS.some((p) => p.startsWith(data))) {
          this.#pending = data; // perhaps the start of a prompt: wait for more
          return out;
        }
      }
      this.#atLineStart = false;
      const newline = data.indexOf('\n');
      const piece = newline === -1 ? data : data.slice(0, newline + 1);
      data = newline === -1 ? '' : data.slice(newline + 1);
      // A line is held until it is whole when it may be a notice.
      const line = this.#line + piece;
      if ('(waiting '.startsWith(line.slice(0, 9)) || line.startsWith('(waiting ')) {
        if (newline === -1) {
          this.#line = line;
          continue;
        }
        this.#line = '';
        if (NOTICE.test(line)) this.#notice(line);
        else out += line;
      } else {
        this.#line = '';
        out += line;
      }
      if (newline !== -1) this.#atLineStart = true;
    }
    return out;
  }

  /** The end of the connection: what is held back was a prompt, the banner, or an unfinished line. */
  end(): string {
    const line = this.#line;
    this.#pending = '';
    this.#line = '';
    return line;
  }
}
