// Cutting and measuring coloured text: never inside an escape sequence, colours closed, widths
// in columns; and the places that cut output use it.
import fc from 'fast-check';
import t from 'tap';
import { inspect, stripVTControlCharacters } from 'node:util';
import { lastColumns, padToWidth, truncateToLength, truncateToWidth, unfinishedEscape, visibleWidth } from '../common/ansi.ts';
import { splitOutput } from '../client/output.ts';
import { shortTitle } from '../client/process-info.ts';
import { formatThrown, replInspectOptions } from '../lib/format.ts';
import { preview } from '../lib/inspector.ts';
import { capText, MAX_OUTPUT_CHARS, OutputBuffer } from '../lib/output-buffer.ts';

/** What a terminal would see as broken: an ESC left once every whole CSI, OSC and 2-byte escape is taken out. */
const broken = (text: string) => text.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]/g, '').includes('\x1b');
/** Whether an SGR attribute is still on at the end of `text` (for the colours util.inspect uses). */
const tinted = (text: string) => !/^(0?|39|22|23|24|27|49)$/.test([...text.matchAll(/\x1b\[([0-9;]*)m/g)].at(-1)?.[1] ?? '');

const line = `connection: \x1b[36m[Function: connectionListener]\x1b[39m, \x1b[33m3\x1b[39m`;

t.test('visibleWidth counts columns: escape sequences none, wide characters 2, combining marks none', async (t) => {
  t.equal(visibleWidth(line), 45);
  t.equal(visibleWidth(line), stripVTControlCharacters(line).length);
  t.equal(visibleWidth('日本語'), 6);
  t.equal(visibleWidth('e\u0301'), 1);
  t.equal(visibleWidth('😀!'), 3);
  t.equal(visibleWidth('\x1b]8;;http://example.com\x1b\\link\x1b]8;;\x1b\\'), 4);
  t.equal(padToWidth('日本', 6), '日本  ');
  t.equal(padToWidth('\x1b[1mab\x1b[22m', 3), '\x1b[1mab\x1b[22m ');
  t.equal(lastColumns('ab日本', 5), 'b日本');
  t.equal(lastColumns('ab日本', 3), '本');
  t.equal(lastColumns('a😀', 2), '😀');
});

t.test('truncateToWidth: whole escape sequences, the colour closed, nothing past the width', async (t) => {
  t.equal(truncateToWidth(line, 45), line, 'what fits is untouched');
  t.equal(truncateToWidth(line, 12), 'connection: ', 'an escape after the last character kept goes');
  t.equal(truncateToWidth(line, 20), 'connection: \x1b[36m[Functio\x1b[0m', 'cut in colour: turned off');
  t.equal(truncateToWidth(line, 43), 'connection: \x1b[36m[Function: connectionListener]\x1b[39m,', 'the colour closed itself');
  t.equal(truncateToWidth(line, 44), 'connection: \x1b[36m[Function: connectionListener]\x1b[39m, ');
  t.equal(truncateToWidth('日本語', 3), '日', 'a wide character is not cut in two');
  t.equal(truncateToWidth('😀😀', 3), '😀', 'nor a surrogate pair');
  t.equal(truncateToWidth('\x1b[38;5;196mred\x1b[39m and \x1b[1mbold', 10), '\x1b[38;5;196mred\x1b[39m and \x1b[1mbo\x1b[0m', "38;5;n's numbers are not codes");
  t.equal(truncateToWidth('\x1b]8;;http://x\x1b\\link text\x1b]8;;\x1b\\', 4), '\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\', 'a hyperlink is ended');
  t.equal(truncateToWidth('ab\x1b[3', 1), 'a');
  fc.assert(
    fc.property(fc.anything(), fc.nat(200), (value, width) => {
      const text = inspect(value, { colors: true, breakLength: Infinity, depth: 3 });
      const cut = truncateToWidth(text, width);
      return visibleWidth(cut) <= width && !broken(cut) && !tinted(cut) && stripVTControlCharacters(text).startsWith(stripVTControlCharacters(cut));
    }),
  );
});

t.test('truncateToWidth and truncateToLength on any mix of text and escape sequences', async () => {
  const piece = fc.constantFrom('a', ' ', '日', '😀', 'e\u0301', '\x1b[31m', '\x1b[39m', '\x1b[1m', '\x1b[0m', '\x1b[38;2;1;2;3m', '\x1b[K', '\x1b]8;;http://x\x1b\\', '\x1b]8;;\x07', '\x1b(B');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), fc.nat(30), (pieces, limit) => {
      const text = pieces.join('');
      const byWidth = truncateToWidth(text, limit);
      const byLength = truncateToLength(text, limit);
      // What fits is untouched (its own colours and all); what is cut is whole and closed.
      const widthOk = byWidth === text || (visibleWidth(byWidth) <= limit && !broken(byWidth) && !tinted(byWidth));
      const lengthOk = byLength.kept === text.length || (byLength.kept <= limit && text.startsWith(byLength.text.slice(0, byLength.kept)) && !broken(byLength.text) && !tinted(byLength.text));
      return widthOk && lengthOk;
    }),
  );
});

t.test('truncateToLength: a bound on size that cuts no escape sequence nor surrogate pair', async (t) => {
  t.same(truncateToLength(line, 100), { text: line, kept: line.length });
  t.same(truncateToLength(line, 13), { text: 'connection: ', kept: 12 }, 'not inside ESC[36m');
  t.same(truncateToLength(line, 18), { text: 'connection: \x1b[36m[\x1b[0m', kept: 18 });
  t.same(truncateToLength('a😀', 2), { text: 'a', kept: 1 });
  fc.assert(
    fc.property(fc.anything(), fc.nat(300), (value, max) => {
      const text = inspect(value, { colors: true, depth: 3 });
      const cut = truncateToLength(text, max);
      return cut.kept <= max && text.startsWith(cut.text.replace(/\x1b\[0m$/, '')) && !broken(cut.text) && !tinted(cut.text);
    }),
  );
});

t.test('unfinishedEscape: where an escape sequence the text ends inside begins', async (t) => {
  t.equal(unfinishedEscape('abc\x1b[3'), 3);
  t.equal(unfinishedEscape('abc\x1b'), 3);
  t.equal(unfinishedEscape('x\x1b]8;;http://a\x1b'), 1, 'an OSC from its start, not from its terminator');
  t.equal(unfinishedEscape('abc\x1b[31m'), -1);
  t.equal(unfinishedEscape('x\x1b]8;;u\x1b\\y'), -1);
  t.equal(unfinishedEscape('plain'), -1);
});

t.test('.inspect and .locals previews are cut in columns, whole escapes, colour closed', async (t) => {
  const events = Object.assign(Object.create(null), { request: () => {}, connection: function connectionListener() {}, listening: () => {}, clientError: () => {} });
  const plain = preview(events, 60);
  const coloured = preview(events, 60, true);
  t.ok(coloured.endsWith('...') && !broken(coloured) && !tinted(coloured), JSON.stringify(coloured));
  t.equal(stripVTControlCharacters(coloured), plain, 'colours take no room: the same text is shown with and without');
  t.equal(visibleWidth(plain), 123);
  t.equal(preview('日'.repeat(200), 10), `'${'日'.repeat(9)}...`, 'wide characters count 2: 19 columns, a 10th would be 21');
});

t.test('the 1 MB output caps cut no escape sequence, and close the colour', async (t) => {
  const red = `\x1b[31m${'x'.repeat(MAX_OUTPUT_CHARS - 7)}\x1b[39m tail`;
  const capped = capText(red);
  t.ok(capped.startsWith(`\x1b[31m${'x'.repeat(MAX_OUTPUT_CHARS - 7)}\x1b[0m\n[... `), 'not inside ESC[39m, and reset');
  t.match(capped, /\[\.\.\. 10 more characters of output dropped\]$/);
  const buffer = new OutputBuffer();
  buffer.append(red);
  const taken = buffer.take();
  t.notOk(broken(taken) || tinted(taken.split('\n')[0]));
  t.match(taken, /\[\.\.\. 10 more characters of output dropped\]\n$/);
});

t.test('the client holds back an escape sequence split across chunks, and an unended line under a prompt', async (t) => {
  t.same(splitOutput('42 \x1b[3', 0, true), { parts: [{ text: '42 ' }], held: '\x1b[3', atLineStart: false });
  t.same(splitOutput('\x1b[33m42\x1b[39m\n> ', 1, true).parts, [{ text: '\x1b[33m42\x1b[39m\n' }, { prompt: '> ' }]);
  t.same(splitOutput('later\nhalf a li', 0, true, true), { parts: [{ text: 'later\n' }], held: 'half a li', atLineStart: true });
  t.same(splitOutput('half a li', 0, false, true), { parts: [], held: 'half a li', atLineStart: false }, 'held from where the line was');
  t.same(splitOutput('later\n', 0, true, true), { parts: [{ text: 'later\n' }], held: '', atLineStart: true });
  t.same(splitOutput('half', 0, true, false), { parts: [{ text: 'half' }], held: '', atLineStart: false });
  t.equal(shortTitle('/usr/bin/node /srv/日本語日本語日本語/server.js', 20), 'node …本語/server.js');
  t.ok(visibleWidth(shortTitle('/usr/bin/node /srv/日本語日本語日本語/server.js', 20)) <= 20);
});

t.test('`Uncaught` goes on the line of the error when what shows fits the width, colours or not', async (t) => {
  const error = Object.assign(new Error('x'.repeat(20)), { a: 1, b: 2, c: 3, d: 4, e: 5 });
  error.stack = undefined;
  const plain = formatThrown(error);
  const coloured = formatThrown(error, 'Uncaught', { inspectOptions: { ...replInspectOptions, colors: true } });
  t.match(plain, /^Uncaught \[?Error/);
  t.ok(coloured.length > 80, 'its escapes make it longer than the width');
  t.equal(stripVTControlCharacters(coloured), plain, 'the same lines as without colours');
});
