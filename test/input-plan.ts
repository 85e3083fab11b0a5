// Lines that arrive together (a paste) are planned in one parse: the same verdicts as line by
// line, without parsing the input again at every line.
import { Parser } from 'acorn';
import t from 'tap';
import { InputBuffer } from '../workers/input/input-buffer.ts';
import { linesThatMayEnd } from '../workers/input/input-plan.ts';

t.test('a line may end the input only where no bracket or template is open, up to the first error', async (t) => {
  t.same(linesThatMayEnd('', ['function f() {', '  return [', '    1,', '  ];', '}']), [false, false, false, false, true]);
  t.same(linesThatMayEnd('function f() {', ['  x;', '}', 'f()']), [false, true, true], 'after the input so far');
  t.same(linesThatMayEnd('', ['const s = `a', '${b(', ')}', '`;']), [false, false, false, true], 'in a template, and in its ${}');
  t.same(linesThatMayEnd('', ['/[(]/.test(s) && {', '}']), [false, true], 'a bracket in a regular expression is not one');
  t.same(linesThatMayEnd('', ['f(', '/* ( */ 1', ')']), [false, false, true], 'nor in a comment');
  t.same(linesThatMayEnd('', ['if (x) {', '  let = = 1;', '  y();', '}']), [false, true, true, true], 'from the line of an error on, every line is parsed');
  t.same(linesThatMayEnd('', ['{', '  a: 1,', '}']), [true, true, true], 'an object-like input is parsed as it comes');
  t.same(linesThatMayEnd('', ['f(', `${'['.repeat(1001)}`]), [true, true], 'nor one nested too deeply');
});

/** The verdicts of `text`'s lines, added one by one, with or without the lines behind each. */
function verdicts(text: string, together: boolean): string[] {
  const buffer = new InputBuffer();
  const queue = text.split('\n').map((line) => ({ text: line }));
  const seen: string[] = [];
  while (queue.length > 0) {
    const line = queue.shift()!.text;
    const { verdict, typed } = buffer.add(line, Buffer.byteLength(line) + 1, together ? queue : []);
    seen.push(verdict.kind === 'incomplete' ? 'incomplete' : `${verdict.kind}: ${typed}`);
  }
  return seen;
}

t.test('the same verdicts at the same lines as line by line', async (t) => {
  const pastes = [
    ['function big() {', '  let x = 0;', ...Array.from({ length: 300 }, (_, i) => `  x += ${i};`), '  return x;', '}', 'big()'].join('\n'),
    '1+1\n2+2\nlet a = 1\n+ 2\na',
    'function f() {\n  let = = 1;\n  return 2;\n}\nf()',
    'const s = `a\n${[1,\n2]}\n`;\ns',
    'fetch()\n  .then((x) => {\n    return x;\n  })\n  .catch(() => {});',
    'class A {\n  m() {\n    return /[{]/.test("{");\n  }\n}\nnew A().m()',
    '{\n  a: 1,\n  b: [2,\n3],\n}',
    'const t = "a\\\nb";\nt',
    '/* {\n*/\nx = {\n}\n',
    'f(`${`\n${g(`\n`)}`}`\n)',
  ];
  for (const paste of pastes) t.same(verdicts(paste, true), verdicts(paste, false), paste.slice(0, 40));
});

t.test('a function of 2,001 lines that arrived together is parsed a few times, not once per line', async (t) => {
  const parse = Parser.parse;
  let parsed = 0;
  Parser.parse = function (input, options) {
    parsed += input.length;
    return parse.call(this, input, options);
  };
  t.teardown(() => {
    Parser.parse = parse;
  });
  const text = ['function big() {', '  let x = 0;', ...Array.from({ length: 1997 }, (_, i) => `  x += ${i};`), '  return x;', '}'].join('\n');
  t.match(verdicts(text, true).at(-1), /^complete: function big/);
  // Line by line, nearly 1,000 times its length (24 MB: seconds of the worker's time).
  t.ok(parsed < 30 * text.length, `${parsed} characters parsed for ${text.length}`);
});
