import { CONTINUATION_PROMPT } from '../dist/common/protocol.js';
import t from 'tap';
import { TestClient, withoutWaitNotices } from './fixtures/client.ts';
import { connect, start } from './fixtures/backdoor.ts';
import { startNodeRepl, transcript } from './fixtures/node-repl.ts';
import { until } from './fixtures/until.ts';

const IAC = 255;

t.test('banner: Node version, platform, pid, the hint, extra text, then "> " with no newline', async (t) => {
  const backdoor = await start(t, { banner: 'Welcome to the demo.' });
  const client = await TestClient.connect(backdoor.address() as { port: number });
  t.teardown(() => client.destroy());
  const banner = await client.expect(/> $/);
  t.match(banner, new RegExp(`^backdoor: Node\\.js ${process.version.replace(/\./g, '\\.')} on ${process.platform} ${process.arch}, pid ${process.pid}`));
  t.match(banner, /\nType "\.help" for more information\.\nWelcome to the demo\.\n> $/);
});

t.test("results print like Node's REPL; input is not echoed", async (t) => {
  const client = await connect(t, await start(t));
  t.equal(await client.eval('1+1'), '2');
  t.equal(await client.eval('undefined'), 'undefined');
  t.equal(await client.eval('"text"'), "'text'");
  t.equal(await client.eval('({ a: [1, { b: { c: { d: 1 } } }] })'), '{ a: [ 1, { b: [Object] } ] }');
  t.match(await client.eval('Array.from({ length: 5000 }, (_, i) => i)'), /\.\.\. 4900 more items\n\]$/);
});

t.test("errors print like Node's REPL and the session goes on", async (t) => {
  const client = await connect(t, await start(t));
  t.equal(await client.eval('null.x'), "Uncaught TypeError: Cannot read properties of null (reading 'x')");
  t.equal(await client.eval('throw "text"'), "Uncaught 'text'");
  t.equal(await client.eval('function g() { throw new Error("boom") }; g()'), 'Uncaught Error: boom\n    at g (REPL3:1:22)');
  // V8's source line and caret come first, as in Node's REPL (compared with it in node-repl.ts).
  t.equal(await client.eval('let let'), 'let let\n    ^^^\n\nUncaught SyntaxError: let is disallowed as a lexically bound name');
  t.equal(await client.eval('1+1'), '2');
});

t.test('declarations, _ and _error persist between lines', async (t) => {
  const client = await connect(t, await start(t));
  t.equal(await client.eval('let x = 5'), 'undefined');
  t.equal(await client.eval('x * 2'), '10');
  t.equal(await client.eval('function twice(n) { return 2 * n }'), 'undefined');
  t.equal(await client.eval('class Point { constructor(x) { this.x = x } }'), 'undefined');
  t.equal(await client.eval('twice(new Point(4).x)'), '8');
  t.equal(await client.eval('_ + 1'), '9');
  await client.eval('nope');
  t.equal(await client.eval('_error.name'), "'ReferenceError'");
});

t.test("locals are the app's live objects", async (t) => {
  const stats = { requests: 0 };
  const client = await connect(t, await start(t, { locals: { stats } }));
  t.equal(await client.eval('stats.requests'), '0');
  stats.requests = 41;
  t.equal(await client.eval('stats.requests'), '41');
  t.equal(await client.eval('stats.requests++'), '41');
  t.equal(stats.requests, 42);
});

t.test("the usual Node globals, require from the app's directory, import()", async (t) => {
  const client = await connect(t, await start(t));
  t.equal(await client.eval('process.pid'), String(process.pid));
  t.equal(await client.eval('Buffer.from("ab").length'), '2');
  t.equal(await client.eval('require("./package.json").name'), "'backdoor'");
  t.equal(await client.eval('(await import("node:path")).sep'), "'/'");
  t.equal(await client.eval('global === globalThis'), 'false');
  t.equal(await client.eval('typeof global.setTimeout'), "'function'");
});

t.test("incomplete input continues with Node's continuation prompt until it is complete", async (t) => {
  const client = await connect(t, await start(t));
  client.send('function f() {\n');
  await client.expect(new RegExp(`^${escapeRegExp(CONTINUATION_PROMPT)}$`));
  client.send('  return 42\n');
  await client.expect(new RegExp(`^${escapeRegExp(CONTINUATION_PROMPT)}$`));
  t.equal(await client.eval('}'), 'undefined');
  t.equal(await client.eval('f()'), '42');
  client.send('[1,\n');
  await client.expect(CONTINUATION_PROMPT);
  t.equal(await client.eval('2]'), '[ 1, 2 ]');
});

t.test('top-level await, and other sessions are served while a command awaits', async (t) => {
  const backdoor = await start(t);
  const client = await connect(t, backdoor);
  t.equal(await client.eval('await new Promise(r => setTimeout(() => r(7), 20))'), '7');
  t.equal(await client.eval('const y = await Promise.resolve(3)'), 'undefined');
  t.equal(await client.eval('y'), '3');
  // While one session awaits, another is served.
  const other = await connect(t, backdoor);
  client.send('await new Promise(r => setTimeout(() => r("slow"), 300))\n');
  t.equal(await other.eval('1+1'), '2');
  t.equal((await client.expect(/\n> $/)).trim(), "'slow'\n>");
});

t.test("console output prints in the session before the result; sessions never see each other's", async (t) => {
  const backdoor = await start(t);
  const a = await connect(t, backdoor);
  const b = await connect(t, backdoor);
  t.equal(await a.eval('console.log("hi", { a: 1 }); console.error("oops"); 5'), 'hi { a: 1 }\noops\n5');
  t.equal(await b.eval('2'), '2');
  t.equal(await a.eval('setTimeout(() => console.log("later"), 10); 1'), '1');
  await a.expect('later\n');
  t.equal(await b.eval('3'), '3');
  t.notMatch(b.received, /hi|oops|later/);
});

t.test('pasted lines all run, in order, each output once', async (t) => {
  const client = await connect(t, await start(t));
  client.send('let n = 0\nn += 1\nawait new Promise(r => setTimeout(r, 20)); n += 1\nn += 1\nfunction g() {\nreturn n }\ng()\n');
  await client.expect(`> ${CONTINUATION_PROMPT}undefined\n> 3\n> `);
  t.equal(client.received.replace(/^[^]*?\n> /, ''), `undefined\n> 1\n> 2\n> 3\n> ${CONTINUATION_PROMPT}undefined\n> 3\n> `);
});

t.test('a client that half-closes still gets every pending result, then the server closes', async (t) => {
  const backdoor = await start(t);
  const client = await TestClient.connect(backdoor.address() as { port: number });
  client.send('1+1\nawait new Promise(r => setTimeout(() => r("late"), 100))\n2+2\n');
  client.end();
  const rest = await client.waitClosed();
  t.match(rest, /> 2\n> 'late'\n> 4\n> $/);
});

t.test('telnet line ends (CR LF, CR NUL) work, and telnet commands never reach the parser', async (t) => {
  const client = await connect(t, await start(t));
  client.send('1+1\r\n');
  // A client ending lines with CR LF is offered character mode (this one does not answer).
  await client.expect(/\n> $/);
  t.match(client.received, /> \xff\xfb\x01\xff\xfb\x03\xff\xfd\x1f\xff\xfd\x182\n> $/);
  client.send(Buffer.concat([Buffer.from('2+'), Buffer.from([IAC, 241]), Buffer.from('2\r\0')]));
  t.equal(await client.expect(/\n> $/), '4\n> ');
  client.send(Buffer.from([IAC, 253, 0])); // DO BINARY: not offered, refused
  await client.expect('\xff\xfc\x00');
});

t.test('Ctrl-C (IAC IP) clears a half-typed input and gives a fresh prompt', async (t) => {
  const client = await connect(t, await start(t));
  client.send('function broken() {\r\n');
  await client.expect(CONTINUATION_PROMPT);
  client.send(Buffer.from([IAC, 244, IAC, 253, 6])); // IP, then DO TIMING-MARK as telnet sends them
  await client.expect(/> $/);
  // The TIMING-MARK answer comes before the new prompt: the client drops output until it sees it.
  // (It speaks telnet now: CR LF.)
  t.match(client.received, new RegExp(`${escapeRegExp(CONTINUATION_PROMPT)}\xff\xfb\x06\r\n> $`));
  t.equal(await client.eval('1+1'), '2');
});

t.test('Ctrl-C abandons an awaiting command; its result never prints', async (t) => {
  const gate = held();
  const client = await connect(t, await start(t, { locals: { gate } }));
  client.send('await gate.wait()\n');
  t.ok(await until(() => gate.waiting), 'the command awaits');
  client.send(Buffer.from([IAC, 244]));
  await client.expect(/\n> $/);
  t.equal(await client.eval('1+1'), '2');
  gate.release('abandoned');
  // The main thread answers in order: what the abandoned command came to reaches the worker
  // before the answer to the next one.
  t.equal(await client.eval('2+2'), '4');
  t.notMatch(client.received, /abandoned'/);
});

t.test('Ctrl-C twice on an empty line ends the session, as in Node', async (t) => {
  const client = await connect(t, await start(t));
  client.send(Buffer.from([IAC, 244]));
  await client.expect('(To exit, press Ctrl+C again or Ctrl+D or type .exit)\n> ');
  client.send(Buffer.from([IAC, 244]));
  await client.waitClosed();
  t.pass('closed');
});

t.test('.help lists the commands; an unknown one says so', async (t) => {
  const client = await connect(t, await start(t, { locals: { app: {}, stats: {} } }));
  const help = await client.eval('.help');
  for (const command of ['.break', '.clear', '.exit', '.help']) t.match(help, command);
  t.match(help, 'Names from the app: app, stats');
  t.equal(await client.eval('.nope'), 'Invalid REPL keyword');
  t.equal(await client.eval('.5 + 1'), '1.5');
});

t.test('.break drops a half-typed input; .clear also forgets declarations', async (t) => {
  const client = await connect(t, await start(t));
  client.send('if (true) {\n');
  await client.expect(CONTINUATION_PROMPT);
  t.equal(await client.eval('.break'), '');
  await client.eval('let kept = 1');
  t.equal(await client.eval('kept'), '1');
  t.equal(await client.eval('.clear'), 'Clearing context...');
  t.equal(await client.eval('typeof kept'), "'undefined'");
});

t.test('a line starting with a dot inside an unfinished input is JavaScript, not a command, as in Node', async (t) => {
  const node = await startNodeRepl(t);
  const ours = (await start(t)).address() as { port: number; host: string };
  const cases: [string[], string][] = [
    // A method chain; a command's name as a property (`.exit` would end the session).
    [['([3, 1, 2]', '  .map((v) => v * 2)', '  .sort())'], '[ 2, 4, 6 ]'],
    [['({ exit: 5 }', '.exit)'], '5'],
    [['(new Set([1])', '.clear())'], 'undefined'],
  ];
  for (const [lines, value] of cases) {
    const expected = `${CONTINUATION_PROMPT.repeat(lines.length - 1)}${value}\n> `;
    t.equal(await transcript(t, node, lines), expected, `Node's REPL: ${lines.join(' ')}`);
    t.equal(await transcript(t, ours, lines), expected, lines.join(' '));
  }
  // A known command in the middle of an input runs, and the input goes on (.break drops it).
  const cont = CONTINUATION_PROMPT.replace(/[.|]/g, '\\$&');
  const helped = new RegExp(`^${cont}[^]*\\nPress Ctrl\\+C[^\\n]*\\n${cont}3\\n> $`);
  t.match(await transcript(t, node, ['(1 +', '.help', '2)']), helped, "Node's REPL: .help inside an input");
  t.match(await transcript(t, ours, ['(1 +', '.help', '2)']), helped, '.help inside an input');
  const string = ["'abc\\", '.help', "def'"];
  const helpedString = new RegExp(`^${cont}[^]*\\nPress Ctrl\\+C[^\\n]*\\n${cont}'abcdef'\\n> $`);
  t.match(await transcript(t, node, string), helpedString, "Node's REPL: .help inside a string continued with a backslash");
  t.match(await transcript(t, ours, string), helpedString, '.help inside a string continued with a backslash');
  t.equal(await transcript(t, node, ['(4 +', '.break', '5']), `${CONTINUATION_PROMPT}> 5\n> `, "Node's REPL: .break inside an input");
  t.equal(await transcript(t, ours, ['(4 +', '.break', '5']), `${CONTINUATION_PROMPT}> 5\n> `, '.break inside an input');
  // After a complete input, the same line is an unknown command.
  t.equal(await transcript(t, ours, ['[3, 1, 2]', '  .map((v) => v * 2)']), '[ 3, 1, 2 ]\n> Invalid REPL keyword\n> ');
});

for (const ending of ['.exit', 'exit', 'quit', 'exit()']) {
  t.test(`${ending} ends the session, never the app`, async (t) => {
    const backdoor = await start(t);
    const client = await connect(t, backdoor);
    client.send(`${ending}\n`);
    await client.waitClosed();
    const next = await connect(t, backdoor);
    t.equal(await next.eval('1+1'), '2');
  });
}

t.test('Ctrl-D sent as a byte, and telnet EOF, end the session', async (t) => {
  const backdoor = await start(t);
  const a = await connect(t, backdoor);
  a.send('\u0004\n');
  await a.waitClosed();
  const b = await connect(t, backdoor);
  b.send(Buffer.from([IAC, 236]));
  await b.waitClosed();
  t.pass('both closed');
});

t.test('while (true) {} is stopped by evalTimeoutMs and the app survives', async (t) => {
  const client = await connect(t, await start(t, { evalTimeoutMs: 200 }));
  // (Stopped late on a busy machine, the session says it waits first.)
  t.equal(withoutWaitNotices(await client.eval('while (true) {}')), 'Uncaught Error: Script execution timed out after 200ms (the evalTimeoutMs option)');
  t.equal(await client.eval('1+1'), '2');
});

t.test('many sessions: each its own declarations and _, all sharing the locals', async (t) => {
  const shared = { hits: 0 };
  const backdoor = await start(t, { locals: { shared } });
  const clients = await Promise.all(Array.from({ length: 8 }, () => connect(t, backdoor)));
  await Promise.all(clients.map((c, i) => c.eval(`let mine = ${i}; shared.hits++`)));
  const mine = await Promise.all(clients.map((c) => c.eval('mine')));
  t.same(
    mine,
    clients.map((_, i) => String(i)),
  );
  t.equal(shared.hits, 8);
  t.equal(await clients[0].eval('shared.hits'), '8');
});

t.test('clients that vanish harm nothing: the next client is served', async (t) => {
  const gate = held();
  const backdoor = await start(t, { locals: { gate } });
  for (let i = 0; i < 5; i++) (await TestClient.connect(backdoor.address() as { port: number })).destroy();
  const resetter = await connect(t, backdoor);
  resetter.send('await gate.wait()\n');
  t.ok(await until(() => gate.waiting), 'its command awaits');
  resetter.socket.resetAndDestroy();
  const client = await connect(t, backdoor);
  t.equal(await client.eval('1+1'), '2');
  // The vanished client's command finishes now; its result has nowhere to go.
  gate.release(1);
  t.equal(await client.eval('2+2'), '4');
});

/** A promise that session code awaits (`await gate.wait()`) until the test releases it. */
function held() {
  let release: (value: unknown) => void = () => {};
  const promise = new Promise((resolve) => (release = resolve));
  const gate = {
    waiting: false,
    wait: () => {
      gate.waiting = true;
      return promise;
    },
    release: (value: unknown) => release(value),
  };
  return gate;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
