import fc from 'fast-check';
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { DO, DONT, IAC, IP, Option, refuseNegotiation, SB, SE, TelnetParser, WILL, WONT, XEOF, type TelnetPart } from '../common/telnet.ts';

const bytes = (...values: (number | string)[]) => Buffer.concat(values.map((v) => (typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from([v]))));

/** Parses chunks and merges adjacent data parts, so that results compare whatever the split. */
function parse(...chunks: Buffer[]): TelnetPart[] {
  const parser = new TelnetParser();
  const merged: TelnetPart[] = [];
  for (const part of chunks.flatMap((chunk) => parser.push(chunk))) {
    const last = merged.at(-1);
    if (part.type === 'data' && last?.type === 'data') last.data = Buffer.concat([last.data, part.data]);
    else merged.push(part.type === 'data' ? { type: 'data', data: Buffer.from(part.data) } : part);
  }
  return merged;
}

const data = (text: string): TelnetPart => ({ type: 'data', data: Buffer.from(text, 'latin1') });

t.test('plain data passes through unchanged', async (t) => {
  t.same(parse(bytes('1+1\n')), [data('1+1\n')]);
  t.same(parse(Buffer.alloc(0)), []);
});

t.test('CR LF, CR NUL and a lone CR each end one line, even split across chunks', async (t) => {
  t.same(parse(bytes('a\r\nb\r\0c\rd')), [data('a\nb\nc\nd')]);
  t.same(parse(bytes('a\r'), bytes('\nb')), [data('a\nb')]);
  t.same(parse(bytes('a\r'), bytes('\0')), [data('a\n')]);
  t.same(parse(bytes('\r\n\r\n')), [data('\n\n')]);
});

t.test('IAC IAC is one 255 byte of data', async (t) => {
  t.same(parse(bytes('x', IAC, IAC, 'y')), [data('x\xffy')]);
  t.same(parse(bytes('x', IAC), bytes(IAC, 'y')), [data('x\xffy')]);
});

t.test('Ctrl-C (IAC IP) is an interrupt, in order with the data around it', async (t) => {
  t.same(parse(bytes('ab', IAC, IP, 'cd')), [data('ab'), { type: 'interrupt' }, data('cd')]);
  t.same(parse(bytes(IAC), bytes(IP)), [{ type: 'interrupt' }]);
  t.same(parse(bytes(IAC, XEOF)), [{ type: 'eof' }]);
  t.same(parse(bytes(IAC, 241)), [{ type: 'command', code: 241 }]); // NOP
});

t.test('negotiation is parsed, even split byte by byte', async (t) => {
  const expected = [
    { type: 'negotiate', verb: DO, option: Option.TIMING_MARK },
    { type: 'negotiate', verb: WILL, option: Option.NAWS },
  ];
  t.same(parse(bytes(IAC, DO, 6, IAC, WILL, 31)), expected);
  t.same(parse(...[IAC, DO, 6, IAC, WILL, 31].map((b) => bytes(b))), expected);
});

t.test('subnegotiation carries its data, IAC IAC inside it is a 255 byte', async (t) => {
  t.same(parse(bytes(IAC, SB, Option.NAWS, 0, 100, 0, IAC, IAC, IAC, SE, 'x')), [{ type: 'subnegotiation', option: Option.NAWS, data: Buffer.from([0, 100, 0, 255]) }, data('x')]);
});

t.test('an endless subnegotiation is bounded and the stream recovers at SE', async (t) => {
  const parts = parse(bytes(IAC, SB, 24), Buffer.alloc(100_000, 65), bytes(IAC, SE, 'ok'));
  t.equal(parts.length, 2);
  t.equal(parts[0].type === 'subnegotiation' && parts[0].data.length <= 256, true);
  t.same(parts[1], data('ok'));
});

t.test('refusing negotiation: WONT to DO, DONT to WILL, silence to refusals, TIMING-MARK answered', async (t) => {
  t.same(refuseNegotiation(DO, Option.ECHO), Buffer.from([IAC, WONT, Option.ECHO]));
  t.same(refuseNegotiation(WILL, Option.NAWS), Buffer.from([IAC, DONT, Option.NAWS]));
  t.equal(refuseNegotiation(DONT, Option.ECHO), undefined);
  t.equal(refuseNegotiation(WONT, Option.ECHO), undefined);
  t.same(refuseNegotiation(DO, Option.TIMING_MARK), Buffer.from([IAC, WILL, Option.TIMING_MARK]));
});

t.test('property: any bytes, split anywhere, parse as they do in one piece', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 8 }), (input, cuts) => {
        const buffer = Buffer.from(input);
        const points = [...new Set(cuts.map((c) => c % (buffer.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let from = 0;
        for (const point of points) {
          chunks.push(buffer.subarray(from, point));
          from = point;
        }
        chunks.push(buffer.subarray(from));
        return isDeepStrictEqual(parse(...chunks), parse(buffer));
      }),
      { numRuns: 500 },
    ),
  );
});

t.test('property: data never holds a CR, and 255 only where the client doubled it', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (input) => {
        const out = parse(Buffer.from(input)).flatMap((part) => (part.type === 'data' ? [...part.data] : []));
        if (out.includes(13)) return false;
        const doubled = Buffer.from(input).toString('latin1').split('\xff\xff').length - 1;
        return out.filter((b) => b === 255).length <= doubled;
      }),
      { numRuns: 1000 },
    ),
  );
});

t.test('a repeated WILL TERMINAL-TYPE is answered once, before the offer or after it: a flood is not answered in kind', async (t) => {
  const { Negotiation } = await import('../dist/workers/transport/negotiation.js');
  const early = new Negotiation();
  t.same(early.negotiate(WILL, Option.TERMINAL_TYPE), Buffer.from([IAC, DO, Option.TERMINAL_TYPE, IAC, SB, Option.TERMINAL_TYPE, 1, IAC, SE]));
  early.offer();
  const answers = Array.from({ length: 1000 }, () => early.negotiate(WILL, Option.TERMINAL_TYPE));
  t.same(answers.filter(Boolean), [], 'a thousand more, none answered');
  const late = new Negotiation();
  late.offer();
  t.same(late.negotiate(WILL, Option.TERMINAL_TYPE), Buffer.from([IAC, SB, Option.TERMINAL_TYPE, 1, IAC, SE]));
  t.equal(late.negotiate(WILL, Option.TERMINAL_TYPE), undefined);
});
