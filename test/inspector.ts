import { execFile } from 'node:child_process';
import superjson from 'superjson';
import t from 'tap';
import { startApp } from './fixtures/child.ts';
import { TestClient, withoutWaitNotices } from './fixtures/client.ts';
import { connect, start } from './fixtures/backdoor.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;

t.test(".stats against a running app: its health and the backdoor's cost", async (t) => {
  // With the default budget, which .stats names (the fixture starts apps unpaced otherwise).
  const app = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], { BACKDOOR_PORT: '0', BACKDOOR_START: '1', BACKDOOR_MAIN_THREAD_BUDGET: '0.1' });
  const port = Number((await app.waitForStderr(/listening on 127\.0\.0\.1:\d+/)).split(':').at(-1));
  await app.get();
  const client = await TestClient.connect({ port });
  t.teardown(() => client.destroy());
  await client.ready();
  await client.eval('stats.requests');
  // (An app just started is busy loading, by its own load: the budget may hold a command a
  // while, and then says so first.)
  const first = withoutWaitNotices(await client.eval('.stats', 10_000));
  t.match(first, /^event loop delay \(how late a 10 ms timer fires, last 0 s\): p50 [\d.-]+ ms, p99 [\d.-]+ ms, max [\d.-]+ ms \(measuring from now: ask again\)\n/);
  t.match(first, /\nevent loop utilisation: [\d.]+% over the last \d+ s, [\d.]+% since the backdoor started\n/);
  t.match(first, /\nmemory: heap [\d.]+ MB used of [\d.]+ MB, rss [\d.]+ MB, external [\d.]+ MB\n/);
  t.match(first, /\nactive resources: [^\n]*TCPServerWrap \d/);
  t.match(first, new RegExp(`\\nuptime: \\d+ s, pid ${app.pid}, Node\\.js ${process.version.replace(/\./g, '\\.')}\\n`));
  t.match(first, /\nbackdoor: 1 op\(s\) \(0 diagnoses\), [\d.]+ ms of main-thread time, [\d.]+% of the main thread since it started \(budget 10%\)\n/);
  t.match(first, /\nworker: 1 session\(s\), heap [\d.]+ MB used of [\d.]+ MB$/);
  // A diagnosis counts, though it never reaches the main thread as a message.
  t.match(withoutWaitNotices(await client.eval('.stack', 10_000)), /^The main thread is (idle|running JavaScript)/);
  // Asked again until the delay has been measured for a second (the product's own threshold).
  let second = '';
  for (let i = 0; i < 100 && (second === '' || second.includes('measuring from now')); i++) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    second = withoutWaitNotices(await client.eval('.stats', 10_000));
  }
  t.match(second, /^event loop delay \(how late a 10 ms timer fires, last \d+ s\): p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms\n/, 'measured since the first .stats');
  // The app is idle: its timers fire about on time. The 10 ms the histogram's timer waits by
  // design is not delay (it was shown as p50 10.16 ms).
  const p50 = Number(/p50 ([\d.]+) ms/.exec(second)?.[1]);
  t.ok(p50 < 5, `an idle app's p50 event-loop delay is ${p50} ms, not the 10 ms sampling interval`);
  t.match(second, /backdoor: \d+ op\(s\) \(1 diagnoses\)/);
});

t.test('.locals: the names the app provided, one line each', async (t) => {
  const client = await connect(t, await start(t, { locals: { stats: { requests: 3 }, name: 'demo', big: { text: 'x'.repeat(10_000) } } }));
  const listing = await client.eval('.locals');
  t.match(listing, /^stats {2}\{ requests: 3 \}\nname {3}'demo'\nbig {4}\{ text: 'x{100}'\.\.\. 9900 more characters \}$/);
  const none = await connect(t, await start(t));
  t.equal(await none.eval('.locals'), 'The app provided no locals.');
});

t.test('.inspect: a shallow listing with handles to go deeper, getters and proxies untouched', async (t) => {
  let getterRan = false;
  const state = {
    users: new Map([['ann', { id: 1, roles: ['admin'] }]]),
    tags: new Set(['a']),
    get secret() {
      getterRan = true;
      return 1;
    },
    trap: new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap ran');
        },
        get() {
          throw new Error('trap ran');
        },
      },
    ),
    list: Array.from({ length: 250 }, (_, i) => i),
  };
  const client = await connect(t, await start(t, { locals: { state } }));
  const listing = await client.eval('.inspect state');
  t.match(listing, /^\$1 \{ users: \[Map\], tags: \[Set\], secret: \[Getter\], trap: Proxy \[Array\], list: \[Array\] \}\n/);
  t.match(listing, /\n {2}users: \$2 Map\(1\) \{ 'ann' => \[Object\] \}\n/);
  t.match(listing, /\n {2}tags: \$3 Set\(1\) \{ 'a' \}\n/);
  t.match(listing, /\n {2}secret: \[Getter\] \(not run\)\n/);
  t.match(listing, /\n {2}trap: Proxy \[ \{\}, \[Object\] \]\n/, 'a proxy is shown, not entered (no handle)');
  t.match(listing, /\n {2}list: \$4 \[/);
  t.equal(getterRan, false, 'the getter did not run');
  // Deeper, through a handle; handles are values for the session's code too.
  t.match(await client.eval('.inspect $2'), /^\$2 Map\(1\) \{ 'ann' => \[Object\] \}\n {2}\['ann'\]: \$5 \{ id: 1, roles: \[Array\] \}$/);
  t.equal(await client.eval('$5.roles[0]'), "'admin'");
  t.match(await client.eval('.inspect $4'), /\n {2}99: 99\n {2}\.\.\. 150 more properties$/);
  t.match(await client.eval('.inspect state 2'), /\n {2}users: \$2 Map[^\n]*\n {4}\['ann'\]: \$5 /);
  t.equal(await client.eval('.inspect await 1'), 'Usage: .inspect <expression> [depth]  (an expression without await; `const v = await ...` first)');
  t.equal(getterRan, false);
});

t.test('pending promises give the prompt back, and report when they settle', async (t) => {
  // Promises the test settles, once the session has said they are pending: no race with the
  // worker's one-second notice, however busy the machine.
  const settlers: { resolve: (value: unknown) => void; reject: (error: unknown) => void }[] = [];
  const later = () => new Promise((resolve, reject) => settlers.push({ resolve, reject }));
  const client = await connect(t, await start(t, { locals: { later } }));
  client.send('await later()\n');
  t.equal(await client.expect(/> $/, 5000), 'Promise #1 pending\n> ');
  t.equal(await client.eval('1+1'), '2', 'the session goes on');
  settlers[0].resolve(42);
  t.equal(await client.expect('Promise #1 fulfilled: 42\n> ', 5000), 'Promise #1 fulfilled: 42\n> ');
  client.send('await later()\n');
  await client.expect('Promise #2 pending\n> ', 5000);
  settlers[1].reject(new Error('late'));
  t.match(await client.expect(/Promise #2 rejected: Uncaught Error: late[^]*> $/, 5000), /^Promise #2 rejected: Uncaught Error: late/);
});

t.test('JSON mode: inputs and outputs are JSON lines; values keep their types through superjson', async (t) => {
  const client = await connect(t, await start(t, { locals: { shared: { n: 1 } } }));
  client.send('.mode json\n');
  t.equal(await client.expect('\n'), '{"tag":"mode","mode":"json","version":2}\n');
  const ask = async (id: unknown, code: string) => {
    client.send(`${JSON.stringify({ id, code })}\n`);
    const lines: Record<string, unknown>[] = [];
    for (;;) {
      const line = JSON.parse((await client.expect('\n')).trim());
      lines.push(line);
      if (line.tag === 'ret' || line.tag === 'err') return lines;
    }
  };
  const [ret] = await ask('types', '({ date: new Date(0), map: new Map([[1, { a: [1n] }]]), set: new Set(["s"]), big: 10n ** 20n, nothing: undefined, re: /x+/gi, error: new RangeError("no"), nested: { ok: true } })');
  t.match(ret, { tag: 'ret', id: 'types', op: 'eval', status: 'done', ok: true, inspect: /^\{\n {2}date: 1970-01-01T00:00:00\.000Z,/, ms: Number });
  const value = superjson.deserialize(ret.val as never) as Record<string, unknown>;
  t.same(value.date, new Date(0));
  t.ok(value.date instanceof Date);
  t.same(value.map, new Map([[1, { a: [1n] }]]));
  t.same(value.set, new Set(['s']));
  t.equal(value.big, 10n ** 20n);
  t.ok('nothing' in value && value.nothing === undefined);
  t.same(value.re, /x+/gi);
  t.ok(value.error instanceof Error);
  t.match(value.error, { name: 'RangeError', message: 'no' });
  t.same(value.nested, { ok: true });

  const printed = await ask(2, 'console.log("hi"); shared.n + 1');
  t.same(
    printed.map((line) => line.tag),
    ['out', 'ret'],
  );
  t.match(printed, [
    { tag: 'out', id: 2, text: 'hi\n' },
    { tag: 'ret', id: 2, ok: true, inspect: '2', val: { json: 2 } },
  ]);
  t.match(await ask(3, 'null.x'), [{ tag: 'ret', id: 3, status: 'error', code: 'thrown', ok: false, inspect: /^Uncaught TypeError: Cannot read properties of null/ }]);
  t.match(await ask(4, 'let let'), [{ tag: 'ret', id: 4, status: 'error', code: 'syntax', ok: false, inspect: 'Uncaught SyntaxError: let is disallowed as a lexically bound name' }]);
  t.match(await ask(5, 'function f() {'), [{ tag: 'ret', id: 5, status: 'error', code: 'incomplete', ok: false }]);
  // Too large, or with getters: the inspect string alone.
  const [big] = await ask(6, 'Array.from({ length: 20000 }, (_, i) => i)');
  t.equal(big.val, undefined);
  t.match(big.inspect, /19900 more items/);
  const [getter] = await ask(7, '({ get g() { throw new Error("ran") } })');
  t.match(getter, { ok: true, inspect: '{ g: [Getter] }' });
  t.equal(getter.val, undefined);
  client.send('not json\n');
  t.match(JSON.parse(await client.expect('\n')), { tag: 'err', id: null, code: 'bad-args', message: /^not JSON/ });
  client.send(`${JSON.stringify({ id: 8, code: 'tap({ tapped: new Date(0) }); setTimeout(() => console.log("later"), 10); 0' })}\n`);
  const events: Record<string, unknown>[] = [];
  while (events.length < 3) events.push(JSON.parse(await client.expect('\n')));
  t.match(
    events.find((e) => e.tag === 'tap'),
    { inspect: '{ tapped: 1970-01-01T00:00:00.000Z }' },
  );
  t.same(superjson.deserialize((events.find((e) => e.tag === 'tap') as { val: never }).val), { tapped: new Date(0) });
  t.match(
    events.find((e) => e.tag === 'ret'),
    { id: 8, inspect: '0' },
  );
  t.match(
    events.find((e) => e.tag === 'out'),
    { id: null, text: 'later\n' },
  );
});

t.test('the client: --eval prints the value and exits 0, or the error and 1; --json pipes JSON lines', async (t) => {
  const backdoor = await start(t, { locals: { stats: { requests: 7 } } });
  const { port } = backdoor.address() as { port: number };
  const run = (args: string[], input = '') =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [cli, ...args], { timeout: 10_000 }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }));
      child.stdin!.end(input);
    });
  t.same(await run(['--eval', 'console.log("side"); stats.requests * 6', String(port)]), { code: 0, stdout: 'side\n42\n', stderr: '' });
  t.match(await run(['--eval', 'null.x', String(port)]), { code: 1, stdout: '', stderr: /^Uncaught TypeError/ });
  const json = await run(['--json', String(port)], `${JSON.stringify({ id: 'a', code: 'new Set([1])' })}\n`);
  t.equal(json.code, 0);
  const lines = json.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  t.match(lines, [{ tag: 'mode' }, { tag: 'ret', id: 'a', ok: true }]);
  t.same(superjson.deserialize(lines[1].val), new Set([1]));
});

t.test('the client: in a pipe and with --eval, what it waits for is told on stderr; stdout has the values alone', async (t) => {
  const backdoor = await start(t, { evalTimeoutMs: 10_000 });
  const { port } = backdoor.address() as { port: number };
  const run = (args: string[], input = '') =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [cli, ...args], { timeout: 20_000 }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }));
      child.stdin!.end(input);
    });
  // Holds this process's main thread (the app's) for 1.5 s: the wait notice comes at 1 s.
  const slow = 'const t0 = Date.now(); while (Date.now() - t0 < 1500); 6 * 7';
  const piped = await run([String(port)], `${slow}\n1 + 1\n`);
  t.equal(piped.code, 0);
  t.equal(piped.stdout, '42\n2\n');
  t.match(piped.stderr, /^\(waiting \d+\.\d s: the app's main thread has not answered since it was sent[^\n]*\)\n$/);
  const evaluated = await run(['--eval', slow, String(port)]);
  t.same({ code: evaluated.code, stdout: evaluated.stdout }, { code: 0, stdout: '42\n' });
  t.match(evaluated.stderr, /^\(waiting \d+\.\d s: the app's main thread has not answered[^\n]*\)\n$/);
});
