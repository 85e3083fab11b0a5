// Never silent: a command that waits for the main thread is told why; Ctrl-C abandons it; and
// the budget leaves no debt behind a runaway command in an idle app.
import t from 'tap';
import { MainThreadBudget } from '../dist/workers/ops/budget.js';
import { Door } from '../dist/workers/ops/door.js';
import { connect, start } from './fixtures/backdoor.ts';

const IAC = 255;
const IP = 244;
/** Holds the main thread (of this process: the backdoor's app) for `ms`, then is 'done'. */
const busy = (ms: number) => `const t0 = Date.now(); while (Date.now() - t0 < ${ms}) {}; "done"`;

t.test('a command the main thread does not answer for a second is told why; so are those behind it; Ctrl-C abandons a held one', async (t) => {
  const backdoor = await start(t, { evalTimeoutMs: 10_000 });
  const [a, b, c] = [await connect(t, backdoor), await connect(t, backdoor), await connect(t, backdoor)];
  a.send(`${busy(2000)}\n`);
  b.send('2*21\n');
  c.send('3*3\n');
  c.send(Buffer.from([IAC, IP])); // while 3*3 waits behind the others
  t.match(await a.expect(/'done'\n> $/, 10_000), /\(waiting \d+\.\d s: the app's main thread has not answered since it was sent: it is busy[^\n]*; Ctrl\+C abandons it\)\n'done'/);
  t.match(await b.expect(/42\n> $/, 10_000), /\(waiting \d+\.\d s: the app's main thread has not answered since the command ahead of it was sent[^\n]*\)\n42/);
  await c.expect(/\n> $/); // Ctrl-C's fresh prompt
  t.equal(await c.eval('4*4'), '16');
  t.notMatch(c.received, /^9$/m, 'the abandoned command never prints');
});

t.test('JSON mode: the wait is an event of the input', async (t) => {
  const client = await connect(t, await start(t, { evalTimeoutMs: 10_000 }));
  client.send('.mode json\n');
  await client.expect(/"tag":"mode"[^\n]*\n/);
  // Busy 1.5 s past the notice's second: the worker may itself be late on a busy machine.
  client.send(`${JSON.stringify({ id: 7, code: busy(2500) })}\n`);
  const lines = (await client.expect(/"tag":"ret"[^\n]*\n/, 10_000))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  const wait = lines.find((line) => line.tag === 'wait');
  t.match(wait, { tag: 'wait', id: 7, ms: Number, reason: /main thread has not answered/ });
  t.match(lines.at(-1), { tag: 'ret', id: 7, ok: true, inspect: "'done'" });
});

t.test('after a runaway loop in an idle app, its session waits for the pause it owes, and says so; another session does not', async (t) => {
  const backdoor = await start(t, { evalTimeoutMs: 600, mainThreadBudget: 0.1 });
  const [looping, other] = [await connect(t, backdoor), await connect(t, backdoor)];
  t.match(await looping.eval('while (true) {}', 10_000), /Script execution timed out after 600ms/);
  // 600 ms at 10% of the main thread: the session owes about 4 s, the app keeps its pace.
  looping.send('2*21\n');
  t.match(
    await looping.expect(/42\n> $/, 15_000),
    /\(waiting \d+\.\d s: held by the budget: the app's own load is \d+%, so the backdoor may use 10% of its main thread now \(mainThreadBudget 0\.1\), shared by the sessions that use it; Ctrl\+C abandons it\)\n42/,
  );
  const mark = other.received.length;
  t.equal(await other.eval('"meanwhile"', 3000), "'meanwhile'");
  t.notMatch(other.received.slice(mark), /waiting/, 'the other session was not held');
});

t.test("an op held by the budget says so, with the app's load and the share allowed", async (t) => {
  const budget = new MainThreadBudget(0.1, performance.now());
  budget.observe(0.25, performance.now());
  budget.charge('s', 200, performance.now()); // deep in debt: the next waits ~40 s
  const calls: number[] = [];
  const door = new Door(
    {
      request: async (request) => {
        if (request.op !== 'load') calls.push(1);
        return { id: request.id, status: 'done', value: { text: '1' }, out: '', cost: 0 };
      },
      notify() {},
    },
    {} as never,
    budget,
  );
  t.teardown(() => door.close());
  const told = await new Promise<{ ms: number; code: string; reason: string }>((resolve) => {
    door.submit({ account: 's', op: 'locals', args: {} }, { done() {}, waiting: (ms, code, reason) => resolve({ ms, code, reason }) });
  });
  t.ok(told.ms >= 1000);
  t.equal(told.code, 'budget-held');
  t.match(told.reason, /^held by the budget: the app's own load is 25%, so the backdoor may use 0\.5% of its main thread now \(mainThreadBudget 0\.1\), shared by the sessions that use it$/);
  t.same(calls, [], 'still held');
});

t.test('.stats held by the budget is told so, not that the main thread does not answer', async (t) => {
  const backdoor = await start(t, { mainThreadBudget: 0.1, evalTimeoutMs: 10_000 });
  const client = await connect(t, backdoor);
  // The app (this process) busy about 60% of the time.
  const burn = setInterval(() => {
    const t0 = Date.now();
    while (Date.now() - t0 < 30);
  }, 50);
  t.teardown(() => clearInterval(burn));
  // The load goes to the worker with each reply, smoothed over about a second: the app is busy
  // that long first (the time is the load itself), then a costly command (owed at any share
  // under the ceiling: the next waits 3 s or more).
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(await client.eval(busy(300), 10_000), "'done'");
  client.send('.stats\n');
  const told = await client.expect(/\(waiting \d+\.\d s: [^\n]*\)\n/, 10_000);
  t.match(told, /\(waiting \d+\.\d s: held by the budget: the app's own load is \d+%, so the backdoor may use [\d.]+% of its main thread now \(mainThreadBudget 0\.1\), shared by the sessions that use it; Ctrl\+C abandons it\)\n/);
  t.notMatch(told, /has not answered/);
  client.send(Buffer.from([IAC, IP]));
  await client.expect(/\n> $/);
});

t.test('a command held while the app was busy goes once the app calms down, not after its debt at the floor', async (t) => {
  const backdoor = await start(t, { mainThreadBudget: 0.1, evalTimeoutMs: 10_000 });
  const client = await connect(t, backdoor);
  // The app (this process) busy 30 ms in every 50 (its own load reads 30-40%), then a costly
  // command: at that load the share is at or near the floor (0.1%), so the next command owes
  // the 300 ms for minutes.
  const burn = setInterval(() => {
    const t0 = Date.now();
    while (Date.now() - t0 < 30);
  }, 50);
  t.teardown(() => clearInterval(burn));
  // (Busy about a second, over which the load is smoothed: the time is the load itself.)
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.equal(await client.eval(busy(300), 10_000), "'done'");
  clearInterval(burn); // the app calms down; no reply will say so while the next command waits
  t.match(await client.eval('6*7', 20_000), /^(\(waiting [^\n]*\)\n)?42$/, 'answered within seconds');
});
