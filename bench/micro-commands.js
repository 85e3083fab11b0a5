// @ts-check
// The micro figures of one command and one idle session (bench/micro.js): round trips, CPU per
// command, the idle main thread.
import { replPort, required, sleep, startApp as startAppSettled } from './child.js';
/** @import { AppMode, AppOptions } from './messages/app.ts' */
/** @import { BenchBackdoorOptions, MicroFigures } from './messages/report.ts' */
/** @import { MicroContext } from './micro.js' */

/**
 * Round trips of 1+1, CPU per 1+1, an idle session: rttGuardOn, rttGuardOff, rttInteractive, cpuGuardOn, cpuGuardOff, idleAppAlone, idleBackdoor.
 * @param {MicroContext} context
 * @returns {Promise<Partial<MicroFigures>>}
 */
export async function commandFigures({ clients, settings, pauses, backdoorOptions, commands: { trivial: TRIVIAL } }) {
  /** @type {Partial<MicroFigures>} */
  const figures = {};
  const startApp = (/** @type {AppMode} */ mode, /** @type {AppOptions} */ options) => startAppSettled(mode, options, pauses.appSettleMs);
  // Round trips of 1+1 as the client sees them, back to back (no budget, so that pacing does
  // not count), with and without the timeout guard; then at a person's pace with the defaults.
  /**
   * @param {'rttGuardOn' | 'rttGuardOff' | 'rttInteractive'} key
   * @param {BenchBackdoorOptions} options
   * @param {number} n
   */
  const rtt = async (key, options, n, gapMs = 0) => {
    const app = await startApp('backdoor', options);
    const { result } = await clients.ask({ cmd: 'count', port: replPort(app), command: TRIVIAL, n, gapMs }, 'counted', 600_000);
    figures[key] = { commands: result.commands, p50Us: result.rttP50Us, p99Us: result.rttP99Us, ...options, gapMs };
    await app.stop();
  };
  await rtt('rttGuardOn', { ...backdoorOptions, mainThreadBudget: 1 }, settings.rttCommands);
  await rtt('rttGuardOff', { ...backdoorOptions, mainThreadBudget: 1, evalTimeoutMs: 0 }, settings.rttCommands);
  await rtt('rttInteractive', backdoorOptions, Math.min(settings.rttCommands, 2000), 20);
  // CPU per trivial command, with and without the timeout guard, in an otherwise idle app: the
  // main thread's, and off it by part (the backdoor's worker; the rest: V8's watchdog thread of
  // each command under evalTimeoutMs, its compiler and GC helpers, which the process's CPU time
  // counts even once they have ended). Twice in a row: the first commands of a fresh backdoor
  // pay for V8 compiling the worker's code (a cost paid once); the next as many are what each
  // command of a flood costs from then on.
  for (const [key, evalTimeoutMs] of /** @type {const} */ ([
    ['cpuGuardOn', settings.evalTimeoutMs],
    ['cpuGuardOff', 0],
  ])) {
    const app = await startApp('backdoor', { ...backdoorOptions, mainThreadBudget: 1, evalTimeoutMs });
    const measure = async () => {
      await app.ask({ cmd: 'measure-start' }, 'measure-started');
      await clients.ask({ cmd: 'count', port: replPort(app), command: TRIVIAL, n: settings.cpuCommands }, 'counted', 600_000);
      const measured = await app.ask({ cmd: 'measure-stop' }, 'measured');
      const commands = required(measured.backdoorCommands, 'the commands a backdoor ran');
      const offMainMs = measured.processCpuMs - measured.mainCpuMs;
      return {
        commands,
        cpuUsPerCommand: (measured.mainCpuMs * 1000) / commands,
        evaluatorUsPerCommand: (required(measured.backdoorMainMs, "a backdoor's main-thread time") * 1000) / commands,
        offMainCpuUsPerCommand: (offMainMs * 1000) / commands,
        workerCpuUsPerCommand: measured.workerCpuMs === undefined ? undefined : (measured.workerCpuMs * 1000) / commands,
        otherThreadsCpuUsPerCommand: measured.workerCpuMs === undefined ? undefined : ((offMainMs - measured.workerCpuMs) * 1000) / commands,
      };
    };
    const cold = await measure();
    figures[key] = { evalTimeoutMs, ...(await measure()), cold };
    await app.stop();
  }
  // Idle: the main thread's active time with a started backdoor and an open idle session,
  // against the app alone, over the same time.
  for (const [key, mode] of /** @type {const} */ ([
    ['idleAppAlone', 'none'],
    ['idleBackdoor', 'backdoor'],
  ])) {
    const app = await startApp(mode, backdoorOptions);
    if (mode === 'backdoor') await clients.ask({ cmd: 'start', port: replPort(app), count: 1, command: null }, 'started');
    await sleep(pauses.idleSettleMs);
    await app.ask({ cmd: 'measure-start' }, 'measure-started');
    await sleep(settings.idleMs);
    const measured = await app.ask({ cmd: 'measure-stop' }, 'measured');
    figures[key] = {
      activeMsPerSecond: (measured.activeMs / measured.wallMs) * 1000,
      cpuMsPerSecond: (measured.mainCpuMs / measured.wallMs) * 1000,
      timers: measured.resources.filter((r) => r === 'Timeout' || r === 'Immediate').length,
    };
    if (mode === 'backdoor') await clients.ask({ cmd: 'stop' }, 'stopped');
    await app.stop();
  }
  return figures;
}
