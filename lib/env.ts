import { join } from 'node:path';
import { defaultSocketPath } from '../common/discovery.ts';
import { ensureRendezvousDir, privateSocketDir, toldAlready } from './announce.ts';
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
 * | BACKDOOR_MAX_SESSIONS, BACKDOOR_MAX_INPUT_BYTES, BACKDOOR_IDLE_TIMEOUT_MS, BACKDOOR_AUTH_TIMEOUT_MS, BACKDOOR_DIAGNOSTICS_DIR | the options of those names |
 *
 * A process started with the preload has no locals to offer, and may be one of many copies
 * (cluster, PM2): by default each listens on a unix socket of its own, owner-only, which
 * `backdoor <pid>` finds through the discovery file. Where the rendezvous directory cannot be
 * used (another user made it first), the socket goes to a private directory of its own and
 * `notice` says so: the backdoor still starts by signal, it just cannot be discovered. Throws a
 * TypeError naming the variable when one is malformed.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env, pid = process.pid, notice = (text: string) => process.stderr.write(`backdoor: ${text}\n`)): SignalOptions {
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
    try {
      ensureRendezvousDir(env);
      options.path = defaultSocketPath(pid, env);
    } catch (error) {
      let dir: string;
      try {
        dir = privateSocketDir();
      } catch (cause) {
        throw new Error(`${(error as Error).message}; and no private directory could be made for its socket either: ${(cause as Error).message}`);
      }
      options.path = join(dir, `${pid}.sock`);
      toldAlready((error as Error).message);
      notice(
        `${(error as Error).message}. The signals are installed all the same, but \`backdoor ls\` and \`backdoor ${pid}\` cannot find this process: ` +
          `once started (kill -${String(options.startSignal ?? 'SIGUSR1').replace(/^SIG/, '')} ${pid}), its backdoor listens on ${options.path}`,
      );
    }
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
  ['BACKDOOR_DIAGNOSTICS_DIR', 'diagnosticsDir', 'text'],
];
