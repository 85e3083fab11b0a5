import t from 'tap';
import { PipeFilter, splitPrompt } from '../client/output.ts';
import { ClientTelnet } from '../client/telnet-client.ts';

t.test('splitPrompt: text to print, and the prompt it ends with', async (t) => {
  t.same(splitPrompt('banner\n> '), { text: 'banner\n', prompt: '> ', held: '' });
  t.same(splitPrompt('42\n... '), { text: '42\n', prompt: '... ', held: '' });
  t.same(splitPrompt('42\n| '), { text: '42\n', prompt: '| ', held: '' }, 'Node 24\'s continuation prompt');
  t.same(splitPrompt('> '), { text: '', prompt: '> ', held: '' });
  t.same(splitPrompt('partial output'), { text: 'partial output', prompt: undefined, held: '' });
  // A tail that may still become a prompt waits for the next chunk.
  t.same(splitPrompt('42\n.'), { text: '42\n', prompt: undefined, held: '.' });
  t.same(splitPrompt('42\n>'), { text: '42\n', prompt: undefined, held: '>' });
  t.same(splitPrompt('a > b'), { text: 'a > b', prompt: undefined, held: '' });
});

t.test('the client refuses character mode, keeps data, and tells its terminal type if it has one', async (t) => {
  const offer = Buffer.from([255, 251, 1, 255, 251, 3, 255, 253, 31, 255, 253, 24]);
  const plain = new ClientTelnet(undefined);
  t.same(plain.hello(), Buffer.alloc(0));
  t.same(plain.push(Buffer.concat([Buffer.from('a'), offer, Buffer.from([255, 255, 0x62])])), {
    data: Buffer.from([0x61, 255, 0x62]),
    answer: Buffer.from([255, 254, 1, 255, 254, 3, 255, 252, 31, 255, 252, 24]),
  });
  const colour = new ClientTelnet('xterm-256color');
  t.same(colour.hello(), Buffer.from([255, 251, 24]));
  t.same(colour.push(offer).answer, Buffer.from([255, 254, 1, 255, 254, 3, 255, 252, 31, 255, 251, 24]));
  t.same(colour.push(Buffer.from([255, 250, 24, 1, 255, 240])).answer, Buffer.concat([Buffer.from([255, 250, 24, 0]), Buffer.from('xterm-256color'), Buffer.from([255, 240])]));
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
