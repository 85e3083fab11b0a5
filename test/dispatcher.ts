import t from 'tap';
import type { EvalOutcome, EvalReply, EvalRequest, RequestBody } from '../common/protocol.ts';
import { MainThreadBudget } from '../workers/budget.ts';
import { Dispatcher, LOAD_REFRESH_MS, type MainLink } from '../workers/dispatcher.ts';
import { until } from './fixtures/until.ts';

/** A main thread whose answers the test releases by hand. */
function fakeMain() {
  const calls: { request: EvalRequest; answer: (reply: EvalReply) => void }[] = [];
  const dropped: number[] = [];
  const main = {
    evaluate: (request: EvalRequest) => new Promise<EvalReply>((answer) => calls.push({ request, answer })),
    notify: (message) => { if (message.type === 'drop-context') dropped.push(message.context); },
  } satisfies MainLink;
  return { main, calls, dropped };
}

const done = (text: string): EvalReply => ({ out: '', outcome: { ok: true, text }, cost: 0 });
const pending: EvalReply = { out: '', outcome: undefined, cost: 0 };
const tick = () => new Promise((r) => setImmediate(r));

function listener(log: string[], name: string) {
  return {
    output: (text: string) => log.push(`${name} out ${text}`),
    done: (outcome: EvalOutcome) => log.push(`${name} done ${outcome.text}`),
  };
}

/** Makes `budget` (a fresh one by default) owe ~200 s at the floor of a busy app. */
function indebted(budget = new MainThreadBudget(0.1, performance.now())): MainThreadBudget {
  budget.observe(0.5, performance.now());
  budget.charge(200, performance.now());
  return budget;
}

const input = (context: number, code = '1'): RequestBody => ({ kind: 'eval', context, session: context, code, awaited: false, declared: [], line: 1, json: false, colors: false });

t.test('one call in flight; the next leaves when the previous is answered', async (t) => {
  const { main, calls } = fakeMain();
  const dispatcher = new Dispatcher(main);
  const log: string[] = [];
  dispatcher.submit(input(1), listener(log, 'a'));
  dispatcher.submit(input(2), listener(log, 'b'));
  await tick();
  t.equal(calls.length, 1);
  calls[0].answer({ out: 'printed\n', outcome: { ok: true, text: '1' }, cost: 0 });
  await tick();
  t.equal(calls.length, 2);
  t.same(log, ['a out printed\n', 'a done 1']);
  t.not(calls[0].request.id, calls[1].request.id);
});

t.test('first come, first served: sessions alternate', async (t) => {
  const { main, calls } = fakeMain();
  const dispatcher = new Dispatcher(main);
  const order: number[] = [];
  // Each session resubmits when its command is done, as sessions do with queued lines.
  const session = (context: number, left: number) => {
    const go = () => dispatcher.submit(input(context), { output() {}, done: () => { order.push(context); if (--left > 0) go(); } });
    go();
  };
  session(1, 4);
  session(2, 4);
  for (let i = 0; i < 8; i++) {
    await tick();
    calls[i].answer(done('x'));
  }
  await tick();
  t.same(order, [1, 2, 1, 2, 1, 2, 1, 2]);
});

t.test('an awaiting command frees the main thread for others, and ends on settle', async (t) => {
  const { main, calls } = fakeMain();
  const dispatcher = new Dispatcher(main);
  const log: string[] = [];
  dispatcher.submit(input(1), listener(log, 'a'));
  dispatcher.submit(input(2), listener(log, 'b'));
  await tick();
  calls[0].answer(pending);
  await tick();
  t.equal(calls.length, 2);
  calls[1].answer(done('2'));
  await tick();
  dispatcher.settle(calls[0].request.id, 'late output\n', { ok: true, text: '7' });
  t.same(log, ['b done 2', 'a out late output\n', 'a done 7']);
});

t.test('abandoned commands: a queued one never runs, a running one is never heard from', async (t) => {
  const { main, calls } = fakeMain();
  const dispatcher = new Dispatcher(main);
  const log: string[] = [];
  const running = dispatcher.submit(input(1), listener(log, 'a'));
  const queued = dispatcher.submit(input(2), listener(log, 'b'));
  dispatcher.abandon(queued);
  await tick();
  dispatcher.abandon(running);
  calls[0].answer(pending);
  await tick();
  dispatcher.settle(calls[0].request.id, 'x', { ok: true, text: '1' });
  t.equal(calls.length, 1);
  t.same(log, []);
});

t.test('a failed call becomes an error outcome', async (t) => {
  const main: MainLink = { evaluate: async () => { throw new Error('port gone'); }, notify() {} };
  const log: string[] = [];
  new Dispatcher(main).submit(input(1), listener(log, 'a'));
  await tick();
  t.same(log, ['a done Internal error: Error: port gone']);
});

t.test('close abandons everything and sends nothing more', async (t) => {
  const { main, calls, dropped } = fakeMain();
  const dispatcher = new Dispatcher(main);
  const log: string[] = [];
  dispatcher.submit(input(1), listener(log, 'a'));
  dispatcher.submit(input(2), listener(log, 'b'));
  dispatcher.dropContext(9);
  dispatcher.close();
  dispatcher.dropContext(10);
  await tick();
  calls[0]?.answer(done('1'));
  await tick();
  t.same(log, []);
  t.same(dropped, [9]);
  t.equal(calls.length, 1);
});

t.test('a command the budget holds asks for the app\'s load every LOAD_REFRESH_MS, and goes once a fresh one lets it', async (t) => {
  const { main: base, calls } = fakeMain();
  const loads: number[] = [];
  let appLoad = 0.5; // busy
  const main: MainLink = { ...base, load: async () => { loads.push(performance.now()); return appLoad; } };
  const budget = indebted();
  const dispatcher = new Dispatcher(main, budget);
  t.teardown(() => dispatcher.close());
  const log: string[] = [];
  dispatcher.submit(input(1), listener(log, 'a'));
  await until(() => loads.length >= 2);
  t.equal(calls.length, 0, 'asked twice while the app stays busy, and still held');
  t.ok(loads[1] - loads[0] >= LOAD_REFRESH_MS - 5, 'asked once per period, not more');
  appLoad = 0.01; // the app has calmed down
  const asked = loads.length;
  await until(() => calls.length > 0);
  t.equal(calls.length, 1, 'sent: an idle app owes nothing');
  t.equal(loads.length, asked + 1, 'at the next question');
  calls[0].answer(done('1'));
  await tick();
  t.same(log, ['a done 1']);
  // A main thread that cannot answer the question leaves the command held as before.
  const silent = new Dispatcher({ ...base, load: async () => undefined }, budget);
  t.teardown(() => silent.close());
  indebted(budget);
  silent.submit(input(2), listener(log, 'b'));
  await new Promise((r) => setTimeout(r, LOAD_REFRESH_MS * 1.5));
  t.equal(calls.length, 1, 'still held');
});

t.test('a held command abandoned (Ctrl-C) stops the load questions', async (t) => {
  const { main: base, calls } = fakeMain();
  let asked = 0;
  const main: MainLink = { ...base, load: async () => { asked++; return 0.5; } };
  const dispatcher = new Dispatcher(main, indebted());
  t.teardown(() => dispatcher.close());
  const held = dispatcher.submit(input(1), listener([], 'a'));
  await until(() => asked > 0);
  t.equal(asked, 1, 'asked while held');
  dispatcher.abandon(held);
  await new Promise((r) => setTimeout(r, LOAD_REFRESH_MS * 2.5));
  t.equal(asked, 1, 'not asked again');
  t.equal(calls.length, 0, 'and the command never went');
});

t.test('the budget holds the next command back and is charged what each one cost', async (t) => {
  const { main, calls } = fakeMain();
  const charges: number[] = [];
  let wait = 0;
  const budget = { delay: () => wait, charge: (cost: number, _now: number, scattered = 0) => { charges.push(cost, scattered); } };
  const dispatcher = new Dispatcher(main, budget as never);
  const log: string[] = [];
  dispatcher.submit(input(1), listener(log, 'a'));
  await tick();
  wait = 30;
  calls[0].answer({ out: '', outcome: undefined, cost: 4 });
  dispatcher.submit(input(2), listener(log, 'b'));
  await tick();
  t.equal(calls.length, 1, 'held back');
  wait = 0;
  await new Promise((r) => setTimeout(r, 60));
  t.equal(calls.length, 2, 'sent once the wait is over');
  dispatcher.settle(calls[0].request.id, '', { ok: true, text: '1' }, 2);
  t.same(charges, [4, 0.1, 2, 0], 'a reply is charged its cost, and the messaging around it apart (not one stall)');
  dispatcher.close();
});
