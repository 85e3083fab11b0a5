import { classifyInput, type InputVerdict } from './input.ts';
import { linesThatMayEnd } from './input-plan.ts';

/** A multi-line input past this many bytes is parsed again only by a line that could end it. */
const BIG_INPUT_BYTES = 16 * 1024;
/** Lines the first plan of an input takes (see `#planned`). */
const FIRST_WINDOW = 32;

/**
 * The lines of one input as they are typed, until they make a complete one: each line is parsed
 * with all those before it, as Node's REPL does.
 */
export class InputBuffer {
  #text = '';
  #bytes = 0;
  /** What the unfinished input waits for, when it was parsed last (see `#mightEnd`). */
  #until: string | undefined;
  /** For lines that arrived together: which could end the input (input-plan.ts), from `next` on. */
  #plan: { lines: readonly string[]; mayEnd: boolean[]; next: number; textLength: number } | undefined;
  /** Lines the next plan takes at most: it doubles each time, so that a long input is planned a few times only. */
  #window = FIRST_WINDOW;

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
   * buffer is cleared and the input is in `typed`. `ahead`: the lines that arrived with it and
   * wait behind it, if any.
   */
  add(line: string, bytes: number, ahead: readonly { text: string }[] = []): { verdict: InputVerdict; typed: string } {
    const planned = this.#planned(line, ahead);
    // A line skipped by the plan may have closed what `until` waited for.
    if (!planned) this.#until = undefined;
    const mightEnd = planned && this.#mightEnd(line);
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
    this.#plan = undefined;
    this.#window = FIRST_WINDOW;
  }

  /**
   * Whether the plan lets `line` end the input (true without one). An input's first line is
   * parsed alone (most inputs are one line); past it, the lines waiting behind are planned
   * together, in windows that double, so that a paste of many short inputs is not parsed whole
   * for each of them.
   */
  #planned(line: string, ahead: readonly { text: string }[]): boolean {
    let plan = this.#plan;
    if (plan && (plan.lines[plan.next] !== line || plan.textLength !== this.#text.length)) plan = undefined;
    if (!plan && ahead.length > 0 && this.#text !== '') {
      const lines = [line, ...ahead.slice(0, this.#window - 1).map((next) => next.text)];
      this.#window *= 2;
      plan = { lines, mayEnd: linesThatMayEnd(this.#text, lines), next: 0, textLength: this.#text.length };
    }
    this.#plan = plan;
    if (!plan) return true;
    const mayEnd = plan.mayEnd[plan.next++];
    plan.textLength += (this.#text === '' ? 0 : 1) + line.length;
    if (plan.next === plan.lines.length) this.#plan = undefined;
    return mayEnd;
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
