import t from 'tap';
import { PipeFilter, splitPrompt, stripTelnet } from '../client/output.ts';

t.test('splitPrompt: text to print, and the prompt it ends with', async (t) => {
  t.same(splitPrompt('banner\n> '), { text: 'banner\n', prompt: '> ', held: '' });
  t.same(splitPrompt('42\n... '), { text: '42\n', prompt: '... ', held: '' });
  t.same(splitPrompt('> '), { text: '', prompt: '> ', held: '' });
  t.same(splitPrompt('partial output'), { text: 'partial output', prompt: undefined, held: '' });
  // A tail that may still become a prompt waits for the next chunk.
  t.same(splitPrompt('42\n.'), { text: '42\n', prompt: undefined, held: '.' });
  t.same(splitPrompt('42\n>'), { text: '42\n', prompt: undefined, held: '>' });
  t.same(splitPrompt('a > b'), { text: 'a > b', prompt: undefined, held: '' });
});

t.test('stripTelnet drops commands, keeps doubled 255 as data', async (t) => {
  t.same(stripTelnet(Buffer.from('abc')), Buffer.from('abc'));
  t.same(stripTelnet(Buffer.from([0x61, 255, 251, 6, 0x62, 255, 255, 255, 241])), Buffer.from([0x61, 0x62, 255]));
});

t.test('PipeFilter: no banner, no prompts, results whole however the chunks fall', async (t) => {
  const output = 'backdoor: Node.js v20\nType ".help" for more information.\n> 2\n> ... undefined\n> line one\nline two\n> ';
  for (const size of [1, 2, 3, 7, output.length]) {
    const filter = new PipeFilter();
    let printed = '';
    for (let i = 0; i < output.length; i += size) printed += filter.push(output.slice(i, i + size));
    printed += filter.end();
    t.equal(printed, '2\nundefined\nline one\nline two\n', `chunks of ${size}`);
  }
  const silent = new PipeFilter();
  t.equal(silent.push('backdoor: banner only, the connection closed\n') + silent.end(), '');
});
