// The profile's top function, line by line: its hottest line from V8's line ticks, and what that
// line calls (the function V8 gave no frame, having optimized it before the profile began).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { callsOn, hotLineNote, readSource } from '../workers/diagnostics/hot-line.ts';
import { cpuProfileText, topFunction, type CpuProfile } from '../workers/diagnostics/profile-summary.ts';

t.test('the calls on a line: names and member chains, once each, in order; not definitions, keywords, strings', async (t) => {
  t.same(callsOn("  if (mode === 'a') { stuckHere(); }"), ['stuckHere']);
  t.same(callsOn('function stuckHere() { const end = Date.now() + 5000; while (Date.now() < end) {} }'), ['Date.now']);
  t.same(callsOn('const x = new Foo(bar(1), this.baz(), super.q(), a?.b(), bar(2));'), ['Foo', 'bar', 'this.baz', 'super.q', 'a.b']);
  t.same(callsOn('  method(a, b) {'), [], 'a method defined');
  t.same(callsOn('const f = async (x) => g(x);'), ['g'], 'an arrow: its parameters are no call');
  t.same(callsOn('function* gen(a) { yield (a); }'), []);
  t.same(callsOn('log("x (y)"); // z(w)'), ['log'], 'strings and comments');
  t.same(callsOn('setTimeout(() => stuckHere(), 1000);', 11), ['stuckHere'], 'from a column on');
  t.same(callsOn('`${a(1)} and ${'), ['a'], 'a line that does not tokenize: what came before');
  t.same(callsOn('*/ b(2)'), [], 'the end of a comment: nothing');
});

const source = ['function stuckHere() {', '  while (Date.now() < end) {}', '}', 'function tick() {', '  log("tick");', '  stuckHere();', '}', 'const f = () => stuckHere();', 'x'.repeat(500)].join('\n');
const ticks = (entries: [number, number][]) => new Map(entries);

t.test('the note: the hottest line, its share, what it calls; nothing when the file is not the code V8 ran', async (t) => {
  t.same(
    hotLineNote(
      'tick',
      '/app/x.js',
      { lineNumber: 3, columnNumber: 13 },
      ticks([
        [6, 90],
        [5, 10],
      ]),
      source,
    ),
    [
      '  Hottest line of tick, 90.0% of its samples: /app/x.js:6  stuckHere();',
      "  It calls stuckHere: the time is likely stuckHere's. V8 counts a function it optimized or inlined before the profile began, and most built-ins, as their caller.",
    ],
  );
  t.same(hotLineNote('f', '/app/x.js', { lineNumber: 7, columnNumber: 10 }, ticks([[8, 5]]), source).length, 2, 'an arrow on its own line');
  t.same(
    hotLineNote('stuckHere', '/app/x.js', { lineNumber: 0, columnNumber: 18 }, ticks([[2, 5]]), source)[1],
    "  It calls Date.now: the time is likely Date.now's. V8 counts a function it optimized or inlined before the profile began, and most built-ins, as their caller.",
  );
  t.same(hotLineNote('stuckHere', '/app/x.js', { lineNumber: 0, columnNumber: 18 }, ticks([[3, 5]]), source), ['  Hottest line of stuckHere, 100.0% of its samples: /app/x.js:3  }'], 'no call: the line alone');
  t.same(hotLineNote('tick', '/app/x.js', { lineNumber: 3, columnNumber: 2 }, ticks([[6, 5]]), source), [], 'no function at that position: a transpiled file');
  t.same(hotLineNote('tick', '/app/x.js', { lineNumber: 3, columnNumber: 13 }, ticks([[60, 5]]), source), [], 'no such line');
  t.same(hotLineNote('tick', '/app/x.js', { lineNumber: 3, columnNumber: 13 }, ticks([]), source), [], 'no ticks');
  const long = hotLineNote('(anonymous)', '/app/x.js', { lineNumber: -1, columnNumber: -1 }, ticks([[9, 5]]), source);
  t.equal(long.length, 1, 'top-level code; a line too long (minified) is not searched for calls');
  t.match(long[0], /x{117}\.\.\.$/);
  t.match(hotLineNote('(anonymous)', '/app/x.js', { lineNumber: 0, columnNumber: 0 }, ticks([[1, 1]]), 'a(); b(); c(); d(); e();')[1], /^ {2}It calls a, b, c \(and 2 more\): the time is likely theirs\./);
});

t.test('in the summary: under the functions, for the top one, from its file; not for a function of Node', async (t) => {
  const frame = (functionName: string, url: string, lineNumber: number, columnNumber: number) => ({ functionName, url, lineNumber, columnNumber });
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 1e6,
    nodes: [
      { id: 1, callFrame: frame('(root)', '', -1, -1), children: [2] },
      { id: 2, callFrame: frame('listOnTimeout', 'node:internal/timers', 580, 16), children: [3, 4] },
      { id: 3, callFrame: frame('tick', 'file:///app/x.js', 3, 13), positionTicks: [{ line: 6, ticks: 2 }] },
      {
        id: 4,
        callFrame: frame('tick', 'file:///app/x.js', 3, 13),
        positionTicks: [
          { line: 6, ticks: 1 },
          { line: 5, ticks: 1 },
        ],
      },
    ],
    samples: [3, 3, 4, 4, 2],
  };
  t.equal(topFunction(profile)?.functionName, 'tick');
  t.match(
    cpuProfileText(profile, 10, 5, source),
    /\n 80\.0% +\d+\.\d ms {2}tick {2}\/app\/x\.js:4:14\n 20\.0%[^\n]*\n {2}Hottest line of tick, 75\.0% of its samples: \/app\/x\.js:6 {2}stuckHere\(\);\n {2}It calls stuckHere: [^\n]*\n\nHottest call paths/,
  );
  t.notMatch(cpuProfileText(profile), /Hottest line/, 'without the source');
  const nodeFirst = cpuProfileText({ ...profile, samples: [2, 2, 3] }, 10, 5, source);
  t.match(nodeFirst, /\(the time of Node's own function/);
  t.notMatch(nodeFirst, /Hottest line/);
  t.equal(topFunction({ ...profile, samples: [] }), undefined);
});

t.test("the source is read from the app's file: file: URLs only, a file of bounded size", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hot-line-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'a.js'), 'f();\n');
  writeFileSync(join(dir, 'big.js'), Buffer.alloc(8 * 1024 * 1024 + 1, 32));
  t.equal(await readSource(pathToFileURL(join(dir, 'a.js')).href), 'f();\n');
  t.equal(await readSource(pathToFileURL(join(dir, 'big.js')).href), undefined);
  t.equal(await readSource(pathToFileURL(join(dir, 'gone.js')).href), undefined);
  t.equal(await readSource('node:internal/timers'), undefined);
  t.equal(await readSource(''), undefined);
});
