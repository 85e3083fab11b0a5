// Through the real tools people use: nc (netcat-openbsd) and the telnet client, driven in a
// tmux pane as a person would (tmux drops trailing spaces, hence `>\s*$` for the prompt). `.ci/run` installs them; elsewhere a missing tool skips its
// test, unless BACKDOOR_REQUIRE_TOOLS=1 (set by .ci/run) makes that a failure.
import { execFile, execFileSync } from 'node:child_process';
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

t.test('telnet: a person types, gets results, interrupts with Ctrl-C, leaves with Ctrl-D', async (t) => {
  if (!has(t, 'telnet') || !has(t, 'tmux')) return;
  const backdoor = await start(t);
  const { port } = backdoor.address() as { port: number };
  const socket = `backdoor-test-${process.pid}`;
  const tmux = (...args: string[]) => run('tmux', ['-L', socket, ...args], { timeout: 5000 });
  t.teardown(() => tmux('kill-server').catch(() => {}));
  await tmux('new-session', '-d', '-x', '100', '-y', '30', `telnet 127.0.0.1 ${port}; echo TELNET-ENDED; sleep 30`);
  const screen = async (pattern: RegExp) => {
    const deadline = Date.now() + 5000;
    for (;;) {
      const { stdout } = await tmux('capture-pane', '-p');
      if (pattern.test(stdout)) return stdout;
      if (Date.now() > deadline) throw new Error(`screen never showed ${pattern}:\n${stdout}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
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
