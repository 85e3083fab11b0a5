import { inspect } from 'node:util';
import { execFile } from 'node:child_process';
import type { Worker } from 'node:worker_threads';
import t, { type Test } from 'tap';
import { TestClient } from './fixtures/client.ts';
import { connect, start, startBackdoor, type Backdoor } from './fixtures/backdoor.ts';
import { until } from './fixtures/until.ts';

const IAC = 255;
/** WILL ECHO, WILL SUPPRESS-GO-AHEAD, DO NAWS, DO TERMINAL-TYPE. */
const OFFER = '\xff\xfb\x01\xff\xfb\x03\xff\xfd\x1f\xff\xfd\x18';
const TOKEN = 'correct horse battery';
const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;
type Event = { type: string; [key: string]: unknown };

/** A backdoor whose audit events are collected. */
async function audited(t: Test, options: Parameters<typeof start>[1] = {}) {
  const events: Event[] = [];
  const backdoor = await start(t, { ...options, audit: (event) => events.push(event as Event) });
  return { backdoor, events, target: backdoor.address() as { port: number } };
}

t.test('access: a non-loopback host needs a token and allowRemote', async (t) => {
  const message = /not a loopback address: anyone who can reach it could run code in this process/;
  await t.rejects(startBackdoor({ host: '192.0.2.1', port: 0 }), { name: 'TypeError', message });
  await t.rejects(startBackdoor({ host: '192.0.2.1', port: 0, token: TOKEN }), { name: 'TypeError', message });
  await t.rejects(startBackdoor({ host: '0.0.0.0', port: 0, allowRemote: true }), { name: 'TypeError', message });
  // With both, it tries to listen (this address is not on the machine: no traffic leaves it).
  await t.rejects(startBackdoor({ host: '192.0.2.1', port: 0, token: TOKEN, allowRemote: true }), { code: 'EADDRNOTAVAIL' });
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) {
    const backdoor = await startBackdoor({ host, port: 0 });
    await backdoor.close();
    t.pass(`${host} is loopback`);
  }
});

t.test('token: nothing of the REPL before it; echo off while typed; then the banner', async (t) => {
  const { target, events } = await audited(t, { token: TOKEN });
  const client = await TestClient.connect(target);
  t.teardown(() => client.destroy());
  await client.expect('Token: ');
  // The telnet offer (WILL ECHO first: a telnet client stops echoing), the prompt, nothing else.
  t.equal(client.received, `${OFFER}Token: `);
  client.send(Buffer.from([IAC, 253, 1])); // the telnet client agrees to ECHO (not answered)
  client.send(`${TOKEN}\r\n1+1\r\n`); // typed ahead: runs once authenticated
  // A telnet client's line end is CR LF.
  await client.expect(/Type "\.help" for more information\.\r\n> 2\r\n> $/);
  t.match(client.received, new RegExp(`^${OFFER}Token: \xff\xfc\x01\r\nbackdoor: Node\\.js`), 'echo back on (IAC WONT ECHO), then the banner');
  t.notMatch(client.received, TOKEN);
  t.notOk(events.some((e) => e.type === 'auth-failure'));
});

t.test("token: a telnet client's lines end in CR LF, so that its prompt does not drift right; nc's in LF", async (t) => {
  const { target } = await audited(t, { token: TOKEN });
  const telnet = await TestClient.connect(target);
  t.teardown(() => telnet.destroy());
  await telnet.expect('Token: ');
  // As telnet answers the offer: character mode (DO ECHO, DO SUPPRESS-GO-AHEAD).
  telnet.send(Buffer.from([IAC, 253, 1, IAC, 253, 3]));
  telnet.send('guess\r\n');
  await telnet.expect('Token: ');
  t.notMatch(telnet.received, 'guess', 'the token is not echoed');
  t.match(telnet.received, /Token: \r\nWrong token\.\r\nToken: $/);
  const nc = await TestClient.connect(target);
  t.teardown(() => nc.destroy());
  await nc.expect('Token: ');
  nc.send('guess\n');
  await nc.expect('Token: ');
  t.match(nc.received, /Token: \nWrong token\.\nToken: $/);
});

t.test('token: a wrong one is answered after a pause; three wrong ones close the connection', async (t) => {
  const { target, events } = await audited(t, { token: TOKEN });
  const client = await TestClient.connect(target);
  t.teardown(() => client.destroy());
  await client.expect('Token: ');
  client.send('guess\n');
  await client.expect('\nWrong token.\nToken: ');
  client.send('1+1\nwrong again\n'); // a REPL command is just a wrong token here
  const rest = await client.waitClosed(10_000);
  t.equal(rest, '\nWrong token.\nToken: \nWrong token. Too many attempts.\n');
  t.notMatch(client.received, /backdoor: Node|> /, 'never a banner or prompt');
  t.same(
    events.filter((e) => e.type === 'auth-failure').map((e) => e.attempt),
    [1, 2, 3],
  );
});

t.test('token: the answer to a wrong one waits longer than an authTimeoutMs of 500 ms, which ends the connection first', async (t) => {
  // The pause (about a second) starts when the wrong token arrives, after the deadline's 500 ms
  // started: the deadline always comes first, unless the answer does not wait.
  const { target, events } = await audited(t, { token: TOKEN, authTimeoutMs: 500 });
  const client = await TestClient.connect(target);
  t.teardown(() => client.destroy());
  await client.expect('Token: ');
  client.send('guess\n');
  t.equal(await client.waitClosed(), '\nNo token within 500 ms (the authTimeoutMs option).\n');
  t.ok(await until(() => events.some((e) => e.type === 'auth-failure')), 'the wrong token was read');
});

t.test('token: the backdoor client sends BACKDOOR_TOKEN', async (t) => {
  const backdoor = await start(t, { token: TOKEN });
  const { port } = backdoor.address() as { port: number };
  const run = (env: NodeJS.ProcessEnv) =>
    new Promise<{ stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [cli, String(port)], { env: { ...process.env, ...env }, timeout: 10_000 }, (_error, stdout, stderr) => resolve({ stdout, stderr }));
      child.stdin!.end('6*7\n');
    });
  const ok = await run({ BACKDOOR_TOKEN: TOKEN });
  t.equal(ok.stdout, '42\n', ok.stderr);
  t.equal((await run({ BACKDOOR_TOKEN: 'not the token' })).stdout, '', 'a wrong token gets nothing');
});

t.test('audit: one event per start, connect, command, disconnect and stop, with the details', async (t) => {
  const events: Event[] = [];
  const backdoor = await startBackdoor({ port: 0, audit: (event) => events.push(event as Event) });
  const client = await connect(t, backdoor);
  await client.eval('1+1');
  await client.eval('null.x');
  client.send('.exit\n');
  await client.waitClosed();
  await backdoor.close();
  const address = backdoor.address();
  t.match(events, [
    { type: 'start', pid: process.pid, address, time: String },
    { type: 'connect', session: 1, peer: /^127\.0\.0\.1:\d+$/ },
    { type: 'command', session: 1, code: '1+1', ok: true, durationMs: Number },
    { type: 'command', session: 1, code: 'null.x', ok: false },
    { type: 'disconnect', session: 1, commands: 2, reason: 'client left' },
    { type: 'stop', pid: process.pid, address },
  ]);
  t.equal(events.length, 6);
});

t.test('audit: a throwing audit function harms nothing', async (t) => {
  const backdoor = await start(t, {
    audit: () => {
      throw new Error('audit broke');
    },
  });
  const client = await connect(t, backdoor);
  t.equal(await client.eval('1+1'), '2');
});

t.test('audit: default lines on stderr, every event with "stderr", none with false', async (t) => {
  const script = (audit: string) => `
    import('${new URL('../dist/lib/index.js', import.meta.url).href}').then(async ({ startBackdoor }) => {
      const b = await startBackdoor({ port: 0, audit: ${audit} });
      const s = require('net').connect(b.address().port, '127.0.0.1');
      let out = '';
      s.on('data', (d) => { out += d; if (out.endsWith('> 2\\n> ')) s.end(); });
      s.on('close', () => setTimeout(() => b.close(), 100));
      s.write('1+1\\n');
    });`;
  const stderrOf = (audit: string) => new Promise<string>((resolve) => execFile(process.execPath, ['-e', script(audit)], { timeout: 15_000 }, (_error, _stdout, stderr) => resolve(stderr)));
  const lines = (await stderrOf('undefined')).trim().split('\n');
  t.match(lines, [
    /^backdoor: listening on 127\.0\.0\.1:\d+ \(pid \d+\)$/,
    /^backdoor: session 1 \(127\.0\.0\.1:\d+\) connected$/,
    /^backdoor: session 1 \(127\.0\.0\.1:\d+\) disconnected after 1 command\(s\) \(client left\)$/,
    /^backdoor: closed 127\.0\.0\.1:\d+ \(pid \d+\)$/,
  ]);
  t.equal(lines.length, 4);
  t.match(await stderrOf("'stderr'"), /session 1 \(127\.0\.0\.1:\d+\) ran "1\+1" in [\d.]+ ms: ok\n/);
  t.equal(await stderrOf('false'), '');
});

t.test('maxSessions: the next client is told and closed, the others go on', async (t) => {
  const { backdoor, events } = await audited(t, { maxSessions: 2 });
  const a = await connect(t, backdoor);
  const b = await connect(t, backdoor);
  const c = await TestClient.connect(backdoor.address() as { port: number });
  t.teardown(() => c.destroy());
  t.equal(await c.waitClosed(), 'backdoor: too many sessions (the maxSessions option is 2)\n');
  t.equal(await a.eval('1'), '1');
  t.equal(await b.eval('2'), '2');
  // (Events for an audit function travel in batches.)
  await until(() => events.some((e) => e.type === 'refused'));
  t.match(
    events.filter((e) => e.type === 'refused'),
    [{ reason: /too many sessions/ }],
  );
  b.send('.exit\n');
  await b.waitClosed();
  // Its place is free once the server has ended it, which its disconnect event tells.
  t.ok(await until(() => events.some((e) => e.type === 'disconnect')), 'b has ended');
  const d = await connect(t, backdoor);
  t.equal(await d.eval('3'), '3', 'a freed place is taken again');
});

t.test('maxInputBytes: a longer input is discarded with an error, the session goes on', async (t) => {
  const client = await connect(t, await start(t, { maxInputBytes: 1000 }));
  t.equal(await client.eval(`"${'x'.repeat(2000)}"`), 'Input discarded: longer than 1000 bytes (the maxInputBytes option)');
  t.equal(await client.eval('1+1'), '2');
  // A multi-line input counts whole (the rest of the paste then starts a new input, which
  // .break drops).
  client.send(`[\n${`${'1,'.repeat(40)}\n`.repeat(30)}.break\n2+2\n`);
  t.match(await client.expect(/> 4\n> $/), /^(\.\.\. |\| )+Input discarded: longer than 1000 bytes \(the maxInputBytes option\)\n> /);
  // Without a newline, nothing past the limit is kept; the newline ends it.
  for (let i = 0; i < 100; i++) client.send('y'.repeat(10_000));
  t.equal(await client.eval(''), 'Input discarded: longer than 1000 bytes (the maxInputBytes option)');
  t.equal(await client.eval('3+3'), '6');
});

t.test('idleTimeoutMs: an idle session is told and closed; a running command is not idleness', async (t) => {
  const { backdoor, events } = await audited(t, { idleTimeoutMs: 300 });
  const idle = await connect(t, backdoor);
  const busy = await connect(t, backdoor);
  busy.send('await new Promise(r => setTimeout(() => r("done"), 600))\n');
  t.equal(await idle.waitClosed(), '\nNo input for 300 ms (the idleTimeoutMs option): closing this session.\n');
  t.equal((await busy.expect(/\n> $/)).trim(), "'done'\n>");
  t.match(
    events.find((e) => e.type === 'disconnect'),
    { reason: 'idle' },
  );
});

t.test('a client that does not read its output is paused, then disconnected; others go on', async (t) => {
  const { backdoor, events } = await audited(t);
  const reader = await connect(t, backdoor);
  const stalled = await connect(t, backdoor);
  stalled.socket.pause();
  // Each command prints ~1 MB (the most one command may print); 40 of them, never read. In one
  // write: lines that arrive after the output has backed up are not read (the client is paused).
  stalled.send(Array.from({ length: 40 }, (_, i) => `console.log("z".repeat(1_000_000)); ${i}\n`).join(''));
  await until(() => events.some((e) => e.type === 'disconnect'), 20_000);
  t.match(
    events.find((e) => e.type === 'disconnect'),
    { reason: 'client not reading its output' },
  );
  t.equal(await reader.eval('1+1'), '2');
});

t.test('hostile and enormous values: an error or a truncated value, and the app untouched', async (t) => {
  // (No pacing here: the commands that take 250 ms to fail would make the next ones wait.)
  const client = await connect(t, await start(t, { mainThreadBudget: 1, evalTimeoutMs: 10_000 }));
  t.equal(await client.eval('({ get boom() { throw new Error("no") } })'), '{ boom: [Getter] }');
  t.equal(
    await client.eval('new Proxy({}, { get() { throw 1 }, ownKeys() { throw 2 }, getPrototypeOf() { throw 3 } })'),
    'Proxy [\n  {},\n  {\n    get: [Function: get],\n    ownKeys: [Function: ownKeys],\n    getPrototypeOf: [Function: getPrototypeOf]\n  }\n]',
  );
  // As this version's util.inspect prints such an object (symbol keys print differently on 24).
  t.equal(
    await client.eval('({ [Symbol.toPrimitive]() { throw new Error("no") } })'),
    inspect({
      [Symbol.toPrimitive]() {
        throw new Error('no');
      },
    }),
  );
  t.equal(await client.eval('({ [Symbol.for("nodejs.util.inspect.custom")]() { throw new TypeError("custom") } })'), '[value could not be formatted: TypeError: custom]');
  // A custom inspect function that never returns: stopped by the command's own watchdog, with
  // what was left of evalTimeoutMs when printing began (a wait notice may come first).
  const short = await connect(t, await start(t, { mainThreadBudget: 1, evalTimeoutMs: 500 }));
  t.match(await short.eval('({ [Symbol.for("nodejs.util.inspect.custom")]() { for (;;); } })', 10_000), /(^|\n)\[value too large to print within (\d{2,3}) ms: a object\]$/);
  t.match(await short.eval('throw { [Symbol.for("nodejs.util.inspect.custom")]() { for (;;); } }', 10_000), /(^|\n)Uncaught \[thrown value too large to print within (\d{2,3}) ms: a object\]$/);
  t.equal(await short.eval('2*21'), '42');
  // An object with a great many keys prints its first 100, in bounded time (it used to be cut
  // off by the watchdog inside util.inspect, which crashed V8 with SIGILL once in a while).
  // (On a loaded machine this command can take over a second: the wait notice may come first.)
  t.match(await client.eval('Object.fromEntries(Array.from({ length: 3e5 }, (_, i) => ["k" + i, i]))', 30_000), /(^|\n)\{\n {2}k0: 0,\n[^]* {2}k99: 99\n\}\n\.\.\. 299900 more keys \(the first 100 are shown\)$/);
  t.match(await client.eval('"x".repeat(1e7)', 20_000), /'\.\.\. 9990000 more characters$/);
  t.equal(await client.eval('1+1'), '2');
});

t.test('the worker dies: the app runs on, the fault is reported, close() resolves, it starts again', async (t) => {
  const events: Event[] = [];
  const backdoor: Backdoor = await startBackdoor({ port: 0, audit: (event) => events.push(event as Event) });
  const client = await connect(t, backdoor);
  const worker = (backdoor as unknown as Record<symbol, Worker>)[Symbol.for('backdoor.worker')];
  await worker.terminate();
  await client.waitClosed();
  t.equal(backdoor.listening, false);
  t.match(events.at(-1), { type: 'fault', message: /the worker thread failed, backdoor closed/ });
  await backdoor.close();
  const again = await start(t);
  const next = await connect(t, again);
  t.equal(await next.eval('1+1'), '2');
});
