import t from 'tap';
import { classifyInput } from '../workers/input/input.ts';

t.test('complete inputs go through unchanged', async (t) => {
  for (const code of ['1+1', 'let x = 5', 'function f() {\n  return 1\n}', 'class A { static { this.x = 1 } }', 'x?.y ?? 2', '1 // trailing comment']) {
    t.match(classifyInput(code), { kind: 'complete', code, awaited: false }, code);
  }
});

t.test('unfinished inputs wait for more lines', async (t) => {
  for (const code of ['function f() {', 'foo(', '[1,\n2,', 'if (a) {} else', '1 +', 'class A {', 'const x =\n']) {
    t.same(classifyInput(code), { kind: 'incomplete' }, JSON.stringify(code));
  }
  // What an unterminated template or comment waits for is said: no line without it can end it.
  t.same(classifyInput('`template'), { kind: 'incomplete', until: '`' });
  t.same(classifyInput('x = `a ${b}\nc'), { kind: 'incomplete', until: '`' });
  t.same(classifyInput('/* comment'), { kind: 'incomplete', until: '*/' });
});

t.test('hopeless inputs are syntax errors at once, worded by V8', async (t) => {
  t.match(classifyInput('let let'), { kind: 'error', message: 'SyntaxError: let is disallowed as a lexically bound name' });
  t.match(classifyInput(')'), { kind: 'error', message: "SyntaxError: Unexpected token ')'" });
  t.match(classifyInput("'unterminated"), { kind: 'error', message: 'SyntaxError: Invalid or unexpected token' });
  t.match(classifyInput('function f() { return }}'), { kind: 'error', message: /^SyntaxError: / });
  // A backslash ends a line only inside a string (Node's REPL: the tokenizer never got to the end).
  t.match(classifyInput('[] \\'), { kind: 'error', message: 'SyntaxError: Invalid or unexpected token' });
  t.match(classifyInput("'a\\\\"), { kind: 'error', message: 'SyntaxError: Invalid or unexpected token' });
  t.same(classifyInput("'a\\"), { kind: 'incomplete' });
});

t.test('white space and comments are empty', async (t) => {
  for (const code of ['', '   ', '// just a comment', '/* a */']) t.same(classifyInput(code), { kind: 'empty' });
});

t.test('an input starting with { is an object, as in Node', async (t) => {
  t.same(classifyInput('{ a: 1 }'), { kind: 'complete', code: '({ a: 1 }\n)', awaited: false, declared: [] });
  // ...unless it ends with a semicolon or cannot be an expression: then it is a block.
  t.same(classifyInput('{ a: 1 };'), { kind: 'complete', code: '{ a: 1 };', awaited: false, declared: [] });
  t.same(classifyInput('{ let a = 1; a }'), { kind: 'complete', code: '{ let a = 1; a }', awaited: false, declared: [] });
});

t.test('V8 decides where acorn is stricter than a script', async (t) => {
  t.same(classifyInput('var await = 1'), { kind: 'complete', code: 'var await = 1', awaited: false, declared: ['await'] });
});

t.test('top-level await is rewritten; await inside functions is not', async (t) => {
  t.match(classifyInput('await 1'), { kind: 'complete', awaited: true, code: /^\(async \(\) => \{/ });
  t.same(classifyInput('async () => await 1'), { kind: 'complete', code: 'async () => await 1', awaited: false, declared: [] });
});

t.test("an input with await that does not parse gets Node's REPL's own error, not V8's about await", async (t) => {
  t.match(classifyInput('await Promise..resolve()'), { kind: 'error', thrown: "\nawait Promise..resolve()\n              ^\n\nUnexpected token '.'" });
  // Before the first await, V8's error of the input (as in Node's REPL).
  t.match(classifyInput('foo..bar; await 1'), { kind: 'error', message: "SyntaxError: Unexpected token '.'", thrown: undefined });
  t.same(classifyInput('await (1 +'), { kind: 'incomplete' });
});

t.test('import() becomes a call the main thread provides', async (t) => {
  t.same(classifyInput('import("node:os")'), { kind: 'complete', code: '__backdoorImport("node:os")', awaited: false, declared: [] });
  t.match(classifyInput('const { sep } = await import("node:path")'), {
    kind: 'complete',
    awaited: true,
    code: /let sep; \(async \(\) => \{ void \(\{ sep \} = await __backdoorImport\("node:path"\)\)/,
  });
});

t.test('complete inputs tell the names they declare at the top level', async (t) => {
  t.same((classifyInput('let a = 1, b; function f() { var hidden } class K {}') as { declared: string[] }).declared, ['a', 'b', 'f', 'K']);
  t.same((classifyInput('const { x, y: [z] } = await o') as { declared: string[] }).declared, ['x', 'z']);
});
