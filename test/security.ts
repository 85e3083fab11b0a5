// Another local user, files planted where the client looks, and what the client gives away.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import inheritance from '../dist/common/inheritance.cjs';
import { startApp, type ChildApp } from './fixtures/child.ts';
import { otherUser, pidsPastPrivilegedPorts, sharedTmp, type OtherUser } from './fixtures/other-user.ts';
import { until } from './fixtures/until.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
const uid = process.getuid!();

/** Runs the client (stdin not a terminal); never rejects. */
function client(args: string[], env: NodeJS.ProcessEnv = {}, input = ''): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, ...args], { timeout: 15_000, env: { ...process.env, XDG_RUNTIME_DIR: '', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

/** The demo-like app of this user, opted in by the preload, with its temporary directory at `tmp`. */
async function victimApp(t: Test, tmp: string, env: NodeJS.ProcessEnv = {}, file = 'http-app.mjs', flags = ['--import', 'backdoor/register']): Promise<ChildApp> {
  return startApp(t, file, flags, { TMPDIR: tmp, ...env });
}

t.test('our rendezvous directory: 0700, and another user can neither plant files nor connect', async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  const app = await victimApp(t, tmp, { BACKDOOR_START: '1' });
  await app.waitForStderr(/listening on/);
  const dir = join(tmp, `backdoor-${uid}`);
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(dir).uid, uid);
  const plant = other.node(`require('fs').writeFileSync(${JSON.stringify(join(dir, '4194000.ready'))}, '{}')`);
  t.match(plant.stderr, /EACCES/);
  const dial = other.node(`require('net').connect(${JSON.stringify(join(dir, `${app.pid}.sock`))}).on('error', (e) => { console.log(e.code); }).on('connect', () => console.log('connected'))`);
  t.match(dial.stdout, /EACCES/);
});

t.test("another user's opted-in process is not listed, not signalled, not connected to", async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  // The other user's own app, opted in (its ready file in its own rendezvous directory, as the
  // preload writes it), in the same shared temporary directory. (Plain code: this repository
  // may be where the other user cannot read it.)
  // It tells each signal it handles, in order, on stdout.
  const theirs = other.spawn(
    [
      '-e',
      `
    const fs = require('fs'), path = require('path');
    const dir = path.join(process.env.TMPDIR, 'backdoor-' + process.getuid());
    fs.mkdirSync(dir, { mode: 0o700 });
    fs.writeFileSync(path.join(dir, process.pid + '.ready'), JSON.stringify({ pid: process.pid, startSignal: 'SIGUSR1', stopSignal: 'SIGUSR2' }));
    for (const signal of ['SIGUSR1', 'SIGHUP']) process.on(signal, () => console.log(signal));
    setInterval(() => {}, 1000);
    console.log('up');`,
    ],
    { TMPDIR: tmp },
  );
  let said = '';
  theirs.stdout!.on('data', (chunk) => (said += chunk));
  t.ok(await until(() => said.includes('up')), 'it runs');
  t.ok(existsSync(join(tmp, `backdoor-${other.uid}`, `${theirs.pid}.ready`)), 'it opted in, in its own directory');
  const ls = await client(['ls'], { TMPDIR: tmp });
  t.notMatch(ls.stdout, String(theirs.pid));
  const attach = await client(['--pid', String(theirs.pid)], { TMPDIR: tmp });
  t.match(attach, { code: 1, stderr: `backdoor: process ${theirs.pid} belongs to another user: run backdoor as that user\n` });
  // A SIGHUP of ours, sent after the client has exited, is handled after anything it sent.
  process.kill(theirs.pid!, 'SIGHUP');
  t.ok(await until(() => said.includes('SIGHUP')), 'still running');
  t.equal(said, 'up\nSIGHUP\n', 'and the client did not signal it');
});

t.test('the client believes only regular files of its own: no FIFO hangs it, no escape sequence reaches the terminal', async (t) => {
  const tmp = sharedTmp(t);
  const app = await victimApp(t, tmp, { BACKDOOR_START: '1' });
  await app.waitForStderr(/listening on/);
  const dir = join(tmp, `backdoor-${uid}`);
  // A FIFO named as the discovery file of a live process (this test's), and a file whose
  // title would clear the screen.
  execFileSync('mkfifo', [join(dir, `${process.pid}.json`)]);
  const file = JSON.parse(readFileSync(join(dir, `${app.pid}.json`), 'utf8'));
  writeFileSync(join(dir, `${app.pid}.json`), JSON.stringify({ ...file, title: 'evil\x1b[2J\x1b]0;pwned\x07' }), { mode: 0o600 });
  const ls = await client(['ls'], { TMPDIR: tmp });
  t.equal(ls.code, 0);
  // The title shown is the process's command line, not what the file says (sanitized too).
  t.match(ls.stdout, new RegExp(`^${app.pid} .* \\S*node\\S* --import backdoor/register \\S*http-app\\.mjs$`, 'm'));
  t.notMatch(ls.stdout, 'pwned');
  t.notMatch(ls.stdout, /\x1b|\x07/);
  t.notMatch(ls.stdout, new RegExp(`^${process.pid} `, 'm'));
});

t.test('a number that is both a process of ours and a listening port asks; a registered signal is never taken from the file', async (t) => {
  const tmp = sharedTmp(t);
  const app = await victimApp(t, tmp, { BACKDOOR_START_SIGNAL: 'SIGUSR2', BACKDOOR_STOP_SIGNAL: 'SIGHUP' });
  // (The preload wrote it before the app's first line.)
  t.ok(existsSync(join(tmp, `backdoor-${uid}`, `${app.pid}.ready`)));
  if (app.pid <= 65535) {
    const decoy = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.write('decoy\n> ');
      socket.on('data', () => socket.write('seen\n> '));
      socket.on('end', () => socket.end());
    });
    const listening = await new Promise<boolean>((resolve) => {
      decoy.once('error', () => resolve(false));
      decoy.listen(app.pid, '127.0.0.1', () => resolve(true));
    });
    if (listening) {
      t.teardown(() => decoy.close());
      const ambiguous = await client([String(app.pid)], { TMPDIR: tmp });
      t.match(ambiguous, { code: 1, stderr: new RegExp(`${app.pid} is both a process of yours with a backdoor and a port that something listens on: say \`backdoor --pid ${app.pid}\` or \`backdoor --port ${app.pid}\``) });
      const asPort = await client(['--port', String(app.pid)], { TMPDIR: tmp }, '1\n');
      t.match(asPort, { code: 1, stderr: `backdoor: 127.0.0.1:${app.pid} is not a backdoor (it answered "decoy")\n` }, '--port went to the port');
    }
  }
  const guessed = await client(['--pid', String(app.pid)], { TMPDIR: tmp });
  t.match(guessed, { code: 1, stderr: `backdoor: process ${app.pid} starts its backdoor on SIGUSR2, not SIGUSR1: run \`backdoor --signal SIGUSR2 ${app.pid}\` if that is what you want to send\n` });
  const killing = await client(['--pid', '--signal', 'SIGKILL', String(app.pid)], { TMPDIR: tmp });
  t.match(killing, { code: 1, stderr: 'backdoor: the signal cannot be SIGKILL\n' });
  t.equal(app.process.exitCode, null, 'the app was sent nothing');
  const named = await client(['--pid', '--signal', 'SIGUSR2', String(app.pid)], { TMPDIR: tmp }, '6*7\n');
  t.match(named.stdout, /^42$/m);
});

/**
 * The other user's server on 127.0.0.1 at `port` (its own pid for 'pid'), asking for a token
 * and printing what it gets: `port` once it listens, undefined when the port is taken.
 */
async function theirListener(t: Test, other: OtherUser, port: number | 'pid'): Promise<{ port?: number; got: () => string }> {
  const listener = other.spawn([
    '-e',
    `const s = require('net').createServer((c) => { c.on('data', (d) => process.stdout.write('GOT ' + d)); c.write('Token: ') }); s.on('error', (e) => console.log('cannot ' + e.code)); s.listen(${port === 'pid' ? 'process.pid' : port}, '127.0.0.1', () => console.log('up ' + s.address().port))`,
  ]);
  let got = '';
  listener.stdout!.on('data', (chunk) => (got += chunk));
  t.ok(await until(() => /up|cannot/.test(got), 10_000), `the other user's listener answered: ${got.trim()}`);
  const listening = Number(/^up (\d+)\n/.exec(got)?.[1]);
  if (!listening) listener.kill('SIGKILL');
  return { port: listening || undefined, got: () => got };
}

/** What the listener got before a line of ours, sent now, reached it (the client has exited by then). */
async function gotBefore(port: number, got: () => string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.end('ours\n');
  await until(() => got().includes('GOT ours\n'));
  socket.destroy();
  return got()
    .replace(/^up \d+\n/, '')
    .replace(/GOT ours\n$/, '');
}

t.test('a number that names a process of ours without a backdoor is not taken for a port someone listens on', async (t) => {
  const other = otherUser(t);
  if (!other) return;
  const tmp = sharedTmp(t);
  pidsPastPrivilegedPorts();
  // An app of ours, not opted in, whose pid another user listens on as a port (a fresh app, and
  // pid, when something else has that port).
  let app: ChildApp | undefined;
  let theirs: { port?: number; got: () => string } = { got: () => '' };
  for (let tries = 0; tries < 5 && !theirs.port; tries++) {
    app = await startApp(t, 'http-app.mjs', [], { TMPDIR: tmp });
    if (app.pid > 65535) {
      if (tries === 0) return t.plan(0, `skipped: pid ${app.pid} cannot be a port`);
      continue;
    }
    theirs = await theirListener(t, other, app.pid);
  }
  if (!app || !theirs.port) return t.fail('the other user could not listen on the pid of any of 5 apps');
  const result = await client([String(app.pid)], { TMPDIR: tmp, BACKDOOR_TOKEN: 'a-long-secret' }, '1+1\n');
  t.match(result, { code: 1, stderr: new RegExp(`process ${app.pid} has not opted in[^]*\\\`backdoor --port ${app.pid}\\\` connects to the port`) });
  t.equal(await gotBefore(theirs.port, theirs.got), '', 'nothing was sent to the port');
});

t.test("a number that is another user's process and a port they listen on gets no token", async (t) => {
  const other = otherUser(t);
  if (!other) return;
  // Another user's process listens on its own pid as a port, asking for a token (another
  // process, and pid, when something else has that port).
  pidsPastPrivilegedPorts();
  let theirs: { port?: number; got: () => string } = { got: () => '' };
  for (let tries = 0; tries < 5 && !theirs.port; tries++) theirs = await theirListener(t, other, 'pid');
  const pid = theirs.port;
  if (!pid) return t.fail('the other user could not listen on its own pid as a port in 5 tries');
  const result = await client([String(pid)], { BACKDOOR_TOKEN: 'victim-token-xyz' }, '1+1\n');
  t.match(result, { code: 1, stderr: new RegExp(`${pid} is another user's process; if you mean the port, say \\\`backdoor --port ${pid}\\\``) });
  t.equal(await gotBefore(pid, theirs.got), '', 'nothing was sent to the port');
});

t.test('bidirectional controls from a file are made visible', async (t) => {
  const { sanitize } = await import('../dist/common/discovery.js');
  t.equal(sanitize('app\u202egnp.exe\u2066x\u200f'), 'app?gnp.exe?x?');
});

t.test('the token goes only to a server that asks for it', async (t) => {
  const received: string[] = [];
  const greeter = net.createServer((socket) => {
    socket.write('backdoor: Node.js (not really)\n> ');
    socket.on('data', (chunk) => received.push(String(chunk)));
    socket.on('end', () => socket.end());
  });
  await new Promise<void>((resolve) => greeter.listen(0, '127.0.0.1', resolve));
  t.teardown(() => greeter.close());
  const { port } = greeter.address() as net.AddressInfo;
  await client(['--port', String(port)], { BACKDOOR_TOKEN: 'do-not-leak-me' }, '1+1\n');
  t.match(received.join(''), /1\+1/);
  t.notMatch(received.join(''), /do-not-leak-me/);
});

t.test('a connection pushed out while giving the token is made again', async (t) => {
  // A server that, as under a flood of silent connections, pushes out the first two attempts.
  let attempts = 0;
  const server = net.createServer((socket) => {
    const attempt = ++attempts;
    socket.on('error', () => {});
    socket.write('Token: ');
    socket.once('data', () => {
      if (attempt <= 2) return socket.end('\nToo many connections are waiting to give the token: closing the one that waited longest.\n');
      socket.write('\nbackdoor: Node.js (a stand-in)\n> ');
      socket.on('data', () => socket.write('42\n> '));
      socket.on('end', () => socket.end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as net.AddressInfo;
  const result = await client(['--port', String(port)], { BACKDOOR_TOKEN: 'a-long-secret' }, '6*7\n');
  t.equal(attempts, 3);
  t.match(result, { code: 0, stdout: /^42$/m });
});

t.test("the preload's settings (the token too) do not reach the app's child processes", async (t) => {
  const tmp = sharedTmp(t);
  const app = await victimApp(t, tmp, {
    BACKDOOR_TOKEN: 'inherited-secret',
    BACKDOOR_START: '1',
    BACKDOOR_HOST: '127.0.0.1',
    BACKDOOR_PORT: '0',
    NODE_OPTIONS: '--max-old-space-size=512 --import backdoor/register',
  });
  await app.waitForStderr(/listening on/);
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(app.stderr())![1]);
  const env = await client(
    ['--port', String(port)],
    { BACKDOOR_TOKEN: 'inherited-secret' },
    `require("child_process").spawnSync(process.execPath, ["-p", "JSON.stringify(Object.entries(process.env).filter(([k]) => k.startsWith('BACKDOOR_') || k === 'NODE_OPTIONS'))"], { encoding: "utf8" }).stdout\n`,
  );
  t.match(env.stdout, /NODE_OPTIONS.*--max-old-space-size=512/);
  t.notMatch(env.stdout, /backdoor\/register|BACKDOOR_|inherited-secret/);
  t.equal(inheritance.withoutPreload('--import backdoor/register'), '');
  t.equal(inheritance.withoutPreload('--require=backdoor/register -r /srv/app/node_modules/backdoor/dist/lib/register.js --trace-warnings'), '--trace-warnings');
  t.equal(inheritance.withoutPreload('--import ./my-hooks.mjs --import backdoor/register'), '--import ./my-hooks.mjs');
  // Node reads double-quoted words too (test runners write them so).
  t.equal(inheritance.withoutPreload('"--max-old-space-size=512" "--import" "backdoor/register" "--import=file:///x y/hooks.mjs"'), '--max-old-space-size=512 "--import=file:///x y/hooks.mjs"');
});

t.test('nor does a child the app starts in its first line, with either preload', async (t) => {
  const tmp = sharedTmp(t);
  const register = new URL('../dist/lib/register.cjs', import.meta.url).pathname;
  for (const [flags, nodeOptions] of [
    [['--require', 'backdoor/register'], ''],
    [['--import', 'backdoor/register'], ''],
    [[], `--max-old-space-size=512 --require ${register}`],
  ] as const) {
    const app = await victimApp(t, tmp, { BACKDOOR_TOKEN: 'first-line-secret', BACKDOOR_START: '1', NODE_OPTIONS: nodeOptions }, 'spawn-first.cjs', [...flags]);
    const saw = /child saw (.*)\n/.exec(app.stdout())![1];
    t.notMatch(saw, /BACKDOOR_|register|first-line-secret/, `${flags.join(' ') || nodeOptions}: ${saw}`);
    await app.waitForStderr(/listening on/);
  }
});

t.test("a token typed at the client's prompt is not echoed nor kept in history", async (t) => {
  try {
    execFileSync('sh', ['-c', 'command -v tmux'], { stdio: 'ignore' });
  } catch {
    if (process.env.BACKDOOR_REQUIRE_TOOLS === '1') t.fail('tmux is not installed');
    else t.plan(0, 'skipped: tmux is not installed (.ci/run installs it)');
    return;
  }
  const { start } = await import('./fixtures/backdoor.ts');
  const backdoor = await start(t, { token: 'typed-secret-123' });
  const { port } = backdoor.address() as { port: number };
  const tmp = sharedTmp(t);
  const history = join(tmp, 'history');
  const socket = `backdoor-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tmux = (...args: string[]) => new Promise<string>((resolve, reject) => execFile('tmux', ['-L', socket, ...args], { timeout: 5000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
  t.teardown(() => tmux('kill-server').catch(() => {}));
  await tmux('new-session', '-d', '-x', '100', '-y', '30', `env -u BACKDOOR_TOKEN BACKDOOR_HISTORY=${history} ${process.execPath} ${cli} --port ${port}; echo CLIENT-ENDED; sleep 30`);
  const screen = async (pattern: RegExp) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const text = await tmux('capture-pane', '-p');
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`screen never showed ${pattern}:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await screen(/Token:\s*$/m);
  // A wrong try first: the client asks again itself, without echo, and never hands the
  // server's own question (which would echo) to the REPL.
  await tmux('send-keys', 'wrong-secret-456', 'Enter');
  await screen(/Wrong token\.\nToken:\s*$/m);
  await tmux('send-keys', 'typed-secret-123', 'Enter');
  await screen(/Type "\.help" for more information\.\n>\s*$/m);
  await tmux('send-keys', '1+1', 'Enter');
  const shown = await screen(/^2\n>\s*$/m);
  t.notMatch(shown, /typed-secret|wrong-secret/, 'not echoed');
  await tmux('send-keys', 'C-d');
  await screen(/CLIENT-ENDED/);
  t.notMatch(readFileSync(history, 'utf8'), /typed-secret|wrong-secret/, 'not in history');
  t.match(readFileSync(history, 'utf8'), /1\+1/);
});
