// What holds before authentication, and inputs that must not bring down the worker.
import t, { type Test } from 'tap';
import { nestingDepth } from '../dist/workers/input/input.js';
import { ScriptCache } from '../dist/lib/script-cache.js';
import type { AuditEvent } from '../dist/common/audit-event.js';
import { connect, start } from './fixtures/backdoor.ts';
import { TestClient } from './fixtures/client.ts';
import { mainHarness } from './fixtures/main-side.ts';
import { startApp } from './fixtures/child.ts';
import { until } from './fixtures/until.ts';

// The numbers of docs/security.md ("The token"): audit events of unauthenticated connections "20 at once, 5 per second";
// "At most 64 connections wait for the token at once".
const [AUDIT_BURST, AUDIT_PER_SECOND, WAITING_FOR_TOKEN] = [20, 5, 64];

async function dial(t: Test, backdoor: { address(): unknown }): Promise<TestClient> {
  const client = await TestClient.connect(backdoor.address() as { port: number; host: string });
  t.teardown(() => client.destroy());
  return client;
}

/** Gives the token the way the `backdoor` client does: as soon as it is asked for. */
async function login(t: Test, backdoor: { address(): unknown }, token: string): Promise<TestClient> {
  const client = await dial(t, backdoor);
  await client.expect('Token: ');
  client.send(`${token}\n`);
  await client.ready();
  return client;
}

t.test('at most 64 connections wait for the token at once: one more pushes out the one that waited longest, and only it', async (t) => {
  const backdoor = await start(t, { token: 'operator-secret', maxSessions: WAITING_FOR_TOKEN + 1, authTimeoutMs: 60_000 });
  const waiting: TestClient[] = [];
  for (let i = 0; i < WAITING_FOR_TOKEN; i++) {
    waiting.push(await dial(t, backdoor));
    await waiting[i].expect('Token: '); // taken by the server in this order
  }
  const next = await dial(t, backdoor);
  await next.expect('Token: ');
  t.match(await waiting[0].waitClosed(), /Too many connections are waiting to give the token/);
  // Every other one was still waiting: each gives the token and is let in.
  for (const client of [...waiting.slice(1), next]) {
    client.send('operator-secret\n');
    await client.ready();
  }
  t.equal(await next.eval('1+1'), '2');
});

t.test('connections that never give the token: a deadline, a pool of their own, the operator still gets in', async (t) => {
  const backdoor = await start(t, { token: 'operator-secret', authTimeoutMs: 600, maxSessions: 2 });
  const silent = await Promise.all(Array.from({ length: 80 }, () => dial(t, backdoor)));
  const operator = await login(t, backdoor, 'operator-secret');
  t.equal(await operator.eval('1+1'), '2');
  const second = await login(t, backdoor, 'operator-secret');
  t.equal(await second.eval('2+2'), '4');
  // The oldest waiting ones were pushed out as new ones came; the rest meet the deadline.
  const ends = await Promise.all(silent.map((client) => client.waitClosed(5000)));
  t.ok(ends.some((text) => text.includes('Too many connections are waiting to give the token')));
  t.ok(ends.some((text) => text.includes('No token within 600 ms (the authTimeoutMs option).')));
  // Slots are for those who gave the token: a third is refused only after giving it.
  const third = await dial(t, backdoor);
  await third.expect('Token: ');
  third.send('operator-secret\n');
  t.match(await third.waitClosed(), /too many sessions \(the maxSessions option is 2\)/);
});

/** How many events the audit rate limit can have let through since `since`, at most: the burst, and its refills since. */
const allowedSince = (since: number) => AUDIT_BURST + Math.floor(((performance.now() - since) / 1000) * AUDIT_PER_SECOND);

const droppedCount = (events: AuditEvent[]) => events.filter((event) => event.type === 'dropped').reduce((sum, event) => sum + (event as { count: number }).count, 0);

t.test("audit events of unauthenticated connections are rate limited, with a count of what was dropped; the operator's session is never dropped", async (t) => {
  const events: AuditEvent[] = [];
  const backdoor = await start(t, { token: 'a-long-secret', audit: (event) => events.push(event) });
  const began = performance.now();
  for (let i = 0; i < 60; i++) (await dial(t, backdoor)).destroy();
  // At once, the limit spent by the flood: a flood must not hide who got in.
  await login(t, backdoor, 'a-long-secret');
  // Each disconnect is recorded or counted as dropped: the operator's connect brings the
  // count of those dropped before it, and a dropped event comes within a second of the rest.
  const disconnects = () => events.filter((event) => event.type === 'disconnect').length;
  await until(() => disconnects() + droppedCount(events) >= 60);
  t.equal(disconnects() + droppedCount(events), 60, `every disconnect recorded or counted: ${JSON.stringify(events.filter((event) => event.type === 'dropped'))}`);
  const allowed = allowedSince(began);
  // The first 20 at once, after a quiet start; then no more than the rate refills.
  t.ok(disconnects() >= AUDIT_BURST, `disconnects recorded: ${disconnects()}, the burst of ${AUDIT_BURST} at least`);
  t.ok(disconnects() <= allowed, `disconnects recorded: ${disconnects()} (the limit lets ${allowed} through in this time)`);
  t.ok(droppedCount(events) >= 60 - allowed, 'and the rest were dropped');
  t.equal(events.filter((event) => event.type === 'connect').length, 1, "the operator's session is recorded");
});

t.test('connects and disconnects of a backdoor without a token are rate limited too, and what was dropped is told without waiting for another event', async (t) => {
  const events: AuditEvent[] = [];
  const backdoor = await start(t, { audit: (event) => events.push(event) });
  const began = performance.now();
  for (let i = 0; i < 60; i++) (await dial(t, backdoor)).destroy();
  const recorded = () => events.filter((event) => event.type === 'connect' || event.type === 'disconnect').length;
  // Nothing else happens: the last drops are counted a second later, on their own.
  await until(() => recorded() + droppedCount(events) >= 120);
  t.equal(recorded() + droppedCount(events), 120, 'every one is recorded or counted, with nothing else happening');
  const allowed = allowedSince(began);
  t.ok(recorded() >= AUDIT_BURST, `connects and disconnects recorded: ${recorded()}, the burst of ${AUDIT_BURST} at least`);
  t.ok(recorded() <= allowed, `connects and disconnects recorded: ${recorded()} (the limit lets ${allowed} through in this time)`);
});

t.test('before the token, a line is at most 1 KB: a longer one is a wrong token, not memory held', async (t) => {
  const backdoor = await start(t, { token: 'a-long-secret' });
  const client = await dial(t, backdoor);
  await client.expect('Token: ');
  client.send(`${'x'.repeat(200_000)}a-long-secret\n`);
  await client.expect('Wrong token.', 5000);
  client.send('a-long-secret\n');
  await client.expect(/> $/);
  t.equal(await client.eval('1+1'), '2');
});

t.test('.inspect and tap() are bounded by 250 ms of their own, also with evalTimeoutMs 0', async (t) => {
  const many: Record<string, number> = {};
  for (let i = 0; i < 1_000_000; i++) many[`k${i}`] = i;
  const looping = {
    [Symbol.for('nodejs.util.inspect.custom')]: () => {
      for (;;);
    },
  };
  const backdoor = await start(t, { evalTimeoutMs: 0, locals: { many, looping, holder: { many } } });
  const client = await connect(t, backdoor);
  t.match(await client.eval('.inspect looping', 10_000), /could not be made within 250 ms|too large to print within 250 ms/);
  // (Listing a million keys takes longer than that: it says so, in 250 ms.)
  t.match(await client.eval('.inspect holder', 10_000), /many: \$\d+ \{ k0: 0, k1: 1|the listing could not be made within 250 ms/);
  t.match(await client.eval('.inspect many', 10_000), /^k0: 0$|the listing could not be made within 250 ms/m);
  t.match(await client.eval('tap(looping); 1', 10_000), /^1$/m);
  t.equal(await client.eval('1+1'), '2');
});

t.test('long pastes into one input and long queues are not quadratic: they are answered', async (t) => {
  const backdoor = await start(t);
  const client = await connect(t, backdoor);
  // A pretty-printed JSON array of 20,000 lines, line by line; a template of 20,000 lines.
  const json = JSON.stringify(
    Array.from({ length: 10_000 }, (_, i) => i),
    null,
    1,
  ).split('\n');
  client.send(`${json.join('\n')}.length\n`);
  await client.expect(/ 10000\n> $/, 60_000);
  client.send(`\`${Array.from({ length: 20_000 }, () => 'line').join('\n')}\`.length\n`);
  await client.expect(/ 99999\n> $/, 60_000);
  t.equal(await client.eval('1+1'), '2');
  // TAB's view of a 60 KB line is its end.
  const { completionTarget } = await import('../dist/workers/sessions/completion.js');
  t.same(completionTarget(`${'a+'.repeat(30_000)}stats.req`), { chain: 'stats.', path: ['stats'], prefix: 'req' });
  // JSON mode: 255 interrupts of 20 KB queued behind a running input, each answered.
  client.send('.mode json\n');
  await client.expect('{"tag":"mode","mode":"json","version":2}\n');
  const pad = 'p'.repeat(20_000);
  let lines = `${JSON.stringify({ id: 'wait', code: 'await new Promise((r) => setTimeout(r, 300))' })}\n`;
  for (let i = 0; i < 255; i++) lines += `${JSON.stringify({ interrupt: `none-${i}`, pad })}\n`;
  client.send(lines);
  await client.expect('"id":"none-254"', 60_000);
  client.send(`${JSON.stringify({ id: 'after', code: '6*7' })}\n`);
  await client.expect('"id":"after","op":"eval","status":"done","ok":true,"text":"42"', 10_000);
});

t.test('a client that drips a byte at a time without ever ending a line is idle', async (t) => {
  const backdoor = await start(t, { idleTimeoutMs: 500 });
  const client = await connect(t, backdoor);
  const drip = setInterval(() => client.send('1'), 100);
  t.teardown(() => clearInterval(drip));
  t.match(await client.waitClosed(5000), /No input for 500 ms \(the idleTimeoutMs option\): closing this session\./);
});

t.test('a telnet negotiation flood that never reads gets one answer per option, and nobody else notices', async (t) => {
  const events: AuditEvent[] = [];
  const backdoor = await start(t, { audit: (event) => events.push(event) });
  const other = await connect(t, backdoor);
  const flood = await dial(t, backdoor);
  await flood.ready();
  flood.socket.pause();
  // 400 rounds of DO (even options) and DONT (odd ones), then a line, read after all of them.
  const requests = Buffer.alloc(3 * 256 * 400);
  for (let i = 0; i < 256 * 400; i++) requests.set([255, 253 - (i % 2), i % 256], i * 3);
  flood.send(requests);
  flood.send('6*7\n');
  t.equal(await other.eval('1+1'), '2');
  t.ok(await until(() => events.some((event) => event.type === 'command' && event.code === '6*7'), 10_000), 'the flood was read');
  t.equal(await other.eval('2+2'), '4');
  flood.socket.resume();
  await flood.expect(/42\r\n> $/); // it speaks telnet: CR LF
  // Each DO refused once per option (WONT; WILL TIMING-MARK), no answer to DONT; then the offer
  // to a client that speaks telnet (WILL ECHO, WILL SUPPRESS-GO-AHEAD, DO NAWS, DO TERMINAL-TYPE).
  const answers = (flood.received.match(/\xff[\xfb-\xfe][^]/g) ?? []).map((answer) => [answer.charCodeAt(1), answer.charCodeAt(2)]);
  const refusals = Array.from({ length: 128 }, (_, i) => [i * 2 === 6 ? 251 : 252, i * 2]);
  t.same(answers, [...refusals, [251, 1], [251, 3], [253, 31], [253, 24]]);
});

t.test('pathological lines: answered or refused in the session; the worker and every other session go on', async (t) => {
  const backdoor = await start(t, { maxInputBytes: 4 * 1024 * 1024 });
  const other = await connect(t, backdoor);
  const client = await connect(t, backdoor);
  const lines = [
    `${'1+'.repeat(15_000)}1`,
    `a = {}; a${'.b'.repeat(15_000)}`,
    `f = () => f; f${'()'.repeat(15_000)}`,
    `${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    `let ${'['.repeat(10_000)}x${']'.repeat(10_000)} = 1`,
    `(${'{a:'.repeat(10_000)}1${'}'.repeat(10_000)})`,
  ];
  for (const line of lines) {
    const answer = await client.eval(line, 20_000);
    t.ok(answer.length > 0, `answered: ${answer.slice(0, 80)}`);
    t.equal(await other.eval('1+1'), '2');
  }
  t.equal(await client.eval('"still here"'), "'still here'");
  // Brackets nested deeper than any real code are compiled nowhere: V8 compiling such a
  // destructuring pattern in a worker thread crashes the process on Node 22 and 24.
  t.equal(await client.eval(`let ${'['.repeat(10_000)}x${']'.repeat(10_000)} = 1`), 'Uncaught RangeError: Maximum call stack size exceeded (brackets nested more than 1000 deep are not compiled)');
  // Hidden in a template's expression, or behind a regular expression with a quote in it.
  const deep = `${'['.repeat(10_000)}a${']'.repeat(10_000)}=[]`;
  for (const hidden of [`\`\${${deep}}\``, `/"/,${deep},/"/`]) {
    t.match(await client.eval(hidden), /^Uncaught RangeError: Maximum call stack size exceeded \(brackets nested more than 1000 deep/);
  }
  t.equal(nestingDepth('f([1, [2]], {a: (3)})'), 3);
  t.equal(nestingDepth('"(((" + `${[1]}`'), 5, 'brackets in strings count too');
});

t.test('JSON mode: ids are small and flat; an interrupt abandons a waiting input; idleness applies to it', async (t) => {
  let awaiting = false;
  const backdoor = await start(t, {
    idleTimeoutMs: 1500,
    locals: {
      awaiting: () => {
        awaiting = true;
      },
    },
  });
  const client = await connect(t, backdoor);
  client.send('.mode json\n');
  await client.expect('{"tag":"mode","mode":"json","version":2}\n');
  const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
  client.send(`{"id":${deep},"code":"1"}\n`);
  t.match(JSON.parse(await client.expect('\n')), { tag: 'err', id: null, message: /"id" must be a string \(at most 1000 characters\), a number or null/ });
  client.send(`${JSON.stringify({ id: 'forever', code: 'awaiting(); await new Promise(() => {})' })}\n`);
  t.ok(await until(() => awaiting), 'the input runs');
  client.send(`${JSON.stringify({ interrupt: 'forever' })}\n`);
  t.match(JSON.parse(await client.expect('\n')), { tag: 'ret', id: 'forever', ok: false, inspect: /^Interrupted/ });
  client.send(`${JSON.stringify({ id: 2, code: '6*7' })}\n`);
  t.match(JSON.parse(await client.expect('\n')), { tag: 'ret', id: 2, ok: true, inspect: '42' });
  // An interrupt in the same write as its input, and one for an input still queued behind it.
  client.send(`${JSON.stringify({ id: 'a', code: 'await new Promise(() => {})' })}\n${JSON.stringify({ id: 'b', code: '1' })}\n${JSON.stringify({ interrupt: 'b' })}\n${JSON.stringify({ interrupt: 'a' })}\n`);
  const answers = [JSON.parse(await client.expect('\n')), JSON.parse(await client.expect('\n'))];
  t.match(answers, [
    { tag: 'ret', id: 'b', ok: false, inspect: /^Interrupted/ },
    { tag: 'ret', id: 'a', ok: false, inspect: /^Interrupted/ },
  ]);
  client.send(`${JSON.stringify({ interrupt: 'nothing' })}\n`);
  t.match(JSON.parse(await client.expect('\n')), { tag: 'err', id: 'nothing', message: 'nothing is running with that id' });
  // An input that waits for ever does not keep the session from its idle timeout.
  client.send(`${JSON.stringify({ id: 3, code: 'await new Promise(() => {})' })}\n`);
  t.match(await client.waitClosed(6000), /No input for 1.5 s|No input for 1500 ms/);
});

t.test('.inspect of an object graph full of back-references is bounded', async (t) => {
  const node: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) node[`k${i}`] = node;
  const backdoor = await start(t, { locals: { node } });
  const client = await connect(t, backdoor);
  const listing = await client.eval('.inspect node 4', 10_000);
  const lines = listing.split('\n');
  t.ok(lines.length <= 1002, `lines: ${lines.length}`);
  t.match(lines[1], /^ {2}k0: \$\d+ \[listed above\]$/);
  t.equal(await client.eval('1+1'), '2');
});

t.test('what is remembered of past inputs is bounded in bytes, and forgotten with the session', async (t) => {
  const names = new ScriptCache(256, 64 * 1024);
  for (let i = 1; i <= 200; i++) names.get(1, `${i}`.padEnd(1000, ' '), i);
  t.ok(names.bytes <= 64 * 1024, `bytes: ${names.bytes}`);
  t.equal(names.get(1, '200'.padEnd(1000, ' '), 201).name, 'REPL200', 'recent ones keep their names');
  t.equal(names.get(1, '1'.padEnd(1000, ' '), 202).name, 'REPL202', 'old ones were forgotten');

  const { side, run, dropContext } = mainHarness(t, {}, 0);
  const secret = `"${'s'.repeat(100_000)}"`;
  await run(secret, 7);
  await run('1', 8);
  t.ok(side.code.cachedSourceBytes > 200_000);
  dropContext(7);
  await run('2', 8); // after the drop, which goes in a turn of its own
  t.ok(side.code.cachedSourceBytes < 100, `after the session ended: ${side.code.cachedSourceBytes}`);
});

t.test("what a session typed leaves the app's heap when it ends, also V8's compilation cache", async (t) => {
  // A child app with gc() exposed: a full collection of its own does not empty V8's
  // compilation cache, which keeps the source of every compiled script. Bare: tap's coverage
  // (V8's precise coverage) would keep every script alive.
  // (Unpaced: on a loaded machine the budget would hold these commands, and say so.)
  const app = await startApp(t, 'http-app.mjs', ['--expose-gc', '--import', 'backdoor/register'], { BACKDOOR_START: '1', BACKDOOR_HOST: '127.0.0.1', BACKDOOR_PORT: '0', BACKDOOR_MAIN_THREAD_BUDGET: '1' }, { bare: true });
  const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(await app.waitForStderr(/listening on 127\.0\.0\.1:\d+/))![1]);
  const heapMb = async () => {
    const client = await TestClient.connect({ port, host: '127.0.0.1' });
    await client.ready();
    const mb = Number(await client.eval('gc(), gc(), Math.round(process.memoryUsage().heapUsed / 1e5) / 10'));
    client.destroy();
    return mb;
  };
  const before = await heapMb();
  const typing = await TestClient.connect({ port, host: '127.0.0.1' });
  await typing.ready();
  // 40 distinct inputs of 200 KB: 8 MB of source.
  for (let i = 0; i < 40; i++) t.equal(await typing.eval(`${i}; "${'s'.repeat(200_000)}".length`, 10_000), '200000');
  typing.destroy();
  await app.waitForStderr(/disconnected after 40 command\(s\)/);
  // Its end asks for a collection, an op of its own: measured until it has run (bounded).
  let after = await heapMb();
  for (const deadline = Date.now() + 10_000; after - before >= 3 && Date.now() < deadline; ) after = await heapMb();
  t.ok(after - before < 3, `the main thread's heap: ${before} MB before, ${after} MB after the session ended`);
  t.match(await app.get(), /^ok/);
});
