import { expose, wrap } from 'comlink';
import { MessageChannel } from 'node:worker_threads';
import t from 'tap';
import { Channel } from '../common/channel.ts';
import { until } from './fixtures/until.ts';

/** Two ends of a real MessageChannel: `a` exposes `api` to `b`; what each end hears is logged. */
function pair(api: Record<string, (...args: never[]) => unknown>) {
  const { port1, port2 } = new MessageChannel();
  const log: string[] = [];
  const faults: unknown[] = [];
  const a = new Channel<string, string>(port1, (message) => log.push(`a heard ${message}`), (error) => faults.push(error));
  const b = new Channel<string, string>(port2, (message) => {
    if (message === 'throw') throw new Error('handler failed');
    log.push(`b heard ${message}`);
  }, (error) => faults.push(error));
  expose(api, a.endpoint);
  const remote = wrap<Record<string, (...args: unknown[]) => Promise<unknown>>>(b.endpoint);
  let toB = 0;
  port2.on('message', () => toB++);
  return { a, b, remote, log, faults, receivedByB: () => toB, close: () => { port1.close(); port2.close(); } };
}

t.test('a notification told once the answer is ready follows the answer, though it was sent first', async (t) => {
  let channel!: Channel<string, string>;
  const { a, remote, log, close } = pair({
    // As the evaluator does: the reply is ready, and a promise of the command settles within
    // microtasks, before comlink (a few microtasks later) posts the reply.
    evaluate: () => {
      channel.holdForAnswer();
      const reply = Promise.resolve('reply');
      queueMicrotask(() => channel.notify('settle', true));
      return reply;
    },
  });
  channel = a;
  t.teardown(close);
  a.notify('before');
  const answer = remote.evaluate().then((value) => log.push(`b got ${String(value)}`));
  await answer;
  await until(() => log.length === 3);
  t.same(log, ['b heard before', 'b got reply', 'b heard settle']);
  a.notify('after');
  await until(() => log.length === 4);
  t.equal(log.at(-1), 'b heard after', 'nothing is held once the answer has gone');
});

t.test('only a notification sent after the answer waits for it', async (t) => {
  let channel!: Channel<string, string>;
  const { a, remote, log, close } = pair({
    evaluate: () => {
      channel.holdForAnswer();
      queueMicrotask(() => channel.notify('tap'));
      return Promise.resolve('reply');
    },
  });
  channel = a;
  t.teardown(close);
  await remote.evaluate().then((value) => log.push(`b got ${String(value)}`));
  t.same(log, ['b heard tap', 'b got reply']);
});

t.test('a notification is never answered: the side that told it is not woken again', async (t) => {
  const { b, log, receivedByB, close } = pair({});
  t.teardown(close);
  b.notify('output');
  b.notify('output');
  await until(() => log.length === 2);
  await new Promise((resolve) => setTimeout(resolve, 20)); // an answer, if any, would be here by now
  t.same(log, ['a heard output', 'a heard output']);
  t.equal(receivedByB(), 0, 'no answer to either');
});

t.test('a handler that throws is reported, and the channel goes on', async (t) => {
  const { a, log, faults, close } = pair({});
  t.teardown(close);
  a.notify('throw');
  a.notify('next');
  await until(() => log.length === 1);
  t.match(faults, [{ message: 'handler failed' }]);
  t.same(log, ['b heard next']);
});
