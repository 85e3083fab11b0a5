// @ts-check
// HTTP load from its own process (forked by bench/run.js, driven over IPC).
//
// Why not autocannon: its `-R` rate limit sends each second's requests in one burst and it
// records whole milliseconds, so it can neither hold a steady rate nor see the sub-millisecond
// differences measured here. This generator is open loop: request i is due at start + i/rate,
// whatever happened to the earlier ones (coordinated omission corrected, as in wrk2), and
// latency is in nanoseconds. Each request is written at its due time, without spinning a core:
// by a worker thread, the clock (bench/load-clock.js, which says how), on a free keep-alive
// connection (one request in flight on each); this thread reads the responses. What the
// generator itself is late by (from the due time to the write, or to the moment it finds every
// connection busy) is measured per request and reported beside the latencies, which count from
// there: a request that waits for a free connection (the app falling behind) is charged to
// the app, the generator's own lateness is not.
import net from 'node:net';
import { createHistogram } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { BUSY, CLOSED, FREE, REQUEST, claim } from './load-clock.js';
import { linkToParent } from './parent.js';
/** @import { LoadClockMessage, LoadClockRun, LoadClockTuning, LoadReply, LoadRequest, LoadResult } from './messages/load.ts' */

/**
 * A keep-alive connection: `busy` while its request is in flight (of the closed-loop capacity
 * run; the open loop keeps its connections' state in shared memory, for its clock); `index`
 * its place among the run's connections; `buffer` what has arrived of its response.
 * @typedef {{ socket: net.Socket, index: number, busy: boolean, buffer: string }} Connection
 */

// The clock, for the life of this process (runs are one at a time).
const clock = new Worker(new URL('./load-clock.js', import.meta.url), { name: 'load-clock' });
const clockOnline = new Promise((resolve) => clock.once('online', resolve));
clock.unref();
clock.on('error', (error) => {
  process.stderr.write(`bench/load.js: its clock failed: ${error.stack ?? error}\n`);
  process.exit(1);
});

/**
 * Opens `count` keep-alive connections; `onResponse(conn)` is called per complete response.
 * @param {number} port
 * @param {number} count
 * @param {(conn: Connection) => void} onResponse
 */
async function connect(port, count, onResponse) {
  /** @type {Connection[]} */
  const connections = [];
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    /** @type {Connection} */
    const conn = { socket, index: i, busy: false, buffer: '' };
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => {
      conn.buffer += chunk;
      for (;;) {
        const end = conn.buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const length = Number(/content-length: (\d+)/i.exec(conn.buffer.slice(0, end))?.[1] ?? 0);
        if (conn.buffer.length < end + 4 + length) return;
        conn.buffer = conn.buffer.slice(end + 4 + length);
        conn.busy = false;
        onResponse(conn);
      }
    });
    socket.on('error', () => {});
    connections.push(conn);
  }
  return connections;
}

/**
 * Closed loop, as fast as the app answers: its capacity in requests per second.
 * @param {Extract<LoadRequest, { cmd: 'capacity' }>} request
 * @returns {Promise<{ rate: number }>}
 */
async function capacity({ port, connections: count, durationMs }) {
  let done = 0;
  let stop = false;
  const send = (/** @type {Connection} */ conn) => {
    if (stop) return;
    conn.busy = true;
    conn.socket.write(REQUEST);
  };
  const connections = await connect(port, count, (conn) => {
    done++;
    send(conn);
  });
  const start = process.hrtime.bigint();
  connections.forEach(send);
  await new Promise((resolve) => setTimeout(resolve, durationMs));
  stop = true;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  for (const c of connections) c.socket.destroy();
  return { rate: done / seconds };
}

/**
 * The file descriptor of a connected TCP socket, for the clock to write to; -1 where Node does
 * not show it (Windows). (`_handle` is Node's internal stream handle: not in its types.)
 * @param {net.Socket} socket
 */
function fdOf(socket) {
  const handle = /** @type {{ _handle?: { fd?: number } }} */ (/** @type {unknown} */ (socket))._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : -1;
}

/**
 * Open loop at `rate` requests per second for `durationMs`.
 * @param {Extract<LoadRequest, { cmd: 'run' }>} request
 * @returns {Promise<LoadResult>}
 */
async function run({ port, rate, connections: count, durationMs }) {
  // Bounded: a finite number of requests (not an endless loop on a rate of Infinity or NaN).
  if (!(rate > 0 && Number.isFinite(rate) && durationMs >= 0 && Number.isFinite(durationMs))) {
    throw new RangeError(`bad load: ${rate} req/s for ${durationMs} ms`);
  }
  const histogram = createHistogram();
  // The generator's own lateness (bench/load-clock.js records most of it; this thread, that of
  // the requests the clock could not write).
  const lateness = createHistogram();
  // Each connection's FREE, BUSY or CLOSED, and the time its request's latency counts from.
  const state = new Int32Array(new SharedArrayBuffer(4 * count));
  const from = new BigInt64Array(new SharedArrayBuffer(8 * count));
  /** @type {bigint[]} */
  const queue = []; // requests due and not sent yet (no free connection): the times their latencies count from
  let completed = 0;
  let errors = 0;
  let waitedForConnection = 0;
  /** @type {Connection[]} */
  const connections = [];
  const write = (/** @type {number} */ conn, /** @type {bigint} */ since) => {
    Atomics.store(from, conn, since);
    connections[conn].socket.write(REQUEST);
  };
  /** Writes a request on a free connection, or queues it. */
  const sendOrQueue = (/** @type {bigint} */ since) => {
    const conn = claim(state);
    if (conn === -1) queue.push(since);
    else write(conn, since);
  };
  connections.push(
    ...(await connect(port, count, (conn) => {
      const { index } = conn;
      histogram.record(Math.max(1, Number(process.hrtime.bigint() - Atomics.load(from, index))));
      completed++;
      // The connection stays BUSY with the next request waiting, if any; else it is free again.
      const next = queue.shift();
      if (next !== undefined) write(index, next);
      else Atomics.store(state, index, FREE);
    })),
  );
  // A connection that closes during the run leaves the pool; a request it was serving goes to
  // another one, timed from where it was timed from still (never lost from the count).
  let finished = false;
  connections.forEach((conn, index) => {
    conn.socket.on('close', () => {
      if (finished) return;
      errors++;
      if (Atomics.exchange(state, index, CLOSED) === BUSY) sendOrQueue(Atomics.load(from, index));
    });
  });
  await clockOnline;
  /** @type {LoadClockRun} */
  const schedule = {
    // A little ahead, for the clock to get the message.
    startNs: process.hrtime.bigint() + 2_000_000n,
    intervalNs: 1e9 / rate,
    total: Math.round((rate * durationMs) / 1000),
    fds: connections.map((c) => fdOf(c.socket)),
    state: /** @type {SharedArrayBuffer} */ (state.buffer),
    from: /** @type {SharedArrayBuffer} */ (from.buffer),
  };
  const { issued, tuning } = await /** @type {Promise<{ issued: number, tuning: LoadClockTuning }>} */ (
    new Promise((resolve) => {
      const onMessage = (/** @type {LoadClockMessage} */ message) => {
        if (message.cmd === 'wait') {
          waitedForConnection++;
          sendOrQueue(message.from);
        } else if (message.cmd === 'send') {
          const now = process.hrtime.bigint();
          lateness.record(Math.max(1, Number(now - message.due)));
          sendOrQueue(now);
        } else {
          lateness.add(message.lateness);
          clock.off('message', onMessage);
          resolve(message);
        }
      };
      clock.on('message', onMessage);
      clock.postMessage(schedule);
    })
  );
  // Let the last requests finish (bounded).
  const deadline = Date.now() + 2000;
  while (completed < issued && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = Number(process.hrtime.bigint() - schedule.startNs) / 1e9;
  finished = true;
  for (const c of connections) c.socket.destroy();
  const us = (/** @type {number} */ p) => histogram.percentile(p) / 1000;
  return {
    sent: issued,
    completed,
    errors,
    achievedRate: completed / seconds,
    p50Us: us(50),
    p90Us: us(90),
    p99Us: us(99),
    p999Us: us(99.9),
    maxUs: histogram.max / 1000,
    lateP50Us: lateness.percentile(50) / 1000,
    lateP99Us: lateness.percentile(99) / 1000,
    lateMaxUs: lateness.max / 1000,
    waitedForConnection,
    clock: tuning,
  };
}

/** @type {(message: LoadReply) => void} */
const reply = linkToParent(async (/** @type {LoadRequest} */ message) => {
  if (message.cmd === 'capacity') reply({ cmd: 'capacity-result', result: await capacity(message) });
  else reply({ cmd: 'result', result: await run(message) });
});
