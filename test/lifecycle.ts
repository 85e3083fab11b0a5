import { CONTINUATION_PROMPT } from '../dist/common/protocol.js';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { TestClient } from './fixtures/client.ts';
import { BackdoorError, start, startBackdoor } from './fixtures/backdoor.ts';
import { until } from './fixtures/until.ts';

const run = promisify(execFile);
const app = (name: string) => new URL(`./fixtures/apps/${name}`, import.meta.url).pathname;

t.test("invalid options reject with the option's name", async (t) => {
  await t.rejects(startBackdoor({ port: 99999 }), { name: 'RangeError', message: /"port"/ });
  await t.rejects(startBackdoor({ evalTimeout: 5 } as never), { name: 'TypeError', message: 'Unknown option "evalTimeout"' });
});

t.test('a port in use rejects with code EADDRINUSE, and the backdoor can start elsewhere', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as net.AddressInfo;
  const error = await startBackdoor({ port }).catch((e: unknown) => e);
  t.ok(error instanceof BackdoorError);
  t.match(error, { code: 'EADDRINUSE', message: /could not listen.*EADDRINUSE/ });
  const backdoor = await start(t);
  t.not((backdoor.address() as { port: number }).port, port);
});

t.test('address(): host and the actual port; IPv6 loopback works too', async (t) => {
  const v4 = await start(t);
  t.match(v4.address(), { host: '127.0.0.1', port: Number });
  const v6 = await start(t, { host: '::1' });
  const address = v6.address() as { host: string; port: number };
  t.equal(address.host, '::1');
  const client = await TestClient.connect({ host: '::1', port: address.port });
  t.teardown(() => client.destroy());
  await client.ready();
  t.equal(await client.eval('1+1'), '2');
});

t.test('a unix socket path: owner-only, removed on close', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'backdoor-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'repl.sock');
  const backdoor = await startBackdoor({ path });
  t.same(backdoor.address(), { path });
  t.equal(statSync(path).mode & 0o777, 0o600);
  t.same(readdirSync(dir), ['repl.sock'], 'no temporary files left');
  const client = await TestClient.connect({ path });
  t.teardown(() => client.destroy());
  await client.ready();
  t.equal(await client.eval('6*7'), '42');
  await backdoor.close();
  t.notOk(existsSync(path));
});

t.test('a live socket is never stolen; a stale one is replaced; other files are left alone', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'backdoor-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'repl.sock');

  const first = await start(t, { path });
  await t.rejects(startBackdoor({ path }), { code: 'EADDRINUSE', message: /another backdoor listens there/ });
  const client = await TestClient.connect({ path });
  t.teardown(() => client.destroy());
  await client.ready();
  t.equal(await client.eval('1+1'), '2', 'the first one still serves');
  await first.close();

  // A process killed without cleaning up leaves its socket file behind.
  const owner = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
  await new Promise((resolve) => owner.stdout.once('data', resolve));
  owner.kill('SIGKILL');
  await new Promise((resolve) => owner.once('exit', resolve));
  t.ok(statSync(path).isSocket(), 'stale socket file');
  const second = await start(t, { path });
  const again = await TestClient.connect({ path });
  t.teardown(() => again.destroy());
  await again.ready();
  t.equal(await again.eval('2+2'), '4');
  await second.close();

  writeFileSync(path, 'not a socket');
  await t.rejects(startBackdoor({ path }), { code: 'EADDRINUSE', message: /not a socket/ });
  t.equal(readFileSync(path, 'utf8'), 'not a socket');
});

t.test('close(): sessions are told and disconnected, the port is freed, twice is safe', async (t) => {
  const backdoor = await startBackdoor({ port: 0 });
  const { port } = backdoor.address() as { port: number };
  const client = await TestClient.connect({ port });
  t.teardown(() => client.destroy());
  await client.ready();
  client.send('function unfinished() {\n');
  await client.expect(CONTINUATION_PROMPT);
  const first = backdoor.close();
  t.equal(backdoor.close(), first);
  await first;
  t.equal(await client.waitClosed(), '\nbackdoor closed\n');
  await t.rejects(TestClient.connect({ port }), { code: 'ECONNREFUSED' });
  t.same(backdoor.address(), { host: '127.0.0.1', port });
});

t.test('close() while one command awaits and another runs on the main thread', async (t) => {
  const locals: Record<string, unknown> = {};
  let awaiting = false;
  const backdoor = await startBackdoor({ port: 0, locals });
  locals.closeNow = () => {
    void backdoor.close();
  };
  locals.awaiting = () => {
    awaiting = true;
  };
  const target = backdoor.address() as { port: number };
  const a = await TestClient.connect(target);
  const b = await TestClient.connect(target);
  t.teardown(() => {
    a.destroy();
    b.destroy();
  });
  await a.ready();
  await b.ready();
  // (A promise that never settles: a's command is still awaiting whenever close() comes.)
  a.send('awaiting(); await new Promise(() => {})\n');
  t.ok(await until(() => awaiting), "a's command runs");
  // b's command calls close() while it runs: it finishes, but its result is dropped.
  b.send('closeNow(); "finished"\n');
  t.equal(await a.waitClosed(), '\nbackdoor closed\n');
  t.equal(await b.waitClosed(), '\nbackdoor closed\n');
  await backdoor.close();
});

t.test('the app is never kept alive by the backdoor, and close() leaves no handles', async (t) => {
  // A process whose only work was starting a backdoor exits by itself.
  const open = await run(process.execPath, [app('exits-by-itself.mjs')], { timeout: 20_000 });
  const kept = JSON.parse(open.stdout);
  t.equal(kept.answered, true);
  const closed = JSON.parse((await run(process.execPath, [app('exits-by-itself.mjs'), 'close'], { timeout: 20_000 })).stdout);
  t.same(closed.afterClose, closed.before, 'no handles left after close()');
  // While idle (a session has come and gone), the main thread has no timers or immediates of
  // the backdoor's: `idle` lists the kind of each of its active resources, one entry each.
  for (const { idle } of [kept, closed]) {
    t.notOk(idle.includes('Timeout'), `no Timeout among ${JSON.stringify(idle)}`);
    t.notOk(idle.includes('Immediate'), `no Immediate among ${JSON.stringify(idle)}`);
  }
});

t.test("unhandled rejections: a session's are reported to it; the app's keep Node's behaviour", async (t) => {
  const crashed = await run(process.execPath, [app('late-errors.mjs'), 'rejection', 'app-default'], { timeout: 10_000 }).catch((e: { code: number; stdout: string; stderr: string }) => e);
  t.match(crashed, { code: 1, stdout: /session saw: true/, stderr: /Error: app-made/ });
  const handled = await run(process.execPath, [app('late-errors.mjs'), 'rejection', 'app-handler'], { timeout: 10_000 });
  t.match(handled.stdout, /session saw: true\n[^]*app handler saw Error: app-made/);
  t.notMatch(handled.stdout, /app handler saw.*session-made/);
});
