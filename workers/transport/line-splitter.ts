/**
 * Splits a client's input into lines (on `\n`; telnet line ends are already folded to it),
 * with no line held longer than `max` bytes: a longer line is cut there and the rest dropped up
 * to its newline, and the line is marked, so that the session discards it. Memory stays
 * bounded even when a client never sends a newline. Pure.
 *
 * (Node's readline splits lines too, but buffers a line without limit, and hands lines over
 * later than the data arrives, which would lose their order against telnet's Ctrl-C.)
 */
export interface Line {
  text: string;
  /** The line was longer than the limit: what is in `text` is only its start. */
  overflowed: boolean;
}

export class LineSplitter {
  #max: number;
  #parts: Buffer[] = [];
  #length = 0;
  #overflowing = false;

  constructor(max: number) {
    this.#max = max;
  }

  /** Bytes of a line kept from now on (what is past them is dropped, and the line marked). */
  set max(max: number) {
    this.#max = max;
  }

  /** The lines this chunk completes. */
  push(chunk: Buffer): Line[] {
    const lines: Line[] = [];
    let from = 0;
    while (from < chunk.length) {
      const newline = chunk.indexOf(10, from);
      const end = newline === -1 ? chunk.length : newline;
      const take = Math.min(Math.max(0, this.#max - this.#length), end - from);
      if (take > 0) this.#parts.push(chunk.subarray(from, from + take));
      this.#length += take;
      if (end - from > take) this.#overflowing = true;
      if (newline === -1) break;
      lines.push(this.#take());
      from = newline + 1;
    }
    return lines;
  }

  /** The end of input: a last line without a newline, if there is one. */
  end(): Line[] {
    return this.#length > 0 || this.#overflowing ? [this.#take()] : [];
  }

  /** Drops a half-received line (Ctrl-C). */
  clear(): void {
    this.#take();
  }

  #take(): Line {
    const line = { text: Buffer.concat(this.#parts).toString('utf8'), overflowed: this.#overflowing };
    this.#parts = [];
    this.#length = 0;
    this.#overflowing = false;
    return line;
  }
}
