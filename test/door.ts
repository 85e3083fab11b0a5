// The door to the main thread (workers/ops/door.ts) against a fake main thread and a fake
// inspector: one op in flight, fair between sessions, paced by the budget, every cost charged
// to its session, and ops that end with their session.
import t from 'tap';
import type { MainNotice, OpReply, OpRequest, OpResult } from '../common/protocol.ts';
import type { Diagnostics, DiagnosisRun } from '../workers/diagnostics/diagnostics.ts';
import { MainThreadBudget } from '../workers/ops/budget.ts';
import { Door, LOAD_REFRESH_MS, type DoorOp, type OpListener } from '../workers/ops/door.ts';
import type { MainLink } from '../workers/ops/main-link.ts';
import { until } from './fixtures/until.ts';

/** A main thread whose answers the test releases by hand; `load` requests answer `appLoad`. */
function fakeMain() {
  const calls: { request: OpRequest; answer: (reply: Omit<OpReply, 'id'>) => void }[] = [];
  const loads: number[] = [];
  const state = { appLoad: 0.5 as number | undefined };
  const dropped: number[] = [];
  const main: MainLink = {
    request: (request) => {
      if (request.op === 'load') {
        loads.push(performance.now());
        return Promise.resolve({ id: request.id, status: 'done', out: '', cost: 0, ...(state.appLoad !== undefined && { measured: state.appLoad }) });
      }
      return new Promise((resolve) => calls.push({ request, answer: (reply) => resolve({ ...reply, id: request.id }) }));
    },
    notify: (notice) => {
      if (notice.type === 'drop-context') dropped.push(notice.context);
    },
  };
  return { main, calls, loads, state, dropped };
}

/** An inspector whose runs the test ends by hand; each reports `mainMs` of the main thread's time. */
function fakeDiagnostics() {
  const runs: { op: string; signal: AbortSignal; end: (run: DiagnosisRun) => void }[] = [];
  const diagnostics = {
    run: (op: string, _args: unknown, signal: AbortSignal) => new Promise<DiagnosisRun>((end) => runs.push({ op, signal, end })),
  } as unknown as Diagnostics;
  return { diagnostics, runs };
}

const done = (text: string): Omit<OpReply, 'id'> => ({ status: 'done', value: { text }, out: '', cost: 0 });
const pending: Omit<OpReply, 'id'> = { status: 'pending', out: '', cost: 0 };
const ok = (text: string): OpResult => ({ status: 'done', value: { text } });
const tick = () => new Promise((r) => setImmediate(r));

function listener(log: string[], name: string): OpListener {
  return {
    output: (text) => log.push(`${name} out ${text}`),
    waiting: (_ms, code) => log.push(`${name} waits ${code}`),
    done: (result) => log.push(`${name} ${result.status}${result.code ? ` ${result.code}` : ''} ${result.value.text}`),
  };
}

const op = (account: unknown, name: DoorOp['op'] = 'eval'): DoorOp => ({ account, op: name, args: {} });

/** Makes `account` owe ~200 s at the floor of a busy app. */
function indebted(account: unknown, budget = new MainThreadBudget(0.1, performance.now())): MainThreadBudget {
  budget.observe(0.5, performance.now());
  budget.charge(account, 200, performance.now());
  return budget;
}

t.test('one op in flight; the next leaves when the previous is answered', async (t) => {
  const { main, calls } = fakeMain();
  const door = new Door(main, fakeDiagnostics().diagnostics);
  const log: string[] = [];
  door.submit(op('a'), listener(log, 'a'));
  door.submit(op('b'), listener(log, 'b'));
  await tick();
  t.equal(calls.length, 1);
  calls[0].answer({ status: 'done', value: { text: '1' }, out: 'printed\n', cost: 0 });
  await tick();
  t.equal(calls.length, 2);
  t.same(log, ['a out printed\n', 'a done 1']);
  t.not(calls[0].request.id, calls[1].request.id);
});

t.test('first come, first served: sessions alternate', async (t) => {
  const { main, calls } = fakeMain();
  const door = new Door(main, fakeDiagnostics().diagnostics);
  const order: string[] = [];
  // Each session resubmits when its op is done, as sessions do with queued lines.
  const session = (name: string, left: number) => {
    const go = () =>
      door.submit(op(name), {
        done: () => {
          order.push(name);
          if (--left > 0) go();
        },
      });
    go();
  };
  session('a', 4);
  session('b', 4);
  for (let i = 0; i < 8; i++) {
    await tick();
    calls[i].answer(done('x'));
  }
  await tick();
  t.same(order, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
});

t.test('an awaiting op frees the main thread for others, and ends on its settle notice', async (t) => {
  const { main, calls } = fakeMain();
  const door = new Door(main, fakeDiagnostics().diagnostics);
  const log: string[] = [];
  door.submit(op('a'), listener(log, 'a'));
  door.submit(op('b'), listener(log, 'b'));
  await tick();
  calls[0].answer(pending);
  await tick();
  t.equal(calls.length, 2);
  calls[1].answer(done('2'));
  await tick();
  const settle: MainNotice = { type: 'settle', id: calls[0].request.id, out: 'late output\n', result: ok('7'), cost: 0 };
  door.notice(settle, undefined);
  t.same(log, ['b done 2', 'a out late output\n', 'a done 7']);
});

t.test('abandoned ops: a queued one never runs, a running one is never heard from', async (t) => {
  const { main, calls } = fakeMain();
  const door = new Door(main, fakeDiagnostics().diagnostics);
  const log: string[] = [];
  const running = door.submit(op('a'), listener(log, 'a'));
  const queued = door.submit(op('b'), listener(log, 'b'));
  door.abandon(queued);
  await tick();
  door.abandon(running);
  calls[0].answer(pending);
  await tick();
  door.notice({ type: 'settle', id: calls[0].request.id, out: 'x', result: ok('1'), cost: 0 }, undefined);
  t.equal(calls.length, 1);
  t.same(log, []);
});

t.test('a failed request becomes an internal error', async (t) => {
  const main: MainLink = {
    request: async () => {
      throw new Error('port gone');
    },
    notify() {},
  };
  const log: string[] = [];
  new Door(main, fakeDiagnostics().diagnostics).submit(op('a'), listener(log, 'a'));
  await tick();
  t.same(log, ['a error internal Internal error: port gone']);
});

t.test('close abandons everything and sends nothing more', async (t) => {
  const { main, calls, dropped } = fakeMain();
  const door = new Door(main, fakeDiagnostics().diagnostics);
  const log: string[] = [];
  door.submit(op('a'), listener(log, 'a'));
  door.submit(op('b'), listener(log, 'b'));
  door.dropContext(9);
  door.close();
  door.dropContext(10);
  await tick();
  calls[0]?.answer(done('1'));
  await tick();
  t.same(log, []);
  t.same(dropped, [9]);
  t.equal(calls.length, 1);
});

t.test("an op the budget holds asks for the app's load every LOAD_REFRESH_MS, and goes once a fresh one lets it", async (t) => {
  const { main, calls, loads, state } = fakeMain();
  const door = new Door(main, fakeDiagnostics().diagnostics, indebted('a'));
  t.teardown(() => door.close());
  const log: string[] = [];
  door.submit(op('a'), listener(log, 'a'));
  await until(() => loads.length >= 2);
  t.equal(calls.length, 0, 'asked twice while the app stays busy, and still held');
  state.appLoad = 0.3; // calmer, but paced: the session's debt is paid back faster
  await until(() => loads.length >= 3);
  t.equal(calls.length, 0);
});

t.test('a held op abandoned (Ctrl-C) stops the load questions', async (t) => {
  const { main, calls, loads } = fakeMain();
  const door = new Door(main, fakeDiagnostics().diagnostics, indebted('a'));
  t.teardown(() => door.close());
  const held = door.submit(op('a'), listener([], 'a'));
  await until(() => loads.length > 0);
  t.equal(loads.length, 1, 'asked while held');
  door.abandon(held);
  const asked = loads.length;
  await until(() => false, LOAD_REFRESH_MS * 2.5);
  t.equal(loads.length, asked, 'not asked again');
  t.equal(calls.length, 0, 'and the op never went');
});

t.test("one session's debt holds that session alone; another's op goes at once", async (t) => {
  const { main, calls } = fakeMain();
  const budget = new MainThreadBudget(0.1, performance.now());
  budget.charge('quick', 0.1, performance.now()); // its last op was short
  const door = new Door(main, fakeDiagnostics().diagnostics, indebted('long', budget));
  t.teardown(() => door.close());
  const log: string[] = [];
  door.submit(op('long'), listener(log, 'long'));
  door.submit(op('quick'), listener(log, 'quick'));
  await until(() => calls.length > 0);
  t.equal(calls[0].request.op, 'eval');
  calls[0].answer(done('1'));
  await tick();
  t.same(log, ['quick done 1'], 'the quick session went first, past the held one');
});

t.test('each reply, and each notice, is charged to its session: the cost, and the messages apart', async (t) => {
  const { main, calls } = fakeMain();
  const charges: unknown[] = [];
  const budget = {
    delay: () => 0,
    wants() {},
    observe() {},
    forget() {},
    charge: (account: unknown, cost: number, _now: number, scattered = 0, more = false) => {
      charges.push([account, cost, scattered, more]);
    },
    chargeApart: (account: unknown, ms: number) => {
      charges.push([account, 'apart', ms]);
    },
  };
  const door = new Door(main, fakeDiagnostics().diagnostics, budget as never);
  door.submit(op('a'), listener([], 'a'));
  await tick();
  calls[0].answer({ ...pending, cost: 4 });
  await tick();
  door.notice({ type: 'settle', id: calls[0].request.id, out: '', result: ok('1'), cost: 2 }, undefined);
  door.notice({ type: 'output', context: 3, text: 'x', cost: 1 }, 'b');
  t.same(
    charges,
    [
      ['a', 4, 0.1, false],
      ['a', 2, 0, true],
      ['b', 'apart', 1],
    ],
    'the settled value ends the op it belongs to',
  );
  door.close();
});

t.test("an inspector op waits for its session's budget, not for the op in flight, and is charged what it took on the main thread", async (t) => {
  const { main, calls } = fakeMain();
  const { diagnostics, runs } = fakeDiagnostics();
  const budget = new MainThreadBudget(0.1, performance.now());
  budget.charge('a', 0.1, performance.now()); // its last op was short
  const door = new Door(main, diagnostics, budget);
  t.teardown(() => door.close());
  const log: string[] = [];
  door.submit(op('a'), listener(log, 'a'));
  await tick();
  t.equal(calls.length, 1, 'an op is in flight (the main thread is busy with it)');
  door.submit(op('b', 'stack'), listener(log, 'b'));
  await until(() => runs.length > 0);
  t.equal(runs[0].op, 'stack', 'the stack is asked for meanwhile');
  runs[0].end({ result: ok('frames'), mainMs: 500 });
  await tick();
  t.same(log, ['b done frames']);
  t.ok(budget.delay('b', performance.now()) > 0, 'its 500 ms on the main thread is charged: b waits now');
  t.equal(budget.delay('a', performance.now()), 0, 'a does not');
  // The next diagnosis of b's waits for the budget, and says so after a second.
  door.submit(op('b', 'stack'), listener(log, 'b'));
  await until(() => log.includes('b waits budget-held'), 3000);
  t.equal(runs.length, 1, 'not started while held');
});

t.test('a session that ends takes its ops with it: queued, awaited, and a diagnosis that runs is aborted', async (t) => {
  const { main, calls } = fakeMain();
  const { diagnostics, runs } = fakeDiagnostics();
  const door = new Door(main, diagnostics);
  const log: string[] = [];
  door.submit(op('a'), listener(log, 'a'));
  door.submit(op('a', 'profile'), listener(log, 'a'));
  await until(() => runs.length > 0);
  door.forget('a');
  t.ok(runs[0].signal.aborted, 'the profile is stopped');
  calls[0].answer(done('1'));
  runs[0].end({ result: ok('profile'), mainMs: 1 });
  await tick();
  t.same(log, [], 'nothing more is heard');
});
