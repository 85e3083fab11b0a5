// The worker's side of stopping a runaway command, with a main thread played by the test.
import t from 'tap';
import { RunawayWatch } from '../workers/ops/runaway-watch.ts';
import { until } from './fixtures/until.ts';

const reply = { status: 'error' as const, code: 'timeout' as const, value: { text: 'Uncaught Error: Script execution timed out after 50ms' }, out: '', cost: 50 };

t.test('a stopped command not yet unwound is asked again until its recovery answers; then nothing more', async (t) => {
  let probes = 0;
  let recoveries = 0;
  let unwound: (() => void) | undefined;
  const watch = new RunawayWatch(50, {
    probe: async () => {
      probes++;
      return 0; // stopped (its code cancels the stop, the first times)
    },
    recover: () => {
      recoveries++;
      return new Promise((resolve) => {
        unwound = () => resolve(reply);
      });
    },
  });
  const stopped: unknown[] = [];
  const cancel = watch.watch(7, (r) => stopped.push(r));
  t.teardown(cancel);
  await until(() => probes >= 3);
  t.ok(probes >= 3, `asked again while it had not unwound (${probes} probes)`);
  t.equal(recoveries, 1, 'one recovery at a time');
  unwound!();
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.same(stopped, [reply]);
  const after = probes;
  await new Promise((resolve) => setTimeout(resolve, 700));
  t.equal(probes, after, 'nothing more once answered');
});

t.test('a command that started late is given the time it has left; one that ended needs nothing', async (t) => {
  const asked: number[] = [];
  let left = 40;
  const watch = new RunawayWatch(50, {
    probe: async () => {
      asked.push(Date.now());
      const now = left;
      left = -1; // then it ended
      return now;
    },
    recover: async () => undefined,
  });
  const stopped: unknown[] = [];
  const cancel = watch.watch(1, (r) => stopped.push(r));
  await until(() => asked.length >= 2);
  await new Promise((resolve) => setTimeout(resolve, 100)); // (a stop would come at once: none does)
  cancel();
  t.ok(asked.length >= 2, 'probed again after the time it had left');
  t.ok(asked[1] - asked[0] >= 40 - 1, 'after the 40 ms it had left');
  t.same(stopped, [], 'never answered for it');
});
