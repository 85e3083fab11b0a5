/**
 * A full collection of the worker's own heap (V8's low-memory collection, asked through the
 * worker's own inspector session). Resolves when it is done, or at once where the inspector is
 * not available.
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
