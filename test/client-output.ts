import t from 'tap';
import { PipeFilter, splitOutput } from '../client/output.ts';
import { CompletionRequests } from '../client/completion.ts';
import { ClientTelnet } from '../client/telnet-client.ts';
import { completionAnswer, completionRequest, MAX_COMPLETION_ANSWER, MAX_COMPLETION_LINE, parseCompletionAnswer, parseCompletionRequest } from '../common/completion-wire.ts';
import { Option, subnegotiation } from '../common/telnet.ts';

t.test('splitOutput: text to print, and the prompt it ends with', async (t) => {
  const split = (received: string, expected = 0, atLineStart = true) => splitOutput(received, expected, atLineStart);
  t.same(split('banner\n> '), { parts: [{ text: 'banner\n' }, { prompt: '> ' }], held: '', atLineStart: true });
  t.same(split('42\n... ', 1), { parts: [{ text: '42\n' }, { prompt: '... ' }], held: '', atLineStart: true });
  t.same(split('42\n| ', 1), { parts: [{ text: '42\n' }, { prompt: '| ' }], held: '', atLineStart: true }, "Node 24's continuation prompt");
  t.same(split('> '), { parts: [{ prompt: '> ' }], held: '', atLineStart: true });
  t.same(split('partial output'), { parts: [{ text: 'partial output' }], held: '', atLineStart: false });
  // A tail that may still become a prompt waits for the next chunk.
  t.same(split('42\n.'), { parts: [{ text: '42\n' }], held: '.', atLineStart: true });
  t.same(split('42\n>'), { parts: [{ text: '42\n' }], held: '>', atLineStart: true });
  t.same(split('a > b'), { parts: [{ text: 'a > b' }], held: '', atLineStart: false });
  // Not at the start of a line: output, as is `> ` that does not end what arrived, when no prompt is owed.
  t.same(split('> ', 0, false), { parts: [{ text: '> ' }], held: '', atLineStart: false });
  t.same(split('> quoted\n> '), { parts: [{ text: '> quoted\n' }, { prompt: '> ' }], held: '', atLineStart: true });
});

t.test('splitOutput: the prompts of lines sent ahead (a paste), run together or between results', async (t) => {
  t.same(splitOutput('... ... ... ', 3, true).parts, [{ prompt: '... ' }, { prompt: '... ' }, { prompt: '... ' }]);
  t.same(splitOutput('2\n> 4\n> ', 2, true).parts, [{ text: '2\n' }, { prompt: '> ' }, { text: '4\n' }, { prompt: '> ' }]);
  t.same(splitOutput('... undefined\n> ', 2, true).parts, [{ prompt: '... ' }, { text: 'undefined\n' }, { prompt: '> ' }]);
  // Split across chunks anywhere.
  t.same(splitOutput('... ..', 3, true), { parts: [{ prompt: '... ' }], held: '..', atLineStart: true });
  t.same(splitOutput('... ... ', 2, true).parts, [{ prompt: '... ' }, { prompt: '... ' }]);
  // Only as many as are owed: then output again, unless it ends what arrived.
  t.same(splitOutput('> > x\n', 1, true).parts, [{ prompt: '> ' }, { text: '> x\n' }]);
});

t.test('the client refuses character mode, keeps data, and tells its terminal type if it has one', async (t) => {
  const offer = Buffer.from([255, 251, 1, 255, 251, 3, 255, 253, 31, 255, 253, 24]);
  const plain = new ClientTelnet();
  t.same(plain.hello(), Buffer.alloc(0));
  t.same(plain.push(Buffer.concat([Buffer.from('a'), offer, Buffer.from([255, 255, 0x62])])), {
    data: Buffer.from([0x61, 255, 0x62]),
    answer: Buffer.from([255, 254, 1, 255, 254, 3, 255, 252, 31, 255, 252, 24]),
  });
  const colour = new ClientTelnet({ term: 'xterm-256color' });
  t.same(colour.hello(), Buffer.from([255, 251, 24]));
  t.same(colour.push(offer).answer, Buffer.from([255, 254, 1, 255, 254, 3, 255, 252, 31, 255, 251, 24]));
  t.same(colour.push(Buffer.from([255, 250, 24, 1, 255, 240])).answer, Buffer.concat([Buffer.from([255, 250, 24, 0]), Buffer.from('xterm-256color'), Buffer.from([255, 240])]));
});

t.test('completion travels in subnegotiations of the backdoor option, apart from the text', async (t) => {
  const answers: unknown[] = [];
  const client = new ClientTelnet({ onCompletion: (answer) => answers.push(answer) });
  t.same(client.hello(), Buffer.from([255, 251, Option.BACKDOOR_COMPLETION]), 'the client offers it');
  t.equal(client.completion, false);
  t.same(client.push(Buffer.from([255, 253, Option.BACKDOOR_COMPLETION])).answer, Buffer.alloc(0), 'an agreement is not answered');
  t.equal(client.completion, true);
  // An answer split across chunks, between two pieces of the session's output.
  const answer = completionAnswer(7, ['stats.requests', 'stats.requestsFailed'], 'stats.req');
  const stream = Buffer.concat([Buffer.from('out'), answer, Buffer.from('put')]);
  const data = [client.push(stream.subarray(0, 9)).data, client.push(stream.subarray(9)).data];
  t.equal(Buffer.concat(data).toString(), 'output', 'the text is untouched');
  t.same(answers, [{ id: 7, names: ['stats.requests', 'stats.requestsFailed'], completed: 'stats.req' }]);
  t.same(client.push(Buffer.from([255, 254, Option.BACKDOOR_COMPLETION])).answer, Buffer.alloc(0));
  t.equal(client.completion, false, 'an old server refuses it');

  // The request carries the line's end: whole characters, at most MAX_COMPLETION_LINE bytes.
  const request = completionRequest(300, 'é'.repeat(MAX_COMPLETION_LINE));
  t.same([...request.subarray(0, 3)], [255, 250, Option.BACKDOOR_COMPLETION]);
  const parsed = parseCompletionRequest(request.subarray(3, -2))!;
  t.equal(parsed.id, 300 & 0xff);
  t.ok(/^é+$/.test(parsed.line) && Buffer.byteLength(parsed.line) <= MAX_COMPLETION_LINE, 'cut at a character boundary');
  t.equal(parseCompletionRequest(Buffer.alloc(0)), undefined);
  // 255 bytes in the data are doubled on the wire, and the parser undoes it.
  const withIac = subnegotiation(Option.BACKDOOR_COMPLETION, Buffer.from([1, 255, 2]));
  t.same([...withIac], [255, 250, Option.BACKDOOR_COMPLETION, 1, 255, 255, 2, 255, 240]);
  // An answer keeps as many names as fit.
  const many = completionAnswer(
    1,
    Array.from({ length: 20_000 }, (_, i) => `name${i}`),
    '',
  );
  t.ok(many.length <= MAX_COMPLETION_ANSWER + 16, 'bounded');
  t.ok(parseCompletionAnswer(many.subarray(3, -2))!.names.length > 1000);
  t.equal(parseCompletionAnswer(Buffer.from('\x01not json')), undefined);
});

t.test('no completions for a reason: the note is told above the line', async (t) => {
  const held = completionAnswer(3, [], 'arr.', 'held by the budget: ...; try again in 8 s');
  const answer = parseCompletionAnswer(held.subarray(3, -2))!;
  t.same(answer, { id: 3, names: [], completed: 'arr.', note: 'held by the budget: ...; try again in 8 s' });
  const notices: string[] = [];
  const sent: Buffer[] = [];
  const requests = new CompletionRequests(
    (request) => sent.push(request),
    (text) => notices.push(text),
    60_000,
  );
  const done: unknown[] = [];
  requests.ask('arr.', (names, completed) => done.push([names, completed]));
  requests.answered({ ...answer, id: parseCompletionRequest(sent[0].subarray(3, -2))!.id });
  t.same(done, [[[], 'arr.']]);
  t.same(notices, ['(no completions: held by the budget: ...; try again in 8 s)']);
  requests.close();
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

t.test("splitOutput: .exit-app's question is the prompt of the line that asked it", async (t) => {
  const question = "End the app (pid 42) with exit code 0? Its 'exit' listeners run, every session ends. Type yes to confirm: ";
  t.same(splitOutput(question, 1, true), { parts: [{ prompt: question }], held: '', atLineStart: true });
  t.same(splitOutput(`late\n${question}`, 1, true).parts, [{ text: 'late\n' }, { prompt: question }]);
});
