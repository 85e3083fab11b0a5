import { defaultSocketPath } from '../common/discovery.ts';
import { ensureRendezvousDir } from './announce.ts';
import type { SignalOptions } from './signals.ts';

/**
 * Options for the zero-code preload (`--import backdoor/register`), from the environment:
 *
 * | variable | option |
 * | --- | --- |
 * | BACKDOOR_PORT, BACKDOOR_HOST | `port`, `host` (TCP instead of the default unix socket) |
 * | BACKDOOR_PATH | `path` (default `<rendezvous dir>/<pid>.sock`, when no port or host is set: see discovery.ts) |
 * | BACKDOOR_DIR | the rendezvous directory (default `<tmpdir>/backdoor-<uid>`), for the preload and the client |
 * | BACKDOOR_START_SIGNAL, BACKDOOR_STOP_SIGNAL | `startSignal`, `stopSignal` |
 * | BACKDOOR_EVAL_TIMEOUT_MS | `evalTimeoutMs` |
 * | BACKDOOR_MAIN_THREAD_BUDGET | `mainThreadBudget` |
 * | BACKDOOR_BANNER | `banner` |
 * | BACKDOOR_TOKEN | `token` |
 * | BACKDOOR_ALLOW_REMOTE=1 | `allowRemote` |
 * | BACKDOOR_AUDIT | `audit`: `stderr` (every event), `off`, or unset for the default |
 * | BACKDOOR_MAX_SESSIONS, BACKDOOR_MAX_INPUT_BYTES, BACKDOOR_IDLE_TIMEOUT_MS, BACKDOOR_AUTH_TIMEOUT_MS | the options of those names |
 *
 * A process started with the preload has no locals to offer, and may be one of many copies
 * (cluster, PM2): by default each listens on a unix socket of its own, owner-only, which
 * `backdoor <pid>` finds through the discovery file. Throws a TypeError naming the variable
 * when one is malformed.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env, pid = process.pid): SignalOptions {
  const text = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);
  const number = (name: string): number | undefined => {
    const value = text(name);
    if (value === undefined) return undefined;
    if (!Number.isFinite(Number(value))) throw new TypeError(`${name} must be a number. Received '${value}'`);
    return Number(value);
  };
  const options: Record<string, unknown> = {};
  for (const [name, option, read] of variables) {
    const value = read === 'number' ? number(name) : text(name);
    if (value !== undefined) options[option] = value;
  }
  if (options.path === undefined && options.port === undefined && options.host === undefined) {
    // In the user's private rendezvous directory, checked (and made) now: a directory another
    // user made first must not get this process's socket.
    ensureRendezvousDir(env);
    options.path = defaultSocketPath(pid, env);
  }
  if (env.BACKDOOR_ALLOW_REMOTE === '1') options.allowRemote = true;
  const audit = text('BACKDOOR_AUDIT');
  if (audit === 'stderr') options.audit = 'stderr';
  else if (audit === 'off') options.audit = false;
  else if (audit !== undefined) throw new TypeError(`BACKDOOR_AUDIT must be 'stderr' or 'off'. Received '${audit}'`);
  return options as SignalOptions;
}

/** Variables that map one to one to an option, and how they are read. */
const variables: [string, keyof SignalOptions, 'text' | 'number'][] = [
  ['BACKDOOR_PORT', 'port', 'number'],
  ['BACKDOOR_HOST', 'host', 'text'],
  ['BACKDOOR_PATH', 'path', 'text'],
  ['BACKDOOR_START_SIGNAL', 'startSignal', 'text'],
  ['BACKDOOR_STOP_SIGNAL', 'stopSignal', 'text'],
  ['BACKDOOR_EVAL_TIMEOUT_MS', 'evalTimeoutMs', 'number'],
  ['BACKDOOR_MAIN_THREAD_BUDGET', 'mainThreadBudget', 'number'],
  ['BACKDOOR_BANNER', 'banner', 'text'],
  ['BACKDOOR_TOKEN', 'token', 'text'],
  ['BACKDOOR_MAX_SESSIONS', 'maxSessions', 'number'],
  ['BACKDOOR_MAX_INPUT_BYTES', 'maxInputBytes', 'number'],
  ['BACKDOOR_IDLE_TIMEOUT_MS', 'idleTimeoutMs', 'number'],
  ['BACKDOOR_AUTH_TIMEOUT_MS', 'authTimeoutMs', 'number'],
];
