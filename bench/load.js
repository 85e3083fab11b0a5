// @ts-check
// HTTP load from its own process (forked by bench/run.js, driven over IPC).
//
// Why not autocannon: its `-R` rate limit sends each second's requests in one burst and it
// records whole milliseconds, so it can neither hold a steady rate nor see the sub-millisecond
// differences measured here. This generator is open loop: request i is due at start + i/rate,
// whatever happened to the earlier ones (coordinated omission corrected, as in wrk2), and
// latency is in nanoseconds. It wakes once a millisecond (a finer timer would need a spinning
// core, which a 2-core machine cannot spare) and queues the requests that fell due since;
// each one's latency counts from that wake-up, not from its exact due time, so that the
// generator's own timer granularity is not charged to the app, while a request that waits
// for a free connection (the app falling behind) is. Keep-alive connections, one request in
// flight on each.
import net from 'node:net';
import { createHistogram } from 'node:perf_hooks';
import { linkToParent } from './parent.js';
/** @import { LoadReply, LoadRequest, LoadResult } from './messages.ts' */

/**
 * A keep-alive connection: `busy` while its request is in flight; `due` is that request's due
 * time (hrtime, ns); `buffer` what has arrived of its response.
 * @typedef {{ socket: net.Socket, busy: boolean, due: bigint, buffer: string }} Connection
 */

const REQUEST = 'GET / HTTP/1.1\r\nHost: bench\r\n\r\n';

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
    const conn = { socket, busy: false, due: 0n, buffer: '' };
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
  connections.forEach((c) => c.socket.destroy());
  return { rate: done / seconds };
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
  /** @type {bigint[]} */
  const queue = []; // due times of requests not yet sent
  let completed = 0;
  let errors = 0;
  const send = (/** @type {Connection} */ conn) => {
    if (conn.socket.destroyed) return;
    const due = queue.shift();
    if (due === undefined) return;
    conn.busy = true;
    conn.due = due;
    conn.socket.write(REQUEST);
  };
  const connections = await connect(port, count, (conn) => {
    histogram.record(Math.max(1, Number(process.hrtime.bigint() - conn.due)));
    completed++;
    send(conn);
  });
  // A connection that closes leaves the pool; a request it was serving goes to another one,
  // timed from its due time still (never lost from the count).
  for (const conn of connections) {
    conn.socket.on('close', () => {
      errors++;
      const at = connections.indexOf(conn);
      if (at !== -1) connections.splice(at, 1);
      if (conn.busy) queue.unshift(conn.due);
      conn.busy = false;
    });
  }
  const interval = 1e9 / rate;
  const start = process.hrtime.bigint();
  const total = Math.round((rate * durationMs) / 1000);
  let issued = 0;
  await /** @type {Promise<void>} */ (new Promise((resolve) => {
    const tick = () => {
      const now = process.hrtime.bigint();
      const due = Math.min(total, Math.floor(Number(now - start) / interval) + 1);
      for (; issued < due; issued++) queue.push(now);
      for (const conn of connections) if (!conn.busy && queue.length > 0) send(conn);
      if (issued < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  }));
  // Let the last requests finish (bounded).
  const deadline = Date.now() + 2000;
  while (completed < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  connections.forEach((c) => c.socket.destroy());
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
  };
}

/** @type {(message: LoadReply) => void} */
const reply = linkToParent(async (/** @type {LoadRequest} */ message) => {
  if (message.cmd === 'capacity') reply({ cmd: 'capacity-result', result: await capacity(message) });
  else reply({ cmd: 'result', result: await run(message) });
});
