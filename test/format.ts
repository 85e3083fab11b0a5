import t from 'tap';
import vm from 'node:vm';
import { inspect } from 'node:util';
import { formatThrown, formatValue, trimStack } from '../lib/format.ts';

t.test("values print as in Node's REPL", async (t) => {
  t.equal(formatValue(2), '2');
  t.equal(formatValue(undefined), 'undefined');
  t.equal(formatValue('text'), "'text'");
  t.equal(formatValue({ a: { b: { c: { d: 1 } } } }), '{ a: { b: { c: [Object] } } }');
  t.match(formatValue(Array.from({ length: 1000 }, (_, i) => i)), /\.\.\. 900 more items\n\]$/);
  t.equal(
    formatValue(
      new Proxy(
        {},
        {
          get() {
            throw new Error('trap ran');
          },
        },
      ),
    ),
    'Proxy [ {}, { get: [Function: get] } ]',
  );
});

t.test('getters are not run, and a failing custom inspect is reported, not thrown', async (t) => {
  t.equal(
    formatValue({
      get boom() {
        throw new Error('getter ran');
      },
    }),
    '{ boom: [Getter] }',
  );
  const hostile = {
    [inspect.custom]() {
      throw new TypeError('no');
    },
  };
  t.equal(formatValue(hostile), '[value could not be formatted: TypeError: no]');
  t.equal(formatThrown(hostile), 'Uncaught [thrown value could not be formatted: TypeError: no]');
});

t.test("thrown values: Uncaught and the error, without the REPL's own frames", async (t) => {
  t.equal(formatThrown('text'), "Uncaught 'text'");
  t.equal(formatThrown(42), 'Uncaught 42');
  const context = vm.createContext({});
  let thrown: unknown;
  try {
    vm.runInContext('function g() { throw new TypeError("bad") }\ng()', context, { filename: 'REPL4', displayErrors: false });
  } catch (error) {
    thrown = error;
  }
  t.equal(formatThrown(thrown), 'Uncaught TypeError: bad\n    at g (REPL4:1:22)');
  try {
    vm.runInContext('null.x', context, { filename: 'REPL5', displayErrors: false });
  } catch (error) {
    thrown = error;
  }
  t.equal(formatThrown(thrown), "Uncaught TypeError: Cannot read properties of null (reading 'x')");
});

t.test('an error as a value keeps its REPL frame, loses the rest', async (t) => {
  const error = vm.runInContext('new Error("e")', vm.createContext({}), { filename: 'REPL1' });
  t.equal(formatValue(error), 'Error: e\n    at REPL1:1:1');
});

t.test("trimStack keeps an error's own properties", async (t) => {
  const text = "Error: x\n    at REPL2:1:7\n    at Script.runInContext (node:vm:149:12)\n    at more (file.js:1:1) {\n  code: 'E'\n}";
  t.equal(trimStack(text, true), "Error: x {\n  code: 'E'\n}");
  t.equal(trimStack(text, false), "Error: x\n    at REPL2:1:7 {\n  code: 'E'\n}");
  t.equal(trimStack('Error: no frames', true), 'Error: no frames');
});
