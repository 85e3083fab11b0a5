import { expose, wrap } from 'comlink';
import { MessageChannel } from 'node:worker_threads';
import t from 'tap';
import { Channel } from '../common/channel.ts';
import { until } from './fixtures/until.ts';

/** Two ends of a real MessageChannel: `a` exposes `api` to `b` through comlink; what each end hears of ours is logged. */
function pair(api: Record<string, (...args: never[]) => unknown> = {}) {
  const { port1, port2 } = new MessageChannel();
  const log: string[] = [];
  const faults: unknown[] = [];
  const a = new Channel<string, string>(
    port1,
    (message) => log.push(`a heard ${message}`),
    (error) => faults.push(error),
  );
  const b = new Channel<string, string>(
    port2,
    (message) => {
      if (message === 'throw') throw new Error('handler failed');
      log.push(`b heard ${message}`);
    },
    (error) => faults.push(error),
  );
  expose(api, a.endpoint);
  const remote = wrap<Record<string, (...args: unknown[]) => Promise<unknown>>>(b.endpoint);
  let toB = 0;
  port2.on('message', () => toB++);
  return {
    a,
    b,
    remote,
    log,
    faults,
    receivedByB: () => toB,
    close: () => {
      port1.close();
      port2.close();
    },
  };
}

t.test("the backdoor's messages and comlink's share the port, in the order they were sent", async (t) => {
  const { b, remote, log, close } = pair({
    listen: () => {
      log.push('a answers listen');
      return 'listening';
    },
  });
  t.teardown(close);
  b.send('first');
  const answer = remote.listen().then((value) => log.push(`b got ${String(value)}`));
  b.send('second');
  await answer;
  await until(() => log.length === 4);
  t.same(log, ['a heard first', 'a answers listen', 'a heard second', 'b got listening']);
});

t.test('a message of ours never reaches comlink, and is never answered', async (t) => {
  const { b, log, receivedByB, close } = pair();
  t.teardown(close);
  b.send('output');
  b.send('output');
  await until(() => log.length === 2);
  await until(() => false, 20); // an answer, if any, would be here by now
  t.same(log, ['a heard output', 'a heard output']);
  t.equal(receivedByB(), 0, 'no answer to either');
});

t.test('a handler that throws is reported, and the channel goes on', async (t) => {
  const { a, log, faults, close } = pair();
  t.teardown(close);
  a.send('throw');
  a.send('next');
  await until(() => log.length === 1);
  t.match(faults, [{ message: 'handler failed' }]);
  t.same(log, ['b heard next']);
});

t.test('the time each end spends on the channel is counted', async (t) => {
  const { a, b, log, close } = pair();
  t.teardown(close);
  a.send('x');
  await until(() => log.length === 1);
  t.ok(a.busyMs > 0, 'sending');
  t.ok(b.busyMs > 0, 'handling');
});
