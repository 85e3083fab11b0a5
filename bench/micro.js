// @ts-check
// The micro figures of bench/run.js: what one command, one idle session, one start costs, each
// measured in an app of its own with no HTTP load; in three groups: one command and one idle
// session (micro-commands.js), how soon a prompt comes (micro-prompt.js), what a session costs
// the app's own code (micro-app.js).
import { appCostFigures } from './micro-app.js';
import { commandFigures } from './micro-commands.js';
import { promptFigures } from './micro-prompt.js';
/** @import { Clients } from './child.js' */
/** @import { BenchBackdoorOptions, MicroFigures, Settings } from './messages/report.ts' */

/**
 * What the micro figures need of bench/run.js.
 * @typedef {{
 *   clients: Clients,
 *   settings: Settings,
 *   pauses: { appSettleMs: number, idleSettleMs: number },
 *   backdoorOptions: BenchBackdoorOptions,
 *   commands: { trivial: string, heavy: string },
 * }} MicroContext
 */

/**
 * The figures of the micro table, each in an app of its own (idle but for what it measures).
 * @param {MicroContext} context
 * @returns {Promise<MicroFigures>}
 */
export async function micro(context) {
  /** @type {Partial<MicroFigures>} */
  const figures = { ...(await commandFigures(context)), ...(await promptFigures(context)), ...(await appCostFigures(context)) };
  const { rttGuardOn, rttGuardOff, rttInteractive, cpuGuardOn, cpuGuardOff, idleAppAlone, idleBackdoor, signalToPrompt, runaway, heavyRealm, stackCost, awaitCost } = figures;
  if (!(rttGuardOn && rttGuardOff && rttInteractive && cpuGuardOn && cpuGuardOff && idleAppAlone && idleBackdoor && signalToPrompt && runaway && heavyRealm && stackCost && awaitCost)) {
    throw new Error('a micro figure is missing');
  }
  // In the order they were measured, as before.
  return { rttGuardOn, rttGuardOff, rttInteractive, cpuGuardOn, cpuGuardOff, idleAppAlone, idleBackdoor, signalToPrompt, runaway, heavyRealm, stackCost, awaitCost };
}
