import t from 'tap';
import { RateLimit } from '../workers/rate-limit.ts';

t.test('a burst passes, then one per refill interval; what is refused is counted once', async (t) => {
  const limit = new RateLimit(3, 10, 0); // 3 at once, 10 per second: one per 100 ms
  t.same([limit.take(0), limit.take(0), limit.take(0), limit.take(0), limit.take(50)], [true, true, true, false, false]);
  t.equal(limit.takeDropped(), 2);
  t.equal(limit.takeDropped(), 0, 'counted once');
  t.equal(limit.take(150), true, 'refilled after 100 ms');
  t.equal(limit.take(150), false);
  // A long quiet spell refills the burst, no more.
  t.same([limit.take(10_000), limit.take(10_000), limit.take(10_000), limit.take(10_000)], [true, true, true, false]);
});
