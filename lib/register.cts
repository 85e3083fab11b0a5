/**
 * The preload for CommonJS: `node --require backdoor/register app.cjs` (package.json sends
 * `require` here, `import` to register.js).
 *
 * It must not `require()` the ES modules of the library: on Node 22, `require()` of an ES module
 * throws `ERR_METHOD_NOT_IMPLEMENTED` whenever an asynchronous module hook is registered (tsx,
 * OpenTelemetry, APMs, test runners), and would stop the app from starting. So this file is
 * CommonJS with no imports of ours: it takes the start and stop signals at once (so that a
 * SIGUSR1 arriving during start-up neither starts Node's inspector nor, for SIGUSR2, kills the
 * app), then loads register.js with `import()`, which goes through any hooks, and hands over
 * the signals that arrived meanwhile. Whatever fails is reported on stderr; the app starts.
 */
import workerThreads = require('node:worker_threads');
import inheritance = require('../common/inheritance.cjs');
import signalNames = require('../common/signal-names.cjs');

if (workerThreads.isMainThread) {
  const early: NodeJS.Signals[] = [];
  let loaded = false;
  const named = (value: string | undefined, fallback: string) => (value === undefined || value === '' ? fallback : value);
  for (const signal of [named(process.env.BACKDOOR_START_SIGNAL, 'SIGUSR1'), named(process.env.BACKDOOR_STOP_SIGNAL, 'SIGUSR2')]) {
    if (signalNames.unusableSignalReason(signal) !== undefined) continue; // register.js says why
    // Stays for the life of the process, doing nothing once register.js has its own listener.
    process.on(signal as NodeJS.Signals, () => {
      if (!loaded) early.push(signal as NodeJS.Signals);
    });
  }
  // Out of the environment now, before the app's first line can spawn a child; register.js
  // gets them handed over.
  inheritance.scrubEnvironment(process.env, true);
  import('./register.js').then(
    () => {
      loaded = true;
      for (const signal of early) process.emit(signal, signal);
    },
    (error: unknown) => {
      loaded = true;
      process.stderr.write(`backdoor: not installed: ${String((error as Error)?.message ?? error)}\n`);
    },
  );
}
