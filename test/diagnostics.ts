// `.stack`, `.profile`, `.heap`: the main thread seen from the worker, through real sockets,
// against a child app whose own code keeps its main thread busy.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t, { type Test } from 'tap';
import { startApp, type ChildApp } from './fixtures/child.ts';
import { TestClient } from './fixtures/client.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;

async function stuckApp(t: Test, flags: string[] = []): Promise<{ app: ChildApp; port: number; session: () => Promise<TestClient> }> {
  // Without tap's coverage, which the child would otherwise inherit (tap puts its loader
  // back into NODE_OPTIONS): with V8's precise coverage on, its profiler counts the app's time
  // at the call in Node's listOnTimeout rather than in the app's function.
  const app = await startApp(t, 'stuck-app.mjs', flags, { _TAPJS_PROCESSINFO_COVERAGE_: '0' });
  const port = Number(/backdoor (\d+)/.exec(app.stdout())![1]);
  const session = async () => {
    const client = await TestClient.connect({ port });
    t.teardown(() => client.destroy());
    await client.ready();
    return client;
  };
  return { app, port, session };
}

/** Waits (bounded) until the app has printed `unblocked` `count` times: its block is over. */
async function unblocked(app: ChildApp, count = 1): Promise<void> {
  const deadline = Date.now() + 15_000;
  while ((app.stdout().match(/unblocked/g) ?? []).length < count) {
    if (Date.now() > deadline) throw new Error(`the app never unblocked: ${app.stdout()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `.stack` in an idle app, asked until it finds the main thread idle (at most 5 times): the
 * app's own 10 ms timer runs now and then, and a probe that lands in it finds JavaScript.
 */
async function idleStack(client: TestClient): Promise<string> {
  let text = '';
  for (let i = 0; i < 5; i++) {
    text = await client.eval('.stack');
    if (/idle/.test(text)) break;
  }
  return text;
}

/** The app's 10 ms timer still ticks: nothing was left paused (asked until it has, bounded). */
async function ticking(t: Test, client: TestClient): Promise<void> {
  const before = Number(await client.eval('state.ticks'));
  let after = before;
  for (let i = 0; i < 100 && after === before; i++) after = Number(await client.eval('await new Promise((r) => setTimeout(r, 20)); state.ticks'));
  t.ok(after > before, `the app's timer runs (${before} -> ${after})`);
}

/** Blocks the app's main thread for `ms` in its own code; resolves once it is blocked. */
async function block(app: ChildApp, ms: number): Promise<void> {
  const count = (app.stdout().match(/blocking/g) ?? []).length;
  app.process.stdin!.write(`block ${ms}\n`);
  await app.waitForStdout(new RegExp(`(blocking\\n[^]*){${count + 1}}`));
}

/** Removes a diagnostics file when the test ends, with its directory (the worker made it for this test's app). */
function removeLater(t: Test, file: string) {
  t.teardown(() => rmSync(dirname(file), { recursive: true, force: true }));
}

t.test('.stack names the app function the main thread is stuck in, from its file, while it is stuck; idle says so', async (t) => {
  const { app, session } = await stuckApp(t);
  const client = await session();
  t.match(await idleStack(client), /^The main thread is idle: it waits in the event loop/);
  await ticking(t, client);
  await block(app, 4000);
  const stack = await client.eval('.stack', 10_000);
  t.match(stack, /^The main thread is running JavaScript, here \(top first\):\n {4}at stuckInHere \([^\n]*stuck-app\.mjs:\d+:\d+\)\n {4}at appHandler \(/);
  t.match(stack, /at listOnTimeout \(node:internal\/timers/);
  // Meanwhile a command waits, and is told why; .stats answers from the worker.
  const other = await session();
  other.send('state.requests\n');
  t.match(
    await other.expect(/\)\n/, 5000),
    /\(waiting \d+\.\d s: the app's main thread has not answered since it was sent: it is busy \(the app's own work, or a long command\), and \.stack in another session shows where; Ctrl\+C abandons it\)/,
  );
  t.match(await client.eval('.stats', 5000), /^The app's main thread has not answered for \d+\.\d s: it is busy \(the app's own work, or a long command\)\. \.stack shows where\.\nworker: 2 session\(s\)/);
  t.match(await other.expect(/(^|\n)0\n> $/, 10_000), /0\n> $/);
  // Afterwards: the app serves, its timers run, nothing is left paused or enabled.
  t.match(await app.get(), /^ok 1/);
  await ticking(t, client);
  t.match(await idleStack(client), /idle/);
});

t.test('.profile 2 on an app with a hot function names it first; the whole profile is in an owner-only file', async (t) => {
  const { app, session } = await stuckApp(t);
  const client = await session();
  // The hot function starts while the profile runs: V8 (Node 22 and 24) records the functions
  // it inlines only for code it compiles while it profiles (see docs/diagnostics.md, ".profile").
  client.send('.profile 2\n');
  await client.expect("Profiling the main thread's CPU for 2 s; Ctrl+C abandons it.\n");
  app.process.stdin!.write('hot\n');
  const text = (await client.expect(/(^|\n)> $/, 15_000)).replace(/\n> $/, '');
  t.match(text, /^\d+ samples over \d+\.\d s/);
  t.match(text, /\nFunctions by self time:\n +\d+\.\d% +\d+\.\d ms {2}hotFunction {2}\/\S*stuck-app\.mjs:\d+:\d+\n/);
  // (listOnTimeout is missing from the path when V8 had inlined it into processTimers before the
  // profile began, the app's own 10 ms timer having made both hot: see docs/diagnostics.md.)
  t.match(text, /\nHottest call paths \(caller > callee\):\n +\d+\.\d% +\d+\.\d ms {2}processTimers > (listOnTimeout > )?hotFunction\n/);
  const file = /The whole profile \(Chrome DevTools, speedscope\): (\S+)$/.exec(text)![1];
  removeLater(t, file);
  t.equal(statSync(file).mode & 0o777, 0o600, 'the file is owner-only');
  t.equal(statSync(new URL('.', `file://${file}`).pathname).mode & 0o777, 0o700, 'so is its directory');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: unknown[]; samples: unknown[] };
  t.ok(profile.nodes.length > 0 && profile.samples.length > 0, 'a .cpuprofile');
  t.match(await app.get(), /^ok 1/);
  await ticking(t, client);
  t.match(await client.eval('.profile 0'), /^Usage: \.profile \[seconds\]: seconds must be above 0 and at most 60/);
  t.match(await client.eval('.profile 61'), /^Usage: /);
});

t.test('.profile of a function stuck since before it began names that function, not only its caller', async (t) => {
  // V8 optimizes stuckHere's loop while it runs (on-stack replacement); a profile begun after
  // that has no frame for it, and counts its time as tick's own, on the line that calls it
  // (Node 20, 22, 24). The hottest line's call names it.
  const { app, session } = await stuckApp(t);
  const client = await session();
  app.process.stdin!.write('stuck 4000\n');
  await app.waitForStdout(/blocking\n/);
  const text = await client.eval('.profile 2', 15_000);
  t.match(text, /\nFunctions by self time:\n +\d+\.\d% +\d+\.\d ms {2}(stuckHere {2}|tick {2}[^]*\n {2}Hottest line of tick, \d+\.\d% of its samples: \/\S*stuck-app\.mjs:\d+ {2}stuckHere\(ms\);\n {2}It calls stuckHere:)/);
  removeLater(t, /: (\S+)$/.exec(text)![1]);
  await unblocked(app);
});

t.test('Ctrl-C abandons a profile at once; the session and the app go on', async (t) => {
  const { session } = await stuckApp(t);
  const client = await session();
  client.send('.profile 30\n');
  await client.expect("Profiling the main thread's CPU for 30 s; Ctrl+C abandons it.\n");
  client.send(Buffer.from([255, 244])); // telnet IAC IP: Ctrl-C
  await client.ready();
  // A second diagnosis, at once: it waits while the abandoned one lets go of the inspector,
  // rather than being refused as if another session held it.
  t.match(await client.eval('.stack'), /^The main thread is (idle|running JavaScript)/);
  t.equal(await client.eval('1+1'), '2');
});

t.test('a session that ends takes its running profile with it: FIN, .exit, or a reset; the inspector is free at once, no file written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'backdoor-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { session } = await stuckApp(t, [JSON.stringify({ diagnosticsDir: dir })]);
  const ends: [string, (client: TestClient) => void][] = [
    ['FIN', (client) => client.end()],
    ['.exit', (client) => client.send('.exit\n')],
    ['RST', (client) => client.socket.resetAndDestroy()],
  ];
  for (const [how, end] of ends) {
    const client = await session();
    client.send('.profile 12\n');
    await client.expect("Profiling the main thread's CPU for 12 s; Ctrl+C abandons it.\n");
    end(client);
    // Another session's diagnosis goes at once: no notice of a wait (one comes after a second),
    // no busy inspector.
    const other = await session();
    const stack = await other.eval('.stack', 10_000);
    t.match(stack, /^The main thread is (idle|running JavaScript)/, `after ${how}`);
    t.notMatch(other.received, /waiting|busy/, `after ${how}: nothing waited`);
    other.destroy();
  }
  t.same(readdirSync(dir), [], 'no profile was written');
});

t.test('.heap now, and .heap sample names where live allocations are made', async (t) => {
  const { session } = await stuckApp(t);
  const client = await session();
  t.match(await client.eval('.heap'), /^heap: [\d.]+ MB used of [\d.]+ MB \(limit [\d.]+ MB\), rss [\d.]+ MB[^\n]*\nnative contexts \d+[^\n]*\nspace +used +size +available\n(new_space|old_space|read_only_space)/);
  client.send('globalThis.kept = []; const t0 = setInterval(function allocateHere() { kept.push(new Array(1000).fill(kept.length)) }, 5); 0\n');
  await client.ready();
  const text = await client.eval('.heap sample 1', 10_000);
  t.match(text, /^Sampling the main thread's allocations for 1 s; Ctrl\+C abandons it\.\n[\d.]+ (kB|MB) sampled in allocations made over 1 s and still alive, by allocating function:\n[^]*allocateHere/);
  t.match(text, /The whole profile \(Chrome DevTools, Memory tab\): \S+\.heapprofile$/);
  removeLater(t, /: (\S+)$/.exec(text)![1]);
  await client.eval('clearInterval(t0)');
  t.match(await client.eval('.heap nonsense'), /^Usage: \.heap \(or \.heap sample \[seconds\]\): it takes no arguments$/);
});

t.test('JSON mode: a diagnosis is an op like any other; the client prints --stack and --profile and exits', async (t) => {
  const { app, port, session } = await stuckApp(t);
  const client = await session();
  client.send('.mode json\n');
  await client.expect('\n');
  client.send(`${JSON.stringify({ id: 's', command: '.stack' })}\n`);
  // (idle, unless the probe lands in the app's 10 ms timer)
  t.match(JSON.parse(await client.expect('\n', 5000)), { tag: 'ret', op: 'stack', id: 's', status: 'done', ok: true, idle: Boolean, frames: Array, text: /^The main thread is (idle|running)/ });
  client.send(`${JSON.stringify({ id: 'x', command: '.nope' })}\n`);
  t.match(JSON.parse(await client.expect('\n', 5000)), { tag: 'err', id: 'x', code: 'unknown-op', message: /^unknown command/ });
  client.send(`${JSON.stringify({ id: 'p', op: 'profile', args: { seconds: 'soon' } })}\n`);
  t.match(JSON.parse(await client.expect('\n', 5000)), { tag: 'ret', op: 'profile', id: 'p', status: 'error', code: 'bad-args', text: 'profile: seconds must be a number, not "soon"' });
  // Long enough for the one-shot client below to start (with tap's coverage hooks) and look
  // while it lasts, on a busy machine too; nothing waits for its end.
  await block(app, 10_000);
  client.send(`${JSON.stringify({ id: 2, command: '.stack' })}\n`);
  const stack = JSON.parse(await client.expect('\n', 5000)) as { tag: string; idle: boolean; frames: { functionName: string; location: string }[] };
  t.match(stack, { tag: 'ret', op: 'stack', id: 2, ok: true, idle: false });
  t.match(stack.frames[0], { functionName: 'stuckInHere', location: /stuck-app\.mjs:\d+:\d+$/ });
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [cli, ...args], { timeout: 20_000 }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code) : 0, stdout, stderr }));
    });
  const oneShot = await run(['--stack', String(port)]);
  t.equal(oneShot.code, 0);
  t.match(oneShot.stdout, /^The main thread is running JavaScript, here \(top first\):\n {4}at stuckInHere /);
  const profiled = await run(['--profile', '1', String(port)]);
  t.equal(profiled.code, 0, profiled.stderr);
  t.match(profiled.stdout, /^\d+ samples over \d+\.\d s[^]*The whole profile[^\n]*: (\S+)\n$/);
  removeLater(t, /: (\S+)\n$/.exec(profiled.stdout)![1]);
  t.match(await run(['--stack', '--eval', '1', String(port)]), { code: 2, stderr: /give one/ });
});

t.test('an app that runs with --inspect itself: .stack works beside it, and leaves its inspector alone', async (t) => {
  const { app, session } = await stuckApp(t, ['--inspect=127.0.0.1:0']);
  const client = await session();
  await block(app, 2000);
  t.match(await client.eval('.stack', 10_000), /at stuckInHere \(/);
  await app.waitForStderr(/Debugger listening on ws:\/\/127\.0\.0\.1:\d+\//);
  await unblocked(app);
  t.equal(await client.eval('typeof require("node:inspector").url()', 10_000), "'string'");
  await ticking(t, client);
});
