import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { startApp, type ChildApp } from './fixtures/child.ts';
import { TestClient } from './fixtures/client.ts';
import { until } from './fixtures/until.ts';

const exec = promisify(execFile);
const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
const rendezvous = join(tmpdir(), `backdoor-${process.getuid!()}`);
const discovery = (pid: number) => join(rendezvous, `${pid}.json`);
/** Preloads that register module hooks (see the files). */
const fixture = (name: string) => new URL(`./fixtures/apps/${name}`, import.meta.url);
const hooks = fixture('async-hooks.mjs').href;
const hooksCjs = fixture('async-hooks.cjs').pathname;
const syncHooks = fixture('sync-hooks.cjs').pathname;
const transformHooks = fixture('transform-hooks.mjs').href;
const hasSyncHooks = 'registerHooks' in (await import('node:module'));

/** Runs the client with `input` on its stdin (not a terminal). */
function client(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, ...args], { timeout: 15_000 }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin!.end(input);
  });
}

/** Sends the start signal, waits for the address line, evaluates process.pid there. */
async function openAndCheck(t: Test, app: ChildApp, signal: NodeJS.Signals = 'SIGUSR1'): Promise<number> {
  const before = (app.stderr().match(/listening on/g) ?? []).length;
  process.kill(app.pid, signal);
  const line = await app.waitForStderr(new RegExp(`(listening on [^\\n]*\\n[^]*){${before + 1}}`));
  const port = Number(/127\.0\.0\.1:(\d+) \(pid (\d+)\)\n$/.exec(line)?.[1]);
  t.match(line, new RegExp(`listening on 127\\.0\\.0\\.1:\\d+ \\(pid ${app.pid}\\)\\n$`));
  const session = await TestClient.connect({ port });
  await session.ready();
  t.equal(await session.eval('process.pid'), String(app.pid));
  t.equal(await session.eval("require('node:inspector').url()"), 'undefined', 'the signal did not start the inspector');
  session.destroy();
  return port;
}

async function closeAndCheck(t: Test, app: ChildApp, port: number, signal: NodeJS.Signals = 'SIGUSR2'): Promise<void> {
  const before = (app.stderr().match(/closed [^\n]*\(pid/g) ?? []).length;
  process.kill(app.pid, signal);
  await app.waitForStderr(new RegExp(`(closed [^\\n]*\\(pid \\d+\\)\\n[^]*){${before + 1}}`));
  await t.rejects(TestClient.connect({ port }), { code: 'ECONNREFUSED' }, 'the port is closed');
  t.match(await app.get(), /^ok/, 'the app still serves');
}

const apps: [string, string, string[], NodeJS.ProcessEnv][] = [
  ['ESM app calling installSignalHandlers', 'signals-app.mjs', [], {}],
  ['ESM app with --import backdoor/register', 'http-app.mjs', ['--import', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['CommonJS app with --require backdoor/register', 'http-app.cjs', ['--require', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['app with NODE_OPTIONS=--import backdoor/register', 'http-app.mjs', [], { BACKDOOR_PORT: '0', NODE_OPTIONS: '--import backdoor/register' }],
  // With asynchronous module hooks registered (tsx, OpenTelemetry, APMs), before and after the
  // preload: on Node 22, require() of an ES module then throws; the CommonJS preload has none.
  ['CommonJS app, async hooks, then --require backdoor/register', 'http-app.cjs', ['--import', hooks, '--require', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['CommonJS app, --require backdoor/register, then async hooks', 'http-app.cjs', ['--require', 'backdoor/register', '--import', hooks], { BACKDOOR_PORT: '0' }],
  ['ESM app, async hooks, then --import backdoor/register', 'http-app.mjs', ['--import', hooks, '--import', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['ESM app, --import backdoor/register, then async hooks', 'http-app.mjs', ['--import', 'backdoor/register', '--import', hooks], { BACKDOOR_PORT: '0' }],
  ['CommonJS app, hooks and the preload in NODE_OPTIONS', 'http-app.cjs', [], { BACKDOOR_PORT: '0', NODE_OPTIONS: `--import ${hooks} --require backdoor/register` }],
  // Node runs every --require before any --import, whatever their order: hooks registered by an
  // --import are not in force yet when --require backdoor/register runs. A CommonJS preload
  // registering them first is.
  ['CommonJS app, async hooks from an earlier --require, then --require backdoor/register', 'http-app.cjs', ['--require', hooksCjs, '--require', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['ESM app, async hooks from an earlier --require, then --require backdoor/register', 'http-app.mjs', ['--require', hooksCjs, '--require', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['ESM app with --require backdoor/register', 'http-app.mjs', ['--require', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['CommonJS app with --import backdoor/register', 'http-app.cjs', ['--import', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['ESM app, a load hook rewriting its source (as tsx), then --import backdoor/register', 'http-app.mjs', ['--import', transformHooks, '--import', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['CommonJS app, synchronous hooks (module.registerHooks), then --require backdoor/register', 'http-app.cjs', ['--require', syncHooks, '--require', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
  ['ESM app, synchronous hooks (module.registerHooks), then --import backdoor/register', 'http-app.mjs', ['--require', syncHooks, '--import', 'backdoor/register'], { BACKDOOR_PORT: '0' }],
];
for (const [name, file, flags, env] of apps) {
  const skip = flags.includes(syncHooks) && !hasSyncHooks ? `module.registerHooks is not in Node ${process.version}` : false;
  t.test(`${name}: USR1 starts, USR2 closes, the app serves throughout`, { skip }, async (t) => {
    // Without tap's own hooks: "no hooks" means none, and Node 22 cannot run synchronous hooks
    // beside asynchronous ones (tap's), with or without the backdoor.
    const app = await startApp(t, file, flags, env, { bare: true });
    t.match(await app.get(), flags.includes(transformHooks) ? /^ok \(transformed\) 1/ : /^ok/);
    const port = await openAndCheck(t, app);
    await closeAndCheck(t, app, port);
    await openAndCheck(t, app); // and again
    t.equal((app.stderr().match(/listening on/g) ?? []).length, 2, 'the worker did not run the preload again');
  });
}

t.test('a SIGUSR1 during start-up starts the backdoor once the preload is loaded', async (t) => {
  const app = await startApp(t, 'http-app.cjs', ['--require', 'backdoor/register', '--require', fixture('slow-start.cjs').pathname], { BACKDOOR_PORT: '0' });
  const line = await app.waitForStderr(/listening on 127\.0\.0\.1:\d+/);
  const session = await TestClient.connect({ port: Number(line.split(':').at(-1)) });
  t.teardown(() => session.destroy());
  await session.ready();
  t.equal(await session.eval("require('node:inspector').url()"), 'undefined', 'not the inspector');
  t.match(await app.get(), /^ok/);
});

t.test("hooks that refuse the preload's ES module: the app starts without a backdoor, and says why", async (t) => {
  const app = await startApp(t, 'http-app.cjs', ['--require', fixture('refusing-hooks.cjs').pathname, '--require', 'backdoor/register'], { BACKDOOR_PORT: '0' });
  await app.waitForStderr(/backdoor: not installed: [^\n]*refused by a module hook/);
  t.match(await app.get(), /^ok/);
  // The CommonJS preload's early listeners stay: a signal neither kills it nor starts the inspector.
  process.kill(app.pid, 'SIGUSR1');
  t.match(await app.get(), /^ok/, 'answered after the signal reached it');
  // Its own SIGTERM handler ends it, after the SIGUSR1 was handled: exit code 0, and nothing
  // of the inspector on its stderr.
  process.kill(app.pid, 'SIGTERM');
  t.equal(await app.exited, 0);
  if (!app.process.stderr!.readableEnded) await once(app.process.stderr!, 'end');
  t.notMatch(app.stderr(), /Debugger listening/);
});

t.test('--disable-sigusr1 blocks SIGUSR1: the preload says so, and other signals work', async (t) => {
  if (Number(process.versions.node.split('.')[0]) < 22) return t.plan(0, `skipped: --disable-sigusr1 is not an option of Node ${process.version}`);
  const blocked = await startApp(t, 'http-app.mjs', ['--disable-sigusr1', '--import', 'backdoor/register'], { BACKDOOR_PORT: '0' });
  await blocked.waitForStderr(/backdoor: not installed: The "startSignal" SIGUSR1 is blocked in this process by --disable-sigusr1/);
  t.match(await blocked.get(), /^ok/);
  t.notOk(existsSync(join(rendezvous, `${blocked.pid}.ready`)), 'no ready file: the client will not signal it');
  const other = await startApp(t, 'http-app.mjs', ['--disable-sigusr1', '--import', 'backdoor/register'], { BACKDOOR_PORT: '0', BACKDOOR_START_SIGNAL: 'SIGUSR2', BACKDOOR_STOP_SIGNAL: 'SIGHUP' });
  const port = await openAndCheck(t, other, 'SIGUSR2');
  await closeAndCheck(t, other, port, 'SIGHUP');
});

/** How many of the app's stderr lines tell that its backdoor listens, or closed. */
const told = (app: ChildApp, what: 'listening' | 'closed') => (app.stderr().match(what === 'listening' ? /listening on /g : /closed [^\n]*\(pid/g) ?? []).length;

/** The threads of a process (Linux): a start makes the backdoor's worker thread at once. */
const threads = (pid: number) => Number(/^Threads:\s*(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

/**
 * Whether a session at the address of the app's latest "listening on" line answers; tried
 * until one does (bounded): a start begun by earlier signals may be closing meanwhile.
 */
async function answersAtLatest(app: ChildApp): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const port = Number([...app.stderr().matchAll(/listening on 127\.0\.0\.1:(\d+)/g)].at(-1)?.[1]);
    const session = await TestClient.connect({ port }).catch(() => undefined);
    const pid = await session
      ?.ready()
      .then(() => session.eval('process.pid'))
      .catch(() => undefined);
    session?.destroy();
    if (pid === String(app.pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

t.test('repeated signals are harmless, in any order and in bursts', async (t) => {
  const app = await startApp(t, 'signals-app.mjs');
  // Each signal is followed by a request: the app's main thread answers it after the signal
  // reached it and its listener ran. (Two different signals pending at once are delivered in
  // signal-number order, USR1 first, whatever order they were sent in.)
  process.kill(app.pid, 'SIGUSR2'); // while stopped
  t.match(await app.get(), /^ok/);
  const port = await openAndCheck(t, app);
  process.kill(app.pid, 'SIGUSR1'); // while running
  t.match(await app.get(), /^ok/);
  // Transitions go one at a time: a start that USR1 began would be told before this close.
  await closeAndCheck(t, app, port);
  t.equal(told(app, 'listening'), 1, 'the second USR1 started nothing');
  const reopened = await openAndCheck(t, app);
  // A burst of both: the order in which a multi-threaded process handles two different signals
  // sent back to back is the kernel's, so only harmlessness is checked here...
  for (let i = 0; i < 20; i++) process.kill(app.pid, i % 2 ? 'SIGUSR1' : 'SIGUSR2');
  for (let i = 0; i < 5; i++) process.kill(app.pid, 'SIGUSR2');
  t.match(await app.get(), /^ok/);
  // ...then one signal alone is obeyed, whatever state the burst left (a start it began ends
  // closed too, once done).
  process.kill(app.pid, 'SIGUSR2');
  t.match(await app.get(), /^ok/);
  t.ok(await until(() => told(app, 'listening') === told(app, 'closed') && !existsSync(discovery(app.pid)), 10_000), 'closed');
  await t.rejects(TestClient.connect({ port: reopened }), { code: 'ECONNREFUSED' });
  process.kill(app.pid, 'SIGUSR1');
  t.match(await app.get(), /^ok/);
  t.ok(await answersAtLatest(app), 'open again');
  t.equal(app.process.exitCode, null, 'still running');
});

t.test('other signals can be chosen, and uninstall makes the handlers no-ops', async (t) => {
  const custom = await startApp(t, 'signals-app.mjs', [JSON.stringify({ port: 0, startSignal: 'SIGUSR2', stopSignal: 'SIGHUP' })]);
  const port = await openAndCheck(t, custom, 'SIGUSR2');
  await closeAndCheck(t, custom, port, 'SIGHUP');

  const app = await startApp(t, 'signals-app.mjs');
  const open = await openAndCheck(t, app);
  app.process.stdin!.write('uninstall\n');
  await app.waitForStderr(/closed [^\n]*\(pid \d+\)\nuninstalled\n/);
  await t.rejects(TestClient.connect({ port: open }), { code: 'ECONNREFUSED' }, 'uninstall closed the backdoor');
  // The listeners stay (removing a SIGUSR1 listener would let the next one kill the process)
  // but do nothing: a start would have made its worker thread in the listener itself.
  const before = threads(app.pid);
  process.kill(app.pid, 'SIGUSR1');
  process.kill(app.pid, 'SIGUSR2');
  t.match(await app.get(), /^ok/, 'answered after both signals reached it');
  t.equal(threads(app.pid), before, 'no worker was started');
  t.equal(told(app, 'listening'), 1);
  t.equal(app.process.exitCode, null);
});

t.test('discovery file: written while listening (0600, with what the client needs), gone after', async (t) => {
  const app = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], {});
  const path = discovery(app.pid);
  t.notOk(existsSync(path));
  process.kill(app.pid, 'SIGUSR1');
  await app.waitForStderr(/listening on/);
  const file = JSON.parse(readFileSync(path, 'utf8'));
  t.match(file, { pid: app.pid, address: { path: join(rendezvous, `${app.pid}.sock`) }, startedAt: String, title: String, node: process.version });
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.equal(statSync(file.address.path).mode & 0o777, 0o600, 'the default unix socket is owner-only');
  process.kill(app.pid, 'SIGUSR2');
  await app.waitForStderr(/closed/);
  t.notOk(existsSync(path), 'removed on close');
  t.notOk(existsSync(file.address.path), 'socket removed on close');
  process.kill(app.pid, 'SIGUSR1');
  await app.waitForStderr(/listening on[^]*listening on/);
  t.ok(existsSync(path));
  process.kill(app.pid, 'SIGTERM'); // the app exits normally on SIGTERM
  t.equal(await app.exited, 0);
  t.notOk(existsSync(path), 'removed on exit');
});

t.test('the client: non-interactive use prints results only and exits 0', async (t) => {
  const app = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], { BACKDOOR_PORT: '0', BACKDOOR_START: '1' });
  const line = await app.waitForStderr(/listening on 127\.0\.0\.1:\d+/);
  const port = line.split(':').at(-1)!;
  await app.get();
  await app.get();
  t.same(await client([port], 'stats.requests\n'), { code: 0, stdout: '2\n', stderr: '' });
  t.same(await client([`127.0.0.1:${port}`], 'let a = 1\na + 1\nnope\n'), {
    code: 0,
    stdout: 'undefined\n2\nUncaught ReferenceError: nope is not defined\n',
    stderr: '',
  });
});

t.test('backdoor <pid>: attaches to a process that opted in, by signal, and says why not otherwise', async (t) => {
  const app = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], {});
  t.same(await client([String(app.pid)], 'process.pid\n'), { code: 0, stdout: `${app.pid}\n`, stderr: '' });
  await app.waitForStderr(/listening on/);
  // Once running, the discovery file is used directly: no second signal.
  t.same(await client([String(app.pid)], '6*7\n'), { code: 0, stdout: '42\n', stderr: '' });
  t.equal((app.stderr().match(/listening on/g) ?? []).length, 1);

  const plain = await startApp(t, 'http-app.mjs');
  const refused = await client([String(plain.pid)], '1\n');
  t.equal(refused.code, 1);
  t.match(refused.stderr, new RegExp(`process ${plain.pid} has not opted in`));
  t.match(await plain.get(), /^ok/, 'a process that did not opt in is not signalled');

  const gone = await client(['4194304'], '1\n');
  t.same(gone, { code: 1, stdout: '', stderr: 'backdoor: process 4194304 is not running\n' });

  // A timeout that is not a number would never time out: refused before anything is signalled.
  const bad = await client(['--timeout', 'abc', String(app.pid)], '1\n');
  t.equal(bad.code, 2, 'a usage error');
  t.match(bad.stderr, /--timeout must be a number of milliseconds\. Received 'abc'/);
});

t.test('backdoor ls: lists the backdoors on this machine, cleans up after dead processes', async (t) => {
  const a = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], { BACKDOOR_START: '1' });
  const b = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], { BACKDOOR_START: '1' });
  // Opted in, not started (a cluster's workers, say): listed too, never silently left out.
  const c = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], {});
  await a.waitForStderr(/listening on/);
  await b.waitForStderr(/listening on/);
  await until(() => existsSync(join(rendezvous, `${c.pid}.ready`)));
  // A file left by a process killed without cleaning up.
  const deadPid = 4194303;
  writeFileSync(discovery(deadPid), JSON.stringify({ pid: deadPid, address: { path: '/nope' }, startedAt: new Date().toISOString(), title: 'x', node: 'v0' }));
  const { stdout } = await exec(process.execPath, [cli, 'ls']); // rejects unless it exits 0
  t.match(stdout, /^PID +ADDRESS +AGE +TITLE\n/);
  // The title is the command line, as --all shows it.
  for (const app of [a, b]) t.match(stdout, new RegExp(`^${app.pid} +${join(rendezvous, `${app.pid}.sock`)} +\\d+s +\\S*node\\S* --import backdoor/register \\S*http-app\\.mjs$`, 'm'), 'each process its own socket');
  t.match(stdout, new RegExp(`^${c.pid} +not started \\(SIGUSR1 starts it\\) +- +\\S*node\\S* --import backdoor/register \\S*http-app\\.mjs$`, 'm'));
  t.match(stdout, /\n\(`backdoor <pid>` starts one that has not started, and connects to it\)\n$/);
  t.notMatch(stdout, String(deadPid));
  t.notOk(existsSync(discovery(deadPid)), "the dead process's file is removed");
});

t.test('a bad setting in the environment is reported, and the app runs without a backdoor', async (t) => {
  const app = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], { BACKDOOR_PORT: 'abc' });
  t.match(app.stderr(), "backdoor: not installed: BACKDOOR_PORT must be a number. Received 'abc'\n");
  t.match(await app.get(), /^ok/);
});
