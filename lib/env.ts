import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SignalOptions } from './signals.ts';

/**
 * Options for the zero-code preload (`--import backdoor/register`), from the environment:
 *
 * | variable | option |
 * | --- | --- |
 * | BACKDOOR_PORT, BACKDOOR_HOST | `port`, `host` (TCP instead of the default unix socket) |
 * | BACKDOOR_PATH | `path` (default `<tmpdir>/backdoor-<pid>.sock`, when no port or host is set) |
 * | BACKDOOR_START_SIGNAL, BACKDOOR_STOP_SIGNAL | `startSignal`, `stopSignal` |
 * | BACKDOOR_EVAL_TIMEOUT_MS | `evalTimeoutMs` |
 * | BACKDOOR_MAIN_THREAD_BUDGET | `mainThreadBudget` |
 * | BACKDOOR_BANNER | `banner` |
 * | BACKDOOR_TOKEN | `token` |
 * | BACKDOOR_ALLOW_REMOTE=1 | `allowRemote` |
 * | BACKDOOR_AUDIT | `audit`: `stderr` (every event), `off`, or unset for the default |
 * | BACKDOOR_MAX_SESSIONS, BACKDOOR_MAX_INPUT_BYTES, BACKDOOR_IDLE_TIMEOUT_MS | the options of those names |
 *
 * A process started with the preload has no locals to offer, and may be one of many copies
 * (cluster, PM2): by default each listens on a unix socket of its own, owner-only, which
 * `backdoor <pid>` finds through the discovery file. Throws a TypeError naming the variable
 * when one is malformed.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env, pid = process.pid): SignalOptions {
  const options: SignalOptions = {};
  const number = (name: string): number | undefined => {
    const text = env[name];
    if (text === undefined || text === '') return undefined;
    const value = Number(text);
    if (!Number.isFinite(value)) throw new TypeError(`${name} must be a number. Received '${text}'`);
    return value;
  };
  const text = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);

  const port = number('BACKDOOR_PORT');
  const host = text('BACKDOOR_HOST');
  const path = text('BACKDOOR_PATH');
  if (port !== undefined) options.port = port;
  if (host !== undefined) options.host = host;
  if (path !== undefined) options.path = path;
  else if (port === undefined && host === undefined) options.path = join(tmpdir(), `backdoor-${pid}.sock`);

  const startSignal = text('BACKDOOR_START_SIGNAL');
  const stopSignal = text('BACKDOOR_STOP_SIGNAL');
  if (startSignal !== undefined) options.startSignal = startSignal as NodeJS.Signals;
  if (stopSignal !== undefined) options.stopSignal = stopSignal as NodeJS.Signals;
  const evalTimeoutMs = number('BACKDOOR_EVAL_TIMEOUT_MS');
  if (evalTimeoutMs !== undefined) options.evalTimeoutMs = evalTimeoutMs;
  const budget = number('BACKDOOR_MAIN_THREAD_BUDGET');
  if (budget !== undefined) options.mainThreadBudget = budget;
  const banner = text('BACKDOOR_BANNER');
  if (banner !== undefined) options.banner = banner;
  const token = text('BACKDOOR_TOKEN');
  if (token !== undefined) options.token = token;
  if (env.BACKDOOR_ALLOW_REMOTE === '1') options.allowRemote = true;
  const audit = text('BACKDOOR_AUDIT');
  if (audit === 'stderr') options.audit = 'stderr';
  else if (audit === 'off') options.audit = false;
  else if (audit !== undefined) throw new TypeError(`BACKDOOR_AUDIT must be 'stderr' or 'off'. Received '${audit}'`);
  const maxSessions = number('BACKDOOR_MAX_SESSIONS');
  if (maxSessions !== undefined) options.maxSessions = maxSessions;
  const maxInputBytes = number('BACKDOOR_MAX_INPUT_BYTES');
  if (maxInputBytes !== undefined) options.maxInputBytes = maxInputBytes;
  const idleTimeoutMs = number('BACKDOOR_IDLE_TIMEOUT_MS');
  if (idleTimeoutMs !== undefined) options.idleTimeoutMs = idleTimeoutMs;
  return options;
}
