// @ts-check
// node bench/stalls.js [--quick | --smoke] [--dist <dist directory>] [--json <file>]
// (and part of `npm run bench`, against this build's dist/)
//
// What the app's main thread feels while sessions do costly things: an app (bench/stall-app.js)
// watches its own main thread with a heartbeat, and each row reports the worst gap between two
// of its runs and their rate against the same app with no session (its baseline):
//   busy app (a 3 ms chunk of work every 10 ms, ~30% load): a `.stack` flood from one session;
//     TAB after `arr.` (a 3e6-element Array), `u8.` (a 3e6 Uint8Array), `big.` (an object of
//     3e5 keys), one request at a time, each waited for, then the next;
//   idle app (a 50 ms timer only): one session running 1.5 s busy loops back to back; four such
//     sessions, and a fifth timing `1+1` every 200 ms.
// Each row in an app of its own, so that no debt to the budget carries over from one to the
// next; the window is fixed, and what still waits at its end is abandoned by closing its
// session. `--dist` measures another build of the backdoor (for before/after figures: the
// app uses only what every build has); the figures of one run mean little beside another
// machine's, and --smoke's nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Child, sleep } from './child.js';
import { printStalls } from './report.js';
import { StallSession } from './stall-session.js';
/** @import { StallAppMode, StallAppReply, StallAppRequest, StallBackdoorOptions, StallFigures, StallProfile, StallRow } from './messages/stalls.ts' */

const here = dirname(fileURLToPath(import.meta.url));

/** @type {Record<'smoke' | 'quick' | 'full', StallProfile>} */
export const stallProfiles = {
  smoke: { warmMs: 200, busyMs: 1000, longMs: 2000, answerTimeoutMs: 15_000 },
  quick: { warmMs: 500, busyMs: 2000, longMs: 4000, answerTimeoutMs: 15_000 },
  full: { warmMs: 1000, busyMs: 4000, longMs: 8000, answerTimeoutMs: 15_000 },
};

/** The budget as the bench's other parts have it, and room for the 1.5 s loops. @type {StallBackdoorOptions} */
const backdoorOptions = { mainThreadBudget: 0.1, evalTimeoutMs: 5000, audit: false };
/** 1.5 s of the main thread, then a value. */
const LONG = "for (const end = Date.now() + 1500; Date.now() < end; ); 'done'";

/**
 * What a row's sessions do until `deadline` (performance.now()), each wait bounded by it; what
 * they got, for the row.
 * @typedef {(sessions: StallSession[], deadline: number) => Promise<Partial<StallRow>>} Work
 */

/**
 * The rows, each in a fresh app of the build in `dist`.
 * @param {{ dist: string, profile: StallProfile, progress?: (text: string) => void }} options
 * @returns {Promise<StallFigures>}
 */
export async function stalls({ dist, profile, progress = () => {} }) {
  /** @type {StallRow[]} */
  const rows = [];
  /** @type {Partial<Record<StallAppMode, number>>} */
  const baselines = {};
  const left = (/** @type {number} */ deadline) => deadline - performance.now();
  /**
   * @param {string} name
   * @param {StallAppMode} mode
   * @param {number} windowMs
   * @param {number} sessions opened before the window
   * @param {Work} work
   * @param {(session: StallSession, index: number) => Promise<void>} [prepare] each session, before the window
   */
  const row = async (name, mode, windowMs, sessions, work = async () => ({}), prepare = async () => {}) => {
    /** @type {Child<StallAppRequest, StallAppReply>} */
    const app = new Child('stall-app.js', [dist, mode, JSON.stringify(backdoorOptions)]);
    /** @type {StallSession[]} */
    const opened = [];
    try {
      const { port } = await app.ask(undefined, 'ready', 60_000);
      for (let i = 0; i < sessions; i++) {
        opened.push(await StallSession.open(port, 10_000));
        await prepare(opened[i], i);
      }
      await sleep(profile.warmMs);
      await app.ask({ cmd: 'reset' }, 'reset-done', 30_000);
      const working = work(opened, performance.now() + windowMs);
      working.catch(() => {}); // awaited below, after the window
      await sleep(windowMs);
      // Answered once the main thread is free: a stall in progress counts.
      const beat = await app.ask({ cmd: 'read' }, 'heartbeat', 60_000);
      for (const session of opened) session.close();
      const got = await working;
      const runsPerSecond = (beat.runs / beat.ms) * 1000;
      baselines[mode] ??= runsPerSecond;
      /** @type {StallRow} */
      const result = { name, app: mode, windowMs, worstGapMs: beat.worstGapMs, runsPerSecond, baselineRunsPerSecond: baselines[mode], ...got };
      rows.push(result);
      progress(`stall: ${name.padEnd(52)} worst gap ${beat.worstGapMs.toFixed(1)} ms, ${runsPerSecond.toFixed(1)} runs/s`);
    } finally {
      for (const session of opened) session.close();
      await app.stop();
    }
  };
  /**
   * `session` runs `LONG` back to back until `deadline`: how many ran to their end.
   * @param {StallSession} session
   * @param {number} deadline
   */
  const longLoop = async (session, deadline) => {
    let ran = 0;
    while (left(deadline) > 0 && (await session.command(LONG, left(deadline))) !== undefined) ran++;
    return ran;
  };

  await row('busy app, baseline', 'busy', profile.busyMs, 0);
  await row('busy app, .stack flood', 'busy', profile.busyMs, 1, async ([session], deadline) => {
    let answered = 0;
    while (left(deadline) > 0 && (await session.command('.stack', Math.min(profile.answerTimeoutMs, left(deadline)))) !== undefined) answered++;
    return { stacksPerSecond: answered / (profile.busyMs / 1000) };
  });
  for (const name of ['arr', 'u8', 'big']) {
    await row(
      `busy app, TAB after ${name}.`,
      'busy',
      profile.busyMs,
      1,
      async ([session], deadline) => {
        const completions = { answered: 0, unanswered: 0, slowestMs: 0 };
        while (left(deadline) > 0) {
          const start = performance.now();
          const ms = await session.complete(`${name}.`, Math.min(profile.answerTimeoutMs, left(deadline)));
          completions.slowestMs = Math.max(completions.slowestMs, ms ?? performance.now() - start);
          if (ms === undefined) {
            completions.unanswered++;
            break;
          }
          completions.answered++;
        }
        return { completions };
      },
      (session) => session.offerCompletion(10_000),
    );
  }
  await row('idle app, baseline', 'idle', profile.busyMs, 0);
  await row('idle app, 1.5 s commands back to back', 'idle', profile.longMs, 1, async ([session], deadline) => ({ longCommands: await longLoop(session, deadline) }));
  await row(
    'idle app, 4 sessions of 1.5 s commands, a fifth timing 1+1',
    'idle',
    profile.longMs,
    5,
    async (sessions, deadline) => {
      const [timer, ...hogs] = sessions;
      const loops = Promise.all(hogs.map((hog) => longLoop(hog, deadline)));
      const roundTrip = { worstMs: 0, answered: 0, unanswered: 0 };
      while (left(deadline) > 0) {
        const start = performance.now();
        const ms = await timer.command('1+1', left(deadline));
        roundTrip.worstMs = Math.max(roundTrip.worstMs, ms ?? performance.now() - start);
        if (ms === undefined) {
          roundTrip.unanswered++;
          break;
        }
        roundTrip.answered++;
        await sleep(Math.max(0, Math.min(200, left(deadline))));
      }
      const ran = await loops;
      return { roundTrip, longCommands: ran.reduce((a, b) => a + b, 0) };
      // The fifth has run a `1+1` before the window: a session whose last op was short, as a
      // person's is (the four start fresh).
    },
    async (session, index) => {
      if (index === 0 && (await session.command('1+1', 10_000)) === undefined) throw new Error('no answer to a first 1+1 within 10 s');
    },
  );
  return { dist, ...profile, ...backdoorOptions, rows };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { values: args } = parseArgs({
    options: { dist: { type: 'string', default: join(here, '..', 'dist') }, quick: { type: 'boolean', default: false }, smoke: { type: 'boolean', default: false }, json: { type: 'string' } },
    strict: true,
  });
  const figures = await stalls({
    dist: resolve(args.dist),
    profile: stallProfiles[args.smoke ? 'smoke' : args.quick ? 'quick' : 'full'],
    progress: (text) => process.stderr.write(`${text}\n`),
  });
  console.log(`stall bench: Node ${process.version}, backdoor from ${figures.dist}`);
  printStalls(figures);
  if (args.json) {
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(args.json, `${JSON.stringify(figures, null, 2)}\n`);
  }
}
