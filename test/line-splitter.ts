import fc from 'fast-check';
import t from 'tap';
import { LineSplitter } from '../workers/transport/line-splitter.ts';
import { tokenMatches } from '../workers/transport/token.ts';

const split = (max: number, ...chunks: string[]) => {
  const splitter = new LineSplitter(max);
  return [...chunks.flatMap((chunk) => splitter.push(Buffer.from(chunk))), ...splitter.end()];
};
const line = (text: string, overflowed = false) => ({ text, overflowed });

t.test('lines, whatever the chunks, and the last one without a newline', async (t) => {
  t.same(split(100, 'abc\nde', 'f\n', 'g'), [line('abc'), line('def'), line('g')]);
  t.same(split(100, '\n\n'), [line(''), line('')]);
  t.same(split(100, 'é'.slice(0, 1), '\n'), [line('é')]);
  const bytes = Buffer.from('é\n'); // a character split between chunks
  const splitter = new LineSplitter(100);
  t.same([...splitter.push(bytes.subarray(0, 1)), ...splitter.push(bytes.subarray(1))], [line('é')]);
});

t.test('a line longer than the limit is cut and marked; the next one is whole', async (t) => {
  t.same(split(5, 'abcdefgh\nok\n'), [line('abcde', true), line('ok')]);
  t.same(split(5, 'abc', 'defg', 'hij', '\nok\n'), [line('abcde', true), line('ok')]);
  t.same(split(5, 'x'.repeat(100_000)), [line('xxxxx', true)]);
});

t.test('clear() drops a half-received line', async (t) => {
  const splitter = new LineSplitter(100);
  splitter.push(Buffer.from('half'));
  splitter.clear();
  t.same(splitter.push(Buffer.from('whole\n')), [line('whole')]);
});

t.test('property: every newline ends one line, and no line is longer than the limit', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { maxLength: 10 }), fc.integer({ min: 1, max: 12 }), (chunks, max) => {
        const splitter = new LineSplitter(max);
        const lines = chunks.flatMap((chunk) => splitter.push(Buffer.from(chunk)));
        const newlines = chunks.join('').split('\n').length - 1;
        return lines.length === newlines && lines.every((l) => Buffer.byteLength(l.text) <= max + 3);
      }),
      { numRuns: 500 },
    ),
  );
});

t.test('tokenMatches', async (t) => {
  t.equal(tokenMatches('s3cret-token', 's3cret-token'), true);
  t.equal(tokenMatches('s3cret-token', 's3cret-tokem'), false);
  t.equal(tokenMatches('s3cret-token', ''), false);
  t.equal(tokenMatches('s3cret-token', 's3cret-token-and-more'), false);
});
