// Through the real tools people use: nc (netcat-openbsd) and the telnet client, driven in a
// tmux pane as a person would (tmux drops trailing spaces, hence `>\s*$` for the prompt). `.ci/run` installs them; elsewhere a missing tool skips its
// test, unless BACKDOOR_REQUIRE_TOOLS=1 (set by .ci/run) makes that a failure.
import { execFile, execFileSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { start } from './fixtures/backdoor.ts';

const run = promisify(execFile);

function has(t: Test, tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    if (process.env.BACKDOOR_REQUIRE_TOOLS === '1') t.fail(`${tool} is not installed`);
    else t.plan(0, `skipped: ${tool} is not installed (.ci/run installs it)`);
    return false;
  }
}

t.test('nc: piped lines all run, in order, and every result arrives before the close', async (t) => {
  if (!has(t, 'nc')) return;
  const backdoor = await start(t, { locals: { stats: { requests: 3 } } });
  const { port } = backdoor.address() as { port: number };
  const { stdout } = await run('sh', ['-c', `printf '1+1\\n2+2\\nawait new Promise(r => setTimeout(() => r(stats.requests), 50))\\n' | nc -q1 127.0.0.1 ${port}`], { timeout: 10_000 });
  t.match(stdout, /^backdoor: Node\.js/);
  t.match(stdout, /\n> 2\n> 4\n> 3\n> $/);
});

/** A terminal (a tmux pane of its own) running `command`; killed when the test ends. */
async function terminal(t: Test, command: string, size = { x: 100, y: 30 }) {
  const socket = `backdoor-test-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { timeout: 5000 });
  t.teardown(() => tmux('kill-server').catch(() => {}));
  await tmux('new-session', '-d', '-x', String(size.x), '-y', String(size.y), command);
  const screen = async (pattern: RegExp) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const { stdout } = await tmux('capture-pane', '-p');
      if (pattern.test(stdout)) return stdout;
      if (Date.now() > deadline) throw new Error(`screen never showed ${pattern}:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { tmux, screen };
}

t.test('telnet: a person types, gets results, interrupts with Ctrl-C, leaves with Ctrl-D', async (t) => {
  if (!has(t, 'telnet') || !has(t, 'tmux')) return;
  const backdoor = await start(t);
  const { port } = backdoor.address() as { port: number };
  const { tmux, screen } = await terminal(t, `telnet 127.0.0.1 ${port}; echo TELNET-ENDED; sleep 30`);
  await screen(/Type "\.help" for more information\.\n>\s*$/m);
  await tmux('send-keys', 'let x = 20 + 1', 'Enter');
  await screen(/> let x = 20 \+ 1\nundefined\n>\s*$/m);
  await tmux('send-keys', 'x * 2', 'Enter');
  await screen(/> x \* 2\n42\n>\s*$/m);
  // Ctrl-C in a half-typed function: telnet sends IAC IP and DO TIMING-MARK, then waits for
  // the answer before it shows output again.
  await tmux('send-keys', 'function f() {', 'Enter');
  await screen(/\.\.\.\s*$/m);
  await tmux('send-keys', 'C-c');
  await tmux('send-keys', '"after"', 'Enter');
  await screen(/> "after"\n'after'\n>\s*$/m);
  // Ctrl-D (then Enter, as a line-mode terminal sends it) ends the session.
  await tmux('send-keys', 'C-d', 'Enter');
  const last = await screen(/TELNET-ENDED/);
  t.match(last, /Connection closed by foreign host/);
});

t.test('the backdoor client at a terminal: editing, history (0600), Ctrl-C, async output, Ctrl-D', async (t) => {
  if (!has(t, 'tmux')) return;
  const stats = { requests: 41 };
  const backdoor = await start(t, { locals: { stats } });
  const { port } = backdoor.address() as { port: number };
  const dir = await mkdtemp(join(tmpdir(), 'backdoor-history-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const history = join(dir, 'history');
  const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
  const { tmux, screen } = await terminal(t, `BACKDOOR_HISTORY=${history} ${process.execPath} ${cli} ${port}; echo CLIENT-ENDED $?; sleep 30`);
  await screen(/Type "\.help" for more information\.\n>\s*$/m);
  await tmux('send-keys', 'stats.requests + 1', 'Enter');
  await screen(/^> stats\.requests \+ 1\n42\n>\s*$/m);
  // Line editing: type, move left, insert.
  await tmux('send-keys', 'stats.reqests');
  await screen(/^> stats\.reqests\s*$/m);
  for (let i = 0; i < 4; i++) await tmux('send-keys', 'Left');
  await tmux('send-keys', 'u');
  await screen(/^> stats\.requests\s*$/m);
  await tmux('send-keys', 'Enter');
  await screen(/^> stats\.requests\n41\n>\s*$/m);
  // Output printed while a line is being typed goes above it, and the line stays.
  await tmux('send-keys', 'setTimeout(() => console.log("later"), 300); 0', 'Enter');
  await tmux('send-keys', 'half typed');
  await screen(/^later\n> half typed\s*$/m);
  // Ctrl-C clears the line; on an empty line the server says how to leave.
  await tmux('send-keys', 'C-c');
  await tmux('send-keys', 'C-c');
  await screen(/\(To exit, press Ctrl\+C again or Ctrl\+D or type \.exit\)\n>\s*$/m);
  // History: Up brings back the previous line.
  await tmux('send-keys', 'Up', 'Up', 'Enter');
  await screen(/^> stats\.requests\n41\n>\s*$/m);
  await tmux('send-keys', 'C-d');
  await screen(/CLIENT-ENDED 0/);
  t.equal(statSync(history).mode & 0o777, 0o600);
  t.same(readFileSync(history, 'utf8').split('\n').filter(Boolean), ['stats.requests + 1', 'setTimeout(() => console.log("later"), 300); 0', 'stats.requests']);
});

for (const over of ['tcp', 'a unix socket, with a token'] as const) {
  t.test(`the backdoor client at a terminal completes with TAB as Node's REPL does (${over})`, async (t) => {
    if (!has(t, 'tmux')) return;
    let getterRuns = 0;
    const stats = {
      requests: 5,
      requestsFailed: 0,
      get requestsDangerous() {
        getterRuns++;
        return 1;
      },
    };
    const dir = await mkdtemp(join(tmpdir(), 'backdoor-completion-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const token = 'completion-token';
    const backdoor = await start(t, over === 'tcp' ? { locals: { stats } } : { locals: { stats }, path: join(dir, 'b.sock'), token });
    const address = backdoor.address();
    const target = 'path' in address ? address.path : String(address.port);
    const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
    const env = `BACKDOOR_HISTORY=${join(dir, 'history')} ${over === 'tcp' ? '' : `BACKDOOR_TOKEN=${token}`}`;
    const { tmux, screen } = await terminal(t, `${env} ${process.execPath} ${cli} ${target}; echo CLIENT-ENDED $?; sleep 30`);
    await screen(/Type "\.help" for more information\.\n>\s*$/m);
    // A declaration of the session is completed too.
    await tmux('send-keys', 'let requestLimit = 10', 'Enter');
    await screen(/^undefined\n>\s*$/m);
    // First TAB: the common prefix of the live object's properties; second TAB: the candidates.
    await tmux('send-keys', 'stats.req', 'Tab');
    await screen(/^> stats\.requests\s*$/m);
    await tmux('send-keys', 'Tab');
    await screen(/stats\.requests\s+stats\.requestsDangerous\s+stats\.requestsFailed/);
    await tmux('send-keys', 'F', 'Tab');
    await screen(/^> stats\.requestsFailed\s*$/m);
    await tmux('send-keys', 'Enter');
    await screen(/^> stats\.requestsFailed\n0\n>\s*$/m);
    await tmux('send-keys', 'requestL', 'Tab');
    await screen(/^> requestLimit\s*$/m);
    await tmux('send-keys', ' * 2', 'Enter');
    await screen(/^> requestLimit \* 2\n20\n>\s*$/m);
    // History and Ctrl-C still work.
    await tmux('send-keys', 'Up');
    await screen(/^> requestLimit \* 2\s*$/m);
    await tmux('send-keys', 'C-c');
    await screen(/^>\s*$/m);
    await tmux('send-keys', 'C-c');
    await screen(/\(To exit, press Ctrl\+C again or Ctrl\+D or type \.exit\)\n>\s*$/m);
    await tmux('send-keys', 'C-d');
    await screen(/CLIENT-ENDED 0/);
    t.equal(getterRuns, 0, 'completion never ran the getter');
  });
}

t.test('telnet in character mode: completion, history, Ctrl-C, window width, colours', async (t) => {
  if (!has(t, 'telnet') || !has(t, 'tmux')) return;
  const backdoor = await start(t, { locals: { stats: { requests: 5, requestsFailed: 0 } } });
  const { port } = backdoor.address() as { port: number };
  const { tmux, screen } = await terminal(t, `TERM=xterm-256color telnet 127.0.0.1 ${port}; echo TELNET-ENDED; sleep 30`);
  await tmux('resize-window', '-x', '60', '-y', '30').catch(() => {});
  await screen(/Type "\.help" for more information\.\n>\s*$/m);
  // The first line goes in line mode; its CR LF shows a telnet client, which is offered
  // character mode and agrees. The offer comes before the line's result, and telnet answers it
  // before it shows that result: the server reads the agreement before any key typed next.
  await tmux('send-keys', '1+1', 'Enter');
  await screen(/^2\n>\s*$/m);
  // Tab completes against the live object: the common prefix, then the choices.
  await tmux('send-keys', 'stats.req', 'Tab');
  await screen(/^> stats\.requests\s*$/m);
  await tmux('send-keys', 'Tab');
  await screen(/stats\.requests\s+stats\.requestsFailed/);
  await tmux('send-keys', 'Enter');
  await screen(/^> stats\.requests\n5\n>\s*$/m);
  // History: Up brings the line back.
  await tmux('send-keys', 'Up');
  await screen(/^> stats\.requests\s*$/m);
  await tmux('send-keys', 'C-u', 'garbage');
  await screen(/^> garbage\s*$/m);
  // Ctrl-C clears a half-typed line.
  await tmux('send-keys', 'C-c');
  await screen(/^> garbage\^C\n>\s*$/m);
  // Values are broken at the window's width (60 here, 80 otherwise) and in colour.
  await tmux('send-keys', "({ alpha: 'a'.repeat(20), beta: 'b'.repeat(20), gamma: 3 })", 'Enter');
  await screen(/^\{\n {2}alpha: 'a{20}',\n {2}beta: 'b{20}',\n {2}gamma: 3\n\}\n>\s*$/m);
  const { stdout: coloured } = await tmux('capture-pane', '-p', '-e');
  t.match(coloured, /\x1b\[33m3/, 'the number is yellow');
  // Ctrl-D on an empty line ends the session.
  await tmux('send-keys', 'C-d');
  t.match(await screen(/TELNET-ENDED/), /Connection closed by foreign host/);
});

/** A TCP relay to `port` that records what the server sends (telnet's commands and all). */
async function recorder(t: Test, port: number): Promise<{ port: number; received: () => string }> {
  const chunks: Buffer[] = [];
  const relay = createNetServer((client) => {
    const server = netConnect(port, '127.0.0.1');
    client.pipe(server);
    server.on('data', (chunk: Buffer) => chunks.push(chunk));
    server.pipe(client);
    for (const socket of [client, server]) socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  t.teardown(() => relay.close());
  return { port: (relay.address() as AddressInfo).port, received: () => Buffer.concat(chunks).toString('utf8') };
}

t.test('telnet in character mode at 80 columns: long coloured listing lines are cut whole, their text all shown', async (t) => {
  if (!has(t, 'telnet') || !has(t, 'tmux')) return;
  // The reported case: `.inspect` of an http.Server, whose `_events` preview is cut, in colour.
  const server = createHttpServer(() => {});
  const backdoor = await start(t, { locals: { server } });
  const relay = await recorder(t, (backdoor.address() as { port: number }).port);
  const { tmux, screen } = await terminal(t, `TERM=xterm-256color telnet 127.0.0.1 ${relay.port}; echo TELNET-ENDED; sleep 30`, { x: 80, y: 100 });
  await screen(/Type "\.help" for more information\.\n>\s*$/m);
  await tmux('send-keys', '1+1', 'Enter');
  await screen(/^2\n>\s*$/m);
  await tmux('send-keys', '.inspect server', 'Enter');
  await screen(/\[\[Prototype\]\]: \$\d+ Server[^]*\n>\s*$/m);
  // Every line as sent: each escape sequence whole (CSI `ESC [ ... final byte`), and no
  // colour left on at the line's end.
  const sent = relay.received();
  const lines = sent.slice(sent.indexOf('.inspect server')).split('\r\n');
  t.ok(
    lines.some((line) => /\x1b\[3\dm/.test(line)),
    'the listing is in colour',
  );
  t.same(
    lines.filter((line) => line.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '').includes('\x1b')),
    [],
    'no line holds a broken escape sequence',
  );
  t.same(
    lines.filter((line) => !/^(0?|39|22|23|24|27|49)$/.test([...line.matchAll(/\x1b\[([0-9;]*)m/g)].at(-1)?.[1] ?? '')),
    [],
    'no line ends in colour',
  );
  // The text is all there on the screen (wrapped lines joined): each key of the server's on a
  // line of its own, and the cut preview ending in `...`.
  const { stdout } = await tmux('capture-pane', '-p', '-J', '-S', '-100');
  const shown = stdout.split('\n');
  const keys = Reflect.ownKeys(server).map((key) => (typeof key === 'symbol' ? `[${key.toString()}]` : key));
  t.same(
    keys.filter((key) => !shown.some((line) => line.startsWith(`  ${key}: `))),
    [],
    'every key is shown',
  );
  t.match(stdout, /^ {2}_events: \$\d+ \[Object: null prototype\] \{ request: \[Function \(anonymous\)\], connection: \[Function: connectionListener\].*\.\.\.$/m);
  await tmux('send-keys', 'C-d');
  await screen(/TELNET-ENDED/);
});
