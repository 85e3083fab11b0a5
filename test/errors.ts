import t from 'tap';
import { formatDuration } from '../common/duration.ts';
import { BackdoorError, listenErrorCode } from '../common/errors.ts';

t.test('a listen error keeps the system code a net server would report; anything else is ERR_BACKDOOR_LISTEN', async (t) => {
  t.equal(listenErrorCode('EADDRINUSE'), 'EADDRINUSE');
  t.equal(listenErrorCode('EACCES'), 'EACCES');
  t.equal(listenErrorCode(undefined), 'ERR_BACKDOOR_LISTEN');
  t.equal(listenErrorCode('ERR_SOMETHING_ELSE'), 'ERR_BACKDOOR_LISTEN');
  const error = new BackdoorError('ERR_BACKDOOR_CLOSED', 'closed');
  t.match(error, { name: 'BackdoorError', code: 'ERR_BACKDOOR_CLOSED', message: 'closed' });
});

t.test('durations read as a person writes them', async (t) => {
  t.equal(formatDuration(300), '300 ms');
  t.equal(formatDuration(1500), '1500 ms');
  t.equal(formatDuration(10_000), '10 s');
  t.equal(formatDuration(60_000), '1 min');
  t.equal(formatDuration(90_000), '1 min 30 s');
  t.equal(formatDuration(3_600_000), '1 h');
  t.equal(formatDuration(3_725_000), '1 h 2 min 5 s');
  t.equal(formatDuration(3_630_000), '1 h 30 s');
});
