// The client against something that is not a backdoor: it says so, and exits non-zero, in every
// mode; never prints what the other server said as if it were a session's output.
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import t, { type Test } from 'tap';
import { start } from './fixtures/backdoor.ts';

const cli = new URL('../dist/client/cli.js', import.meta.url).pathname;

function client(args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [cli, ...args], { timeout: 30_000 }, (error, stdout, stderr) => resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    child.stdin!.end(input);
  });
}

async function listen(t: Test, server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return (server.address() as net.AddressInfo).port;
}

t.test('an HTTP server (silent until asked) is not a backdoor: piped, --eval and --json all say so', async (t) => {
  const server = http.createServer((_request, response) => response.end('hello'));
  const port = await listen(t, server);
  // (--timeout: how long the server has to say its first words; 5 s by default.)
  const said = `backdoor: 127.0.0.1:${port} is not a backdoor (it said nothing in 1 s)\n`;
  t.same(await client(['--timeout', '1000', String(port)], '1+1\n'), { code: 1, stdout: '', stderr: said });
  t.same(await client(['--timeout', '1000', '--eval', '1+1', String(port)], ''), { code: 1, stdout: '', stderr: said });
  t.same(await client(['--timeout', '1000', '--json', String(port)], '{"id":1,"code":"1"}\n'), { code: 1, stdout: '', stderr: said });
});

t.test('a server that speaks first is named by its first line, made safe to print', async (t) => {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.end('HTTP/1.1 400 Bad Request\x1b[31m\r\nConnection: close\r\n\r\n');
  });
  const port = await listen(t, server);
  t.same(await client([String(port)], '1+1\n'), {
    code: 1,
    stdout: '',
    stderr: `backdoor: 127.0.0.1:${port} is not a backdoor (it answered "HTTP/1.1 400 Bad Request?[31m")\n`,
  });
  const closer = net.createServer((socket) => socket.destroy());
  const closed = await listen(t, closer);
  t.same(await client([String(closed)], '1+1\n'), { code: 1, stdout: '', stderr: `backdoor: 127.0.0.1:${closed} is not a backdoor (it closed the connection without a word; or it is a backdoor that is closing)\n` });
});

t.test('a backdoor is still one: its banner, with or without a token', async (t) => {
  const open = (await start(t)).address() as { port: number };
  t.match(await client([String(open.port)], '6*7\n'), { code: 0, stdout: /^42$/m });
  const guarded = (await start(t, { token: 'a-long-secret' })).address() as { port: number };
  const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
    const child = execFile(process.execPath, [cli, String(guarded.port)], { timeout: 30_000, env: { ...process.env, BACKDOOR_TOKEN: 'a-long-secret' } }, (error, out) => resolve({ code: error ? 1 : 0, stdout: out }));
    child.stdin!.end('6*7\n');
  });
  t.equal(code, 0);
  t.match(stdout, /^42$/m);
});
