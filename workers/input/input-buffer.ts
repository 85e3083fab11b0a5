import { classifyInput, type InputVerdict } from './input.ts';

/** A multi-line input past this many bytes is parsed again only by a line that could end it. */
const BIG_INPUT_BYTES = 16 * 1024;

/**
 * The lines of one input as they are typed, until they make a complete one: each line is parsed
 * with all those before it, as Node's REPL does.
 */
export class InputBuffer {
  #text = '';
  #bytes = 0;
  /** What the unfinished input waits for, when it was parsed last (see `#mightEnd`). */
  #until: string | undefined;

  /** The lines so far, joined. */
  get text(): string {
    return this.#text;
  }

  /** Their size in bytes (each with its newline). */
  get bytes(): number {
    return this.#bytes;
  }

  get empty(): boolean {
    return this.#text === '';
  }

  /**
   * Adds a line of `bytes` bytes; returns what the input is now. Once it is not incomplete, the
   * buffer is cleared and the input is in `typed`.
   */
  add(line: string, bytes: number): { verdict: InputVerdict; typed: string } {
    const mightEnd = this.#mightEnd(line);
    this.#text = this.#text === '' ? line : `${this.#text}\n${line}`;
    this.#bytes += bytes;
    const verdict = mightEnd ? classifyInput(this.#text) : { kind: 'incomplete' as const, until: this.#until };
    const typed = this.#text;
    if (verdict.kind === 'incomplete') this.#until = verdict.until;
    else this.clear();
    return { verdict, typed };
  }

  clear(): void {
    this.#text = '';
    this.#bytes = 0;
    this.#until = undefined;
  }

  /**
   * Whether `line` could end the unfinished input. Each line is parsed with all those before it,
   * which a paste of thousands of lines into one input makes quadratic (and the worker serves
   * every session). So past BIG_INPUT_BYTES, a line is not parsed when it cannot end the input:
   * it lacks what an unterminated template or comment waits for, or it ends with an opening
   * bracket or a comma (a pasted JSON object, line by line).
   */
  #mightEnd(line: string): boolean {
    if (this.#text === '' || this.#bytes < BIG_INPUT_BYTES) return true;
    if (this.#until !== undefined) return line.includes(this.#until);
    return !/[([{,]\s*$/.test(line);
  }
}
