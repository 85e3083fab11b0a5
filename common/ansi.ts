/**
 * Text with ANSI escape sequences (util.inspect's colours, or whatever a session prints) cut
 * and measured as a terminal shows it: an escape sequence is never cut in two (the terminal
 * would take the text after the cut as the rest of it, and swallow it), it takes no column,
 * and a colour left on where the text was cut is turned off. Widths are counted as Node's
 * readline counts them without ICU: a wide (East Asian, emoji) character takes 2 columns, a
 * combining mark or a control character none.
 */

/**
 * One whole escape sequence: CSI (`ESC [` or 0x9B, parameters, intermediates, a final byte);
 * a string (OSC `ESC ]`, DCS, SOS, PM, APC) up to its terminator (BEL, `ESC \` or 0x9C); or
 * `ESC`, intermediates and a final byte (`ESC ( B`, `ESC 7`).
 */
const WHOLE = String.raw`\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)|\x1b[ -/]*[0-OQ-WYZ\\\x60-~]`;
/** The start of one, not finished (at the end of the text). */
const PART = String.raw`\x1b(?:\[[0-?]*[ -/]*|[\]PX^_][^\x07\x1b\x9c]*\x1b?|[ -/]*)|\x9b[0-?]*[ -/]*`;
const ESCAPE = new RegExp(`${WHOLE}|(?:${PART})$`, 'g');
const UNFINISHED = new RegExp(`^(?:${PART})$`);
const WHOLE_AT = new RegExp(WHOLE, 'y');

/** Columns a code point takes: Node's own table (lib/internal/util/inspect.js, without ICU). */
export function codePointWidth(code: number): number {
  if (
    code <= 0x1f ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0x300 && code <= 0x36f) ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x20d0 && code <= 0x20ff) ||
    (code >= 0xfe00 && code <= 0xfe0f) ||
    (code >= 0xfe20 && code <= 0xfe2f) ||
    (code >= 0xe0100 && code <= 0xe01ef)
  )
    return 0;
  const wide =
    code >= 0x1100 &&
    (code <= 0x115f ||
      code === 0x2329 ||
      code === 0x232a ||
      (code >= 0x2e80 && code <= 0x3247 && code !== 0x303f) ||
      (code >= 0x3250 && code <= 0x4dbf) ||
      (code >= 0x4e00 && code <= 0xa4c6) ||
      (code >= 0xa960 && code <= 0xa97c) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xfe10 && code <= 0xfe19) ||
      (code >= 0xfe30 && code <= 0xfe6b) ||
      (code >= 0xff01 && code <= 0xff60) ||
      (code >= 0xffe0 && code <= 0xffe6) ||
      (code >= 0x1b000 && code <= 0x1b001) ||
      (code >= 0x1f200 && code <= 0x1f251) ||
      (code >= 0x1f300 && code <= 0x1f64f) ||
      // Transport and map symbols, supplemental symbols (wide in EastAsianWidth.txt, and in ICU's count)
      (code >= 0x1f680 && code <= 0x1f6ff) ||
      (code >= 0x1f900 && code <= 0x1f9ff) ||
      (code >= 0x20000 && code <= 0x3fffd));
  return wide ? 2 : 1;
}

/** The columns `text` takes on a terminal: escape sequences take none, wide characters 2. */
export function visibleWidth(text: string): number {
  if (PRINTABLE_ASCII.test(text)) return text.length;
  const plain = text.replace(ESCAPE, '');
  let width = 0;
  for (let i = 0; i < plain.length; i++) {
    const code = plain.charCodeAt(i);
    if (code >= 0x20 && code < 0x7f) width++;
    else {
      const point = plain.codePointAt(i)!;
      if (point > 0xffff) i++;
      width += codePointWidth(point);
    }
  }
  return width;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** `text` padded with spaces to `width` columns (as `padEnd` does with characters). */
export function padToWidth(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - visibleWidth(text)));
}

/** The end of `text` (plain: no escape sequences) that takes at most `width` columns. */
export function lastColumns(text: string, width: number): string {
  const points = Array.from(text);
  let used = 0;
  let from = points.length;
  while (from > 0 && used + codePointWidth(points[from - 1].codePointAt(0)!) <= width) used += codePointWidth(points[--from].codePointAt(0)!);
  return points.slice(from).join('');
}

/**
 * The longest start of `text` that takes at most `width` columns, each escape sequence in it
 * whole, and the colour (or hyperlink) still on at the cut turned off; `text` itself when it fits.
 */
export function truncateToWidth(text: string, width: number): string {
  // Walked only as far as the cut: a long text costs no more than a short one.
  return cut(text, width) ?? text;
}

/**
 * The start of `text` within `max` UTF-16 units (a bound on size, not on columns): not cut in
 * an escape sequence nor in a surrogate pair, and ended by a reset when it holds colours (a few
 * units more). `kept`: how many units of `text` it keeps. Looks only near the cut: a megabyte
 * of colours costs no walk through them all.
 */
export function truncateToLength(text: string, max: number): { text: string; kept: number } {
  if (text.length <= max) return { text, kept: text.length };
  let end = max > 0 && text.charCodeAt(max - 1) >= 0xd800 && text.charCodeAt(max - 1) <= 0xdbff ? max - 1 : max;
  const last = Math.max(text.lastIndexOf('\x1b', end - 1), text.lastIndexOf('\x9b', end - 1));
  if (last !== -1) {
    // A string sequence (OSC...) holds the ESC of its terminator: its own start is earlier.
    const string = Math.max(...['\x1b]', '\x1bP', '\x1bX', '\x1b^', '\x1b_'].map((start) => text.lastIndexOf(start, end - 1)));
    for (const start of string !== -1 && string < last ? [string, last] : [last]) {
      WHOLE_AT.lastIndex = start;
      const match = WHOLE_AT.exec(text);
      if (!match || start + match[0].length > end) {
        end = start;
        break;
      }
    }
  }
  const kept = text.slice(0, end);
  const link = kept.lastIndexOf('\x1b]8;');
  const linked = link !== -1 && /^\x1b\]8;[^;\x07\x1b\x9c]*;[^\x07\x1b\x9c]/.test(kept.slice(link, link + 2048));
  const coloured = /(?:\x1b\[|\x9b)[\d;:]*m/.test(kept);
  return { text: `${kept}${coloured ? '\x1b[0m' : ''}${linked ? '\x1b]8;;\x1b\\' : ''}`, kept: end };
}

/** Where an escape sequence that `text` ends in the middle of begins (to wait for its rest), or -1. */
export function unfinishedEscape(text: string): number {
  if (!text.includes('\x1b') && !text.includes('\x9b')) return -1;
  ESCAPE.lastIndex = 0;
  for (let match = ESCAPE.exec(text); match; match = ESCAPE.exec(text)) {
    if (ESCAPE.lastIndex === text.length && UNFINISHED.test(match[0])) return match.index;
  }
  return -1;
}

/**
 * Cuts `text` where `width` columns are reached (undefined: it fits). The escape sequences after
 * the last character kept go with what follows them; those before it tell what to turn off.
 */
function cut(text: string, width: number): string | undefined {
  let used = 0;
  let end = 0;
  ESCAPE.lastIndex = 0;
  for (let from = 0; ; ) {
    const match = ESCAPE.exec(text);
    const stop = match ? match.index : text.length;
    for (let i = from; i < stop; ) {
      const point = text.codePointAt(i)!;
      const size = point >= 0x20 && point < 0x7f ? 1 : codePointWidth(point);
      if (used + size > width) return new Attributes(text.slice(0, end)).close();
      used += size;
      i += point > 0xffff ? 2 : 1;
      end = i;
    }
    if (!match) return undefined;
    // Escape sequences are kept whole (or not at all); a text that ends inside one fits as it came.
    if (ESCAPE.lastIndex === text.length && UNFINISHED.test(match[0])) return undefined;
    from = ESCAPE.lastIndex;
  }
}

/** SGR codes (colour, weight...): the attribute each turns on, or (negated, less 1) off. */
const SGR = new Map<number, number>();
for (const [attribute, on, off] of [
  [1, [1, 2], 22],
  [2, [3], 23],
  [3, [4, 21], 24],
  [4, [5, 6], 25],
  [5, [7], 27],
  [6, [8], 28],
  [7, [9], 29],
  [8, [30, 31, 32, 33, 34, 35, 36, 37, 38, 90, 91, 92, 93, 94, 95, 96, 97], 39],
  [9, [40, 41, 42, 43, 44, 45, 46, 47, 48, 100, 101, 102, 103, 104, 105, 106, 107], 49],
  [10, [53], 55],
  [11, [58], 59],
] as [number, number[], number][]) {
  for (const code of on) SGR.set(code, attribute);
  SGR.set(off, -attribute);
}
const SGR_SEQUENCE = /(?:\x1b\[|\x9b)([\d;:]*)m|\x1b\]8;[^;\x07\x1b\x9c]*;([^\x07\x1b\x9c]*)/g;

/** What the SGR sequences and hyperlinks in `kept` leave turned on at its end. */
class Attributes {
  readonly #kept: string;
  readonly #on = new Set<number>();
  #link = false;

  constructor(kept: string) {
    this.#kept = kept;
    SGR_SEQUENCE.lastIndex = 0;
    for (let match = SGR_SEQUENCE.exec(kept); match; match = SGR_SEQUENCE.exec(kept)) {
      if (match[2] !== undefined) this.#link = match[2] !== '';
      else this.#sgr(match[1].split(';'));
    }
  }

  #sgr(codes: string[]): void {
    for (let i = 0; i < codes.length; i++) {
      const code = Number(codes[i].split(':')[0] || 0);
      const attribute = SGR.get(code);
      if (code === 0) this.#on.clear();
      else if (attribute === undefined)
        this.#on.add(0); // unknown: only a full reset turns it off
      else if (attribute < 0) this.#on.delete(-attribute);
      else this.#on.add(attribute);
      // 38;5;n and 38;2;r;g;b (and 48, 58): the colour's own numbers are not codes.
      if ((code === 38 || code === 48 || code === 58) && !codes[i].includes(':')) i += codes[i + 1] === '5' ? 2 : codes[i + 1] === '2' ? 4 : 0;
    }
  }

  /** The kept text, then what turns off what is on at its end. */
  close(): string {
    return `${this.#kept}${this.#on.size > 0 ? '\x1b[0m' : ''}${this.#link ? '\x1b]8;;\x1b\\' : ''}`;
  }
}
