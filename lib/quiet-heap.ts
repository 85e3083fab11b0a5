/**
 * V8's memory reducer, kept away from the backdoor's worker while it starts.
 *
 * An isolate whose old generation grows by 1 MB before its first full collection arms V8's
 * "memory reducer for small heaps": 8 s later, if the isolate is quiet, V8 marks its heap
 * incrementally (and on its helper threads) and collects it fully, up to three times. Starting
 * the worker (Node's bootstrap of a worker, then our modules) always arms it, so every started
 * backdoor spent about 60 ms of CPU, on the worker and V8's helper threads, 8 s into its life
 * with nobody connected: on a 2-core machine, CPU taken from the app at a moment nobody chose
 * (`node --trace-gc`; bench/: the "backdoor, no session" row). The worker's heap is a few
 * megabytes and has nothing to give back.
 *
 * V8 has that switch only for the whole process (`v8.setFlagsFromString`; a worker's execArgv
 * takes no V8 flags), so it is off only while a backdoor starts: from before its worker is made
 * until the worker has had its first full collection (workers/collect-heap.ts, once it listens),
 * after which V8 can no longer arm it there. An isolate of the app's that grows in that window
 * (its main thread, another worker) only skips that one early idle collection.
 * V8 counts flags that differ from their defaults in the tag of its code caches, so code cache
 * data made or read in that window (a `vm.Script`'s `cachedData`, Node's compile cache) does not
 * match data of the rest of the time: it is rejected, and the code compiled again, no more.
 * (A worker whose heap is still over 10 MB after that collection, as under a coverage tool's
 * inspector session, has the reducer armed again by V8, as any isolate that size.)
 * Nothing is touched when the app names a memory-reducer flag itself: its value cannot be read
 * back, so it could not be put back.
 */
import v8 from 'node:v8';

const FLAG = 'memory-reducer-for-small-heaps';

/** Backdoors starting now (the flag is off while there is one). */
let starting = 0;

/** Whether the process was started with a flag of its own about V8's memory reducer. */
function appChoseReducer(): boolean {
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => /memory[-_]reducer/.test(arg));
}

/**
 * Turns the small-heap memory reducer off until the returned function is called (once is
 * enough; more calls do nothing). Nested holds keep it off until the last is released.
 */
export function holdMemoryReducer(): () => void {
  if (appChoseReducer() || (starting === 0 && !set(false))) return () => {};
  starting++;
  let held = true;
  return () => {
    if (!held) return;
    held = false;
    if (--starting === 0) set(true);
  };
}

/** Sets the flag; false if V8 would not take it. */
function set(on: boolean): boolean {
  try {
    v8.setFlagsFromString(on ? `--${FLAG}` : `--no-${FLAG}`);
    return true;
  } catch {
    return false;
  }
}
