// What typed code cannot do to the app it runs in: keep it from exiting, crash it later, or end
// it by accident. Each case in a child app, whose exit code, timers and server are checked.
import { spawn } from 'node:child_process';
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

/** Each: what a session adds, and what the audit trail must then say as the app ends. */
const exitListeners: [string, RegExp | undefined][] = [
  ["void process.on('exit', () => { throw new Error('in exit') })", /session 1's 'exit' listener threw as the app ended \(the app exits as it would have\): Uncaught Error: in exit/],
  ["void process.once('exit', () => { throw 'a string' })", /'exit' listener threw[^\n]*Uncaught 'a string'/],
  ["void process.on('exit', () => { while (true) {} })", /'exit' listener threw[^\n]*Script execution timed out after \d+ms/],
  ["void process.on('exit', () => { process.exitCode = 9 })", undefined],
  ["void process.on('exit', () => process.exit(5))", /'exit' listener threw[^\n]*Uncaught:\n\s*TypeError \[ERR_INVALID_REPL_INPUT\]: process\.exit\(\) cannot be used in the REPL/],
  // Functions that are not the session's own, added by typed code: guarded all the same.
  ["void process.prependListener('exit', new Proxy(() => { throw new Error('proxied') }, {}))", /'exit' listener threw[^\n]*Uncaught Error: proxied/],
  ["void process.on('exit', require('async_hooks').AsyncResource.bind(() => { while (true) {} }))", /Script execution timed out/],
  // Together, not each: a thousand that loop cost the app's exit no more than one.
  ["for (let i = 0; i < 1000; i++) process.on('exit', () => { for (;;) {} }); 1", /Script execution timed out/],
];

for (const [input, told] of exitListeners) {
  t.test(`an 'exit' listener a session adds (${input}) neither stops, delays nor changes the app's exit`, async (t) => {
    const { app, port } = await guardedApp(t);
    const client = await session(t, port);
    t.notMatch(await client.eval(input), /Uncaught/);
    app.process.stdin!.write('exit 3\n');
    t.same(await ending(app), { code: 3, signal: null }, 'the app exits, with its own code');
    t.match(app.stdout(), /app exit listener ran with 3/, "and the app's own exit listener ran");
    if (told) t.match(app.stderr(), told, 'what the listener threw is told');
  });
}

t.test('listeners that would change how the app ends or takes signals are refused; others throw into the session', async (t) => {
  const { app, port } = await guardedApp(t);
  const client = await session(t, port);
  const counts = "['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR2', 'SIGWINCH', 'beforeExit', 'unhandledRejection', 'uncaughtExceptionMonitor'].map((e) => process.listenerCount(e)).join()";
  const before = await client.eval(counts);
  for (const [input, event] of [
    ["process.on('SIGTERM', () => {})", 'SIGTERM'],
    ["process.once('SIGINT', () => {})", 'SIGINT'],
    ["process.prependListener('beforeExit', () => setTimeout(() => {}, 10))", 'beforeExit'],
    ["process.on('unhandledRejection', () => {})", 'unhandledRejection'],
    ["process.on('uncaughtExceptionMonitor', (e) => e.massage.trim())", 'uncaughtExceptionMonitor'],
    ["require('events').prototype.on.call(process, 'SIGHUP', () => {})", 'SIGHUP'],
    ['vm.runInThisContext("process.on(\'SIGUSR2\', () => {})")', 'SIGUSR2'],
    ["process.on('SIGWINCH', console.log)", 'SIGWINCH'],
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
  t.match(await client.eval('require("module").createRequire("/")("domain")'), refused, 'a require of its own');
  t.match(await client.eval('repl'), /^Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: The repl module cannot be loaded in the REPL: it loads domain/, 'nor what loads it');
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

t.test('a session cannot end the app by accident', async (t) => {
  const { app, port } = await guardedApp(t);
  const client = await session(t, port);
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  const refused = /^Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: process\.\w+\(\) cannot be used in the REPL: [^\n]+; \.exit-app \[code\] ends it on purpose$/;
  for (const input of [
    'process.exit()',
    'process.exit(0)',
    'process.reallyExit(0)',
    'process.abort()',
    'process.kill(process.pid)',
    "process.kill(process.pid, 'SIGKILL')",
    'Reflect.apply(process.exit, process, [1])',
    '[2].forEach(process.exit)',
    "eval('process.exit(3)')",
    "new Function('process.exit(3)')()",
    // Code that vm runs for typed code is typed code too.
    "vm.runInThisContext('process.exit(3)')",
    "vm.runInNewContext('p.exit(3)', { p: process })",
    'vm.runInThisContext("process.kill(process.pid, \'SIGKILL\')")',
  ]) {
    t.match(await client.eval(input), refused, input);
  }
  // A pid read once: one that is another process the first time is that process, not the app.
  t.equal(await client.eval(`let n = 0; process.kill({ valueOf: () => [${sleeper.pid}, process.pid][n++ % 2] }, 'SIGTERM')`), 'true');
  t.equal(await client.eval('process.kill(process.pid, 0)'), 'true', 'a signal 0 only asks');
  t.match(await client.eval("process.emit('exit')"), /^Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: process\.emit\('exit'\) cannot be used in the REPL/);
  t.match(await client.eval("process.emit('SIGTERM')"), /^Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: process\.emit\('SIGTERM'\)/);
  t.notMatch(app.stdout(), /app exit listener ran/, "the app's exit handlers did not run");
  t.equal(await client.eval('setTimeout(() => process.exit(2), 0); 1'), '1');
  await client.expect(/Uncaught:\nTypeError \[ERR_INVALID_REPL_INPUT\]: process\.exit\(\) [^\n]*\n> /);
  // What a command undoes of the guards is put back when it returns, and said.
  t.match(
    await client.eval('process.exit = () => {}; process.reallyExit = () => {}; process.removeAllListeners("newListener"); 1'),
    /\(process\.exit was replaced: the backdoor's guard is put back[^]*\(process\.reallyExit was replaced[^]*\(a listener the backdoor needs for 'newListener' was removed: it is put back\)\n1$/,
  );
  t.match(await client.eval("process.on('SIGTERM', () => {})"), /Listeners for `SIGTERM` cannot be used/, 'the guard is back');
  await stillServing(t, app, 'after every refusal');
  t.equal(await (await session(t, port)).eval('1+1'), '2', 'a new session answers');
  app.process.stdin!.write('exit 6\n');
  t.same(await ending(app), { code: 6, signal: null }, "the app's own process.exit works");
});

for (const call of ['shutdown(4)', 'shutdownLater(4)', 'shutdownSoon(4)', 'shutdownMicro(4)', 'shutdownBuilt(4)']) {
  t.test(`the app's own exit paths are untouched when a session runs them: ${call}`, async (t) => {
    const { app, port } = await guardedApp(t);
    (await session(t, port)).send(`${call}\n`);
    t.same(await ending(app), { code: 4, signal: null });
  });
}

t.test('what a session made cannot crash the app after the session ended', async (t) => {
  const { app, port } = await guardedApp(t);
  for (const [input, told] of [
    // (Each fails later than the session's end: a refused connection can fail within the
    // command's own turn, and then the session, still there, is told.)
    ["global.setTimeout(() => require('net').connect(1).on('connect', () => {}), 300); 1", /session \d+ has ended; its code threw later \(the app was not told\): Uncaught[^]*ECONNREFUSED/],
    ['global.setTimeout(() => setTimeout(() => { throw 17 }, 100), 300); 1', /session \d+ has ended; its code threw later \(the app was not told\): Uncaught 17/],
    [
      'const srv = net.createServer((s) => global.setTimeout(() => s.resetAndDestroy(), 200)).listen(0, () => http.get({ port: srv.address().port })); srv.unref(); 1',
      /session \d+ has ended; its code threw later \(the app was not told\): Uncaught[^]*ECONNRESET/,
    ],
  ] as const) {
    const client = await session(t, port);
    t.equal(await client.eval(input), '1');
    client.destroy(); // the session ends before its code fails
    await app.waitForStderr(told);
    await stillServing(t, app, input);
  }
  t.equal(await ending(app, 500), 'running');
});

t.test('.exit-app ends the app on purpose: confirmed, with its code, audited', async (t) => {
  const { app, port } = await guardedApp(t);
  const client = await session(t, port);
  t.equal(await client.eval('.exit-app abc'), 'Usage: .exit-app [code]: code must be a whole number from 0 to 255, not "abc"');
  t.equal(await client.eval('.exit-app 300'), 'Usage: .exit-app [code]: code must be from 0 to 255, not 300');
  client.send('.exit-app 3 true\n'); // the confirmation is typed, never an argument
  t.match(await client.expect(/\n> $/), /^Usage: \.exit-app \[code\]: /);
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
  await client.expect('{"tag":"ret","id":1,"op":"exit-app","status":"error","code":"refused","ok":false,"text":".exit-app ends the app: it needs confirm: true"');
  client.send('{"id":2,"op":"exit-app","args":{"code":2}}\n');
  await client.expect('{"tag":"ret","id":2,"op":"exit-app","status":"error","code":"refused"');
  await stillServing(t, app, 'not confirmed');
  client.send('{"id":3,"op":"exit-app","args":{"code":2,"confirm":true}}\n');
  t.same(await ending(app), { code: 2, signal: null });
});

t.test("a command that removes the backdoor's signal listeners gets them back: SIGUSR2 never kills the app", async (t) => {
  const app = await startApp(t, 'signals-app.mjs');
  process.kill(app.pid, 'SIGUSR1');
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(await app.waitForStderr(/listening on 127\.0\.0\.1:\d+/))![1]);
  const client = await session(t, port);
  t.match(
    await client.eval("process.removeAllListeners('SIGUSR1'); process.removeAllListeners('SIGUSR2'); 1"),
    /\(a listener the backdoor needs for 'SIGUSR1' was removed: it is put back\)\n\(a listener the backdoor needs for 'SIGUSR2' was removed: it is put back\)\n1$/,
  );
  process.kill(app.pid, 'SIGUSR2');
  await app.waitForStderr(/closed 127\.0\.0\.1/);
  t.match(await app.get(), /^ok/, 'SIGUSR2 closed the backdoor, and the app goes on');
  process.kill(app.pid, 'SIGUSR1');
  await app.waitForStderr(/(listening on [^\n]*\n[^]*){2}/);
  t.notMatch(app.stderr(), /Debugger listening/);
});
