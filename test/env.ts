import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { optionsFromEnv } from '../lib/env.ts';

t.test('the preload defaults to a unix socket of its own', async (t) => {
  // In the user's private rendezvous directory (made, and checked, by the call).
  t.same(optionsFromEnv({}, 42), { path: join(tmpdir(), `backdoor-${process.getuid!()}`, '42.sock') });
  t.same(optionsFromEnv({ BACKDOOR_PORT: '0' }, 42), { port: 0 });
  t.same(optionsFromEnv({ BACKDOOR_HOST: '::1' }, 42), { host: '::1' });
});

t.test('every variable maps to its option', async (t) => {
  t.same(
    optionsFromEnv({
      BACKDOOR_PATH: '/run/app.sock',
      BACKDOOR_START_SIGNAL: 'SIGUSR2',
      BACKDOOR_STOP_SIGNAL: 'SIGHUP',
      BACKDOOR_EVAL_TIMEOUT_MS: '500',
      BACKDOOR_MAIN_THREAD_BUDGET: '0.05',
      BACKDOOR_BANNER: 'hello',
      BACKDOOR_TOKEN: 'a long secret',
      BACKDOOR_ALLOW_REMOTE: '1',
      BACKDOOR_AUDIT: 'stderr',
      BACKDOOR_MAX_SESSIONS: '4',
      BACKDOOR_MAX_INPUT_BYTES: '4096',
      BACKDOOR_IDLE_TIMEOUT_MS: '60000',
      BACKDOOR_AUTH_TIMEOUT_MS: '5000',
      BACKDOOR_DIAGNOSTICS_DIR: '/var/tmp/app-profiles',
    }),
    {
      path: '/run/app.sock',
      startSignal: 'SIGUSR2',
      stopSignal: 'SIGHUP',
      evalTimeoutMs: 500,
      mainThreadBudget: 0.05,
      banner: 'hello',
      token: 'a long secret',
      allowRemote: true,
      audit: 'stderr',
      maxSessions: 4,
      maxInputBytes: 4096,
      idleTimeoutMs: 60000,
      authTimeoutMs: 5000,
      diagnosticsDir: '/var/tmp/app-profiles',
    },
  );
  t.same(optionsFromEnv({ BACKDOOR_PORT: '1', BACKDOOR_AUDIT: 'off', BACKDOOR_START_SIGNAL: '' }), { port: 1, audit: false });
});

t.test('a malformed variable is named', async (t) => {
  t.throws(() => optionsFromEnv({ BACKDOOR_PORT: 'abc' }), { message: "BACKDOOR_PORT must be a number. Received 'abc'" });
  t.throws(() => optionsFromEnv({ BACKDOOR_AUDIT: 'yes' }), { message: "BACKDOOR_AUDIT must be 'stderr' or 'off'. Received 'yes'" });
});
