// The rendezvous directory against another local user: planted first, linked, or in a parent
// they own; which directory is used; and files that outlive the process that wrote them.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { processIdentity } from '../dist/common/process-identity.js';
import { startApp, type ChildApp } from './fixtures/child.ts';
import { TestClient } from './fixtures/client.ts';
import { otherUser, sharedTmp, type OtherUser } from './fixtures/other-user.ts';
import { until } from './fixtures/until.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
const uid = process.getuid!();

/** Runs the client (stdin not a terminal, no runtime directory unless `env` names one); never rejects. */
function client(args: string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, ...args], { timeout: 15_000, env: { ...process.env, XDG_RUNTIME_DIR: '', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

/** An app of this user's, opted in by the preload, with its temporary directory at `tmp`. */
function victimApp(t: Test, tmp: string, env: NodeJS.ProcessEnv = {}, file = 'http-app.mjs'): Promise<ChildApp> {
  return startApp(t, file, ['--import', 'backdoor/register'], { TMPDIR: tmp, ...env });
}

/** Sends SIGUSR1 and returns the unix socket the app says its backdoor listens on. */
async function startBySignal(app: ChildApp): Promise<string> {
  process.kill(app.pid, 'SIGUSR1');
  const line = await app.waitForStderr(/listening on (\/\S+\.sock) \(pid/);
  return /listening on (\S+)/.exec(line)![1];
}

/** A server of the other user's on 127.0.0.1:`port` that asks for a token and records what it gets. */
async function tokenTrap(other: OtherUser, port: number): Promise<{ up: boolean; got: () => string }> {
  const child = other.spawn([
    '-e',
    `require('net').createServer((s) => { s.on('data', (d) => process.stdout.write('GOT ' + d)); s.write('Token: ') }).on('error', (e) => console.log('cannot ' + e.code)).listen(${port}, '127.0.0.1', () => console.log('up'))`,
  ]);
  let got = '';
  child.stdout!.on('data', (chunk) => (got += chunk));
  await until(() => /up|cannot/.test(got), 10_000);
  return { up: got.includes('up'), got: () => got.replace(/^up\n/, '') };
}

t.test('a rendezvous directory another user made first: the signals stay ours, only discovery is skipped', async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  const planted = join(tmp, `backdoor-${uid}`);
  t.equal(other.node(`require('fs').mkdirSync(${JSON.stringify(planted)}, { mode: 0o700 })`).status, 0);
  const app = await victimApp(t, tmp);
  const notice = await app.waitForStderr(/backdoor: .*\n/);
  t.match(notice, new RegExp(`${planted} belongs to uid ${other.uid} \\(backdoor-attacker\\), not to this user \\(uid ${uid}\\)`), 'the preload says why');
  t.match(notice, /The signals are installed all the same, but `backdoor ls` and `backdoor \d+` cannot find this process/);
  // The operator's documented attach: the backdoor's handler, never Node's inspector.
  const socket = await startBySignal(app);
  t.notMatch(app.stderr(), /Debugger listening|inspector/i, 'SIGUSR1 did not open the inspector');
  t.equal(statSync(join(socket, '..')).mode & 0o777, 0o700, 'its socket is in a private directory');
  const session = await TestClient.connect({ path: socket });
  await session.ready();
  t.equal(await session.eval("require('node:inspector').url()"), 'undefined');
  session.destroy();
  t.match(await app.get(), /^ok/, 'the app serves');
  t.equal(other.node(`console.log(require('fs').readdirSync(${JSON.stringify(planted)}).join())`).stdout.trim(), '', 'nothing was written there');
  const fix = new RegExp(`${planted} belongs to uid ${other.uid} \\(backdoor-attacker\\)[^\\n]*have it removed \\(as root: rm -r ${planted}\\), or set BACKDOOR_DIR`);
  const ls = await client(['ls'], { TMPDIR: tmp });
  t.match(ls, { code: 1, stderr: fix }, 'ls names the path, the owner and the fix');
  const byPid = await client([String(app.pid)], { TMPDIR: tmp });
  t.match(byPid, { code: 1, stderr: fix }, 'so does backdoor <pid>');
  process.kill(app.pid, 'SIGTERM');
  await app.exited;
  t.notOk(existsSync(join(socket, '..')), 'the private directory goes when the app exits');
});

t.test('the runtime directory ($XDG_RUNTIME_DIR) is used first, where no other user can make it', async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  t.equal(other.node(`require('fs').mkdirSync(${JSON.stringify(join(tmp, `backdoor-${uid}`))}, { mode: 0o700 })`).status, 0);
  const runtime = mkdtempSync(join(tmpdir(), 'backdoor-runtime-'));
  t.teardown(() => rmSync(runtime, { recursive: true, force: true }));
  const app = await victimApp(t, tmp, { XDG_RUNTIME_DIR: runtime });
  await until(() => existsSync(join(runtime, 'backdoor', `${app.pid}.ready`)));
  t.equal(statSync(join(runtime, 'backdoor')).mode & 0o777, 0o700);
  t.notMatch(app.stderr(), /backdoor:/, 'nothing to complain about');
  const attached = await client([String(app.pid)], { TMPDIR: tmp, XDG_RUNTIME_DIR: runtime }, '6*7\n');
  t.match(attached, { code: 0, stdout: /^42$/m }, 'backdoor <pid> attaches through it');
  // A client whose environment has no runtime directory reads the other one (and says what is wrong there).
  const ls = await client(['ls'], { TMPDIR: tmp, XDG_RUNTIME_DIR: runtime });
  t.match(ls.stdout, new RegExp(`^${app.pid} `, 'm'));
  t.match(ls.stderr, /belongs to uid \d+ \(backdoor-attacker\)/, 'the planted one is still named');
  // A runtime directory that is not private is not taken for one.
  chmodSync(runtime, 0o755);
  const shared = await victimApp(t, sharedTmp(t), { XDG_RUNTIME_DIR: runtime, BACKDOOR_START: '1' });
  await shared.waitForStderr(/listening on (\S+)/);
  t.notMatch(shared.stderr(), new RegExp(runtime));
});

t.test('a link planted at the rendezvous directory is not followed', async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  const target = join(tmp, 'attacker-owned');
  t.equal(
    other.node(`const fs = require('fs'); fs.mkdirSync(${JSON.stringify(target)}, { mode: 0o777 }); fs.chmodSync(${JSON.stringify(target)}, 0o777); fs.symlinkSync(${JSON.stringify(target)}, ${JSON.stringify(join(tmp, `backdoor-${uid}`))})`)
      .status,
    0,
  );
  const app = await victimApp(t, tmp, { BACKDOOR_START: '1' });
  await app.waitForStderr(/ is a symbolic link: set BACKDOOR_DIR[^\n]*The signals are installed all the same/);
  await app.waitForStderr(/listening on /);
  t.equal(execFileSync('ls', ['-A', target], { encoding: 'utf8' }), '', 'nothing was written through the link');
});

t.test('a rendezvous directory in a parent that another user owns is not used', async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  const theirs = join(tmp, 'theirs');
  mkdirSync(theirs, { mode: 0o1777 });
  chmodSync(theirs, 0o1777);
  execFileSync('chown', [String(other.uid), theirs]);
  const app = await victimApp(t, theirs, { BACKDOOR_START: '1' });
  await app.waitForStderr(new RegExp(`which belongs to uid ${other.uid} \\(backdoor-attacker\\), not to this user`));
  await app.waitForStderr(/listening on /);
  t.notOk(existsSync(join(theirs, `backdoor-${uid}`, `${app.pid}.json`)));
  t.match(await app.get(), /^ok/);
});

t.test('a rendezvous directory in a parent others may write without the sticky bit is not used', async (t) => {
  const tmp = sharedTmp(t);
  const open = join(tmp, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777); // world-writable, no sticky bit
  const app = await victimApp(t, open, { BACKDOOR_START: '1' });
  await app.waitForStderr(/which every user may write without the sticky bit/);
  await app.waitForStderr(/listening on /);
  t.match(await app.get(), /^ok/);
  const ls = await client(['ls'], { TMPDIR: open });
  t.match(ls, { code: 1, stderr: /without the sticky bit/ });
});

t.test('the rendezvous directory can be named (BACKDOOR_DIR) for both sides', async (t) => {
  const tmp = sharedTmp(t);
  const dir = join(tmp, 'mine');
  mkdirSync(dir, { mode: 0o700 });
  const app = await victimApp(t, tmp, { BACKDOOR_DIR: dir, BACKDOOR_START: '1' });
  await app.waitForStderr(/listening on/);
  t.ok(existsSync(join(dir, `${app.pid}.json`)));
  const answer = await client(['--pid', String(app.pid)], { BACKDOOR_DIR: dir }, '3*3\n');
  t.match(answer.stdout, /^9$/m);
  symlinkSync(dir, join(tmp, 'link'));
  const viaLink = await client(['ls'], { BACKDOOR_DIR: join(tmp, 'link') });
  t.match(viaLink, { code: 1, stderr: /is a symbolic link: set BACKDOOR_DIR/ });
});

/** Leaves a unix socket file at `path`, as a process killed while it listened does. */
async function leaveSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } });
  await new Promise((resolve) => child.stdout!.once('data', resolve));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
}

/**
 * Starts `command` as a process with pid `pid`, where the kernel lets this process choose the
 * next pid (`/proc/sys/kernel/ns_last_pid`: root in its pid namespace); undefined otherwise.
 */
async function withPid(t: Test, pid: number, command: string[]): Promise<ChildProcess | undefined> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    } catch {
      return undefined;
    }
    const child = spawn(command[0], command.slice(1), { stdio: 'ignore' });
    if (child.pid === pid) {
      t.teardown(() => child.kill('SIGKILL'));
      return child;
    }
    child.kill('SIGKILL'); // another process took it first: again
  }
  return undefined;
}

t.test('a discovery file left by a killed backdoor is not believed once its pid is reused', async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  const app = await victimApp(t, tmp, { BACKDOOR_START: '1', BACKDOOR_HOST: '127.0.0.1', BACKDOOR_PORT: '0', BACKDOOR_TOKEN: 'victim-secret-1' });
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(await app.waitForStderr(/listening on 127\.0\.0\.1:\d+/))![1]);
  const file = join(tmp, `backdoor-${uid}`, `${app.pid}.json`);
  t.ok(existsSync(file));
  process.kill(app.pid, 'SIGKILL'); // no cleanup runs
  await app.exited;
  t.ok(existsSync(file), 'the file outlives its process');
  // The pid goes to another process of this user's, the freed port to another user.
  const reused = await withPid(t, app.pid, ['sleep', '60']);
  if (!reused) return void t.pass('the rest of this test', { skip: 'this kernel does not let the test choose the next pid (/proc/sys/kernel/ns_last_pid needs root in the pid namespace)' });
  const trap = await tokenTrap(other, port);
  if (!trap.up) return void t.pass('the rest of this test', { skip: `the other user could not listen on port ${port}` });
  const byPid = await client(['--pid', String(app.pid)], { TMPDIR: tmp, BACKDOOR_TOKEN: 'victim-secret-1' }, '1+1\n');
  t.match(byPid, { code: 1, stderr: new RegExp(`its discovery file was stale \\(process ${app.pid} is not the process that wrote`) });
  t.notOk(existsSync(file), 'the stale file is removed');
  const all = await client(['--all', '--eval', '1+1'], { TMPDIR: tmp, BACKDOOR_TOKEN: 'victim-secret-1' });
  t.match(all, { code: 1, stderr: /no backdoor of yours is listening/ });
  t.notMatch(trap.got(), /GOT/, 'the other user was sent nothing');
});

t.test('an address that another user now listens on is not believed, whatever the file says', async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  const dir = join(tmp, `backdoor-${uid}`);
  mkdirSync(dir, { mode: 0o700 });
  // A live process of this user's, with a file that tells its true identity but a port the
  // other user holds (its backdoor closed without a word, and the port was taken).
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const trap = await tokenTrap(other, port);
  if (!trap.up) return void t.pass('the rest of this test', { skip: `the other user could not listen on port ${port}` });
  const entry = { pid: sleeper.pid, address: { host: '127.0.0.1', port }, addresses: [], startedAt: new Date().toISOString(), title: 'node', node: process.version, identity: processIdentity(sleeper.pid!) };
  writeFileSync(join(dir, `${sleeper.pid}.json`), JSON.stringify(entry), { mode: 0o600 });
  const result = await client(['--pid', String(sleeper.pid)], { TMPDIR: tmp, BACKDOOR_TOKEN: 'victim-secret-2' }, '1+1\n');
  if (processIdentity(process.pid) === undefined) return void t.pass('the rest of this test', { skip: 'this platform does not tell who listens on a port' });
  t.match(result, { code: 1, stderr: new RegExp(`uid ${other.uid} listens on 127\\.0\\.0\\.1:${port} now`) });
  t.notMatch(trap.got(), /GOT/, 'the other user was sent nothing');
  t.notOk(existsSync(join(dir, `${sleeper.pid}.json`)));
});

t.test('the unix socket goes on every exit the app runs code on, and ls removes left-over ones', async (t) => {
  const tmp = sharedTmp(t);
  const dir = join(tmp, `backdoor-${uid}`);
  for (const [how, act] of [
    ['process.exit in the app', (app: ChildApp) => app.process.stdin!.write('exit\n')],
    ['the end of its work', (app: ChildApp) => app.process.stdin!.write('end\n')],
    ['SIGTERM handled by the app', (app: ChildApp) => process.kill(app.pid, 'SIGTERM')],
    ['SIGINT handled by the app', (app: ChildApp) => process.kill(app.pid, 'SIGINT')],
  ] as const) {
    const app = await victimApp(t, tmp, { BACKDOOR_START: '1' }, 'exit-paths.mjs');
    await app.waitForStderr(/listening on/);
    const files = () =>
      readdirSync(dir)
        .filter((name) => name.startsWith(`${app.pid}.`))
        .sort();
    t.same(files(), [`${app.pid}.json`, `${app.pid}.ready`, `${app.pid}.sock`], `${how}: its files while it runs`);
    act(app);
    await app.exited;
    t.same(files(), [], `${how}: none left`);
  }
  // Killed (no code runs): its socket stays, until ls finds its process gone.
  const killed = await victimApp(t, tmp, { BACKDOOR_START: '1' });
  await killed.waitForStderr(/listening on/);
  process.kill(killed.pid, 'SIGKILL');
  await killed.exited;
  t.ok(existsSync(join(dir, `${killed.pid}.sock`)));
  // And a socket older than the live process that now has its pid.
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  t.teardown(() => sleeper.kill('SIGKILL'));
  const old = join(dir, `${sleeper.pid}.sock`);
  await leaveSocket(old);
  const hourAgo = new Date(Date.now() - 3_600_000);
  utimesSync(old, hourAgo, hourAgo);
  const ls = await client(['ls'], { TMPDIR: tmp });
  t.equal(ls.code, 0);
  t.notOk(existsSync(join(dir, `${killed.pid}.sock`)), "the dead process's socket is removed");
  if (processIdentity(process.pid) !== undefined) t.notOk(existsSync(old), 'so is one made before its process started');
});

t.test("a preload that cannot install still holds its signals: never Node's inspector, never a kill", async (t) => {
  const tmp = sharedTmp(t);
  // A setting the preload cannot take (as a full disk or any other failure would make it fail).
  const app = await victimApp(t, tmp, { BACKDOOR_PORT: 'not-a-port' });
  await app.waitForStderr(/backdoor: not installed: BACKDOOR_PORT must be a number/);
  process.kill(app.pid, 'SIGUSR1');
  await app.waitForStderr(/SIGUSR1 ignored/);
  process.kill(app.pid, 'SIGUSR2');
  await app.waitForStderr(/SIGUSR2 ignored/);
  t.notMatch(app.stderr(), /Debugger listening/, 'SIGUSR1 did not open the inspector');
  t.match(await app.get(), /^ok/, 'SIGUSR2 did not kill the app');
});
