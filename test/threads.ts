import t, { type Test } from 'tap';
import { countTurns } from './fixtures/turns.ts';
import { CodeRunner } from '../dist/lib/code-runner.js';
import { connect, start } from './fixtures/backdoor.ts';

/** Counts the inputs of code the main thread runs, by wrapping the runner the backdoor uses. */
function countEvaluations(t: Test) {
  const original = CodeRunner.prototype.run;
  const seen: string[] = [];
  CodeRunner.prototype.run = function (this: CodeRunner, ...args: Parameters<CodeRunner['run']>) {
    seen.push(args[0].input.code);
    return original.apply(this, args);
  };
  t.teardown(() => {
    CodeRunner.prototype.run = original;
  });
  return seen;
}

t.test('only complete inputs reach the main thread, one call each', async (t) => {
  // Lines that need more (the function's body), blank lines and .help stay in the worker; a
  // comment runs (Node's REPL prints `undefined` for it) and a syntax error is compiled on the
  // main thread, so that V8's own message is printed and it becomes `_error`, as in Node.
  const seen = countEvaluations(t);
  const client = await connect(t, await start(t));
  // A 40-line function typed line by line, blank lines, comments, a syntax error, .help.
  const body = Array.from({ length: 38 }, (_, i) => `  total += ${i};`).join('\n');
  client.send(`function sum() {\n  let total = 0;\n${body}\n  return total }\n\n\n// a comment\n/* another */\nlet let\n.help\n`);
  await client.expect('to end the session.\n> ');
  t.equal(await client.eval('sum()'), String((37 * 38) / 2));
  t.equal(seen.length, 5);
  t.match(seen[0], /^function sum\(\) \{\n/);
  t.same(seen.slice(1), ['// a comment', '/* another */', 'let let', 'sum()']);
});

t.test('each command runs in its own turn of the event loop: the app runs between any two', async (t) => {
  const turns = countTurns(t);
  const seen: number[] = [];
  const client = await connect(t, await start(t, { locals: { record: () => seen.push(turns()) } }));
  client.send('record()\n'.repeat(50));
  await client.expect(/(> 50\n> )$/);
  t.equal(seen.length, 50);
  t.ok(
    seen.every((turn, i) => i === 0 || turn > seen[i - 1]),
    `turns seen: ${seen.join(',')}`,
  );
});

t.test('sessions are served round robin, whatever one of them queues', async (t) => {
  const order: string[] = [];
  const backdoor = await start(t, { locals: { mark: (name: string) => order.push(name) } });
  const a = await connect(t, backdoor);
  const b = await connect(t, backdoor);
  // Each command holds the main thread for 2 ms, so that a cannot be done before b arrives.
  const busy = 'const until = Date.now() + 2; while (Date.now() < until) {}';
  a.send(`{ ${busy} }; mark("a")\n`.repeat(30));
  b.send(`{ ${busy} }; mark("b")\n`.repeat(10));
  // Every command has run once all 40 marks are there (bounded wait).
  for (let i = 0; i < 400 && order.length < 40; i++) await new Promise((r) => setTimeout(r, 25));
  t.equal(order.length, 40);
  // Once b has started, a never runs twice in a row until b is done.
  const firstB = order.indexOf('b');
  const whileBoth = order.slice(firstB, order.lastIndexOf('b') + 1).join('');
  t.match(whileBoth, /^(ba?)+$/, `order: ${order.join('')}`);
});
