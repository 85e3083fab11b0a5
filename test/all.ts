// `backdoor --all`: one question to every backdoor of the user's on this machine, through the
// real client, real child apps and a rendezvous directory of the test's own.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startApp } from './fixtures/child.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
const root = new URL('../', import.meta.url).pathname;

/** A rendezvous directory of the test's own (0700), removed when it ends. */
async function rendezvous(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'backdoor-all-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs the client against `dir`; its stdout, stderr and exit code. */
function client(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { timeout: 30_000, env: { ...process.env, BACKDOOR_DIR: dir, BACKDOOR_TOKEN: '' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** Waits (bounded) until `check` holds. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`never: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The PID column of a table, in order. */
const pidsOf = (table: string) =>
  table
    .split('\n')
    .slice(1)
    .filter((line) => /^\d/.test(line))
    .map((line) => Number(line.split(/\s+/)[0]));

t.test('three apps: --all reaches the listening one, --start the opted-in one too, never the plain one', async (t) => {
  const dir = await rendezvous(t);
  const env = { BACKDOOR_DIR: dir };
  const plain = await startApp(t, 'http-app.mjs', [], env);
  const optedIn = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], env);
  const listening = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], { ...env, BACKDOOR_START: '1' });
  await optedIn.get();
  await until('both opted in', () => existsSync(join(dir, `${optedIn.pid}.ready`)) && existsSync(join(dir, `${listening.pid}.json`)));

  // Without --start: the listening app answers; the opted-in one is named on stderr, not signalled.
  const first = await client(dir, ['--all', '--eval', 'stats.requests + 1']);
  t.equal(first.code, 0, first.stderr);
  t.same(pidsOf(first.stdout), [listening.pid]);
  t.match(first.stdout, /^PID\s+TITLE\s+MS\s+VALUE\n/);
  t.match(first.stdout, new RegExp(`^${listening.pid}\\s+node \\S*http-app\\.mjs\\s+[\\d.]+\\s+1$`, 'm'));
  t.match(first.stderr, new RegExp(`process ${optedIn.pid} opted in but has no backdoor listening: --start asks it too`));
  t.notOk(existsSync(join(dir, `${optedIn.pid}.json`)), 'the opted-in app was not started');

  // With --start: both, in pid order, with their own values; the opted-in one is closed again.
  const second = await client(dir, ['--all', '--start', '--eval', 'stats.requests']);
  t.equal(second.code, 0, second.stderr);
  t.same(
    pidsOf(second.stdout),
    [optedIn.pid, listening.pid].sort((a, b) => a - b),
  );
  t.match(second.stdout, new RegExp(`^${optedIn.pid}\\s.*\\s1$`, 'm'), 'the opted-in app served one request');
  t.match(second.stdout, new RegExp(`^${listening.pid}\\s.*\\s0$`, 'm'));
  t.notOk(existsSync(join(dir, `${optedIn.pid}.json`)), '--start left the opted-in app as it was: no backdoor listening');
  t.ok(existsSync(join(dir, `${optedIn.pid}.ready`)), '...and still opted in');
  // (Its discovery file goes first, which the client waits for; the closed line once its worker has ended.)
  t.ok(await optedIn.waitForStderr(/backdoor: listening on [^\n]*\n[^]*backdoor: closed/), 'it was started, then closed');
  t.ok(existsSync(join(dir, `${listening.pid}.json`)), 'the listening app still listens');

  // --json: one line per process, which parses: pid, ok, inspect, superjson value.
  const json = await client(dir, ['--all', '--start', '--json', '--eval', '({ n: stats.requests, at: new Date(0) })']);
  t.equal(json.code, 0, json.stderr);
  const lines = json.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  t.same(
    lines.map((line) => line.pid),
    [optedIn.pid, listening.pid].sort((a, b) => a - b),
  );
  for (const line of lines) {
    t.equal(line.ok, true);
    t.match(line.inspect, /^\{ n: \d, at: 1970-01-01T00:00:00\.000Z \}$/);
    t.same(line.val.meta.values, { at: ['Date'] }, 'a superjson value: the Date stays a Date');
  }

  // An error is a row of its own and makes the exit code 1.
  const thrown = await client(dir, ['--all', '--eval', 'notDefined']);
  t.equal(thrown.code, 1);
  t.match(thrown.stdout, /Uncaught ReferenceError: notDefined is not defined/);

  // Filters: by title, and by parent (the test process is every app's parent).
  t.same(
    pidsOf((await client(dir, ['--all', '--start', '--title', 'http-app', '--ppid', String(process.pid), '--eval', '1'])).stdout),
    [optedIn.pid, listening.pid].sort((a, b) => a - b),
  );
  const none = await client(dir, ['--all', '--ppid', '1', '--eval', '1']);
  t.equal(none.code, 1);
  t.match(none.stderr, /no backdoor of yours matches/);

  // The plain app was never signalled (SIGUSR1 would have started its inspector).
  t.notMatch(plain.stderr(), /Debugger listening/);
  t.match(await plain.get(), /^ok/);
  t.match(await optedIn.get(), /^ok/);
});

t.test('a process that hangs is reported as timed out while the others answer', async (t) => {
  const dir = await rendezvous(t);
  const env = { BACKDOOR_DIR: dir };
  // (Without tap's coverage: with it, the inspector's Debugger.enable reports thousands of
  // scripts, which a loaded machine may not do within the inspector's 2 s.)
  const stuck = await startApp(t, 'stuck-app.mjs', [], { ...env, _TAPJS_PROCESSINFO_COVERAGE_: '0' });
  const fine = await startApp(t, 'http-app.mjs', ['--import', 'backdoor/register'], { ...env, BACKDOOR_START: '1' });
  await until('both listen', () => existsSync(join(dir, `${stuck.pid}.json`)) && existsSync(join(dir, `${fine.pid}.json`)));
  // Stuck for longer than the two clients below take to start and ask, on a busy machine too;
  // nothing waits for its end.
  stuck.process.stdin!.write('block 20000\n');
  await stuck.waitForStdout(/blocking/);
  const result = await client(dir, ['--all', '--timeout', '1500', '--eval', 'process.pid']);
  t.equal(result.code, 1, 'a timeout fails the run');
  t.match(result.stdout, new RegExp(`^${stuck.pid}\\s.*error: timed out after 1500 ms$`, 'm'));
  t.match(result.stdout, new RegExp(`^${fine.pid}\\s.*\\s${fine.pid}$`, 'm'), 'the other answered');
  // .stack is answered by the worker even while the main thread is stuck: the stuck one stands out.
  const stacks = await client(dir, ['--all', '--stack']);
  t.equal(stacks.code, 0, stacks.stderr);
  t.match(stacks.stdout, new RegExp(`== pid ${stuck.pid} [^\\n]*==\\n[^=]*stuckInHere`));
  t.match(stacks.stdout, new RegExp(`== pid ${fine.pid} [^\\n]*==\\nThe main thread is idle`));
});

t.test('the cluster example: a primary with two workers, each reached', async (t) => {
  const dir = await rendezvous(t);
  const primary = spawn(process.execPath, [join(root, 'examples/cluster.js')], {
    cwd: root,
    env: { ...process.env, NODE_OPTIONS: '', BACKDOOR_DIR: dir, PORT: '0', WORKERS: '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise((resolve) => primary.once('exit', resolve));
  t.teardown(async () => {
    if (primary.exitCode === null && primary.signalCode === null) {
      process.kill(primary.pid!, 'SIGTERM'); // the primary stops its workers, then exits
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (primary.exitCode === null && primary.signalCode === null) process.kill(primary.pid!, 'SIGKILL');
    }
  });
  let out = '';
  primary.stdout!.on('data', (chunk) => (out += chunk));
  await until('the workers listen', () => /workers on http:\/\/127\.0\.0\.1:\d+/.test(out));
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
  for (let i = 0; i < 4; i++) await fetch(`http://127.0.0.1:${port}/`).then((response) => response.text());
  const result = await client(dir, ['--all', '--start', '--ppid', String(primary.pid), '--json', '--eval', 'stats']);
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  t.equal(lines.length, 2, 'both workers answered');
  t.same(lines.map((line) => line.val.json.worker).sort(), [1, 2]);
  t.equal(
    lines.reduce((sum, line) => sum + line.val.json.requests, 0),
    4,
    'between them, every request',
  );
  t.ok(
    lines.every((line) => line.pid !== primary.pid),
    'the primary did not opt in',
  );
  t.ok(lines[0].pid < lines[1].pid, 'in pid order');
  t.ok(
    lines.every((line) => !existsSync(join(dir, `${line.pid}.json`))),
    'and closed again',
  );
});
