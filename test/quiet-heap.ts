import t from 'tap';
import v8 from 'node:v8';
import { holdMemoryReducer } from '../lib/quiet-heap.ts';

// V8 counts the flags that differ from their defaults in the tag of its code caches: what this
// test reads to see whether the small-heap reducer is off.
const tag = () => v8.cachedDataVersionTag();

t.test('the small-heap memory reducer is off while any hold lasts, and back once the last is released', async (t) => {
  const on = tag();
  const first = holdMemoryReducer();
  const off = tag();
  t.not(off, on, 'off while held');
  const second = holdMemoryReducer();
  first();
  first();
  t.equal(tag(), off, 'still off while another backdoor starts (a second release of the first does nothing)');
  second();
  t.equal(tag(), on, 'on again after the last');
  second();
  t.equal(tag(), on, 'and a late release changes nothing');
});

t.test('a process that names a memory-reducer flag itself keeps its own setting', async (t) => {
  const saved = process.env.NODE_OPTIONS;
  t.teardown(() => {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  });
  process.env.NODE_OPTIONS = `${saved ?? ''} --no-memory-reducer`;
  const on = tag();
  const release = holdMemoryReducer();
  t.equal(tag(), on, 'not touched');
  release();
  t.equal(tag(), on);
});
