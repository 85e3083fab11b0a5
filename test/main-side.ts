import { MessageChannel } from 'node:worker_threads';
import t from 'tap';
import { countTurns } from './fixtures/turns.ts';
import { mainHarness } from './fixtures/main-side.ts';

const setup = mainHarness;

t.test("locals are the app's objects: changes are shared both ways", async (t) => {
  const stats = { requests: 1 };
  const { text } = setup(t, { stats });
  t.equal(await text('stats.requests'), '1');
  stats.requests = 5;
  t.equal(await text('stats.requests'), '5');
  t.equal(await text('stats.requests++'), '5');
  t.equal(stats.requests, 6);
  // Rebinding the name changes the session's view only.
  t.equal(await text('stats = 1'), '1');
  t.same(stats, { requests: 6 });
});

t.test('declarations persist in a context, and contexts are separate', async (t) => {
  const { text } = setup(t);
  t.equal(await text('let x = 5'), 'undefined');
  t.equal(await text('x * 2'), '10');
  t.equal(await text('function f() { return x + 1 }'), 'undefined');
  t.equal(await text('class K { get v() { return f() } }'), 'undefined');
  t.equal(await text('new K().v'), '6');
  t.equal(await text('typeof x', 2), "'undefined'");
});

t.test('_ is the last result, _error the last thrown value, until the session assigns them', async (t) => {
  const { text } = setup(t);
  await text('40 + 2');
  t.equal(await text('_'), '42');
  await text('throw new RangeError("r")');
  t.equal(await text('_error.message'), "'r'");
  t.match(await text('_ = 7'), '7');
  await text('1');
  t.equal(await text('_'), '7');
  t.equal(await text('typeof _', 2), "'undefined'");
});

t.test('errors are results with a code, formatted like the REPL', async (t) => {
  const { run } = setup(t);
  t.match(await run('null.x'), { status: 'error', code: 'thrown', value: { text: "Uncaught TypeError: Cannot read properties of null (reading 'x')" } });
  t.match(await run('throw "text"'), { status: 'error', code: 'thrown', value: { text: "Uncaught 'text'" } });
  t.match(await run('nope'), { status: 'error', code: 'thrown', value: { text: 'Uncaught ReferenceError: nope is not defined' } });
  t.match(await run('let 1x'), { status: 'error', code: 'syntax' });
});

t.test("console output goes to the session, before the result, never to the app's stdout", async (t) => {
  const { run } = setup(t);
  const write = process.stdout.write;
  let leaked = '';
  process.stdout.write = ((chunk: string) => {
    leaked += chunk;
    return true;
  }) as typeof write;
  let reply: Awaited<ReturnType<typeof run>>;
  try {
    reply = await run('console.log("hi", { a: 1 }); console.error("err"); console.table([{ a: 1 }]); 5');
  } finally {
    process.stdout.write = write;
  }
  t.equal(leaked, '');
  t.match(reply.out, /^hi \{ a: 1 \}\nerr\n┌/);
  t.match(reply, { status: 'done', value: { text: '5' } });
});

t.test('output after an op returned is sent on its own, batched, to its context, with what it cost', async (t) => {
  const { run, notices, next } = setup(t);
  await run('setTimeout(() => { for (let i = 0; i < 3; i++) console.log(i) }, 5)', 7);
  await next();
  t.match(notices, [{ type: 'output', context: 7, text: '0\n1\n2\n', cost: Number }]);
});

t.test('an awaited op answers pending, then settles', async (t) => {
  const { run, notices, next } = setup(t);
  const reply = await run('console.log("before"); await new Promise((r) => setTimeout(() => r(7), 10))');
  t.equal(reply.status, 'pending');
  t.equal(reply.out, 'before\n');
  await next();
  t.match(notices, [{ type: 'settle', id: reply.id, out: '', result: { status: 'done', value: { text: '7' } } }]);
  await run('const y = await Promise.resolve(3)');
  await next();
  t.equal((await run('y')).value?.text, '3');
  await run('await Promise.reject(new Error("no"))');
  await next();
  t.match(notices.at(-1), { type: 'settle', result: { status: 'error', code: 'thrown', value: { text: /^Uncaught Error: no/ } } });
});

t.test('a value that settles within microtasks of its op follows the reply, never overtakes it', async (t) => {
  const { run, arrived, next } = setup(t);
  const reply = await run('await 1; 2');
  t.equal(reply.status, 'pending');
  await next();
  t.same(arrived, ['reply pending', 'settle']);
});

t.test('output printed while an op awaits comes before its result', async (t) => {
  const { run, notices, next } = setup(t);
  await run('await new Promise((r) => setTimeout(() => { console.log("during"); r(1) }, 5))');
  await next();
  t.match(notices, [{ type: 'settle', out: 'during\n' }]);
});

t.test('evalTimeoutMs stops a runaway loop; the context goes on', async (t) => {
  const { run, text } = setup(t, {}, 100);
  t.match(await run('while (true) {}'), { status: 'error', code: 'timeout', value: { text: 'Uncaught Error: Script execution timed out after 100ms (the evalTimeoutMs option)' } });
  t.equal(await text('1 + 1'), '2');
});

t.test("Node's globals are there, and the app's global object", async (t) => {
  const { text, run, notices, next } = setup(t);
  t.equal(await text('process === global.process'), 'true');
  t.equal(await text('process.pid'), String(process.pid));
  t.equal(await text('Buffer.from("hi").toString("hex")'), "'6869'");
  t.equal(await text('typeof setTimeout + typeof setImmediate + typeof structuredClone + typeof fetch'), "'functionfunctionfunctionfunction'");
  (globalThis as Record<string, unknown>).appMarker = 'app';
  t.teardown(() => {
    delete (globalThis as Record<string, unknown>).appMarker;
  });
  t.equal(await text('global.appMarker'), "'app'");
  t.equal(await text('require("node:path").sep'), "'/'");
  t.equal(await text('require("./package.json").name'), "'backdoor'"); // from the app's working directory
  await run('(await import("node:os")).platform()');
  await next();
  t.match(notices.at(-1), { type: 'settle', result: { value: { text: `'${process.platform}'` } } });
  await run('(await import("./package.json", { with: { type: "json" } })).default.name');
  await next();
  t.match(notices.at(-1), { type: 'settle', result: { value: { text: "'backdoor'" } } });
});

t.test('an unhandled rejection made by a session is reported there, not to the app', async (t) => {
  const { run, notices, next } = setup(t);
  t.equal((await run('Promise.reject(new Error("lost")); 1')).value?.text, '1');
  await next();
  t.equal(notices.length, 1);
  // Worded as Node's REPL words it (its domain reports a rejection as any other error).
  t.match(notices[0], { type: 'uncaught', text: /^Uncaught Error: lost/ });
});

t.test('a dropped context is forgotten: its next op starts fresh', async (t) => {
  const { text, dropContext } = setup(t);
  await text('let gone = 1');
  dropContext(1);
  t.equal(await text('typeof gone'), "'undefined'");
});

t.test('each op runs in a turn of the event loop of its own', async (t) => {
  const { request } = setup(t, { turn: countTurns(t) });
  const turn = () => request('eval', { args: { code: 'turn()' }, session: { context: 1, session: 1, peer: 'test' }, input: { code: 'turn()', awaited: false, declared: [], line: 1 }, view: { colors: false, json: false } });
  // As fast as a worker could ever be: the next request arrives the moment the reply has been
  // given. libuv visits each port's handle once per pass, so the op runs in a later turn, not
  // in the same batch of messages.
  const relay = new MessageChannel();
  t.teardown(() => relay.port1.close());
  const first = await turn();
  const pending = new Promise<Awaited<ReturnType<typeof turn>>>((resolve) => relay.port2.once('message', () => resolve(turn())));
  relay.port1.postMessage(0);
  const second = await pending;
  t.ok(Number(second.value?.text) > Number(first.value?.text), `${first.value?.text} then ${second.value?.text}`);
});

t.test('stats(): ops run and the main-thread time they used', async (t) => {
  const { side, run, next } = setup(t);
  t.same(side.account.stats(), { commands: 0, diagnoses: 0, mainThreadMs: 0 });
  await run('1+1');
  await run('await 1');
  await next();
  const { commands, mainThreadMs } = side.account.stats();
  t.equal(commands, 2);
  t.ok(mainThreadMs > 0);
});

t.test('ops the main thread does not run are answered unknown-op, never thrown', async (t) => {
  const { request } = setup(t);
  t.match(await request('nope' as never), { status: 'error', code: 'unknown-op' });
  t.match(await request('exit-app', { args: { code: 0, confirm: false }, session: { context: 1, session: 1, peer: 'test' } }), { status: 'error', code: 'refused' });
});

t.test('completion: names of the session and of live objects, bounded on big arrays and objects', async (t) => {
  const big = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i]));
  const { request, text } = setup(t, { arr: new Array(3e6).fill(0), u8: new Uint8Array(3e6), big, stats: { requests: 1 } });
  await text('let mine = 1');
  const complete = async (path: string[], prefix: string) => (await request('complete', { session: { context: 1, session: 1, peer: 'test' }, target: { path, prefix } })).value?.names;
  t.match(await complete([], 'mi'), ['mine']);
  t.same(await complete(['stats'], 'req'), ['requests']);
  // An array's indexes are not names: its methods come from its prototype.
  t.ok((await complete(['arr'], ''))!.includes('push'));
  t.notOk((await complete(['arr'], ''))!.includes('0'));
  t.same(await complete(['u8'], 'fil'), ['fill', 'filter']);
  t.equal((await complete(['big'], 'k'))!.length, 1000, 'at most 1,000 names');
});

t.test('a session runs in a context without interceptors: its global is an ordinary object', async (t) => {
  const { SessionContext } = await import('../lib/session-context.ts');
  const vm = await import('node:vm');
  const session = new SessionContext({ answer: 42 }, { asyncOutput() {}, tap() {}, uncaught() {} });
  // (Contextified, `globalThis` inside would be the context's global proxy, not this object.)
  t.equal(vm.runInContext('globalThis', session.context), session.context, 'the global is the object itself, not a proxy of a sandbox');
  t.equal(vm.runInContext('answer', session.context), 42);
  session.close();
});
