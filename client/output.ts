/**
 * What the `backdoor` client does with the server's output: the server speaks a plain line
 * protocol (text, then a prompt `> `, `... ` or `| ` with no newline). Pure, for tests.
 */

import { unfinishedEscape } from '../common/ansi.ts';

/** The prompts: `> `, and for an unfinished input `... ` (Node 20, 22) or `| ` (Node 24). */
const PROMPT = /(^|\n)(> |\.\.\. |\| )$/;
const PROMPTS = ['> ', '... ', '| '];

/**
 * Splits output received so far into text to print now and the prompt it ends with, if any.
 * A tail that may still become a prompt (`\n.`, `\n..`) is held back until more arrives; so
 * is an escape sequence cut in two by the chunks (what the client prints between them, keys
 * echoed or a prompt redrawn, would land inside it), and with `wholeLines` (a prompt is shown,
 * and redrawn after the text: it would erase the start of a line) the line not yet ended.
 */
export function splitPrompt(received: string, wholeLines = false): { text: string; prompt: string | undefined; held: string } {
  const match = PROMPT.exec(received);
  if (match) {
    const at = match.index + match[1].length;
    return { text: received.slice(0, at), prompt: match[2], held: '' };
  }
  const tail = /(^|\n)(>|\.{1,3}|\|)$/.exec(received);
  if (tail) {
    const at = tail.index + tail[1].length;
    return { text: received.slice(0, at), prompt: undefined, held: received.slice(at) };
  }
  const at = wholeLines ? received.lastIndexOf('\n') + 1 : unfinishedEscape(received);
  if (at !== -1 && at < received.length) return { text: received.slice(0, at), prompt: undefined, held: received.slice(at) };
  return { text: received, prompt: undefined, held: '' };
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
