/**
 * The worker thread's entry: collects the heap Node's bootstrap of the worker left, then loads
 * the worker (worker.ts).
 *
 * A collection this early is what keeps V8's memory reducer from ever running in the worker:
 * it is armed only in an isolate that grew before its first full collection, and would then,
 * 8 s later, mark and collect the worker's heap again and again on the worker's and V8's helper
 * threads, taking CPU from the app (lib/quiet-heap.ts holds it off while Node bootstraps the
 * worker). Here the heap is small (Node's bootstrap alone): a few milliseconds of the worker's
 * thread, none of the main thread's.
 */
import { collectHeap } from './collect-heap.ts';

await collectHeap();
await import(new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href);
