/**
 * The zero-code preload: `node --import backdoor/register app.js` (or in NODE_OPTIONS; with
 * `--require`, register.cts takes the signals first and loads this) installs the backdoor's
 * signal handlers in a process whose code knows nothing of it. Configured from the
 * environment (lib/env.ts); `BACKDOOR_START=1` starts the backdoor at once.
 *
 * It never stops the app from starting: a bad setting is reported on stderr and the app runs
 * without a backdoor. Its settings (the token too) are removed from the environment that the
 * app's child processes inherit, unless `BACKDOOR_INHERIT=1` (lib/inheritance.cts). In worker
 * threads it does nothing (a preload runs again in every worker that inherits the process's
 * flags).
 */
import { isMainThread } from 'node:worker_threads';
import { optionsFromEnv } from './env.ts';
import inheritance from '../common/inheritance.cts';
import signalNames from '../common/signal-names.cts';
import { installSignalHandlers, startNow } from './signals.ts';

if (isMainThread) {
  // As the CommonJS preload handed them over, or the environment itself.
  const settings = inheritance.preloadSettings();
  const startAtOnce = settings.BACKDOOR_START === '1';
  try {
    const options = optionsFromEnv(settings === process.env ? process.env : { ...process.env, ...settings });
    // Read once, then out of the environment the app's children will see (inheritance.cts).
    inheritance.scrubEnvironment();
    installSignalHandlers(options);
    if (startAtOnce) void startNow();
  } catch (error) {
    inheritance.scrubEnvironment();
    const reason = (error as Error).message;
    process.stderr.write(`backdoor: not installed: ${reason}\n`);
    holdSignals(settings, reason);
  }
}

/**
 * Not installed, the preload still holds its start and stop signals, with listeners that only
 * say why: left to Node, SIGUSR1 would open its inspector (unauthenticated, to every local
 * user) and SIGUSR2 would kill the app, whatever made the installation fail (a bad setting, a
 * full disk, a directory another user made).
 */
function holdSignals(settings: NodeJS.ProcessEnv, reason: string): void {
  const named = (value: string | undefined, fallback: string) => (value === undefined || value === '' || signalNames.unusableSignalReason(value) !== undefined ? fallback : value);
  for (const signal of new Set([named(settings.BACKDOOR_START_SIGNAL, 'SIGUSR1'), named(settings.BACKDOOR_STOP_SIGNAL, 'SIGUSR2'), 'SIGUSR1'])) {
    try {
      process.on(signal as NodeJS.Signals, () => process.stderr.write(`backdoor: not installed (${reason}): ${signal} ignored (pid ${process.pid})\n`));
    } catch {
      // a signal this platform cannot listen for
    }
  }
}
