import { Parser } from 'acorn';
import vm from 'node:vm';
import t from 'tap';
import { rewriteTopLevelAwait } from '../workers/input/await-transform.ts';

const parse = (source: string) => Parser.parse(source, { ecmaVersion: 'latest', allowAwaitOutsideFunction: true });
const rewrite = (source: string) => rewriteTopLevelAwait(source, parse(source));

/** Runs inputs one after the other in one context, as a session does; returns the last value. */
async function session(...inputs: string[]): Promise<{ value: unknown; context: vm.Context }> {
  const context = vm.createContext({ sleep: (ms: number, v: unknown) => new Promise((r) => setTimeout(() => r(v), ms)) });
  let value: unknown;
  for (const input of inputs) {
    const code = rewrite(input);
    value = code === undefined ? vm.runInContext(input, context) : ((await vm.runInContext(code, context)) as { value: unknown } | undefined)?.value;
  }
  return { value, context };
}

t.test('no top-level await: no rewrite', async (t) => {
  t.equal(rewrite('1 + 1'), undefined);
  t.equal(rewrite('async function f() { await 1 }'), undefined);
  t.equal(rewrite('const f = async () => { await 1 }'), undefined);
  t.equal(rewrite('class A { async m() { await 1 } }'), undefined);
});

t.test('the value of the last expression is the result', async (t) => {
  t.equal((await session('await sleep(5, 7)')).value, 7);
  t.equal((await session('await 1; (2 + 3);')).value, 5);
  t.equal((await session('await 1 // a comment')).value, 1);
  t.equal((await session('const a = await 1')).value, undefined);
});

t.test('a promise as the last value is not awaited', async (t) => {
  const { value } = await session('await 1; Promise.resolve(2)');
  t.equal(typeof (value as Promise<unknown>).then, 'function');
});

t.test('declarations outlive the command', async (t) => {
  t.equal((await session('const y = await Promise.resolve(3)', 'y')).value, 3);
  t.equal((await session('let a = 1, b = await 2, c', 'a + b + String(c)')).value, '3undefined');
  t.equal((await session('var v = await 4', 'v')).value, 4);
  t.equal((await session('function f() { return 5 }\nawait 0', 'f()')).value, 5);
  t.equal((await session('class K { static n = 6 }\nawait 0', 'K.n')).value, 6);
});

t.test('destructuring declares every name, rest and defaults included', async (t) => {
  const { value } = await session('const { a, b: [c, ...d], e = 9, ...f } = await Promise.resolve({ a: 1, b: [2, 3, 4], g: 5 })', '[a, c, d, e, f]');
  t.same(value, [1, 2, [3, 4], 9, { g: 5 }]);
});

t.test('var in loops and blocks is hoisted; let inside blocks stays local', async (t) => {
  t.same((await session('for (var x of [1, 2]) { await x }', 'x')).value, 2);
  t.same((await session('for (var k in { p: 1 }) { await k }', 'k')).value, 'p');
  t.same((await session('for (var i = 0; i < 3; i++) await i', 'i')).value, 3);
  t.same((await session('if (true) { var w = await 8; let hidden = 1 }', 'typeof hidden + w')).value, 'undefined8');
});

t.test('for await, and await inside nested expressions', async (t) => {
  t.same((await session('const out = []; for await (const v of [sleep(1, 1), 2]) out.push(v)', 'out')).value, [1, 2]);
  t.equal((await session('[await 1, { k: await 2 }].length')).value, 2);
});

t.test('a function defined with await around it does not swallow the next line', async (t) => {
  // Without the added semicolon, `f=function f(){}` followed by `(1)` would be a call.
  t.equal((await session('await 0\nfunction f() { return "f" }\n(1)')).value, 1);
});

t.test('an await input nested past the parser stack is reported as an error, never a fault of the session', async (t) => {
  const { awaitSyntaxError } = await import('../workers/input/await-transform.ts');
  for (const deep of [`${'await '.repeat(100_000)}1`, `await ${'('.repeat(200_000)}1${')'.repeat(200_000)}`]) {
    const answer = awaitSyntaxError(deep);
    t.ok(answer === undefined || typeof answer === 'string', `${deep.slice(0, 12)}...: ${typeof answer}`);
  }
});
