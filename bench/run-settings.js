// @ts-check
// bench/run.js's command line, and the profile and settings it makes of it (see run.js's header
// for the options).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { describeAffinity } from './affinity.js';
/** @import { BenchBackdoorOptions, Profile, Settings } from './messages/report.ts' */

const here = dirname(fileURLToPath(import.meta.url));
// `--json` alone (last, or before another option) means the default file: parseArgs would
// otherwise take it for a missing value.
const argv = process.argv.slice(2).map((arg, i, all) => (arg === '--json' && (all[i + 1] === undefined || all[i + 1].startsWith('--')) ? '--json=' : arg));
export const { values: args } = parseArgs({
  args: argv,
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    json: { type: 'string' },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    seed: { type: 'string' },
  },
  allowPositionals: false,
  strict: true,
});
// `--json` alone means the default file.
export const jsonArg = process.argv.includes('--json') ? args.json || join(here, 'results', 'latest.json') : undefined;

/** The profile's name, which the stall bench's follows (bench/stalls.js). */
export const profileName = args.smoke ? 'smoke' : args.quick ? 'quick' : 'full';
/** @type {Profile} */
const profile = args.smoke
  ? {
      rounds: 1,
      durationMs: 300,
      warmMs: 100,
      capacityMs: 300,
      capacityProbes: 1,
      capacityGapMs: 0,
      rttCommands: 20,
      cpuCommands: 20,
      idleMs: 100,
      signalRuns: 3,
      runawayRuns: 1,
      heavyCommands: 5,
      stackRuns: 1,
      stackModules: 20,
      awaits: 10_000,
    }
  : args.quick
    ? {
        rounds: 1,
        durationMs: 800,
        warmMs: 200,
        capacityMs: 400,
        capacityProbes: 2,
        capacityGapMs: 400,
        rttCommands: 300,
        cpuCommands: 500,
        idleMs: 500,
        signalRuns: 3,
        runawayRuns: 3,
        heavyCommands: 30,
        stackRuns: 3,
        stackModules: 300,
        awaits: 100_000,
      }
    : {
        rounds: 5,
        durationMs: 4000,
        warmMs: 3000,
        capacityMs: 1000,
        capacityProbes: 5,
        capacityGapMs: 3000,
        rttCommands: 10_000,
        cpuCommands: 5000,
        idleMs: 3000,
        signalRuns: 20,
        runawayRuns: 5,
        heavyCommands: 200,
        stackRuns: 7,
        stackModules: 1000,
        awaits: 1_000_000,
      };
if (args.rounds) profile.rounds = positive('--rounds', args.rounds);
if (args.duration) profile.durationMs = positive('--duration', args.duration);
// The scenarios' order in the rounds comes from this seed: a fresh one per run, so that two runs
// are two samples of the machine's noise, not one order measured twice (the runs before this
// used one fixed seed, so three of them that read an idle session at about 1.5x were one order;
// with orders of their own it read 0.93x to 1.41x); `--seed` repeats a run's order, which the
// report gives.
const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positive('--seed', args.seed);
/** @type {Settings} */
export const settings = { ...profile, loadShare: 0.45, connections: 10, mainThreadBudget: 0.1, evalTimeoutMs: 2000, affinity: describeAffinity(), seed };
// Pauses for things to settle, not in the report: after an app has started its backdoor or
// REPL, before it says it is ready (and measures the RSS they added); before an idle app is
// measured.
export const pauses = args.smoke ? { appSettleMs: 20, idleSettleMs: 50 } : { appSettleMs: 200, idleSettleMs: 300 };

/**
 * A command-line number that must be a positive integer.
 * @param {string} option
 * @param {string} text
 */
function positive(option, text) {
  const value = Number(text);
  if (!(Number.isSafeInteger(value) && value > 0)) throw new RangeError(`${option} must be a positive integer, not ${JSON.stringify(text)}`);
  return value;
}

// Defaults, but for room for the 32-session scenario and no audit lines in the bench's output.
/** @type {BenchBackdoorOptions} */
export const backdoorOptions = { mainThreadBudget: settings.mainThreadBudget, evalTimeoutMs: settings.evalTimeoutMs, maxSessions: 64, audit: false };
