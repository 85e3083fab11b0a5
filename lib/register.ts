/**
 * The zero-code preload: `node --import backdoor/register app.js` (or in NODE_OPTIONS, or
 * `--require backdoor/register`: Node 20.19+ requires this ES module synchronously, so the
 * handlers are in place before the app's first line, as with --import) installs the
 * backdoor's signal handlers in a process whose code knows nothing of it. Configured from
 * the environment (lib/env.ts); `BACKDOOR_START=1` starts the backdoor at once.
 *
 * It never stops the app from starting: a bad setting is reported on stderr and the app runs
 * without a backdoor. In worker threads it does nothing (a preload runs again in every worker
 * that inherits the process's flags).
 */
import { isMainThread } from 'node:worker_threads';
import { optionsFromEnv } from './env.ts';
import { installSignalHandlers, startNow } from './signals.ts';

if (isMainThread) {
  try {
    installSignalHandlers(optionsFromEnv());
    if (process.env.BACKDOOR_START === '1') void startNow();
  } catch (error) {
    process.stderr.write(`backdoor: not installed: ${(error as Error).message}\n`);
  }
}
