// Completion for the backdoor client, on the wire: a real socket to a real backdoor, the
// client's side played byte by byte (the terminal side is in test/real-clients.ts).
import t from 'tap';
import { completionRequest, parseCompletionAnswer } from '../common/completion-wire.ts';
import { DO, IAC, Option, SB, SE, WILL, WONT } from '../common/telnet.ts';
import { Negotiation } from '../workers/transport/negotiation.ts';
import { start } from './fixtures/backdoor.ts';
import { TestClient } from './fixtures/client.ts';

const WILL_COMPLETE = Buffer.from([IAC, WILL, Option.BACKDOOR_COMPLETION]);

/** The completion answers in what a client received (latin1, as TestClient keeps it). */
function answers(received: string) {
  const found = [];
  const pattern = new RegExp(`\\xff\\xfa${String.fromCharCode(Option.BACKDOOR_COMPLETION)}([^]*?)\\xff\\xf0`, 'g');
  for (const match of received.matchAll(pattern)) found.push(parseCompletionAnswer(Buffer.from(match[1].replaceAll('\xff\xff', '\xff'), 'latin1')));
  return found;
}

/** Text with telnet commands taken out. */
const textOnly = (text: string) => text.replace(/\xff\xfa[^]*?\xff\xf0|\xff[\xfb-\xfe][^]/g, '');

/** What `code` printed, its telnet bytes taken out (TestClient keeps the bytes as latin1). */
async function evalText(client: TestClient, code: string): Promise<string> {
  const from = client.received.length;
  await client.eval(code);
  return textOnly(client.received.slice(from))
    .replace(/\r\n/g, '\n')
    .replace(/\n?> $/, '');
}

async function waitFor<T>(read: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('nothing came');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

t.test('the server agrees to the option once, and never answers a refusal', async (t) => {
  const negotiation = new Negotiation();
  negotiation.completionAllowed = true; // a session (no token, or the token given)
  t.same(negotiation.negotiate(WILL, Option.BACKDOOR_COMPLETION), Buffer.from([IAC, DO, Option.BACKDOOR_COMPLETION]));
  t.equal(negotiation.completion, true);
  t.equal(negotiation.negotiate(WILL, Option.BACKDOOR_COMPLETION), undefined, 'no loop');
  t.equal(negotiation.negotiate(WONT, Option.BACKDOOR_COMPLETION), undefined);
  t.equal(negotiation.completion, false);
  // Before the token: not agreed, not even answered; agreed once the token is given.
  const gated = new Negotiation();
  t.equal(gated.negotiate(WILL, Option.BACKDOOR_COMPLETION), undefined);
  t.equal(gated.completion, false);
  t.same(gated.grantCompletion(), Buffer.from([IAC, DO, Option.BACKDOOR_COMPLETION]));
  t.equal(gated.completion, true);
  t.equal(new Negotiation().grantCompletion(), undefined, 'nothing to agree to when the client did not ask');
});

t.test('answers come in subnegotiations, apart from the session text, after the token only', async (t) => {
  const token = 'wire-token';
  const backdoor = await start(t, { token, locals: { stats: { requests: 1, requestsFailed: 0 } } });
  const client = await TestClient.connect(backdoor.address() as { port: number });
  t.teardown(() => client.destroy());
  await client.expect('Token: ');
  // Before the token: neither agreed nor answered.
  client.send(Buffer.concat([WILL_COMPLETE, completionRequest(1, 'stats.req')]));
  client.send(`${token}\n`);
  const admitted = await client.expect(/> $/);
  t.notMatch(admitted.split('Token: ')[0], `\xff\xfd${String.fromCharCode(Option.BACKDOOR_COMPLETION)}`, 'not agreed before the token');
  t.match(client.received, `\xff\xfd${String.fromCharCode(Option.BACKDOOR_COMPLETION)}`, 'agreed once it was given');
  t.same(answers(client.received), [], 'nothing answered before the token');

  client.send(completionRequest(2, 'let x = stats.req'));
  const [answer] = await waitFor(() => (answers(client.received).length > 0 ? answers(client.received) : undefined));
  t.same(answer, { id: 2, names: ['stats.requests', 'stats.requestsFailed'], completed: 'stats.req' });
  // The session goes on, its text untouched by the exchange.
  t.equal(await evalText(client, 'stats.requests + 1'), '2');
  client.send(completionRequest(3, '.he'));
  await waitFor(() => (answers(client.received).length > 1 ? true : undefined));
  t.same(answers(client.received)[1], { id: 3, names: ['.heap', '.help'], completed: '.he' }, 'dot-commands too');
});

t.test('a client that did not offer the option gets no answers', async (t) => {
  const backdoor = await start(t, { locals: { stats: { requests: 1 } } });
  const client = await TestClient.connect(backdoor.address() as { port: number });
  t.teardown(() => client.destroy());
  await client.ready();
  client.send(completionRequest(1, 'stats.req'));
  t.equal(await evalText(client, '1+1'), '2');
  t.same(answers(client.received), []);
  t.notMatch(client.received, String.fromCharCode(IAC, SB), 'no subnegotiation at all');
  t.notMatch(client.received, String.fromCharCode(IAC, SE));
});
