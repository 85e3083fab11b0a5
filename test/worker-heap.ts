import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp } from './fixtures/child.ts';

// V8's memory reducer runs in an isolate that grew before its first full collection, 8 s after
// it did: incremental marking and full collections on the worker's and V8's helper threads,
// with nobody connected. The worker's heap is collected once, as it starts listening
// (workers/collect-heap.ts, lib/quiet-heap.ts), and then never again while nothing happens.
t.test("a started backdoor that nobody uses collects its worker's heap once, at its start, and not 8 s later", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'backdoor-heap-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // Bare: tap's coverage hooks in the app would add an isolate of their own, and make the
  // worker's heap twice as big (V8 arms the reducer again after a collection of a heap that size).
  const env = { BACKDOOR_DIR: dir, BACKDOOR_PORT: '0', BACKDOOR_START: '1' };
  const app = await startApp(t, 'http-app.mjs', ['--trace-gc', '--import', 'backdoor/register'], env, { bare: true });
  await app.waitForStderr(/listening on/);
  await sleep(9_500);
  const collections = [...app.stdout().matchAll(/^\[\d+:(0x[0-9a-f]+)\]\s+(\d+) ms: (.*)$/gm)].map(([, isolate, ms, what]) => ({ isolate, ms: Number(ms), what }));
  const atStart = collections.filter((c) => /low memory notification/.test(c.what));
  t.ok(atStart.length > 0, "the worker's heap was collected at its start");
  const worker = atStart[0]?.isolate;
  const later = collections.filter((c) => c.isolate === worker && c.ms > 2_000);
  t.same(
    later.map((c) => `${c.ms} ms: ${c.what.slice(0, 80)}`),
    [],
    'and not again while nothing happened',
  );
});
