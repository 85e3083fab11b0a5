// Promises of the README and docs/ that no other test checks, each through the real thing: options at
// their "off" value, the public API's stats() and listening, the codes of BackdoorError (in
// processes of their own where the process's state is at stake), the 1 MB output cap, and the
// client's usage and history file.
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { connect, start, startBackdoor } from './fixtures/backdoor.ts';
import { withoutWaitNotices } from './fixtures/client.ts';
import { hasTmux } from './fixtures/tmux.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
const lib = new URL('../dist/lib/index.js', import.meta.url).href;
const major = Number(process.versions.node.split('.')[0]);

/** A fresh directory, removed when the test ends. */
function tempDir(t: Test, mode = 0o700): string {
  const dir = mkdtempSync(join(tmpdir(), 'backdoor-promises-'));
  chmodSync(dir, mode);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs node (without tap's hooks) with `args`; never rejects. */
function node(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, args, { timeout: 20_000, env: { ...process.env, NODE_OPTIONS: '', XDG_RUNTIME_DIR: '', ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
    child.stdin!.end();
  });
}

/** Runs an ES module `code` in a process of its own, with `lib` the library's URL. */
const script = (code: string, env: NodeJS.ProcessEnv = {}, flags: string[] = []) => node([...flags, '--input-type=module', '-e', `const lib = ${JSON.stringify(lib)};\n${code}`], env);

t.test('evalTimeoutMs: 0 turns the guard off: a loop longer than the default 2000 ms runs to its end', async (t) => {
  const client = await connect(t, await start(t, { evalTimeoutMs: 0 }));
  // (Told that it waits after a second, as any command the main thread has not answered.)
  t.equal(withoutWaitNotices(await client.eval('const t0 = Date.now(); while (Date.now() - t0 < 2500) {}; "ran its course"', 15_000)), "'ran its course'");
  t.equal(await client.eval('1+1'), '2');
});

t.test('idleTimeoutMs: 0 never closes an idle session: it is open after one idle for less time was closed', async (t) => {
  const never = await connect(t, await start(t, { idleTimeoutMs: 0 }));
  const soon = await connect(t, await start(t, { idleTimeoutMs: 300 }));
  t.equal(await soon.waitClosed(), '\nNo input for 300 ms (the idleTimeoutMs option): closing this session.\n');
  t.equal(await never.eval('1+1'), '2');
  t.notMatch(never.received, /No input/);
});

t.test('backdoor.stats(): the commands run, and the main-thread time they used', async (t) => {
  const backdoor = await start(t);
  t.match(backdoor.stats(), { commands: 0, mainThreadMs: 0 });
  const client = await connect(t, backdoor);
  let spent = 0;
  for (const [i, code] of ['1+1', 'null.x', 'let q = 1'].entries()) {
    await client.eval(code);
    const { commands, mainThreadMs } = backdoor.stats();
    t.equal(commands, i + 1, `${code}: counted, whether it threw or not`);
    t.ok(mainThreadMs > spent, `${code}: its time is added`);
    spent = mainThreadMs;
  }
});

t.test('listening: true once startBackdoor resolves, false from close() on', async (t) => {
  const backdoor = await startBackdoor({ port: 0, audit: false });
  t.equal(backdoor.listening, true);
  const closing = backdoor.close();
  t.equal(backdoor.listening, false);
  await closing;
  t.equal(backdoor.listening, false);
});

t.test('ERR_BACKDOOR_SIGNALS_INSTALLED: a second installSignalHandlers; after uninstall, a new one is fine', async (t) => {
  const { stdout, stderr, code } = await script(
    `
    const { installSignalHandlers } = await import(lib);
    const options = { port: 0, startSignal: 'SIGUSR2', stopSignal: 'SIGHUP' };
    const uninstall = installSignalHandlers(options);
    try { installSignalHandlers(options); console.log('installed twice'); } catch (e) { console.log(e.name, e.code); }
    await uninstall();
    await installSignalHandlers(options)();
    console.log('installed again');`,
    { BACKDOOR_DIR: tempDir(t) },
  );
  t.same({ code, stdout }, { code: 0, stdout: 'BackdoorError ERR_BACKDOOR_SIGNALS_INSTALLED\ninstalled again\n' }, stderr);
});

t.test('ERR_BACKDOOR_SIGNALS_NOT_INSTALLED: starting as the start signal would, with no handlers installed', async (t) => {
  // Raised by the preload's own start (BACKDOOR_START=1), not reachable from the public API.
  const signals = new URL('../dist/lib/signals.js', import.meta.url).href;
  const { stdout, stderr } = await script(`
    const { startNow } = await import(${JSON.stringify(signals)});
    try { await startNow(); console.log('started'); } catch (e) { console.log(e.name, e.code); }`);
  t.equal(stdout, 'BackdoorError ERR_BACKDOOR_SIGNALS_NOT_INSTALLED\n', stderr);
});

t.test(
  'ERR_BACKDOOR_SIGNAL_BLOCKED: SIGUSR1 under --disable-sigusr1; other signals work',
  { skip: major < 22 ? `--disable-sigusr1 is not an option of Node ${process.version}, and Node clears a blocked signal it inherits` : false },
  async (t) => {
    const { stdout, stderr } = await script(
      `
    const { installSignalHandlers } = await import(lib);
    try { installSignalHandlers({ port: 0 }); console.log('installed'); } catch (e) { console.log(e.name, e.code, e.message); }
    await installSignalHandlers({ port: 0, startSignal: 'SIGUSR2', stopSignal: 'SIGHUP' })();
    console.log('other signals: installed');`,
      { BACKDOOR_DIR: tempDir(t) },
      ['--disable-sigusr1'],
    );
    t.match(stdout, /^BackdoorError ERR_BACKDOOR_SIGNAL_BLOCKED The "startSignal" SIGUSR1 is blocked in this process by --disable-sigusr1[^\n]*\nother signals: installed\n$/, stderr);
  },
);

t.test('an unsafe rendezvous directory (ERR_BACKDOOR_UNSAFE_DIR): from code, the discovery files are skipped with a line on stderr, never the backdoor', async (t) => {
  const dir = tempDir(t, 0o755);
  const { stdout, stderr } = await script(
    `
    const { installSignalHandlers, startBackdoor } = await import(lib);
    const uninstall = installSignalHandlers({ port: 0, startSignal: 'SIGUSR2', stopSignal: 'SIGHUP' });
    const backdoor = await startBackdoor({ port: 0, audit: false });
    console.log('listening', backdoor.listening);
    await backdoor.close();
    await uninstall();`,
    { BACKDOOR_DIR: dir },
  );
  t.equal(stdout, 'listening true\n');
  // Told once, for the ready file and the discovery file alike.
  t.equal(stderr, `backdoor: could not write its discovery file: ${dir} is open to other users (mode 755): make it private (chmod 700 ${dir}), or set BACKDOOR_DIR to a directory of your own\n`);
  t.same(readdirSync(dir), [], 'nothing was written there');
});

t.test('ERR_BACKDOOR_WORKER: a worker that dies before it listens, with its error as the cause', async (t) => {
  // Every Worker the library makes runs a script that throws as it loads.
  const { stdout, stderr } = await script(`
    const { createRequire, syncBuiltinESMExports } = await import('node:module');
    const threads = createRequire(import.meta.url)('node:worker_threads');
    const Worker = threads.Worker;
    threads.Worker = class extends Worker {
      constructor(url, options) { super(new URL('data:text/javascript,throw new Error("the worker could not load")'), options); }
    };
    syncBuiltinESMExports();
    const { startBackdoor } = await import(lib);
    const error = await startBackdoor({ port: 0, audit: false }).catch((e) => e);
    console.log(JSON.stringify({ name: error.name, code: error.code, cause: error.cause?.message }));`);
  t.same(JSON.parse(stdout), { name: 'BackdoorError', code: 'ERR_BACKDOOR_WORKER', cause: 'the worker could not load' }, stderr);
});

t.test('what one command, and one burst of output between commands, may print is capped at 1 MB; the rest is counted', async (t) => {
  const client = await connect(t, await start(t));
  const MB = 1024 * 1024;
  t.equal(await client.eval('console.log("x".repeat(1_100_000)); 1', 10_000), `${'x'.repeat(MB)}[... ${1_100_001 - MB} more characters of output dropped]\n1`);
  // A line that does not fit whole is dropped whole.
  t.equal(await client.eval('console.log("a".repeat(600_000)); console.log("b".repeat(600_000)); 2', 10_000), `${'a'.repeat(600_000)}\n[... 600001 more characters of output dropped]\n2`);
  // The burst may come in the same read as the prompt before it: one wait for both.
  client.send('setTimeout(() => console.log("y".repeat(2_000_000)), 0); 3\n');
  t.equal(await client.expect('dropped]\n', 30_000), `3\n> ${'y'.repeat(MB)}[... ${2_000_001 - MB} more characters of output dropped]\n`);
  t.equal(await client.eval('4'), '4');
});

t.test('the client: --help prints the usage on stdout and exits 0; no target, or one with --all, exits 2', async (t) => {
  const help = await node([cli, '--help']);
  t.match(help, { code: 0, stderr: '', stdout: /^usage: backdoor <port \| host:port \| \/path\/to\.sock \| pid>/ });
  t.equal((await node([cli, '-h'])).stdout, help.stdout);
  t.same(await node([cli]), { code: 2, stdout: '', stderr: help.stdout });
  t.same(await node([cli, '--all', '--eval', '1', '3000']), { code: 2, stdout: '', stderr: 'backdoor: --all asks every backdoor on this machine: give no target\n' });
});

/** Runs the client at a terminal (a tmux pane) with `env`: each step's keys, then what the screen shows; then Ctrl-D. */
async function atTerminal(t: Test, port: number, env: string, steps: [string[], RegExp][]): Promise<void> {
  const socket = `backdoor-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tmux = (...args: string[]) => new Promise<string>((resolve, reject) => execFile('tmux', ['-L', socket, ...args], { timeout: 5000 }, (error, stdout) => (error ? reject(error) : resolve(stdout))));
  t.teardown(() => tmux('kill-server').catch(() => {}));
  await tmux('new-session', '-d', '-x', '100', '-y', '30', `env -u BACKDOOR_HISTORY ${env} ${process.execPath} ${cli} ${port}; echo CLIENT-ENDED $?; sleep 30`);
  const screen = async (pattern: RegExp) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const text = await tmux('capture-pane', '-p');
      if (pattern.test(text)) return;
      if (Date.now() > deadline) throw new Error(`screen never showed ${pattern}:\n${text}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await screen(/Type "\.help" for more information\.\n>\s*$/m);
  for (const [keys, shown] of [...steps, [['C-d'], /CLIENT-ENDED 0/]] as [string[], RegExp][]) {
    await tmux('send-keys', ...keys);
    await screen(shown);
  }
}

t.test("the client's history: ~/.backdoor_history by default, made 0600 whatever it was; BACKDOOR_HISTORY empty keeps none", async (t) => {
  if (!hasTmux(t)) return;
  const { port } = (await start(t)).address() as { port: number };
  const home = tempDir(t);
  const file = join(home, '.backdoor_history');
  writeFileSync(file, 'from before\n');
  chmodSync(file, 0o644);
  await atTerminal(t, port, `HOME=${home}`, [
    [['Up'], /^> from before\s*$/m],
    [['C-u', '6*7', 'Enter'], /^42\n>\s*$/m],
  ]);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.same(readFileSync(file, 'utf8').split('\n').filter(Boolean), ['from before', '6*7']);

  const none = join(tempDir(t), 'home');
  mkdirSync(none);
  await atTerminal(t, port, `HOME=${none} BACKDOOR_HISTORY=`, [[['6*7', 'Enter'], /^42\n>\s*$/m]]);
  t.same(readdirSync(none), [], 'no history file');
});
