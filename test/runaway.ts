// Runaway commands stopped at evalTimeoutMs by the worker through the inspector (where Node
// has one), not by a V8 watchdog thread per command: what Node's REPL says, what the command
// printed, `_error`, and an app that goes on as before, its timers, immediates, promises and
// the backdoor's own scheduling; and no command is ever stopped before its time.
import { AsyncLocalStorage } from 'node:async_hooks';
import t from 'tap';
import { connect, start } from './fixtures/backdoor.ts';
import { startApp } from './fixtures/child.ts';
import { TestClient, withoutWaitNotices } from './fixtures/client.ts';
import { until } from './fixtures/until.ts';

t.test('a runaway loop is stopped, told as Node tells it, and the session, the app and the backdoor go on', async (t) => {
  const backdoor = await start(t, { evalTimeoutMs: 500 });
  const client = await connect(t, backdoor);
  // The app keeps scheduling all along: a timer, immediates, promises, an AsyncLocalStorage.
  const als = new AsyncLocalStorage<string>();
  let ticks = 0;
  let immediates = 0;
  let promises = 0;
  const seen: (string | undefined)[] = [];
  const timer = setInterval(() => ticks++, 5);
  let spinning = true;
  const spin = () => {
    immediates++;
    void Promise.resolve().then(() => promises++);
    if (spinning) setTimeout(() => setImmediate(spin), 1);
  };
  als.run('app', () => setImmediate(spin));
  t.teardown(() => {
    spinning = false;
    clearInterval(timer);
  });
  for (let round = 1; round <= 2; round++) {
    client.send('console.log("before"); setTimeout(() => console.log("later"), 0); while (true) {}\n');
    // Its timer prints after its error, as in Node's REPL. (Stopped late on a busy machine,
    // the session says it waits first.)
    const text = withoutWaitNotices(await client.expect(/later\n/, 10_000));
    t.match(text, /^before\nUncaught Error: Script execution timed out after 500ms \(the evalTimeoutMs option\)\n> later\n$/, `round ${round}`);
    t.equal(await client.eval('_error.code'), "'ERR_SCRIPT_EXECUTION_TIMEOUT'");
    t.equal(await client.eval('2*21'), '42');
  }
  const before = { ticks, immediates, promises };
  t.ok(await until(() => ticks > before.ticks && immediates > before.immediates && promises > before.promises), 'timers, immediates and promises of the app run');
  als.run('app', () => setTimeout(() => seen.push(als.getStore()), 1));
  await until(() => seen.length > 0);
  t.same(seen, ['app'], "the app's AsyncLocalStorage is its own");
  // Printing that never ends is stopped the same way, with what was left of the time.
  t.match(await client.eval('({ [Symbol.for("nodejs.util.inspect.custom")]() { for (;;); } })', 10_000), /(^|\n)\[value too large to print within \d+ ms: a object\]$/);
  t.equal(await client.eval('"still here"'), "'still here'");
});

t.test("a command that starts late, behind the app's own work, is given its whole time", async (t) => {
  const backdoor = await start(t, { evalTimeoutMs: 1000 });
  const client = await connect(t, backdoor);
  // The app holds the main thread 800 ms just as the command is sent; the command then runs
  // 700 ms: 1.5 s after it was sent, 0.7 s of its own. It must not be stopped.
  setTimeout(() => {
    const end = Date.now() + 800;
    while (Date.now() < end);
  }, 0);
  const text = await client.eval('const t0 = Date.now(); while (Date.now() - t0 < 700) {}; "ran its course"', 10_000);
  t.match(text, /'ran its course'$/);
});

t.test("a stopped command in one session does not touch another session's", async (t) => {
  const backdoor = await start(t, { evalTimeoutMs: 400 });
  const [a, b] = [await connect(t, backdoor), await connect(t, backdoor)];
  a.send('while (true) {}\n');
  b.send('let kept = 7; kept * 6\n');
  t.match(await a.expect(/timed out[^\n]*\n> $/, 10_000), /Script execution timed out after 400ms/);
  t.match(await b.expect(/42\n> $/, 10_000), /42\n> $/);
  t.equal(await b.eval('kept'), '7');
  t.equal(await a.eval('typeof kept'), "'undefined'");
});

t.test('a session cannot keep its runaway from being stopped by replacing what the stop uses', async (t) => {
  // In an app of its own: the session changes the app's globals for good.
  const app = await startApp(t, 'stuck-app.mjs', [], { _TAPJS_PROCESSINFO_COVERAGE_: '0' });
  const client = await TestClient.connect({ port: Number(/backdoor (\d+)/.exec(app.stdout())![1]) });
  t.teardown(() => client.destroy());
  await client.ready();
  t.match(await client.eval('delete global.__backdoorStopRunaway'), /^false$|TypeError/);
  t.match(await client.eval('Object.defineProperty(global, "__backdoorStopRunaway", { value: () => -1 })'), /^Uncaught TypeError: Cannot redefine property: __backdoorStopRunaway/);
  await client.eval(
    [
      'global.Math.ceil = () => 1e9',
      'global.performance.now = () => 0',
      'global.Reflect.apply = () => 0',
      'global.Map.prototype.get = function () { return undefined }',
      'global.Symbol.for = () => Symbol()',
      'global.globalThis = {}',
      'require("node:inspector").Session.prototype.post = function () {}',
      '0',
    ].join('; '),
  );
  // (told that it waits after a second, as a 2 s command is)
  t.match(await client.eval('while (true) {}', 15_000), /(^|\n)Uncaught Error: Script execution timed out after 2000ms \(the evalTimeoutMs option\)$/);
  t.equal(await client.eval('6*7'), '42');
  t.match(await app.get(), /^ok 1/);
});

t.test('Ctrl-C in a synchronous loop says it runs on to evalTimeoutMs, then that it was stopped there', async (t) => {
  // In an app of its own: the loop holds the main thread, where an in-process client would wait too.
  const app = await startApp(t, 'stuck-app.mjs', [JSON.stringify({ evalTimeoutMs: 1500 })], { _TAPJS_PROCESSINFO_COVERAGE_: '0' });
  const client = await TestClient.connect({ port: Number(/backdoor (\d+)/.exec(app.stdout())![1]) });
  t.teardown(() => client.destroy());
  await client.ready();
  client.send('for (let i = 0; i < 3e10; i++) {}\n');
  await new Promise((resolve) => setTimeout(resolve, 200));
  client.send(Buffer.from([255, 244])); // telnet IP
  // (after the offer of character mode that the IP, the client's first telnet command, brings)
  t.match(await client.expect(/\n> $/), /^[^\n]*\nThe command is still running on the main thread; it will be stopped at 1500 ms \(evalTimeoutMs\)\.\n> $/);
  t.equal(await client.expect(/\n> $/, 10_000), 'The interrupted command was stopped at 1500 ms (evalTimeoutMs).\n> ');
  t.equal(await client.eval('1+1'), '2');
  t.match(await app.get(), /^ok 1/);
});
