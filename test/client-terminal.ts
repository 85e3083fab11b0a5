// The `backdoor` client at a real terminal (a tmux pane): what a person sees when they type
// while a command runs.
import t, { type Test } from 'tap';
import type { AuditEvent } from '../common/audit-event.ts';
import { start } from './fixtures/backdoor.ts';
import { hasTmux, pane } from './fixtures/tmux.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
const BANNER = /Type "\.help" for more information\.\n>\s*$/m;

/** A backdoor whose audit events the test sees; the session ends when `ended()` turns true. */
async function watched(t: Test, locals: Record<string, unknown> = {}) {
  const events: AuditEvent[] = [];
  const backdoor = await start(t, { locals, audit: (event) => events.push(event) });
  const { port } = backdoor.address() as { port: number };
  return { port, ended: () => events.some((event) => event.type === 'disconnect') };
}

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
