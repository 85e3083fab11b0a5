import t from 'tap';
import { allowedShare, MainThreadBudget, MAX_EXTRA_MS, MAX_WEIGHT, MIN_SHARE, SHORT_STALL_MS, stallCharge } from '../workers/budget.ts';

t.test('an occasional command goes at once', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  t.equal(budget.delay(0), 0);
  budget.charge(1.5, 1); // within the 10 ms burst, at 5x (7.5 ms)
  t.equal(budget.delay(1), 0);
});

t.test('a command that overdraws makes the next one wait until the share is paid back', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.charge(50, 50); // a 50 ms command from t=0 to 50 (charged 60), against the full 10 ms burst
  t.equal(Math.round(budget.delay(50)), 500); // 50 ms owed, paid back at 0.1 ms per ms
  t.equal(Math.round(budget.delay(200)), 350);
  t.equal(budget.delay(550), 0);
});

t.test('a flood of short commands is paced to the share, however short', async (t) => {
  for (const cost of [0.05, 0.15, SHORT_STALL_MS]) {
    const budget = new MainThreadBudget(0.1, 0);
    let now = 0;
    let used = 0;
    for (let i = 0; i < 5000; i++) {
      now += budget.delay(now); // wait as told
      now += cost; // the command runs
      budget.charge(cost, now);
      used += cost;
      now += 0.1; // the round trip to the worker
    }
    t.ok(Math.abs(used / now - 0.1) < 0.005, `cost ${cost} ms: share ${(used / now).toFixed(4)}`);
  }
});

t.test('a long command is charged by its length: the longer a stall, the more of the app\'s requests it holds, and the longer', async (t) => {
  t.equal(stallCharge(0.1), 0.1, 'shorter than a request\'s own jitter: as it is');
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
  // A flood of 1 ms commands gets a quarter of the commands through that the share alone would.
  const budget = new MainThreadBudget(0.1, 0);
  let now = 0;
  let used = 0;
  for (let i = 0; i < 2000; i++) {
    now += budget.delay(now);
    now += 1;
    budget.charge(1, now);
    used += 1;
  }
  t.ok(Math.abs(used / now - 0.1 / 4) < 0.002, `share ${(used / now).toFixed(4)}`);
  // What a command costs in messages is not one stall: charged as it is.
  const scattered = new MainThreadBudget(0.1, 0, 0);
  scattered.charge(0.2, 0, 0.1);
  t.equal(Math.round(scattered.delay(0)), 3);
});

t.test('the burst does not grow while idle', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.charge(0, 1_000_000);
  budget.charge(30, 1_000_030); // charged 40
  t.equal(Math.round(budget.delay(1_000_030)), 300); // only the 10 ms burst was there
});

t.test('a share of 1 never waits', async (t) => {
  const budget = new MainThreadBudget(1, 0);
  budget.charge(1000, 1);
  t.equal(budget.delay(1), 0);
});

t.test('the share follows the app\'s own load: unpaced when idle, the ceiling when light, far below it when busy', async (t) => {
  t.equal(allowedShare(0, 0.1), 1, 'idle: no pacing');
  t.equal(allowedShare(0.04, 0.1), 1);
  t.equal(allowedShare(0.05, 0.1), 0.1, 'light: the ceiling');
  t.ok(Math.abs(allowedShare(0.25, 0.1) - 0.005) < 1e-9, `25%: a twentieth of the ceiling (${allowedShare(0.25, 0.1)})`);
  t.ok(allowedShare(0.15, 0.1) < 0.1 && allowedShare(0.15, 0.1) > 0.005);
  t.equal(allowedShare(0.4, 0.1), MIN_SHARE, '40%: the floor');
  t.equal(allowedShare(0.99, 0.1), MIN_SHARE, 'never below the floor');
  t.equal(allowedShare(Number.NaN, 0.1), 0.1, 'not known: the ceiling');
  t.equal(allowedShare(0.9, 1), 1, 'a ceiling of 1 never paces');
  let last = 1;
  for (let load = 0; load <= 1; load += 0.01) {
    const share = allowedShare(load, 0.3);
    t.ok(share <= last + 1e-12, `never rises with load (${load.toFixed(2)})`);
    last = share;
  }
});

t.test('a runaway command in an idle app leaves no debt: the next command goes at once', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.observe(0.3, 0); // the app was busy...
  budget.charge(2000, 2000); // ...a 2 s command, stopped by evalTimeoutMs
  t.ok(budget.delay(2000) > 10_000, 'busy: paid back first');
  budget.observe(0.01, 2000); // its reply says the app itself is idle
  t.equal(budget.delay(2000), 0);
});

t.test('a flood against a busy app is paced far below the ceiling', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  let now = 0;
  let used = 0;
  for (let i = 0; i < 5000; i++) {
    budget.observe(0.45, now);
    now += budget.delay(now);
    now += 0.15;
    budget.charge(0.15, now);
    used += 0.15;
    now += 0.1;
  }
  t.ok(Math.abs(used / now - allowedShare(0.45, 0.1)) < 0.002, `share ${(used / now).toFixed(4)}`);
});
