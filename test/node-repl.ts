import t from 'tap';
import { start } from './fixtures/backdoor.ts';
import { startNodeRepl, transcript } from './fixtures/node-repl.ts';

// Each case is typed into Node's own REPL (over net, in this process) and into a backdoor
// session; the backdoor must print what Node prints.
const cases: { name: string; lines: string[]; until?: RegExp; frames?: 'drop' | 'session'; numbers?: boolean }[] = [
  { name: 'a syntax error shows its source line and caret', lines: ['let 1x'] },
  { name: 'a static import gets the hint to use import()', lines: ['import x from "y"', 'import { a, b as c } from "m"', 'import * as ns from "n"'] },
  { name: '_error is set by syntax errors too', lines: ['throw "a"', 'let 1x', '_error'] },
  { name: 'a backslash at the end of a line continues a string', lines: ["'the\\", "fourth'"] },
  { name: 'a backslash outside a string is an error at once', lines: ['[] \\', 'a.\\', '1'] },
  { name: "an input with await that does not parse: Node's REPL's own error", lines: ['1', 'await Promise..resolve()', '_error', 'await x y', 'foo..bar; await 1', 'await (1 +', '2)'] },
  { name: 'a pasted pretty-printed JSON object is an object', lines: ['{', '"a": 1,', '"b": [1, 2]', '}'] },
  { name: 'an object literal on one line', lines: ['{ a: 1 }', '{ a: 1 };'] },
  { name: "Node's built-in modules by their bare names", lines: ['fs.existsSync("/")', 'typeof util.inspect', 'path.sep', 'typeof os.cpus'] },
  { name: 'stack traces keep the frames of typed code', lines: ['function f() { throw new Error("boom") }', 'f()', '[1].map(() => { throw new Error("m") })'] },
  { name: 'inputs are numbered by the lines evaluated, multi-line and empty ones too', lines: ['function a() {', 'throw new Error("x")', '}', 'a()', '', 'b()', 'let 1x', '(() => { throw new Error("y") })()'], numbers: true },
  { name: 'errors thrown by builtins (JSON.parse) print as in Node', lines: ['JSON.parse("{")', 'null.x', 'undefinedName'] },
  { name: 'white space and comments print undefined, an empty line nothing', lines: ['// comment', '   ', '', '/* c */'] },
  { name: 'npm typed at the prompt: run it in a shell', lines: ['npm install foobar', '  npm i x', 'npm -v', '(npm i', 'npm (', ')', '_error'] },
  { name: 'unknown dot-commands are invalid keywords', lines: ['.toString', '.nope', '.5 + 1'] },
  { name: 'assigning _ and _error prints the notice once', lines: ['_ = 1', '_', '2', '_', '_error = 3', '_error = 4'] },
  { name: '_ and _error outlive .clear, which turns their notices on again', lines: ['_ = 10', '.clear', '_', '_ = 11', '.clear', '.clear', '_', 'throw 5', '.clear', '_error', '7', '_'] },
  { name: 'thrown values: short, long, multi-line', lines: ['throw {a: 1}', 'throw {a: 1, b: "x".repeat(100)}', 'throw new Error("y".repeat(90))', 'throw null'] },
  { name: 'a throw in a timer is printed in the session, which goes on', lines: ['setTimeout(() => { throw new Error("x") }, 0); 1'], until: /Uncaught Error: x\n> $/ },
  { name: 'a throw in nextTick comes after the value', lines: ['process.nextTick(() => { throw 5 })'], until: /Uncaught 5\n> $/ },
  { name: 'an unhandled rejection of an app promise the session made', lines: ['fs.promises.readFile("/nope"); 2'], until: /ENOENT[^]*\n> $/ },
  { name: 'a throw in an I/O callback, of an error made by Node', lines: ['fs.readFile("/nonexistent", (error) => { throw error }); 1'], until: /path: '\/nonexistent'\n\}\n> $/ },
  { name: 'a rejection of a session promise', lines: ['Promise.reject("made"); 1'], until: /Uncaught 'made'\n> $/ },
  // Node's REPL prints the frames of its own machinery (node:repl, node:domain, readline) in
  // these: compared without them ('session'), and without the top-level frame, which Node
  // drops from most stacks but not from these.
  { name: "session code that calls vm itself keeps its frames and vm's", lines: ['function k() { return require("vm").runInNewContext("throw new Error(\'v\')") }', 'k()'], frames: 'session' },
  { name: 'an error inside an object keeps the comma after its stack', lines: ['({ a: new Error("x"), b: 1 })', '[new Error("y"), 2]'], frames: 'session' },
  { name: 'an error with a cause', lines: ['new Error("a", { cause: new Error("b") })'], frames: 'session' },
  { name: 'uncaughtException listeners are refused', lines: ['process.on("uncaughtException", () => {})', 'process.listenerCount("uncaughtException")'], frames: 'drop' },
];

/** A transcript without REPL-internal frames, top-level frames, and what counts them. */
function sessionFrames(text: string): string {
  const internal = /^\s+(at (REPLn:\d+:\d+|ContextifyScript\.runInContext .*|.*\((node:(repl|domain|events|readline|net|stream)|node:internal\/)[^)]*\))|\.\.\. \d+ lines? matching cause stack trace \.\.\.)$/;
  return text
    .split('\n')
    .map((line) => line.replace(/^(\s+(at |\.\.\. ).*?)( \{|,)$/, '$1'))
    .filter((line) => !internal.test(line))
    .join('\n');
}

t.test("the backdoor prints what Node's REPL prints", async (t) => {
  const node = await startNodeRepl(t);
  const backdoor = await start(t);
  const ours = backdoor.address() as { port: number; host: string };
  for (const { name, lines, until, frames, numbers } of cases) {
    const drop = (text: string) => (frames === 'drop' ? text.replace(/^ {4}at .*\n/gm, '') : frames === 'session' ? sessionFrames(text) : text);
    const expected = drop(await transcript(t, node, lines, until, numbers));
    const actual = drop(await transcript(t, ours, lines, until, numbers));
    t.equal(actual, expected, name);
  }
});

t.test('an error inside a value keeps what util.inspect puts after its last frame', async (t) => {
  const backdoor = await start(t);
  const ours = backdoor.address() as { port: number; host: string };
  t.match(await transcript(t, ours, ['({ a: new Error("x"), b: 1 })']), /^ {6}at REPLn:1:7,\n {2}b: 1\n\}/m, 'the comma');
  t.match(await transcript(t, ours, ['new Error("a", { cause: new Error("b") })']), /^ {4}at REPLn:1:1 \{\n {2}\[cause\]: Error: b\n {6}at REPLn:1:25\n\}/m, 'the brace, and no count of dropped frames');
});

t.test("what session code makes carries nothing of the backdoor's that it could print", async (t) => {
  const backdoor = await start(t);
  const ours = backdoor.address() as { port: number; host: string };
  // (Node's own REPL prints async ids on promises, because its domain turns on async hooks.)
  const text = await transcript(t, ours, ['const p = Promise.resolve(1); p', 'new Promise(() => {})', 'Reflect.ownKeys(p).map(String)', 'setTimeout(() => {}, 1)']);
  t.notMatch(text, /backdoor|SessionContext/);
  t.match(text, /Promise \{\s+1/);
});
