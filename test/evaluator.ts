import { MessageChannel } from 'node:worker_threads';
import t from 'tap';
import { countTurns } from './fixtures/turns.ts';
import { Evaluator } from '../lib/evaluator.ts';
import type { EvalOutcome, EvalReply } from '../common/protocol.ts';
import { evalRequest } from './fixtures/requests.ts';
import { classifyInput } from '../workers/input.ts';

/** An evaluator as the main thread runs it, with the events it sends recorded. */
function setup(locals: Record<string, unknown> = {}, evalTimeoutMs = 2000) {
  const settled: { id: number; out: string; outcome: EvalOutcome }[] = [];
  const output: { context: number; text: string }[] = [];
  let wake: () => void = () => {};
  const evaluator = new Evaluator({ locals, evalTimeoutMs }, {
    settle: (id, out, outcome) => { settled.push({ id, out, outcome }); wake(); },
    output: (context, text) => { output.push({ context, text }); wake(); },
    tap: (context, outcome) => { output.push({ context, text: `tap ${outcome.text}` }); wake(); },
    uncaught: (context, _session, text) => { output.push({ context, text: `uncaught ${text}` }); wake(); },
    audit: (event) => { output.push({ context: 0, text: `audit ${JSON.stringify(event)}` }); wake(); },
    replying: () => {},
  });
  let id = 0;
  /** Runs an input as a session would send it (through the worker's parser). */
  const run = (input: string, context = 1): EvalReply => {
    const verdict = classifyInput(input);
    if (verdict.kind !== 'complete') throw new Error(`not complete: ${input}`);
    return evaluator.evaluateNow(evalRequest(++id, context, verdict.code, { awaited: verdict.awaited, declared: verdict.declared }));
  };
  const text = (input: string, context = 1) => run(input, context).outcome?.text;
  const next = () => new Promise<void>((resolve) => { wake = resolve; });
  return { evaluator, run, text, settled, output, next, lastId: () => id };
}

t.test('locals are the app\'s objects: changes are shared both ways', async (t) => {
  const stats = { requests: 1 };
  const { text } = setup({ stats });
  t.equal(text('stats.requests'), '1');
  stats.requests = 5;
  t.equal(text('stats.requests'), '5');
  t.equal(text('stats.requests++'), '5');
  t.equal(stats.requests, 6);
  // Rebinding the name changes the session's view only.
  t.equal(text('stats = 1'), '1');
  t.same(stats, { requests: 6 });
});

t.test('declarations persist in a context, and contexts are separate', async (t) => {
  const { text } = setup();
  t.equal(text('let x = 5'), 'undefined');
  t.equal(text('x * 2'), '10');
  t.equal(text('function f() { return x + 1 }'), 'undefined');
  t.equal(text('class K { get v() { return f() } }'), 'undefined');
  t.equal(text('new K().v'), '6');
  t.equal(text('typeof x', 2), "'undefined'");
});

t.test('_ is the last result, _error the last thrown value, until the session assigns them', async (t) => {
  const { text } = setup();
  text('40 + 2');
  t.equal(text('_'), '42');
  text('throw new RangeError("r")');
  t.equal(text('_error.message'), "'r'");
  t.match(text('_ = 7'), '7');
  text('1');
  t.equal(text('_'), '7');
  t.equal(text('typeof _', 2), "'undefined'");
});

t.test('errors are outcomes, formatted like the REPL', async (t) => {
  const { run } = setup();
  t.same(run('null.x').outcome, { ok: false, text: "Uncaught TypeError: Cannot read properties of null (reading 'x')" });
  t.same(run('throw "text"').outcome, { ok: false, text: "Uncaught 'text'" });
  t.same(run('nope').outcome, { ok: false, text: 'Uncaught ReferenceError: nope is not defined' });
});

t.test('console output goes to the session, before the result, never to the app\'s stdout', async (t) => {
  const { run } = setup();
  const write = process.stdout.write;
  let leaked = '';
  process.stdout.write = ((chunk: string) => { leaked += chunk; return true; }) as typeof write;
  let reply: EvalReply;
  try {
    reply = run('console.log("hi", { a: 1 }); console.error("err"); console.table([{ a: 1 }]); 5');
  } finally {
    process.stdout.write = write;
  }
  t.equal(leaked, '');
  t.match(reply.out, /^hi \{ a: 1 \}\nerr\n┌/);
  t.same(reply.outcome, { ok: true, text: '5' });
});

t.test('output after a command returned is sent on its own, batched, to its context', async (t) => {
  const { run, output, next } = setup();
  run('setTimeout(() => { for (let i = 0; i < 3; i++) console.log(i) }, 5)', 7);
  await next();
  t.same(output, [{ context: 7, text: '0\n1\n2\n' }]);
});

t.test('an awaited command answers pending, then settles', async (t) => {
  const { run, settled, next, lastId } = setup();
  const reply = run('console.log("before"); await new Promise((r) => setTimeout(() => r(7), 10))');
  t.same(reply.outcome, undefined);
  t.equal(reply.out, 'before\n');
  await next();
  t.same(settled, [{ id: lastId(), out: '', outcome: { ok: true, text: '7' } }]);
  run('const y = await Promise.resolve(3)');
  await next();
  t.equal(run('y').outcome?.text, '3');
  run('await Promise.reject(new Error("no"))');
  await next();
  t.match(settled.at(-1)?.outcome, { ok: false, text: /^Uncaught Error: no/ });
});

t.test('output printed while a command awaits comes before its result', async (t) => {
  const { run, settled, output, next } = setup();
  run('await new Promise((r) => setTimeout(() => { console.log("during"); r(1) }, 5))');
  await next();
  t.same(output, []);
  t.equal(settled[0].out, 'during\n');
});

t.test('evalTimeoutMs stops a runaway loop; the context goes on', async (t) => {
  const { run, text } = setup({}, 100);
  t.same(run('while (true) {}').outcome, { ok: false, text: 'Uncaught Error: Script execution timed out after 100ms (the evalTimeoutMs option)' });
  t.equal(text('1 + 1'), '2');
});

t.test('Node\'s globals are there, and the app\'s global object', async (t) => {
  const { text, run, settled, next } = setup();
  t.equal(text('process === global.process'), 'true');
  t.equal(text('process.pid'), String(process.pid));
  t.equal(text('Buffer.from("hi").toString("hex")'), "'6869'");
  t.equal(text('typeof setTimeout + typeof setImmediate + typeof structuredClone + typeof fetch'), "'functionfunctionfunctionfunction'");
  (globalThis as Record<string, unknown>).appMarker = 'app';
  t.teardown(() => { delete (globalThis as Record<string, unknown>).appMarker; });
  t.equal(text('global.appMarker'), "'app'");
  t.equal(text('require("node:path").sep'), "'/'");
  t.equal(text('require("./package.json").name'), "'backdoor'"); // from the app's working directory
  run('(await import("node:os")).platform()');
  await next();
  t.equal(settled.at(-1)?.outcome.text, `'${process.platform}'`);
  run('(await import("./package.json", { with: { type: "json" } })).default.name');
  await next();
  t.equal(settled.at(-1)?.outcome.text, "'backdoor'");
});

t.test('an unhandled rejection made by a session is reported there, not to the app', async (t) => {
  const { run, output, next } = setup();
  t.equal(run('Promise.reject(new Error("lost")); 1').outcome?.text, '1');
  await next();
  t.equal(output.length, 1);
  // Worded as Node's REPL words it (its domain reports a rejection as any other error).
  t.match(output[0].text, /^uncaught Uncaught Error: lost/);
});

t.test('a dropped context is forgotten: its next command starts fresh', async (t) => {
  const { text, evaluator } = setup();
  text('let gone = 1');
  evaluator.dropContext(1);
  t.equal(text('typeof gone'), "'undefined'");
});

t.test('evaluate() runs each command in a turn of the event loop of its own', async (t) => {
  const { evaluator } = setup({ turn: countTurns(t) });
  const request = (id: number) => evalRequest(id, 1, 'turn()');
  // As fast as a worker could ever be: the next request arrives on a port (as comlink's does)
  // the moment the reply has been given. libuv visits each port's handle once per pass, so the
  // command it schedules runs in a later turn, not in the same batch of messages.
  const relay = new MessageChannel();
  t.teardown(() => relay.port1.close());
  const first = await evaluator.evaluate(request(1));
  const nextRequest = new Promise<EvalReply>((resolve) => relay.port2.once('message', () => resolve(evaluator.evaluate(request(2)))));
  relay.port1.postMessage(0);
  const second = await nextRequest;
  t.ok(Number(second.outcome?.text) > Number(first.outcome?.text), `${first.outcome?.text} then ${second.outcome?.text}`);
});

t.test('stats(): commands run and the main-thread time they used', async (t) => {
  const { evaluator, run, next } = setup();
  t.same(evaluator.stats(), { commands: 0, mainThreadMs: 0 });
  run('1+1');
  run('await 1');
  await next();
  const { commands, mainThreadMs } = evaluator.stats();
  t.equal(commands, 2);
  t.ok(mainThreadMs > 0);
});

t.test('a session runs in a context without interceptors: its global is an ordinary object', async (t) => {
  const { SessionContext } = await import('../lib/session-context.ts');
  const vm = await import('node:vm');
  const session = new SessionContext({ answer: 42 }, { asyncOutput() {}, tap() {}, uncaught() {} });
  // (Contextified, `globalThis` inside would be the context's global proxy, not this object.)
  t.equal(vm.runInContext('globalThis', session.context), session.context, 'the global is the object itself, not a proxy of a sandbox');
  t.equal(vm.runInContext('answer', session.context), 42);
  session.close();
});
