// 200 sessions at once, each running commands: no crash, every session's results complete and
// in order, and the sessions beyond the limit refused cleanly.
import t from 'tap';
import { TestClient, withoutWaitNotices } from './fixtures/client.ts';
import { start } from './fixtures/backdoor.ts';

t.test('load: 200 sessions at once, each with its own results, in order; 10 more refused', async (t) => {
  // Unpaced (mainThreadBudget 1): at the default 0.1 the 1000 commands below take ~8 s of
  // waiting for the budget, whose pacing test/budget.ts and test/dispatcher.ts cover.
  const backdoor = await start(t, { maxSessions: 200, audit: false, mainThreadBudget: 1 });
  const target = backdoor.address() as { port: number };
  const clients = await Promise.all(Array.from({ length: 200 }, () => TestClient.connect(target)));
  t.teardown(() => {
    for (const c of clients) c.destroy();
  });
  await Promise.all(clients.map((c) => c.ready()));

  const extra = await Promise.all(Array.from({ length: 10 }, () => TestClient.connect(target)));
  t.teardown(() => {
    for (const c of extra) c.destroy();
  });
  const refusals = await Promise.all(extra.map((c) => c.waitClosed(10_000)));
  t.ok(
    refusals.every((text) => text === 'backdoor: too many sessions (the maxSessions option is 200)\n'),
    'the 10 beyond the limit are told and closed',
  );

  // Every session pipes five commands at once, one of them awaiting, and gets its five
  // results back in order.
  const commands = (i: number) => `let n = ${i}\nn * 2\nawait new Promise((r) => setTimeout(() => r(n + 0.5), 5))\nn * 3\n[n, "done"]\n`;
  for (const [i, client] of clients.entries()) client.send(commands(i));
  // On a busy machine a command may wait over a second for the main thread, behind the others'
  // thousand; it is then told so (test/held.ts), which is not a result.
  const outputs = (await Promise.all(clients.map((client) => client.expect(/done' \]\n> $/, 60_000)))).map(withoutWaitNotices);
  const wrong = outputs.map((output, i) => [i, output] as const).filter(([i, output]) => output !== `undefined\n> ${i * 2}\n> ${i + 0.5}\n> ${i * 3}\n> [ ${i}, 'done' ]\n> `);
  t.same(wrong, [], 'all 200 sessions got their own results, complete and in order');
  t.equal(await clients[0].eval('1+1'), '2');
});
