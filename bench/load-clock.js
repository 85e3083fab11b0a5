// @ts-check
// The load generator's clock: a worker thread of bench/load.js that sleeps until each request's
// due time and then writes it itself, on a free keep-alive connection.
//
// Why a thread of its own: a timer of the load's main thread wakes at best once a millisecond,
// and finer waking there would need a spinning core, which a 2-core machine cannot spare. This
// thread blocks in `Atomics.wait` instead, whose timeout is a futex wait to the microsecond, and
// uses no CPU while it waits. Three things make such a wait end late: the thread's timer slack
// (50 us by default, so that timers coalesce), which this thread sets to 1 ns where Linux lets
// it (/proc/<tid>/timerslack_ns); the wake-up itself, a few tens of microseconds in a virtual
// machine, which it learns: it wakes up that much early (`waitUntil`), and polls the clock for
// the few microseconds left, if any; and the wait for a core, when the app's threads (and the
// load's main thread) have both: Linux's scheduler lets a woken thread wait for the running
// one's time slice, milliseconds, even at a higher priority. So this thread asks for the
// real-time policy SCHED_FIFO (priority 1, with `chrt`; it needs CAP_SYS_NICE, as root has),
// which preempts the others at once, as a network card's interrupt would preempt the app to
// deliver a remote client's request; else a higher priority (nice -10; the same privilege).
// Its time is short and bounded (a write, a poll of at most 100 us), and Linux keeps 5% of
// each second from real-time threads anyway. Without them, its lateness is higher: each run
// reports what it had (LoadResult's `clock`).
//
// Why it writes the requests itself: waking the main thread to write them (a message) costs a
// second wake-up, of a thread often asleep on the other core, which in a virtual machine takes
// tens to hundreds of microseconds more. The main thread owns the sockets and reads the
// responses; this thread writes a request to a socket's file descriptor (a write(2) of a few
// bytes, which a socket with nothing in flight takes at once) once it has claimed the
// connection: each connection's state, shared, is FREE, BUSY (one request in flight, written by
// whichever thread claimed it) or CLOSED, changed by compare-and-swap, so that the two threads
// never write to one connection at once. A request's latency counts from the time stored
// beside it, set before the write.
//
// What it tells the main thread (messages, LoadClockMessage): a request that found every
// connection busy (`wait`: the main thread writes it when one is free; that wait is the app's),
// or one it could not write (`send`: no file descriptor, or the write failed); and at the end
// (`done`) its histogram of lateness: from each request's due time to its write, or to the
// moment it found every connection busy.
import { readFileSync, readlinkSync, writeFileSync, writeSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { createHistogram } from 'node:perf_hooks';
import { isMainThread, parentPort } from 'node:worker_threads';
/** @import { LoadClockMessage, LoadClockRun, LoadClockTuning } from './messages/load.ts' */

export const FREE = 0;
export const BUSY = 1;
export const CLOSED = 2;
export const REQUEST = 'GET / HTTP/1.1\r\nHost: bench\r\n\r\n';

/**
 * Request `i`'s due time (the same on both threads).
 * @param {LoadClockRun} run
 * @param {number} i
 */
export const dueAt = (run, i) => run.startNs + BigInt(Math.round(i * run.intervalNs));

/**
 * Claims a free connection (FREE to BUSY); its index, or -1 when every one is busy or closed.
 * @param {Int32Array} state
 */
export function claim(state) {
  for (let i = 0; i < state.length; i++) if (Atomics.compareExchange(state, i, FREE, BUSY) === FREE) return i;
  return -1;
}

/**
 * Writes the request to `fd`: the bytes written, 0 when there is no file descriptor or the write
 * failed (a closed socket; a full one, which a socket with nothing in flight is not).
 * @param {number} fd
 */
function write(fd) {
  if (fd < 0) return 0;
  try {
    return writeSync(fd, REQUEST);
  } catch {
    return 0;
  }
}

// As a worker only: bench/load.js imports the above.
if (!isMainThread && parentPort) {
  const port = parentPort;
  const post = (/** @type {LoadClockMessage} */ message) => port.postMessage(message);
  /** @type {LoadClockTuning} */
  const tuning = {};
  try {
    // /proc/thread-self is <pid>/task/<tid>; the slack is in /proc/<tid>, and a tid is what
    // setpriority(2) takes for one thread on Linux.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    try {
      writeFileSync(`/proc/${tid}/timerslack_ns`, '1');
    } catch {
      // Not allowed: the default slack.
    }
    tuning.timerSlackNs = Number(readFileSync(`/proc/${tid}/timerslack_ns`, 'utf8'));
    try {
      execFileSync('chrt', ['--fifo', '--pid', '1', String(tid)], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // No chrt, or not allowed.
    }
    // /proc/<tid>/stat's 41st field, the policy: 1 is SCHED_FIFO.
    const stat = readFileSync(`/proc/${tid}/stat`, 'utf8');
    tuning.realTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38] === '1';
    if (!tuning.realTime) {
      try {
        os.setPriority(tid, -10);
      } catch {
        // Not allowed: the default priority.
      }
    }
    tuning.nice = os.getPriority(tid);
  } catch {
    // Not Linux.
  }
  // What this thread sleeps on: nothing ever notifies it, the waits time out.
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  // How long before a due time to wake up, in ns: about the 10th percentile of how late the
  // recent wake-ups were (a stochastic estimate, each one moving it by a step), at most 100 us.
  // Waking up ends past the time asked for by a few tens of microseconds in a virtual machine
  // (the timer's interrupt, the wake-up); so most wake-ups end at or just past the due time,
  // and the rest a little before it, whose remaining microseconds this thread polls the clock
  // for.
  let leadNs = 0;
  const maxLeadNs = 100_000;
  const stepNs = 5_000;
  /**
   * Returns at `due` or just past it (bounded: a wait ends by then, or early on a spurious
   * wake-up; the polling lasts at most `leadNs`).
   * @param {bigint} due
   */
  const waitUntil = (due) => {
    for (let pass = 0; pass < 1000; pass++) {
      const now = process.hrtime.bigint();
      const leftNs = Number(due - now);
      if (leftNs <= 0) return;
      if (leftNs <= leadNs) break;
      const sleepNs = leftNs - leadNs;
      Atomics.wait(sleeper, 0, 0, sleepNs / 1e6);
      const overNs = Number(process.hrtime.bigint() - now) - sleepNs;
      leadNs = Math.min(maxLeadNs, Math.max(0, leadNs + (overNs < leadNs ? -0.9 : 0.1) * stepNs));
    }
    for (let poll = 0; poll < 1_000_000 && process.hrtime.bigint() < due; poll++);
  };
  port.on('message', (/** @type {LoadClockRun} */ run) => {
    const state = new Int32Array(run.state);
    const from = new BigInt64Array(run.from);
    const lateness = createHistogram();
    let issued = 0;
    while (issued < run.total) {
      const due = dueAt(run, issued);
      waitUntil(due);
      issued++;
      const conn = claim(state);
      const now = process.hrtime.bigint();
      if (conn === -1) {
        lateness.record(Math.max(1, Number(now - due)));
        post({ cmd: 'wait', from: now });
        continue;
      }
      Atomics.store(from, conn, now);
      const written = write(run.fds[conn]);
      if (written === REQUEST.length) {
        lateness.record(Math.max(1, Number(now - due)));
        continue;
      }
      if (written > 0) throw new Error(`bench/load.js's clock wrote ${written} bytes of a request of ${REQUEST.length}`);
      // Not written: unless the main thread has closed the connection meanwhile (and sends its
      // request again, from `from`), it is free again, and the main thread writes this request.
      if (Atomics.compareExchange(state, conn, BUSY, FREE) === BUSY) post({ cmd: 'send', due });
    }
    post({ cmd: 'done', issued, lateness, tuning });
  });
}
