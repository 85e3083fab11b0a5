import t from 'tap';
import type { EvalReply, WorkerNotification } from '../common/protocol.ts';
import { CommandRunner } from '../workers/command-runner.ts';
import { Dispatcher } from '../workers/dispatcher.ts';

t.test('a session that ends while its tab completion waits: the completion is answered (no names), the context dropped', async (t) => {
  const notified: WorkerNotification[] = [];
  // A main thread that never answers.
  const dispatcher = new Dispatcher({ evaluate: () => new Promise<EvalReply>(() => {}), notify: (message) => notified.push(message) });
  t.teardown(() => dispatcher.close());
  const events = { commandOutput() {}, commandPending() {}, commandWaiting() {}, commandDone() {} };
  const runner = new CommandRunner({ id: 1, peer: 'test', dispatcher, events, newContext: () => 7, audit() {}, active() {}, guard: (step) => step() });
  const completion = runner.complete([], 'pro');
  runner.close();
  t.same(await completion, { ok: true, text: '', names: [] }, 'the line editor waiting for it goes on');
  t.same(notified, [{ type: 'drop-context', context: 7 }]);
});
