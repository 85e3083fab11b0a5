// The `backdoor` client at a real terminal (a tmux pane): what a person sees when the terminal
// goes away, when they type while a command runs, and when they paste a long function.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { AuditEvent } from '../common/audit-event.ts';
import { start } from './fixtures/backdoor.ts';
import { alive, hasTmux, pane } from './fixtures/tmux.ts';
import { until } from './fixtures/until.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
const BANNER = /Type "\.help" for more information\.\n>\s*$/m;

/**
 * An app in which the client is installed, as `npm install` of the package leaves it
 * (node_modules/.bin/backdoor): what `npx backdoor` runs there. (`npm exec` in this project would
 * install the project into npm's cache as a link, and run its build, here, under the other tests.)
 */
function appWithClient(t: Test): string {
  const app = tempDir(t);
  mkdirSync(join(app, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', private: true }));
  symlinkSync(cli, join(app, 'node_modules', '.bin', 'backdoor'));
  return app;
}

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'backdoor-client-terminal-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A backdoor whose audit events the test sees; the session ends when `ended()` turns true. */
async function watched(t: Test, locals: Record<string, unknown> = {}) {
  const events: AuditEvent[] = [];
  const backdoor = await start(t, { locals, audit: (event) => events.push(event) });
  const { port } = backdoor.address() as { port: number };
  return { port, ended: () => events.some((event) => event.type === 'disconnect') };
}

t.test('closing the terminal of `npm exec backdoor` ends the session and the client, with no SIGHUP for the client', async (t) => {
  if (!hasTmux(t)) return;
  const { port, ended } = await watched(t);
  // The shell ignores SIGHUP and outlives its terminal (it ends as `sleep`, stopped by the
  // test), so no SIGHUP reaches npm's child (nor would npm pass one on: it catches SIGHUP, and
  // forwards only SIGINT and SIGTERM). All the client has is a terminal that is gone: its input
  // ends, writing to it fails with EIO. (How it ends, 129 as a hangup, the SIGHUP test shows:
  // npm itself may crash on the dead terminal, and its status says nothing of the client's.)
  const command = `trap '' HUP; env NODE_OPTIONS= BACKDOOR_HISTORY= npm exec --no -- backdoor ${port}; exec sleep 60`;
  const { tmux, screen, processes } = await pane(t, command, appWithClient(t));
  await screen(BANNER, 30_000);
  const [shell, ...children] = await processes();
  t.teardown(() => process.kill(shell));
  // (By its command line: Node 24 names its main thread, and so the process, MainThread.)
  const client = children.find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node_modules/.bin/backdoor'));
  t.ok(client, 'the client runs under npm');
  await tmux('kill-server');
  t.ok(await until(ended, 10_000), 'the backdoor saw the session end');
  t.ok(await until(() => !alive(client!)), 'the client process is gone');
});

t.test('SIGHUP: the client keeps the history, ends the session, and exits 129', async (t) => {
  if (!hasTmux(t)) return;
  const { port, ended } = await watched(t);
  const history = join(tempDir(t), 'history');
  const { tmux, screen, processes } = await pane(t, `env NODE_OPTIONS= BACKDOOR_HISTORY=${history} ${process.execPath} ${cli} ${port}; echo CLIENT-ENDED $?; sleep 30`);
  await screen(BANNER);
  await tmux('send-keys', '6*7', 'Enter');
  await screen(/^42\n>\s*$/m);
  const [, client] = await processes();
  process.kill(client, 'SIGHUP');
  await screen(/CLIENT-ENDED 129/);
  t.ok(await until(ended), 'the backdoor saw the session end');
  t.same(readFileSync(history, 'utf8').split('\n').filter(Boolean), ['6*7'], 'the line typed just before is in the history');
});

t.test('typed while a command runs: the result prints on its own line, the typed text is redrawn after the prompt', async (t) => {
  if (!hasTmux(t)) return;
  let open = () => {};
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const { port } = await watched(t, { gate });
  const { tmux, screen } = await pane(t, `env NODE_OPTIONS= BACKDOOR_HISTORY= ${process.execPath} ${cli} ${port}; echo CLIENT-ENDED $?; sleep 30`);
  await screen(BANNER);
  await tmux('send-keys', 'await gate; 7', 'Enter');
  await tmux('send-keys', 'abc');
  await screen(/^> await gate; 7\nabc\s*$/m);
  open();
  // (After a second the session says `Promise #1 pending` and gives the prompt back: a slow machine.)
  const shown = await screen(/^(7|Promise #1 fulfilled: 7)\n> abc\s*$/m);
  t.notMatch(shown, /abc(7|Promise)/, 'the result is not glued to the typed text');
  // What was typed ahead is the line being edited: Enter runs it.
  await tmux('send-keys', 'Enter');
  await screen(/^> abc\nUncaught ReferenceError: abc is not defined\n>\s*$/m);
  await tmux('send-keys', 'C-d');
  await screen(/CLIENT-ENDED 0/);
});

t.test('a pasted function of 2,001 lines shows as pasted: one prompt, no continuation prompt per line', async (t) => {
  if (!hasTmux(t)) return;
  const { port } = await watched(t);
  const lines = ['function big() {', '  let x = 0;', ...Array.from({ length: 1997 }, (_, i) => `  x += ${i};`), '  return x;', '}'];
  const file = join(tempDir(t), 'paste.js');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const { tmux, screen } = await pane(t, `env NODE_OPTIONS= BACKDOOR_HISTORY= ${process.execPath} ${cli} ${port}; echo CLIENT-ENDED $?; sleep 30`);
  await screen(BANNER);
  await tmux('load-buffer', file);
  const started = performance.now();
  await tmux('paste-buffer');
  await screen(/^ {2}return x;\n}\nundefined\n>\s*$/m, 60_000);
  t.comment(`the paste took ${Math.round(performance.now() - started)} ms to return to the prompt`);
  const all = await tmux('capture-pane', '-p', '-S', '-', '-E', '-');
  t.match(all, /^> function big\(\) \{\n {2}let x = 0;\n {2}x \+= 0;\n/m, 'the first line after the prompt, the next ones as typed');
  t.notMatch(all, /^(\.\.\.|\|) /m, 'no continuation prompt (Node 20/22 `... `, 24 `| `)');
  await tmux('send-keys', 'big()', 'Enter');
  await screen(new RegExp(`^${(1997 * 1996) / 2}\\n>\\s*$`, 'm'));
  await tmux('send-keys', 'C-d');
  await screen(/CLIENT-ENDED 0/);
});
