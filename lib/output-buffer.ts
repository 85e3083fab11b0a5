import { truncateToLength } from '../common/ansi.ts';

/**
 * Console output kept per command (and per batch of output printed between commands): a
 * command that prints without end must not fill the main thread's memory.
 */
export const MAX_OUTPUT_CHARS = 1024 * 1024;

/** The line that stands for output that was dropped, or ''. */
export function truncationNote(dropped: number): string {
  return dropped > 0 ? `[... ${dropped} more characters of output dropped]\n` : '';
}

/** Text up to MAX_OUTPUT_CHARS; what does not fit is counted, and told when it is taken. */
export class OutputBuffer {
  #text = '';
  #dropped = 0;

  append(text: string): void {
    if (this.#text.length + text.length <= MAX_OUTPUT_CHARS) {
      this.#text += text;
    } else if (this.#text === '') {
      // Not cut in an escape sequence (the terminal would swallow what follows), nor left in colour.
      const cut = truncateToLength(text, MAX_OUTPUT_CHARS);
      this.#text = cut.text;
      this.#dropped += text.length - cut.kept;
    } else {
      this.#dropped += text.length;
    }
  }

  /** What was kept, and a line for what was dropped; the buffer is empty again. */
  take(): string {
    const text = this.#text + truncationNote(this.#dropped);
    this.#text = '';
    this.#dropped = 0;
    return text;
  }
}

/** A result is printed within REPL limits, but an object with a million keys still prints them all. */
export function capText(text: string): string {
  if (text.length <= MAX_OUTPUT_CHARS) return text;
  const cut = truncateToLength(text, MAX_OUTPUT_CHARS);
  return `${cut.text}\n${truncationNote(text.length - cut.kept).trimEnd()}`;
}
