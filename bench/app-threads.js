// @ts-check
// The CPU time of bench/app.js's threads, as it measures them: its main thread's, and the
// backdoor's worker's, from /proc where Linux has it.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The ids of this process's threads (Linux; none elsewhere).
 * @returns {string[]}
 */
export function threadIds() {
  try {
    return readdirSync('/proc/self/task');
  } catch {
    return [];
  }
}

/**
 * CPU time of one thread of this process, in ms, from /proc: schedstat's time on a CPU (ns),
 * else stat's utime + stime (in 1/100 s); NaN when neither can be read (not Linux, or the
 * thread has ended).
 * @param {string | number} tid
 */
export function threadCpuMs(tid) {
  try {
    return Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {}
  try {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

/**
 * The thread of the backdoor's worker: the one named after it (Node names its threads from 24),
 * else those that appeared since `before` (the threads before `startBackdoor()` ran): the worker
 * alone, unless Node runs module hooks (--import, as under tap) in a thread of their own for the
 * worker too.
 * @param {Set<string>} before
 * @returns {string[]}
 */
export function backdoorThreads(before) {
  const named = threadIds().filter((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'backdoor';
    } catch {
      return false;
    }
  });
  return named.length === 1 ? named : threadIds().filter((tid) => !before.has(tid));
}

/**
 * CPU time of this process's main thread alone, in ms: `process.threadCpuUsage()` where Node has
 * it (22 and 24 here: microseconds), else /proc (Node 20: nanoseconds from schedstat where the
 * kernel has it, else 10 ms resolution from stat). Event-loop
 * utilisation counts wall time, which on a busy 2-core machine includes the time the thread
 * waits for a core.
 */
export function mainThreadCpuMs() {
  // Not in Node 20's types.
  const { threadCpuUsage } = /** @type {{ threadCpuUsage?: () => NodeJS.CpuUsage }} */ (process);
  if (typeof threadCpuUsage === 'function') {
    const usage = threadCpuUsage.call(process);
    return (usage.user + usage.system) / 1000;
  }
  return threadCpuMs(process.pid);
}

/**
 * The CPU time of the backdoor's worker thread (`backdoorThreads`) since `since` (a thread's
 * time then, by tid), in ms; undefined when it cannot be read. A thread that has ended since
 * counts in the process's CPU time only.
 * @param {Map<string, number>} since
 */
export function workerCpuMsSince(since) {
  let sum = 0;
  let read = 0;
  for (const [tid, before] of since) {
    const ms = threadCpuMs(tid) - before;
    if (Number.isNaN(ms)) continue;
    sum += ms;
    read++;
  }
  return read > 0 ? sum : undefined;
}
