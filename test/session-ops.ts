// A session's ops (workers/sessions/session.ts) against a door to a main thread that never
// answers: checked against the op table, ended with the session.
import t, { type Test } from 'tap';
import type { OpRequest, OpReply, OpResult, WorkerNotice } from '../common/protocol.ts';
import type { Diagnostics } from '../workers/diagnostics/diagnostics.ts';
import { Door } from '../workers/ops/door.ts';
import { Session, type SessionOwner } from '../workers/sessions/session.ts';

function setup(t: Test) {
  const notified: WorkerNotice[] = [];
  const sent: OpRequest[] = [];
  const audits: unknown[] = [];
  const door = new Door(
    {
      request: (request) => {
        sent.push(request);
        return new Promise<OpReply>(() => {});
      },
      notify: (notice) => notified.push(notice),
    },
    {} as Diagnostics,
  );
  t.teardown(() => door.close());
  const owner: SessionOwner = {
    id: 1,
    peer: 'test',
    door,
    newContext: () => 7,
    sessionOp: (op) => ({ status: 'done', value: { text: `ran ${op}` } }),
    audit: (event) => audits.push(event),
    active() {},
    guard: (step) => step(),
    drain() {},
  };
  return { session: new Session(owner), notified, sent, audits };
}

/** The next result pushed to `results`. */
const ended = (results: OpResult[]) =>
  new Promise<OpResult>((resolve) => {
    results.push = (result: OpResult) => {
      resolve(result);
      return 0;
    };
  });

t.test('an op is checked against the table before anything is sent', async (t) => {
  const { session, sent } = setup(t);
  const results: OpResult[] = [];
  const unknown = ended(results);
  session.run('nope', {}, { typed: 'nope' }, { done: (result) => results.push(result) });
  t.match(await unknown, { status: 'error', code: 'unknown-op' });
  const bad: OpResult[] = [];
  const badArgs = ended(bad);
  session.run('profile', { seconds: 'soon' }, { typed: '.profile soon' }, { done: (result) => bad.push(result) });
  t.match(await badArgs, { status: 'error', code: 'bad-args', value: { text: 'profile: seconds must be a number, not "soon"' } });
  t.equal(sent.length, 0);
});

t.test('a session op runs here, is not audited, and ends after run() has returned', async (t) => {
  const { session, sent, audits } = setup(t);
  const log: string[] = [];
  session.run('help', {}, { typed: '.help' }, { done: (result) => log.push(result.value.text) });
  log.push('returned');
  await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
  t.same(log, ['returned', 'ran help']);
  t.equal(sent.length, 0);
  t.same(audits, []);
});

t.test('a session that ends while its tab completion waits: the completion is answered (no names), the context dropped', async (t) => {
  const { session, notified, sent } = setup(t);
  const names: unknown[] = [];
  session.run('complete', { line: 'pro' }, { typed: 'pro', target: { path: [], prefix: 'pro' } }, { done: (result) => names.push(result.value.names) });
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(sent.length, 1, 'asked of the main thread');
  session.close();
  t.same(names, [[]], 'the line editor waiting for it goes on');
  t.same(notified, [{ type: 'drop-context', context: 7 }]);
});

t.test("every op that costs the main thread is audited as the session's command, once", async (t) => {
  const { session, audits } = setup(t);
  const running = session.run('eval', { code: '1' }, { typed: '1', input: { code: '1', awaited: false, declared: [], line: 1 } }, { done() {} });
  session.abandon(running);
  session.abandon(running);
  t.match(audits, [{ type: 'command', session: 1, code: '1', ok: false }]);
});
