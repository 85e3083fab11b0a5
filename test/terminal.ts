// The line editor of character mode (Node's readline in the worker), fed keystrokes directly.
import type { Socket } from 'node:net';
import t from 'tap';
import { MAX_EDITED_LINE, Terminal } from '../workers/transport/terminal.ts';

function terminal(maxInputBytes = 1024 * 1024) {
  const lines: string[] = [];
  const overflows: number[] = [];
  const socket = { destroyed: false, write: () => true } as unknown as Socket;
  const editor = new Terminal(
    socket,
    {
      line: (text) => lines.push(text),
      interrupt: () => {},
      end: () => {},
      complete: async (line) => [[], line],
      overflow: (limit) => overflows.push(limit),
    },
    { maxInputBytes },
  );
  t.teardown(() => editor.close());
  const history = () => (editor as unknown as { history?: string[] }).history;
  return { editor, lines, overflows, history };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('the history is bounded in characters: a long line is not kept, the oldest go first', async (t) => {
  const { editor, lines } = terminal();
  editor.feed(Buffer.from('short one\r'));
  editor.feed(Buffer.from(`"${'x'.repeat(5000)}"\r`));
  editor.feed(Buffer.from('short two\r'));
  await tick();
  t.equal(lines.length, 3, 'every line is still a line');
  const kept = (editor as unknown as { historyLines(): string[] }).historyLines();
  t.same(kept, ['short two', 'short one'], 'newest first, without the long one');
  for (let i = 0; i < 200; i++) editor.feed(Buffer.from(`${i}${'y'.repeat(3000)}\r`));
  await tick();
  const total = (editor as unknown as { historyLines(): string[] }).historyLines().reduce((sum, line) => sum + line.length, 0);
  t.ok(total <= 256 * 1024, `characters kept: ${total}`);
});

t.test('a line longer than the line editor takes is discarded, with the limit said', async (t) => {
  const { editor, overflows, lines } = terminal();
  editor.feed(Buffer.from('a'.repeat(MAX_EDITED_LINE + 10)));
  await tick();
  t.same(overflows, [MAX_EDITED_LINE]);
  editor.feed(Buffer.from('1+1\r'));
  await tick();
  t.same(lines, ['1+1'], 'the next line is whole');
});
