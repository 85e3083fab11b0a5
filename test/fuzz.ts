// Thousands of random byte strings (telnet commands, NUL, invalid UTF-8, huge lines with and
// without newlines, random pauses) over many connections at once, against an app in its own
// process; then the app must still serve, a normal session must work, and memory must be back
// near where it started.
import fc from 'fast-check';
import http from 'node:http';
import net from 'node:net';
import t from 'tap';
import { classifyInput } from '../workers/input/input.ts';
import { startApp } from './fixtures/child.ts';
import { TestClient, withoutWaitNotices } from './fixtures/client.ts';

const get = (port: number, path = '/') =>
  new Promise<string>((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve(body));
      })
      .on('error', reject);
  });

const IAC = 255;
const chunk = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 120 }).map((s) => Buffer.from(`${s}\n`)) },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom([IAC, 244], [IAC, 253, 6], [IAC, 251, 31], [IAC, 250, 31, 0, 80, 0, 24, IAC, 240], [IAC, 250, 24], [IAC, IAC], [IAC, 236], [13, 0], [13, 10], [0], [0xc3], [0xff, 0xfe], [0xed, 0xa0, 0x80], [4, 10])
      .map((bytes) => Uint8Array.from(bytes)),
  },
  { weight: 1, arbitrary: fc.constantFrom('function f() {\n', '`template\n', '.help\n', '.clear\n', '{\n', '1+1\n', 'await 1\n').map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: fc.integer({ min: 70_000, max: 300_000 }).map((n) => Buffer.alloc(n, 0x61)) }, // past maxInputBytes, no newline
);
const script = fc.array(fc.tuple(chunk, fc.integer({ min: 0, max: 3 })), { minLength: 40, maxLength: 100 });

/** Sends each chunk, with a pause of 0-3 ms between them, then closes abruptly or nicely (and resets after 2 s). */
async function play(port: number, steps: [Uint8Array, number][], abrupt: boolean): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('data', () => {}); // read (and drop) whatever comes back
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  for (const [bytes, pause] of steps) {
    if (socket.destroyed) break;
    socket.write(bytes);
    if (pause) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  if (abrupt) socket.resetAndDestroy();
  else socket.end();
  const closed = await new Promise((resolve) => {
    socket.once('close', () => resolve(true));
    setTimeout(() => resolve(false), 2000);
  });
  // A half-closed session runs the rest of its input (as for `printf ... | nc`), at the budget's
  // pace: 48 sessions' contexts and errors (1-3 ms each) make the app's own load read 5-12%
  // (their collection, gc() on /memory), so the commands are paced and most sessions are still
  // running 2 s on, filling maxSessions (64). A client that will not wait leaves for good.
  if (!closed) socket.resetAndDestroy();
}

/**
 * Whether the backdoor comes to have no session but the one asking (its `.stats` counts them),
 * asked again until it does (bounded); that one is then ended too.
 */
async function allEnded(port: number): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const client = await TestClient.connect({ port });
    // (Refused while every place is taken: no prompt, then.)
    const stats = await client
      .ready()
      .then(() => client.eval('.stats', 10_000))
      .catch(() => '');
    client.send('.exit\n');
    await client.waitClosed().catch(() => {});
    client.destroy();
    if (/^worker: 1 session\(s\)/m.test(stats)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

t.test('fuzz: random bytes over 3 x 48 connections harm neither the app nor the next session', async (t) => {
  // One malloc arena per thread at most: freed memory is then reused rather than spread over
  // arenas whose pages stay in rss, which would make rss between waves noise, not a leak.
  const app = await startApp(t, 'fuzz-app.mjs', ['--expose-gc', '--max-semi-space-size=1'], { MALLOC_ARENA_MAX: '2' });
  const port = Number(/backdoor (\d+)/.exec(app.stdout())![1]);
  const warm = await TestClient.connect({ port });
  await warm.ready();
  await warm.eval('1+1');
  warm.destroy();
  const before = JSON.parse(await get(app.httpPort, '/memory'));

  // Three waves: the last must leave memory no higher than the highest the others left (nothing
  // accumulates). Not the first against the second: rss still settles in the first waves (CI on
  // Node 24 saw 116, then 153 MB; five waves run alone, 128-136 and 121-136 MB).
  const memory: { rss: number; heapUsed: number }[] = [];
  for (const seed of (process.env.FUZZ_SEEDS ?? '20261125,4242,7').split(',').map(Number)) {
    const scripts = fc.sample(script, { numRuns: 48, seed });
    const chunks = scripts.reduce((n, steps) => n + steps.length, 0);
    t.ok(chunks >= 2000, `${chunks} random chunks`);
    await Promise.all(scripts.map((steps, i) => play(port, steps, i % 3 === 0)));
    t.ok(await allEnded(port), "the wave's sessions have all ended");
    memory.push(JSON.parse(await get(app.httpPort, '/memory')));
  }

  t.equal(await get(app.httpPort), 'ok\n', 'the app still serves');
  const client = await TestClient.connect({ port });
  t.teardown(() => client.destroy());
  await client.ready(); // the fuzzing sessions have all ended: a place is free
  // (The app's own load after the waves, its gc() included, may make the budget hold it a
  // while: then it says so first.)
  t.equal(withoutWaitNotices(await client.eval('6*7', 30_000)), '42', 'a normal session works');
  client.send('.exit\n');
  await client.waitClosed();
  t.ok(await allEnded(port), 'and it has ended');
  const after = JSON.parse(await get(app.httpPort, '/memory'));
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  t.ok(after.heapUsed - before.heapUsed < 8 * 2 ** 20, `main heap ${mb(before.heapUsed)} -> ${mb(after.heapUsed)} MB`);
  t.ok(after.rss - before.rss < 96 * 2 ** 20, `rss ${mb(before.rss)} -> ${mb(after.rss)} MB`);
  const settled = Math.max(...memory.slice(0, -1).map((m) => m.rss));
  t.ok(memory.at(-1)!.rss - settled < 32 * 2 ** 20, `rss after each wave: ${memory.map((m) => mb(m.rss)).join(', ')} MB`);
  t.equal(app.process.exitCode, null, 'never crashed');
});

t.test('property: the input parser never throws, whatever it is given', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const verdict = classifyInput(text);
        return ['complete', 'incomplete', 'error', 'empty'].includes(verdict.kind);
      }),
      { numRuns: 2000 },
    ),
  );
});
