/**
 * What the `backdoor` client does with the server's output: the server speaks a plain line
 * protocol (text, then a prompt `> `, `... ` or `| ` with no newline). Pure, for tests.
 */

/** The prompts: `> `, and for an unfinished input `... ` (Node 20, 22) or `| ` (Node 24). */
const PROMPT = /(^|\n)(> |\.\.\. |\| )$/;
const PROMPTS = ['> ', '... ', '| '];

/**
 * Splits output received so far into text to print now and the prompt it ends with, if any.
 * A tail that may still become a prompt (`\n.`, `\n..`) is held back until more arrives.
 */
export function splitPrompt(received: string): { text: string; prompt: string | undefined; held: string } {
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
  return { text: received, prompt: undefined, held: '' };
}

/**
 * For piped use: the banner (everything before the first prompt) and the prompts go, the
 * results stay, so that `echo 'stats.requests' | backdoor 3000` prints just the value. Piped
 * lines are not echoed, so the prompts of several inputs run together at the start of the
 * line that follows them (`> ... undefined`); they may be split across chunks anywhere.
 */
export class PipeFilter {
  #inBanner = true;
  #atLineStart = false;
  #pending = '';

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
      data = data.slice(first.index + first[0].length);
    }
    let out = '';
    while (data !== '') {
      if (this.#atLineStart) {
        const prompt = PROMPTS.find((p) => data.startsWith(p));
        if (prompt) {
          data = data.slice(prompt.length);
          continue;
        }
        if (PROMPTS.some((p) => p.startsWith(data))) {
          this.#pending = data; // perhaps the start of a prompt: wait for more
          return out;
        }
        this.#atLineStart = false;
      }
      const newline = data.indexOf('\n');
      if (newline === -1) {
        out += data;
        data = '';
      } else {
        out += data.slice(0, newline + 1);
        data = data.slice(newline + 1);
        this.#atLineStart = true;
      }
    }
    return out;
  }

  /** The end of the connection: what is held back was a prompt, or the banner. */
  end(): string {
    this.#pending = '';
    return '';
  }
}
