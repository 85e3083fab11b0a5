// The JSON mode is a view of the op table: every op `describe` lists can be asked for, by name
// and arguments, and answers with its status, code and data. A case per op: an op added to the
// table without one here fails this test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { connect, start } from './fixtures/backdoor.ts';
import type { TestClient } from './fixtures/client.ts';

type Line = Record<string, unknown>;

/** Each op: its arguments, and what its `ret` line holds (tap's match). */
const cases: Record<string, { args?: Record<string, unknown>; ret: Record<string, unknown>; before?: string[] }> = {
  eval: { args: { code: 'shared.n * 42' }, ret: { status: 'done', ok: true, text: '42', inspect: '42', val: { json: 42 } } },
  inspect: { args: { code: 'shared' }, ret: { status: 'done', text: /^\$1 \{ n: 1 \}\n +n: 1$/ } },
  complete: { args: { line: 'shared.n' }, ret: { status: 'done', names: ['shared.n'], completed: 'shared.n' } },
  stats: { ret: { status: 'done', text: /^event loop delay/ } },
  locals: { ret: { status: 'done', text: /^shared +\{ n: 1 \}$/ } },
  heap: { ret: { status: 'done', text: /^heap: [\d.]+ MB used/ } },
  'heap-sample': { args: { seconds: 0.2 }, before: ['started'], ret: { status: 'done', file: /\.heapprofile$/ } },
  stack: { ret: { status: 'done', idle: Boolean, frames: Array } },
  profile: { args: { seconds: 0.2 }, before: ['started'], ret: { status: 'done', file: /\.cpuprofile$/ } },
  // Unconfirmed: it would end this process (test/process-guard.ts confirms it in a child app).
  'exit-app': { args: { code: 3 }, ret: { status: 'error', code: 'refused', ok: false, text: /needs confirm: true/ } },
  describe: { ret: { status: 'done', ops: Array } },
  help: { ret: { status: 'done', text: /^\.break/ } },
  versions: { ret: { status: 'done', text: new RegExp(`^node ${process.versions.node}\n[^]*\nv8 ${process.versions.v8}\n`), versions: { node: process.versions.node, v8: process.versions.v8 } } },
  break: { ret: { status: 'done' } },
  clear: { ret: { status: 'done', text: 'Clearing context...' } },
  // (mode and exit end the JSON mode: run last, below.)
  mode: { args: { mode: 'text' }, ret: {} },
  exit: { ret: {} },
};

async function next(client: TestClient): Promise<Line> {
  return JSON.parse(await client.expect('\n', 10_000)) as Line;
}

t.test('every op describe lists runs in the JSON mode, with its arguments, and answers in kind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'backdoor-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const client = await connect(t, await start(t, { locals: { shared: { n: 1 } }, diagnosticsDir: dir }));
  client.send('.mode json\n');
  t.match(await next(client), { tag: 'mode', mode: 'json', version: 2 });
  client.send(`${JSON.stringify({ id: 'd', op: 'describe' })}\n`);
  const described = await next(client);
  const ops = described.ops as { name: string; args: { name: string; optional?: boolean }[]; runs: string; role: string; returns: string; doc: string }[];
  t.same(ops.map((op) => op.name).sort(), Object.keys(cases).sort(), 'a case for every op, an op for every case');
  for (const op of ops) {
    t.match(op, { doc: String, runs: /^(main|inspector|session)$/, role: /^(observe|full)$/, returns: String }, op.name);
    const required = op.args.filter((arg) => !arg.optional).map((arg) => arg.name);
    for (const name of required) t.ok(cases[op.name].args && name in cases[op.name].args!, `${op.name}: its case gives ${name}`);
  }
  for (const op of ops.filter((op) => op.name !== 'mode' && op.name !== 'exit')) {
    const { args, ret, before = [] } = cases[op.name];
    client.send(`${JSON.stringify({ id: op.name, op: op.name, ...(args && { args }) })}\n`);
    const lines = [await next(client)];
    while (lines.at(-1)!.tag !== 'ret') lines.push(await next(client));
    t.same(
      lines.slice(0, -1).map((line) => line.tag),
      before,
      `${op.name}: what comes before its answer`,
    );
    t.match(lines.at(-1), { tag: 'ret', id: op.name, op: op.name, ms: Number, ...ret }, op.name);
  }
  // An unknown op and bad arguments are answered with their codes, and the mode goes on.
  client.send(`${JSON.stringify({ id: 'u', op: 'nope' })}\n`);
  t.match(await next(client), { tag: 'ret', id: 'u', status: 'error', code: 'unknown-op' });
  client.send(`${JSON.stringify({ id: 'b', op: 'profile', args: { seconds: 0 } })}\n`);
  t.match(await next(client), { tag: 'ret', id: 'b', status: 'error', code: 'bad-args', text: /seconds must be above 0/ });
  client.send(`${JSON.stringify({ id: 'x', op: 'eval', args: { code: '1', extra: true } })}\n`);
  t.match(await next(client), { tag: 'ret', id: 'x', status: 'error', code: 'bad-args' });
  // mode: back to text, where the same ops are dot-commands; exit: the session ends.
  client.send(`${JSON.stringify({ id: 'm', op: 'mode', args: { mode: 'text' } })}\n`);
  await client.expect(/> $/);
  t.match(await client.eval('.describe'), /^eval \(code\): Run code in this session/);
  client.send('.mode json\n');
  await next(client);
  client.send(`${JSON.stringify({ id: 'e', op: 'exit' })}\n`);
  await client.waitClosed();
});

t.test('an error with a huge message, or one made to run code when read, is answered in bounds', async (t) => {
  const client = await connect(t, await start(t));
  client.send('.mode json\n');
  await next(client);
  client.send(`${JSON.stringify({ id: 'big', code: "throw new Error('x'.repeat(5e6))" })}\n`);
  const line = await client.expect('\n', 30_000);
  t.ok(line.length < 2.5 * 1024 * 1024, `one line of ${line.length} characters`);
  const big = JSON.parse(line) as Line;
  t.match(big, { id: 'big', status: 'error', ok: false });
  t.notOk('val' in big && JSON.stringify(big.val).length > 1024 * 1024, 'no value past 1 MB of strings');
  // Text of such an error: util.inspect reads the prototype chain for the constructor's name,
  // where a proxy's trap can run (bounded by evalTimeoutMs); the JSON value never runs one.
  const odd = "const e = new Error('m'); e.name = { toString() { globalThis.ran = true; return 'N' } }; Object.setPrototypeOf(e, new Proxy(Error.prototype, { getOwnPropertyDescriptor() { globalThis.ran = true } })); throw e";
  client.send(`${JSON.stringify({ id: 'odd', code: odd })}\n`);
  t.match(JSON.parse(await client.expect('\n', 30_000)), { id: 'odd', status: 'error', val: { json: { name: 'Error', message: 'm' } } });
  client.send(`${JSON.stringify({ id: 'after', code: '6*7' })}\n`);
  t.match(JSON.parse(await client.expect('\n', 30_000)), { id: 'after', status: 'done', text: '42' });
  const { toJsonValue } = await import('../dist/lib/json-value.js');
  let ran = false;
  const hostile = new Error('m');
  const mark = () => {
    ran = true;
  };
  (hostile as { name: unknown }).name = {
    toString: () => {
      mark();
      return 'N';
    },
  };
  Object.setPrototypeOf(
    hostile,
    new Proxy(Error.prototype, {
      getOwnPropertyDescriptor: () => {
        mark();
        return undefined;
      },
    }),
  );
  t.match(toJsonValue(hostile), { json: { name: 'Error', message: 'm' } });
  t.notOk(ran, 'no code of the value ran');
});
