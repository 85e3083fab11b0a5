// What typed code cannot do to the app it runs in: keep it from exiting, crash it later, or end
// it by accident. Each case in a child app, whose exit code, timers and server are checked.
import t, { type Test } from 'tap';
import { startApp, type ChildApp } from './fixtures/child.ts';
import { TestClient } from './fixtures/client.ts';

/** The guarded app (test/fixtures/apps/guarded-app.mjs) and its backdoor's port. */
async function guardedApp(t: Test, argv: string[] = []): Promise<{ app: ChildApp; port: number }> {
  const app = await startApp(t, 'guarded-app.mjs', argv);
  return { app, port: Number(/backdoor (\d+)/.exec(app.stdout())![1]) };
}

async function session(t: Test, port: number): Promise<TestClient> {
  const client = await TestClient.connect({ port });
  t.teardown(() => client.destroy());
  await client.ready();
  return client;
}

/** How the app ended, or 'running' if it has not within `ms` (a bound: a hang fails here, not the run). */
async function ending(app: ChildApp, ms = 10_000): Promise<{ code: number | null; signal: string | null } | 'running'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([app.exited.then(() => 'exited' as const), new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), ms)))]);
  clearTimeout(timer);
  return outcome === 'running' ? 'running' : { code: app.process.exitCode, signal: app.process.signalCode };
}

/** The app serves, and its own timer has beaten since `before` (a count from its answer). */
async function stillServing(t: Test, app: ChildApp, what: string): Promise<void> {
  const before = Number(/ok (\d+)/.exec(await app.get())![1]);
  const start = Date.now();
  let now = before;
  while (now === before && Date.now() - start < 5000) now = Number(/ok (\d+)/.exec(await app.get())![1]);
  t.ok(now > before, `${what}: the app serves, and its timers run`);
}

const exitListeners: [string, RegExp | undefined][] = [
  ['throw new Error("in exit")', /session 1's 'exit' listener threw as the app ended \(the app exits as it would have\): Uncaught Error: in exit/],
  ['throw "a string"', /'exit' listener threw[^\n]*Uncaught 'a string'/],
  ['while (true) {}', /'exit' listener threw[^\n]*Script execution timed out after 250ms/],
  ['process.exitCode = 9', undefined],
  ['process.exit(5)', /'exit' listener threw[^\n]*Uncaught:\n\s*TypeError \[ERR_INVALID_REPL_INPUT\]: process\.exit\(\) cannot be used in the REPL/],
];

for (const [body, told] of exitListeners) {
  t.test(`an 'exit' listener a session adds (${body}) neither stops, delays nor changes the app's exit`, async (t) => {
    const { app, port } = await guardedApp(t);
    const client = await session(t, port);
    t.equal(await client.eval(`void process.on('exit', () => { ${body} }); void process.once('exit', () => { ${body} })`), 'undefined');
    app.process.stdin!.write('exit 3\n');
    t.same(await ending(app), { code: 3, signal: null }, 'the app exits, with its own code');
    if (told) t.match(app.stderr(), told, 'what the listener threw is told');
  });
}

t.test('listeners that would change how the app ends or takes signals are refused; others throw into the session', async (t) => {
  const { app, port } = await guardedApp(t);
  const client = await session(t, port);
  const counts = "['SIGTERM', 'SIGINT', 'SIGHUP', 'beforeExit', 'unhandledRejection'].map((e) => process.listenerCount(e)).join()";
  const before = await client.eval(counts);
  for (const [input, event] of [
    ["process.on('SIGTERM', () => {})", 'SIGTERM'],
    ["process.once('SIGINT', () => {})", 'SIGINT'],
    ["process.prependListener('beforeExit', () => setTimeout(() => {}, 10))", 'beforeExit'],
    ["process.on('unhandledRejection', () => {})", 'unhandledRejection'],
    ["require('events').prototype.on.call(process, 'SIGHUP', () => {})", 'SIGHUP'],
  ]) {
    t.match(await client.eval(input), new RegExp(`^Uncaught:?\\n?TypeError \\[ERR_INVALID_REPL_INPUT\\]: Listeners for \`${event}\` cannot be used in the REPL: [^\\n]+$`), `${event}: one line`);
  }
  t.equal(await client.eval(counts), before, 'none got in');
  // Another event's listener that throws a primitive: its session hears it, the app's emit goes on.
  client.send("void process.on('warning', () => { throw 'from a listener' }); process.emitWarning('w'); 1\n");
  // (The value and the late throw, in either order.)
  t.match(await client.expect(/(Uncaught 'from a listener'\n[^]*^1\n|^1\n[^]*Uncaught 'from a listener'\n)/m), /Uncaught 'from a listener'/);
  await stillServing(t, app, 'after the refusals');
  process.kill(app.pid, 'SIGTERM');
  t.same(await ending(app), { code: null, signal: 'SIGTERM' }, 'SIGTERM still ends the app');
});

t.test('domain: refused before anything changes, and nothing crashes later', async (t) => {
  const { app, port } = await guardedApp(t);
  const client = await session(t, port);
  const refused = /^Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: The domain module cannot be loaded in the REPL: [^\n]+$/;
  t.match(await client.eval('require("domain").create().run(() => 1)'), refused);
  t.match(await client.eval('domain.create()'), refused);
  t.match(await client.eval('await import("node:domain")'), refused);
  t.match(await client.eval('process.getBuiltinModule ? process.getBuiltinModule("domain") : require("node:domain")'), refused);
  t.equal(await client.eval('process.domain ?? null'), 'null', 'no domain entered');
  t.equal(await client.eval('await null; 5'), '5', 'an await in this session');
  t.equal(await (await session(t, port)).eval('await null; 6'), '6', 'and in another');
  t.match(await client.eval('process.setUncaughtExceptionCaptureCallback(() => {})'), /^Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: process\.setUncaughtExceptionCaptureCallback\(\) cannot be used in the REPL/);
  t.equal(await client.eval('process.hasUncaughtExceptionCaptureCallback()'), 'false', 'no capture callback left behind');
  await stillServing(t, app, 'after domain was refused');
  t.equal(await ending(app, 500), 'running');
});

t.test('domain, when the app loaded it: usable, and a domain left entered is left when the command returns', async (t) => {
  const { app, port } = await guardedApp(t, ['domain']);
  const client = await session(t, port);
  t.equal(await client.eval('const d = require("domain").create(); d.run(() => 6 * 7)'), '42');
  t.equal(await client.eval('d.enter(); process.domain === d'), 'true');
  t.equal(await client.eval('process.domain ?? null'), 'null', 'left again');
  t.equal(await client.eval('await null; 7'), '7');
  t.equal(await (await session(t, port)).eval('await new Promise((r) => setTimeout(r, 5)); 8'), '8');
  await stillServing(t, app, 'after a domain was entered');
});

t.test('a session cannot end the app by accident; the app\'s own exit paths are untouched', async (t) => {
  const { app, port } = await guardedApp(t);
  const client = await session(t, port);
  for (const input of ['process.exit()', 'process.exit(0)', 'process.reallyExit(0)', 'process.abort()', 'process.kill(process.pid)', "process.kill(process.pid, 'SIGKILL')", "Reflect.apply(process.exit, process, [1])", '[2].forEach(process.exit)']) {
    t.match(await client.eval(input), /^Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: process\.\w+\(\) cannot be used in the REPL: [^\n]+; \.exit-app \[code\] ends it on purpose$/, input);
  }
  t.equal(await client.eval('process.kill(process.pid, 0)'), 'true', 'a signal 0 only asks');
  t.equal(await client.eval('setTimeout(() => process.exit(2), 0); setTimeout(process.exit, 0); 1'), '1');
  await client.expect(/Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: process\.exit\(\)[^\n]*\n[^]*Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: process\.exit\(\)/);
  await stillServing(t, app, 'after every refusal');
  t.equal(await (await session(t, port)).eval('1+1'), '2', 'a new session answers');
  // The app's own code decides for itself, also when a session runs it.
  client.send('shutdownLater(7)\n');
  t.same(await ending(app), { code: 7, signal: null }, "the app's own timer ended it with its code");
  const direct = await guardedApp(t);
  (await session(t, direct.port)).send('shutdown(4)\n');
  t.same(await ending(direct.app), { code: 4, signal: null }, 'as did its function called from a session');
});

t.test('.exit-app ends the app on purpose: confirmed, with its code, audited', async (t) => {
  const { app, port } = await guardedApp(t);
  const client = await session(t, port);
  t.equal(await client.eval('.exit-app abc'), 'Usage: .exit-app [code]  (an exit code from 0 to 255; you are asked to confirm)');
  client.send('.exit-app 3\n');
  await client.expect(`End the app (pid ${app.pid}) with exit code 3? Its 'exit' listeners run, every session ends. Type yes to confirm: `);
  t.equal(await client.eval('no'), 'Not confirmed: nothing was done.');
  await stillServing(t, app, 'not confirmed');
  client.send('.exit-app 3\n');
  await client.expect('Type yes to confirm: ');
  client.send('yes\n');
  await client.expect(`Ending the app (pid ${app.pid}) with exit code 3.\n`);
  t.same(await ending(app), { code: 3, signal: null });
  t.match(app.stderr(), /backdoor: session 1 \(127\.0\.0\.1:\d+\) ended the app \(\.exit-app\), exit code 3/);
});

t.test('.exit-app in the JSON mode needs "confirm": true', async (t) => {
  const { app, port } = await guardedApp(t);
  const client = await session(t, port);
  client.send('.mode json\n');
  await client.expect('"mode":"json"');
  client.send('{"id":1,"command":".exit-app 2"}\n');
  await client.expect('{"tag":"err","id":1,"message":".exit-app ends the app: send it with \\"confirm\\": true"}');
  await stillServing(t, app, 'not confirmed');
  client.send('{"id":2,"command":".exit-app 2","confirm":true}\n');
  t.same(await ending(app), { code: 2, signal: null });
});
