import t from 'tap';
import { MainThreadBudget } from '../workers/budget.ts';

t.test('an occasional command goes at once', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  t.equal(budget.delay(0), 0);
  budget.charge(5, 1); // within the 10 ms burst
  t.equal(budget.delay(1), 0);
});

t.test('a command that overdraws makes the next one wait until the share is paid back', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.charge(50, 50); // a 50 ms command from t=0 to 50, against the full 10 ms burst
  t.equal(Math.round(budget.delay(50)), 400); // 40 ms owed, paid back at 0.1 ms per ms
  t.equal(Math.round(budget.delay(200)), 250);
  t.equal(budget.delay(450), 0);
});

t.test('a flood is paced to the share, however the commands come', async (t) => {
  for (const cost of [0.05, 1.2, 7]) {
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

t.test('the burst does not grow while idle', async (t) => {
  const budget = new MainThreadBudget(0.1, 0);
  budget.charge(0, 1_000_000);
  budget.charge(30, 1_000_030);
  t.equal(Math.round(budget.delay(1_000_030)), 200); // only the 10 ms burst was there
});

t.test('a share of 1 never waits', async (t) => {
  const budget = new MainThreadBudget(1, 0);
  budget.charge(1000, 1);
  t.equal(budget.delay(1), 0);
});
