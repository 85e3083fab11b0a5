import t from 'tap';
import { allowedShare, IDLE_LOAD, MainThreadBudget, MAX_EXTRA_MS, MAX_WEIGHT, MIN_SHARE, SHORT_STALL_MS, stallCharge, WINDOW_MS } from '../workers/ops/budget.ts';

// What docs/internals.md ("The budget") promises, asserted as numbers rather than taken from the code's constants.
t.test('the promised figures: 10% at most at any load, a twentieth at 25% load, 0.1% at the floor, 2 s of share per session', async (t) => {
  t.equal(allowedShare(0, 0.1), 0.1, 'idle: the ceiling, not unpaced');
  t.equal(allowedShare(0.04, 0.1), 0.1);
  t.equal(allowedShare(0.05, 0.1), 0.1, 'light: the ceiling');
  t.ok(Math.abs(allowedShare(0.25, 0.1) - 0.005) < 1e-9, `25%: a twentieth of the ceiling (${allowedShare(0.25, 0.1)})`);
  t.equal(allowedShare(0.4, 0.1), 0.001, '40%: the floor, 0.1%');
  t.equal(allowedShare(0.99, 0.1), 0.001, 'never below the floor');
  t.equal(allowedShare(Number.NaN, 0.1), 0.1, 'not known: the ceiling');
  t.equal(allowedShare(0.9, 1), 1, 'a ceiling of 1 never paces');
  t.equal(IDLE_LOAD, 0.05);
  t.equal(MIN_SHARE, 0.001);
  t.equal(WINDOW_MS, 2000);
  let last = 1;
  for (let load = 0; load <= 1; load += 0.01) {
    const share = allowedShare(load, 0.3);
    t.ok(share <= last + 1e-12, `never rises with load (${load.toFixed(2)})`);
    last = share;
  }
});

t.test('an occasional op goes at once', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  t.equal(budget.delay('a', 0), 0);
  budget.charge('a', 1.5, 1); // within the 200 ms a session may spend at once
  t.equal(budget.delay('a', 1), 0);
});

t.test("an op that overdraws makes its session's next one wait until the share is paid back", async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.charge('a', 250, 250); // a 250 ms op (charged 260), against a full 200 ms bucket
  t.equal(Math.round(budget.delay('a', 250)), 600); // 60 ms owed, paid back at 0.1 ms per ms
  t.equal(budget.delay('a', 250 + 600), 0);
});

t.test('in an idle app too, a long command is followed by a pause in proportion: the app keeps its pace', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.observe(0, 0);
  let now = 0;
  let busy = 0;
  for (let i = 0; i < 20; i++) {
    now += budget.delay('a', now);
    now += 1500; // a 1.5 s command, back to back
    busy += 1500;
    budget.charge('a', 1500, now);
    budget.observe(0, now); // its reply says the app itself is idle
  }
  t.ok(busy / now <= 0.11, `the commands held the main thread ${((busy / now) * 100).toFixed(1)}% of the time`);
});

t.test("sessions share it fairly: one's debt holds it alone; together they stay within the share", async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.charge('other', 0.2, 0); // a 1+1
  budget.charge('long', 1500, 1500);
  t.ok(budget.delay('long', 1500) > 10_000, 'the session that ran a long op waits');
  t.equal(budget.delay('other', 1500), 0, "another's op goes at once: its last one was short");
  t.ok(budget.heldByOthers('fresh', 1500), "a session with no op yet waits for the long one's pause: its first could be as long");
  t.equal(Math.round(budget.delay('fresh', 1500)), 13_100, '(1510 - 200) ms owed by all, paid back at 0.1 ms per ms');
  budget.charge('other', 1500, 3000); // the short session's op turns out long: now it waits too
  t.ok(budget.delay('other', 3000) > 10_000);
  t.notOk(budget.heldByOthers('other', 3000), 'for its own debt');
  // A third session of short ops is held too: the pass the second one took turned out long.
  budget.charge('third', 0.2, 0);
  t.ok(budget.delay('third', 3000) > 10_000, "after one short-op session's long op, no other gets a pass");
  // Four sessions flooding short ops: each gets a quarter, all together the share.
  const flood = new MainThreadBudget(0.1, 0);
  const sessions = ['a', 'b', 'c', 'd'];
  const used = new Map(sessions.map((name) => [name, 0]));
  let now = 0;
  for (let i = 0; i < 20_000; i++) {
    const name = sessions[i % 4];
    flood.wants(name, true, now);
    now += Math.max(0, flood.delay(name, now) / 4); // the others go meanwhile
    if (flood.delay(name, now) > 0) continue;
    now += 0.2;
    flood.charge(name, 0.2, now);
    used.set(name, used.get(name)! + 0.2);
  }
  const total = [...used.values()].reduce((sum, each) => sum + each, 0);
  t.ok(total / now <= 0.1 + (4 * 0.1 * WINDOW_MS) / now + 0.005, `all together ${((total / now) * 100).toFixed(2)}%`);
  for (const [name, each] of used) t.ok(Math.abs(each / total - 0.25) < 0.05, `${name}: ${((each / total) * 100).toFixed(1)}% of what was used`);
});

t.test('however many sessions take a short op first, at most one long op follows a long one', async (t) => {
  for (const count of [2, 4, 16]) {
    const budget = new MainThreadBudget(0.1, 0);
    budget.observe(0, 0);
    const sessions = Array.from({ length: count }, (_, i) => `s${i}`);
    let now = 0;
    for (const name of sessions) {
      now += budget.delay(name, now) + 0.2;
      budget.charge(name, 0.2, now); // 1+1 in each
    }
    const start = now;
    let busy = 0;
    const starts: number[] = [];
    // Then each, as soon as it may, a 1.8 s loop.
    for (let round = 0; round < 4 * count; round++) {
      const name = sessions[round % count];
      const wait = budget.delay(name, now);
      if (wait > 0) {
        now += Math.min(...sessions.map((other) => budget.delay(other, now)));
        continue;
      }
      starts.push(now - start);
      now += 1800;
      busy += 1800;
      budget.charge(name, 1800, now);
      budget.observe(0, now);
    }
    t.ok(starts[2] >= 3600 + 10_000, `${count} sessions: the third long op starts ${Math.round(starts[2])} ms in, after the app had 10 s of its own`);
    t.ok(busy / (now - start) <= 0.1 + 3600 / (now - start) + 0.01, `${count} sessions: ${((busy / (now - start)) * 100).toFixed(1)}% of ${Math.round(now - start)} ms`);
  }
});

t.test('a flood of short ops is paced to the share, however short', async (t) => {
  for (const cost of [0.05, 0.15, SHORT_STALL_MS]) {
    const budget = new MainThreadBudget(0.1, 0);
    let now = 0;
    let used = 0;
    for (let i = 0; i < 20_000; i++) {
      now += budget.delay('a', now); // wait as told
      now += cost; // the op runs
      budget.charge('a', cost, now);
      used += cost;
      now += 0.1; // the round trip to the worker
    }
    // (Beyond the 200 ms a session may spend at once.)
    t.ok(Math.abs((used - 200) / now - 0.1) < 0.005, `cost ${cost} ms: share ${((used - 200) / now).toFixed(4)}`);
  }
});

t.test("a long op is charged by its length: the longer a stall, the more of the app's requests it holds, and the longer", async (t) => {
  t.equal(stallCharge(0.1), 0.1, "shorter than a request's own jitter: as it is");
  t.equal(stallCharge(SHORT_STALL_MS), SHORT_STALL_MS);
  t.equal(stallCharge(0.5), 1, 'twice as long: twice the weight');
  t.equal(stallCharge(1), 4);
  t.equal(stallCharge(2), 2 * MAX_WEIGHT, 'at most MAX_WEIGHT times');
  t.equal(stallCharge(100), 100 + MAX_EXTRA_MS, 'and never more than MAX_EXTRA_MS above its length');
  let last = 0;
  for (let cost = 0; cost < 200; cost += 0.05) {
    t.ok(stallCharge(cost) >= last && stallCharge(cost) >= cost, `never falls with length, never below it (${cost.toFixed(2)})`);
    last = stallCharge(cost);
  }
  // What an op costs in messages is not one stall: charged as it is.
  const scattered = new MainThreadBudget(0.1, 0);
  scattered.charge('a', 200, 0, 0.1); // exactly the bucket, and the messages
  t.equal(Math.round(scattered.delay('a', 0)), 101); // (10 + 0.1) ms owed at 0.1 ms per ms
});

t.test('the bucket does not grow while idle', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.charge('a', 0, 1_000_000);
  budget.charge('a', 230, 1_000_230); // charged 240
  t.equal(Math.round(budget.delay('a', 1_000_230)), 400); // only the 200 ms bucket was there
});

t.test('a share of 1 never waits', async (t) => {
  const budget = new MainThreadBudget(1, 0);
  budget.charge('a', 1000, 1);
  t.equal(budget.delay('a', 1), 0);
});

t.test('a flood against a busy app is paced far below the ceiling', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  let now = 0;
  let used = 0;
  for (let i = 0; i < 5000; i++) {
    budget.observe(0.45, now);
    now += budget.delay('a', now);
    now += 0.15;
    budget.charge('a', 0.15, now);
    used += 0.15;
    now += 0.1;
  }
  t.ok(Math.abs(used / now - allowedShare(0.45, 0.1)) < 0.002, `share ${(used / now).toFixed(4)}`);
});

t.test('sessions together: four sessions of long ops in an idle app take the share, not four times it', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  const sessions = ['a', 'b', 'c', 'd'];
  let now = 0;
  let busy = 0;
  // Each wants to run a 1.5 s op back to back; whoever may goes, first come first served.
  while (now < 120_000) {
    for (const name of sessions) budget.wants(name, true, now);
    const ready = sessions.find((name) => budget.delay(name, now) === 0);
    if (!ready) {
      now += Math.min(...sessions.map((name) => budget.delay(name, now)));
      continue;
    }
    now += 1500;
    busy += 1500;
    budget.charge(ready, 1500, now);
    if (now <= 15_000) t.ok(busy <= 1500 + 1500 * Math.floor(now / 15_000), `by ${now} ms one op ran per pause (${busy} ms)`);
  }
  t.ok(busy / now <= 0.11, `the four held the main thread ${((busy / now) * 100).toFixed(1)}% of the time`);
});

t.test('a session that ends takes its account with it', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.charge('gone', 5000, 5000);
  budget.wants('gone', true, 5000);
  budget.forget('gone');
  budget.charge('stays', 300, 5300);
  t.equal(Math.round(budget.delay('stays', 5300)), 1100, 'the one left has the whole share again');
});
