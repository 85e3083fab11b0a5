// @ts-check
// Which CPUs the bench's threads run on. On Linux with two or more CPUs (and `taskset`, from
// util-linux): the app's main thread alone on the last CPU; everything else on the others: the
// app's other threads (the backdoor's worker, V8's and libuv's helpers), the load generator
// and the REPL clients.
//
// Why: what the bench measures is the app's main thread, and the generator is not free. It
// parses thousands of responses a second on its main thread, and that is where a response's
// time is taken. Left to the scheduler on a 2-core machine, the app's main thread and the
// generator's often want the same core, and each waits out the other's time slice (ms). The
// baseline's p99 then measures that: 2.1 ms median against 0.7 ms pinned, in 12 windows of
// 3 s on this project's machine, and it swung from 0.9 to 4.7 ms. A generator written in C
// needs little CPU, so the app had a core to itself there (the harness that issue 9 quotes:
// 0.2-0.35 ms). Everything the backdoor runs off the main thread shares the others' CPUs, as
// it would share the spare cores of a real machine; what it costs them is reported apart
// ("CPU per command ... other threads").
//
// Only under the HTTP load: in an idle app (its rows and the micro figures), the scheduler
// places every thread, and the backdoor's worker may use the core the main thread does not.
// Threads inherit their creator's CPUs: an app's threads made after it was placed (V8's
// profiler's sampling thread) share its main thread's.
import { execFileSync } from 'node:child_process';
import os from 'node:os';

/**
 * The plan: the main thread's CPU and the others', as `taskset` lists; undefined where the
 * bench cannot pin (one CPU, not Linux, no `taskset`), and everything runs where the
 * scheduler puts it.
 * @typedef {{ appMainCpu: string, otherCpus: string }} Affinity
 */

/** @returns {Affinity | undefined} */
function plan() {
  const count = os.availableParallelism();
  if (process.platform !== 'linux' || count < 2) return undefined;
  // The CPUs this process may use (a container may allow fewer than the machine has).
  let allowed;
  try {
    const text = execFileSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    allowed = expand(text.slice(text.lastIndexOf(':') + 1).trim());
  } catch {
    return undefined;
  }
  if (allowed.length < 2) return undefined;
  const appMain = allowed[allowed.length - 1];
  return { appMainCpu: String(appMain), otherCpus: allowed.slice(0, -1).join(',') };
}

/**
 * The CPUs of a `taskset` list ("0-2,5").
 * @param {string} list
 */
function expand(list) {
  return list.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from <= to)) throw new Error(`not a CPU list: ${list}`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

/** @param {string[]} args */
const taskset = (args) => execFileSync('taskset', args, { stdio: 'ignore', timeout: 10_000 });

const affinity = plan();

/**
 * Every thread of each process on the others' CPUs; the first one's main thread (its pid is its
 * id) then alone on its CPU.
 * @param {number} appPid
 * @param {number[]} helperPids
 */
export function placeUnderLoad(appPid, helperPids) {
  if (!affinity) return;
  for (const pid of [appPid, ...helperPids]) taskset(['-apc', affinity.otherCpus, String(pid)]);
  taskset(['-pc', affinity.appMainCpu, String(appPid)]);
}

/**
 * Every thread of each process on any of the CPUs again.
 * @param {number[]} pids
 */
export function placeFreely(pids) {
  if (!affinity) return;
  for (const pid of pids) taskset(['-apc', `${affinity.otherCpus},${affinity.appMainCpu}`, String(pid)]);
}

/** What the report says of it. */
export function describeAffinity() {
  return affinity
    ? `under the HTTP load, the app's main thread alone on CPU ${affinity.appMainCpu}, everything else (its other threads, the load generator, the clients) on CPU ${affinity.otherCpus}`
    : 'no CPU pinning (one CPU, or no taskset)';
}
