// @ts-check
// The micro figures of what a session costs the app's own code (bench/micro.js): a heavy
// command against the same code in the app's realm, `.stack` in a busy app, the app's awaits.
import { replPort, required, sleep, startApp as startAppSettled } from './child.js';
import { median } from './stats.js';
/** @import { App } from './child.js' */
/** @import { AppMode, AppOptions } from './messages/app.ts' */
/** @import { MicroFigures } from './messages/report.ts' */
/** @import { MicroContext } from './micro.js' */

/**
 * The heavy command in a session against the app's realm, `.stack` in a busy app, the app's `await null`: heavyRealm, stackCost, awaitCost.
 * @param {MicroContext} context
 * @returns {Promise<Partial<MicroFigures>>}
 */
export async function appCostFigures({ clients, settings, pauses, backdoorOptions, commands: { trivial: TRIVIAL, heavy: HEAVY } }) {
  /** @type {Partial<MicroFigures>} */
  const figures = {};
  const startApp = (/** @type {AppMode} */ mode, /** @type {AppOptions} */ options) => startAppSettled(mode, options, pauses.appSettleMs);
  // The heavy command's main-thread time in a session (what the backdoor counts, running and
  // printing; no budget) against the same code in the app's own realm, run and printed there as
  // the app would run it on a request: each line read from a socket by the realm server
  // (bench/app-work.js). The client alternates, one command on the session, one on the realm server,
  // each sent once the one before has answered: both run one per turn of the event loop with the
  // sockets' and the client's work between two, and any change in the machine's state (another
  // VM's load, the CPU's clock) falls on both alike, command by command. The realm server reads
  // the backdoor's count as each line comes, so the session's time is per command too. The ratio
  // is of the means: all that the commands cost the main thread, the collections of their garbage
  // included (they fall on whichever command allocates when the young generation is full, on
  // either side alike); the medians beside them leave those out. A third server in the cycle
  // keeps its last value, as a REPL keeps `_` (bench/app-work.js says what that costs). Also the same
  // code in a loop that runs it back to back in the app (warmer caches than any command gets),
  // for reference. One session and one realm connection throughout: a session's context is made
  // by its first command, which is not what a command costs.
  {
    const app = await startApp('backdoor', { ...backdoorOptions, mainThreadBudget: 1 });
    const { port: realmPort } = await app.ask({ cmd: 'realm-server' }, 'realm-serving');
    const { port: keepingPort } = await app.ask({ cmd: 'realm-server', keep: true }, 'realm-serving');
    const n = settings.heavyCommands;
    const warm = Math.min(5, n);
    const ports = [replPort(app), realmPort, keepingPort];
    await clients.ask({ cmd: 'alternate', ports, command: HEAVY, n: warm }, 'alternated', 600_000);
    await app.ask({ cmd: 'realm-times' }, 'realm-timed');
    await clients.ask({ cmd: 'alternate', ports, command: HEAVY, n: n + 1 }, 'alternated', 600_000);
    const timed = await app.ask({ cmd: 'realm-times' }, 'realm-timed');
    const ran = await app.ask({ cmd: 'run-in-realm', code: HEAVY, runs: n, warmRuns: warm }, 'ran-in-realm', 600_000);
    const mean = (/** @type {number[]} */ values) => values.reduce((a, b) => a + b, 0) / values.length;
    const sessionMs = mean(timed.sessionMs);
    const appRealmMs = mean(timed.runAndPrintMs);
    figures.heavyRealm = {
      commands: timed.sessionMs.length,
      sessionMs,
      appRealmMs,
      sessionMedianMs: required(median(timed.sessionMs), "the session's times"),
      appRealmMedianMs: required(median(timed.runAndPrintMs), "the app realm's times"),
      appRealmKeepingMs: mean(timed.keptRunAndPrintMs),
      appRealmRunOnlyMs: required(median(timed.runMs), "the app realm's times"),
      appRealmLoopMs: required(median(ran.runAndPrintMs), "the loop's times"),
      ratio: sessionMs / appRealmMs,
    };
    await clients.ask({ cmd: 'drop-kept' }, 'dropped-kept');
    await app.stop();
  }
  // What `.stack` costs the app: its main thread busy in its own code, with many modules of
  // its own loaded (each a script the debugger is told of when it is enabled). The app's busy
  // loop is measured alone, then with one `.stack` from a fresh session 200 ms into it.
  {
    const app = await startApp('backdoor', backdoorOptions);
    await app.ask({ cmd: 'load-modules', count: settings.stackModules }, 'loaded-modules', 600_000);
    const port = replPort(app);
    const median = (/** @type {number[]} */ values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    /** @type {{ held: number, max: number, quietMax: number, answer: number }[]} */
    const runs = [];
    for (let i = 0; i < settings.stackRuns; i++) {
      const quiet = await app.ask({ cmd: 'busy', ms: 1000 }, 'was-busy', 60_000);
      const busy = app.ask({ cmd: 'busy', ms: 1000 }, 'was-busy', 60_000);
      await sleep(200);
      const asked = performance.now();
      await clients.ask({ cmd: 'count', port, command: '.stack', n: 1 }, 'counted', 60_000);
      const answer = performance.now() - asked;
      const gaps = await busy;
      runs.push({ held: gaps.gapsMs - quiet.gapsMs, max: gaps.maxGapMs, quietMax: quiet.maxGapMs, answer });
    }
    const idleAsked = performance.now();
    await clients.ask({ cmd: 'count', port, command: '.stack', n: 1 }, 'counted', 60_000);
    figures.stackCost = {
      modules: settings.stackModules,
      runs: runs.length,
      heldMs: median(runs.map((r) => r.held)),
      maxGapMs: median(runs.map((r) => r.max)),
      quietMaxGapMs: median(runs.map((r) => r.quietMax)),
      answerMs: median(runs.map((r) => r.answer)),
      idleAnswerMs: performance.now() - idleAsked,
    };
    await app.stop();
  }
  // What attributing late errors to their session costs the app's own awaits, by state: the
  // app alone; a backdoor started, no session; a session whose context exists (it ran a
  // command); that session ended.
  {
    const awaits = settings.awaits;
    const cost = async (/** @type {App} */ app) => (await app.ask({ cmd: 'await-cost', awaits }, 'await-costed', 600_000)).nsPerAwait;
    const alone = await startApp('none', backdoorOptions);
    const aloneNs = await cost(alone);
    await alone.stop();
    const app = await startApp('backdoor', backdoorOptions);
    const noSessionNs = await cost(app);
    await clients.ask({ cmd: 'start', port: replPort(app), count: 1, command: null, first: TRIVIAL }, 'started');
    const sessionNs = await cost(app);
    await clients.ask({ cmd: 'stop' }, 'stopped');
    await sleep(pauses.idleSettleMs);
    const afterSessionNs = await cost(app);
    await app.stop();
    figures.awaitCost = { awaits, aloneNs, noSessionNs, sessionNs, afterSessionNs };
  }
  return figures;
}
