/**
 * A full collection of the worker's own heap (V8's low-memory collection, asked through the
 * worker's own inspector session), done once the worker listens: an isolate that has had one can
 * no longer arm V8's memory reducer, which would otherwise collect the worker's heap again and
 * again 8 s after every start, with nobody connected (lib/quiet-heap.ts). About 15-30 ms of the
 * worker's thread, none of the main thread's. Resolves when it is done, or at once where the
 * inspector is not available.
 */
import inspector from 'node:inspector';

export function collectHeap(): Promise<void> {
  if (!process.features.inspector) return Promise.resolve();
  let session: inspector.Session;
  try {
    session = new inspector.Session();
    session.connect();
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    // Disconnected on a later turn, never from within the callback: V8 calls it holding a lock
    // that disconnecting takes again (the thread would wait for itself for ever).
    const end = () =>
      setImmediate(() => {
        try {
          session.disconnect();
        } catch {
          // already gone
        }
        resolve();
      });
    try {
      session.post('HeapProfiler.collectGarbage', end);
    } catch {
      end();
    }
  });
}
