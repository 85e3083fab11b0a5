import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { startApp, type ChildApp } from './fixtures/child.ts';
import { TestClient } from './fixtures/client.ts';

const run = promisify(execFile);
const app = (name: string) => new URL(`./fixtures/apps/${name}`, import.meta.url).pathname;

/** The demo-like child app with its backdoor started by the preload on a loopback port. */
async function appWithBackdoor(t: Test): Promise<{ app: ChildApp; port: number }> {
  const child = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], {
    BACKDOOR_START: '1',
    BACKDOOR_HOST: '127.0.0.1',
    BACKDOOR_PORT: '0',
  });
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(await child.waitForStderr(/listening on 127\.0\.0\.1:\d+/))![1]);
  return { app: child, port };
}

async function session(t: Test, port: number): Promise<TestClient> {
  const client = await TestClient.connect({ port, host: '127.0.0.1' });
  t.teardown(() => client.destroy());
  await client.ready();
  return client;
}

/** Each input, typed in a session of its own, and what that session must then print. */
const hostile: { input: string; prints: RegExp }[] = [
  { input: 'setTimeout(() => { throw new Error("late timer") }, 0); 1', prints: /Uncaught Error: late timer/ },
  { input: 'setTimeout(() => { throw "a string" }, 0); 1', prints: /Uncaught 'a string'/ },
  { input: 'setImmediate(() => { throw new Error("late immediate") }); 1', prints: /Uncaught Error: late immediate/ },
  { input: 'process.nextTick(() => { throw new Error("late tick") }); 1', prints: /Uncaught Error: late tick/ },
  { input: 'queueMicrotask(() => { throw new Error("late microtask") }); 1', prints: /Uncaught Error: late microtask/ },
  { input: 'global.queueMicrotask(() => { throw new Error("app queueMicrotask") }); 1', prints: /Uncaught Error: app queueMicrotask/ },
  { input: 'Promise.resolve().then(() => { throw new Error("in then") }); 1', prints: /Uncaught Error: in then/ },
  { input: 'fs.readFile("/nonexistent", (error) => { throw error }); 1', prints: /Uncaught \[Error: ENOENT/ },
  { input: 'fs.promises.readFile("/nonexistent"); 1', prints: /Uncaught Error: ENOENT/ },
  { input: 'const e = new events.EventEmitter(); e.on("x", () => { throw new Error("listener") }); setTimeout(() => e.emit("x")); 1', prints: /Uncaught Error: listener/ },
  { input: 'net.createServer((c) => { c.destroy(); throw new Error("server") }).listen(0, "127.0.0.1", function () { net.connect(this.address().port, "127.0.0.1").on("error", () => {}) }); 1', prints: /Uncaught Error: server/ },
  { input: 'setTimeout(() => setTimeout(() => { throw new Error("nested") }), 0); 1', prints: /Uncaught Error: nested/ },
  { input: 'process.on("uncaughtException", () => {})', prints: /ERR_INVALID_REPL_INPUT/ },
  { input: 'process.on("unhandledRejection", () => {})', prints: /ERR_INVALID_REPL_INPUT[^]*Listeners for `unhandledRejection` cannot be used in the REPL/ },
  { input: 'process.setUncaughtExceptionCaptureCallback(() => {})', prints: /ERR_INVALID_REPL_INPUT[^]*setUncaughtExceptionCaptureCallback\(\) cannot be used in the REPL/ },
  { input: 'Promise = null; Function.prototype.call = null; Function.prototype.apply = null; Array.prototype.push = null; JSON.stringify = null; Object.defineProperty = null; Reflect.apply = null; Symbol = null; 1', prints: /^1$/m },
  // The session breaks its Promise so that its command's promise cannot be waited for: that is
  // its outcome, at once (it must not hang, nor be reported before the command's reply).
  { input: 'Promise.prototype.constructor = 1; await 0', prints: /Uncaught TypeError/ },
  { input: 'clearImmediate({}); clearImmediate(setTimeout(() => {}, 1)); clearTimeout({}); clearInterval(setImmediate(() => {})); 1', prints: /^1$/m },
  // A primitive thrown in a microtask queued through the app's own queueMicrotask: no realm
  // and, on Node 20 and 22, no async context tells whose it is.
  { input: 'global.queueMicrotask(() => { throw 11 }); 1', prints: /Uncaught 11/ },
  { input: 'setTimeout(() => global.queueMicrotask(() => { throw 12 }), 0); 1', prints: /Uncaught 12/ },
  // A late error whose message never returns: formatted under the watchdog, outside any command.
  { input: 'setTimeout(() => { const e = new Error("m"); Object.defineProperty(e, "message", { get() { while (true) {} } }); throw e }, 0); 1', prints: /Uncaught/ },
  // The app's own globals replaced (they stay replaced for the inputs after these): what the
  // backdoor uses was taken when it loaded (common/primordials.ts).
  { input: 'process.hrtime = null; performance.now = () => { throw 1 }; global.setTimeout = null; global.Reflect = null; global.Object.defineProperty = null; 1', prints: /^1$/m },
  { input: 'global.Promise = null; 3', prints: /^3$/m },
];

t.test('no input takes the app down or deafens the backdoor', async (t) => {
  const { app, port } = await appWithBackdoor(t);
  for (const { input, prints } of hostile) {
    const client = await session(t, port);
    client.send(`${input}\n`);
    await client.expect(prints);
    await client.expect(/(^|\n)> $/);
    // The same session goes on...
    t.equal(await client.eval('2+2'), '4', `the session goes on after: ${input}`);
    client.destroy();
    // ...the app too, and a new session answers.
    t.equal(app.process.exitCode, null, `the app lives after: ${input}`);
    t.match(await app.get(), /^ok/);
    const fresh = await session(t, port);
    t.equal(await fresh.eval('1+1'), '2', `a new session answers after: ${input}`);
    fresh.destroy();
  }
  t.equal(await (await session(t, port)).eval('process.listenerCount("uncaughtException") + process.listenerCount("unhandledRejection")'), '0', 'no listener got in');
  t.equal(await (await session(t, port)).eval('process.hasUncaughtExceptionCaptureCallback()'), 'false');
  // With the app's global Promise still null, the stop signal closes the backdoor.
  process.kill(app.pid, 'SIGUSR2');
  await app.waitForStderr(/closed [^\n]*\(pid \d+\)\n/);
  await t.rejects(TestClient.connect({ port, host: '127.0.0.1' }), { code: 'ECONNREFUSED' }, 'the port is closed');
  t.match(await app.get(), /^ok/, 'the app still serves');
});

t.test("Node's own clearImmediate({}) (not the session's) breaks the app's immediates on 20/22, not the backdoor", async (t) => {
  const { app, port } = await appWithBackdoor(t);
  const client = await session(t, port);
  t.equal(await client.eval('require("timers").clearImmediate({}); 1'), '1');
  for (let i = 0; i < 3; i++) t.equal(await (await session(t, port)).eval('6*7'), '42');
  client.send('setTimeout(() => console.log("timers still run"), 1); 3\n');
  await client.expect('timers still run');
  t.equal(app.process.exitCode, null);
});

t.test('a session that has ended: its late errors go to the audit trail, never to the app', async (t) => {
  const { app, port } = await appWithBackdoor(t);
  const client = await session(t, port);
  t.equal(await client.eval('setTimeout(() => { throw new Error("after the end") }, 300); 1'), '1');
  // A rejection of the app's own Promise, with an error the session made.
  t.equal(await client.eval('setTimeout(() => { global.Promise.reject(new Error("rejected after the end")) }, 300); 2'), '2');
  // A promise of the app's realm, rejected by Node with an error of its own, made by a timer of
  // the session after the session has ended (Node 20 and 22: the timer kept attribution on).
  t.equal(await client.eval('setTimeout(() => { fs.promises.readFile("/nonexistent") }, 300); 3'), '3');
  client.send('.exit\n');
  await client.waitClosed();
  await app.waitForStderr(/session 1 has ended; its code threw later \(the app was not told\): Uncaught Error: after the end/);
  await app.waitForStderr(/session 1 has ended; its code threw later \(the app was not told\): Uncaught Error: rejected after the end/);
  await app.waitForStderr(/session 1 has ended; its code threw later \(the app was not told\): Uncaught \[?Error: ENOENT/);
  t.equal(app.process.exitCode, null);
  t.match(await app.get(), /^ok/);
});

t.test('.clear starts a new context; what the old one left running still reports to the session', async (t) => {
  const { port } = await appWithBackdoor(t);
  const client = await session(t, port);
  t.equal(await client.eval('setTimeout(() => { throw new Error("from the old context") }, 200); 1'), '1');
  t.equal(await client.eval('.clear'), 'Clearing context...');
  await client.expect(/Uncaught Error: from the old context\n> $/);
  t.equal(await client.eval('1+1'), '2');
});

t.test("the app's own uncaught exceptions behave as without the backdoor", async (t) => {
  const crashed = await run(process.execPath, [app('late-errors.mjs'), 'exception', 'app-default'], { timeout: 10_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  t.match(crashed, { code: 1, stdout: /session saw: true/, stderr: /throw new Error\('app-made'\)[^]*Error: app-made[^]*Node\.js v/ });
  t.notMatch((crashed as { stderr: string }).stderr, /session-made/);
  const handled = await run(process.execPath, [app('late-errors.mjs'), 'exception', 'app-handler'], { timeout: 10_000 });
  t.match(handled.stdout, /session saw: true\n[^]*app handler saw Error: app-made/);
  t.notMatch(handled.stdout, /app handler saw.*session-made/);
});

t.test('JSON mode: a late error is an uncaught event; a syntax error becomes _error there too', async (t) => {
  const { port } = await appWithBackdoor(t);
  const client = await session(t, port);
  client.send('.mode json\n');
  await client.expect('{"tag":"mode","mode":"json","version":2}\n');
  client.send(`${JSON.stringify({ id: 1, code: 'setTimeout(() => { throw new Error("json late") }, 0); 1' })}\n`);
  t.match(JSON.parse(await client.expect('\n')), { tag: 'ret', id: 1, ok: true, inspect: '1' });
  t.same(JSON.parse(await client.expect('\n')), { tag: 'uncaught', text: 'Uncaught Error: json late' });
  client.send(`${JSON.stringify({ id: 2, code: 'let 1x' })}\n`);
  t.match(JSON.parse(await client.expect('\n')), { tag: 'ret', id: 2, ok: false, inspect: /^let 1x\n {4}\^\n\nUncaught SyntaxError: Invalid or unexpected token$/ });
  client.send(`${JSON.stringify({ id: 3, code: '_error.name' })}\n`);
  t.match(JSON.parse(await client.expect('\n')), { tag: 'ret', id: 3, ok: true, inspect: "'SyntaxError'" });
});
