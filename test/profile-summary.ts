// What .stack, .profile and .heap sample print, from inspector answers of the shapes the
// protocol defines; and how their arguments are read.
import t from 'tap';
import { parseCommand } from '../common/ops.ts';
import { cpuProfileText, formatBytes, heapProfileText, place, stackText, type CpuProfile } from '../workers/diagnostics/profile-summary.ts';

const frame = (functionName: string, url = 'file:///app/server.js', lineNumber = 9, columnNumber = 2) => ({ functionName, url, lineNumber, columnNumber, scriptId: '1' });

t.test('places: file URLs as paths, 1-based; node: URLs as they are; none', async (t) => {
  t.equal(place('file:///app/a%20b.js', 0, 4), '/app/a b.js:1:5');
  t.equal(place('node:internal/timers', 580, 16), 'node:internal/timers:581:17');
  t.equal(place('', 3), '');
});

t.test('a stack, top first, as an Error prints one', async (t) => {
  t.equal(
    stackText([
      { functionName: 'stuck', url: 'file:///app/x.js', location: { lineNumber: 1, columnNumber: 3 } },
      { functionName: '', url: 'file:///app/x.js', location: { lineNumber: 9, columnNumber: 0 } },
      { functionName: 'native', location: { lineNumber: 0 } },
    ]),
    'The main thread is running JavaScript, here (top first):\n    at stuck (/app/x.js:2:4)\n    at /app/x.js:10:1\n    at native',
  );
});

t.test('a CPU profile: idle and GC apart, functions by self time, hottest paths root to leaf', async (t) => {
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 1_000_000, // 1 s
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4] },
      { id: 2, callFrame: frame('(idle)', ''), children: [] },
      { id: 3, callFrame: frame('(garbage collector)', ''), children: [] },
      { id: 4, callFrame: frame('processTimers', 'node:internal/timers', 511, 20), children: [5] },
      { id: 5, callFrame: frame('handler'), children: [6, 7] },
      { id: 6, callFrame: frame('hot', 'file:///app/hot.js', 0, 0), children: [] },
      { id: 7, callFrame: frame('', 'file:///app/anon.js', 4, 4), children: [] },
    ],
    samples: [2, 2, 2, 2, 3, 6, 6, 6, 5, 7],
  };
  const text = cpuProfileText(profile);
  t.match(text, /^10 samples over 1\.0 s \(100000 us apart\)\.\nIdle \(waiting in the event loop\) 40\.0%, garbage collection 10\.0%, V8 and Node outside JavaScript 0\.0%\./);
  t.match(text, /\nFunctions by self time:\n 30\.0% +300\.0 ms {2}hot {2}\/app\/hot\.js:1:1\n 10\.0% +100\.0 ms {2}handler {2}\/app\/server\.js:10:3\n 10\.0% +100\.0 ms {2}\(anonymous\) {2}\/app\/anon\.js:5:5\n/);
  t.match(text, /\nHottest call paths \(caller > callee\):\n 30\.0% +300\.0 ms {2}processTimers > handler > hot\n/);
  t.equal(cpuProfileText({ startTime: 0, endTime: 2e6, nodes: [{ id: 1, callFrame: frame('(root)', '') }], samples: [] }), 'No samples in 2.0 s.');
  const idleOnly = cpuProfileText({
    startTime: 0,
    endTime: 1e6,
    nodes: [
      { id: 1, callFrame: frame('(root)', ''), children: [2] },
      { id: 2, callFrame: frame('(idle)', '') },
    ],
    samples: [2, 2],
  });
  t.match(idleOnly, /Idle \(waiting in the event loop\) 100\.0%[^]*\nNo JavaScript ran while it was sampled\.$/);
  // Without `samples` (an old profile), hit counts tell the same.
  const nodeFirst = cpuProfileText({ ...profile, samples: [4, 4, 6] });
  t.match(
    nodeFirst,
    /\n 66\.7% +\d+\.\d ms {2}processTimers {2}node:internal\/timers:512:21\n 33\.3%[^\n]*\n {2}\(the time of Node's own function at the top can be that of an app function V8 had optimized or inlined before the profile began\)\n/,
  );
  t.notMatch(text, /inlined/);
  t.match(cpuProfileText({ ...profile, samples: undefined, nodes: profile.nodes.map((node) => ({ ...node, hitCount: node.id === 6 ? 3 : node.id === 2 ? 1 : 0 })) }), /\n 75\.0% +750\.0 ms {2}hot /);
});

t.test('a sampling heap profile: live bytes by allocating function', async (t) => {
  const text = heapProfileText(
    {
      head: {
        callFrame: frame('(root)', ''),
        selfSize: 0,
        children: [
          { callFrame: frame('allocate'), selfSize: 3 * 1024 * 1024, children: [{ callFrame: frame('allocate'), selfSize: 1024 * 1024, children: [] }] },
          { callFrame: frame('small', 'file:///app/s.js', 0, 0), selfSize: 2048, children: [] },
        ],
      },
    },
    2,
  );
  t.match(text, /^4\.0 MB sampled in allocations made over 2 s and still alive, by allocating function:\n100\.0% +4\.0 MB {2}allocate {2}\/app\/server\.js:10:3\n {2}0\.0% +2\.0 kB {2}small {2}\/app\/s\.js:1:1$/);
  t.equal(heapProfileText({ head: { callFrame: frame('(root)', ''), selfSize: 0, children: [] } }, 1), 'No sampled allocation still alive after 1 s.');
  t.equal(formatBytes(12), '12 B');
});

t.test('the op table parses the dot-commands: seconds in (0, 60], default 5; which commands there are', async (t) => {
  const args = (text: string) => {
    const parsed = parseCommand(text);
    return parsed && 'args' in parsed ? parsed.args : parsed && 'usage' in parsed ? parsed.usage : undefined;
  };
  t.same(args('profile'), { seconds: 5 });
  t.same(args('profile 2.5'), { seconds: 2.5 });
  for (const bad of ['0', '61', '-1', 'abc', '1e3', 'Infinity']) t.type(args(`profile ${bad}`), 'string', bad);
  t.match(args('profile 99'), /seconds must be above 0 and at most 60, not 99/);
  t.same(args('stack'), {});
  t.match(args('stack x'), /it takes no arguments/);
  t.same(args('heap sample'), { seconds: 5 });
  t.same(args('heap sample 3'), { seconds: 3 });
  t.match(parseCommand('heap'), { op: { name: 'heap', runs: 'main' } }, '.heap alone asks the main thread');
  t.match(parseCommand('heap sample'), { op: { name: 'heap-sample', runs: 'inspector' } });
  t.match(parseCommand('inspect a.b 3'), { args: { code: 'a.b', depth: 3 } });
  t.match(parseCommand('inspect a.b 9'), { usage: /depth must be from 1 to 4/ });
  t.match(parseCommand('exit-app 3'), { args: { code: 3, confirm: false } });
  t.equal(parseCommand('nope'), undefined);
});
