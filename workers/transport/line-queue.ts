import type { Line } from './line-splitter.ts';

/** Queued lines past which the client's input is paused until the session catches up. */
const MAX_QUEUED_LINES = 256;
/** ...or past which the text of queued lines (each up to maxInputBytes) is paused. */
const MAX_QUEUED_CHARS = 4 * 1024 * 1024;

/** Lines that arrived while the session was busy (a paste, a pipe), waiting their turn. */
export class LineQueue {
  readonly lines: Line[] = [];

  /** Whether the client is so far ahead that its input should wait. */
  get full(): boolean {
    if (this.lines.length >= MAX_QUEUED_LINES) return true;
    let chars = 0;
    for (const line of this.lines) chars += line.text.length;
    return chars > MAX_QUEUED_CHARS;
  }
}
