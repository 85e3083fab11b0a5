import { isIP } from 'node:net';
import type { AuditEvent } from '../common/audit-event.ts';

/** Options of `startBackdoor`. Every one is optional; the defaults are in `defaults` below. */
export interface BackdoorOptions {
  /** TCP port; 0 picks a free one. Default 3000. Not with `path`. */
  port?: number;
  /** Address to listen on. Default '127.0.0.1' (loopback only); '::1' for IPv6. Not with `path`. */
  host?: string;
  /** A unix socket path to listen on instead of host and port (created mode 0600). Default none. */
  path?: string;
  /** Names visible in every session, like eventlet's `locals`. The objects are shared, not copied. */
  locals?: Record<string, unknown>;
  /** Extra text shown after the standard banner. Default none. */
  banner?: string;
  /** Synchronous code running longer than this many ms is stopped; 0 turns the guard off. Default 2000. */
  evalTimeoutMs?: number;
  /** Share of the main thread's time the backdoor's commands may use, in (0, 1]; 1 turns pacing off. Default 0.1. */
  mainThreadBudget?: number;
  /** A secret every session must give (at a `Token: ` prompt) before anything else. Default none. */
  token?: string;
  /** Allow a `host` that is not loopback; also requires `token`. Default false. */
  allowRemote?: boolean;
  /**
   * Where audit events go: a function that receives every one, 'stderr' for every one as a
   * line on stderr, or false for none. Default: start, stop, connect and disconnect (and
   * faults) as lines on stderr.
   */
  audit?: false | 'stderr' | ((event: AuditEvent) => void);
  /** Sessions at once; the next client is told `too many sessions` and closed. Default 16. */
  maxSessions?: number;
  /** Bytes of one input (a line, or a multi-line input so far); longer ones are discarded. Default 1 MiB. */
  maxInputBytes?: number;
  /**
   * A session without a complete line of input, or with only a command that awaits, for this
   * long is closed; 0 for never. Default 30 min.
   */
  idleTimeoutMs?: number;
  /**
   * With a `token`: how long a connection has to give it before it is closed. At most 64
   * connections wait for the token at once (the next closes the one that has waited longest),
   * apart from the `maxSessions` of those that gave it, so that connections that never
   * authenticate cannot lock the operator out. Default 10 s.
   */
  authTimeoutMs?: number;
  /**
   * Where `.profile` and `.heap sample` write their files. Default: a directory of its own made
   * at the first such file (mkdtemp, 0700) under the temporary directory, removed when the app
   * exits. A directory named here is kept; either way at most 16 files and 256 MB of this app's
   * are kept in it (the oldest go first).
   */
  diagnosticsDir?: string;
}

/** Options after defaults and validation. */
export interface ResolvedOptions {
  port: number | undefined;
  host: string | undefined;
  path: string | undefined;
  locals: Record<string, unknown>;
  banner: string;
  evalTimeoutMs: number;
  mainThreadBudget: number;
  token: string | undefined;
  allowRemote: boolean;
  audit: 'default' | false | 'stderr' | ((event: AuditEvent) => void);
  maxSessions: number;
  maxInputBytes: number;
  idleTimeoutMs: number;
  authTimeoutMs: number;
  diagnosticsDir: string | undefined;
}

export const defaults = {
  port: 3000,
  host: '127.0.0.1',
  evalTimeoutMs: 2000,
  mainThreadBudget: 0.1,
  maxSessions: 16,
  maxInputBytes: 1024 * 1024,
  idleTimeoutMs: 30 * 60 * 1000,
  authTimeoutMs: 10_000,
} as const;

const MAX_TIMER_MS = 2 ** 31 - 1;

const known = new Set(['port', 'host', 'path', 'locals', 'banner', 'evalTimeoutMs', 'mainThreadBudget', 'token', 'allowRemote', 'audit', 'maxSessions', 'maxInputBytes', 'idleTimeoutMs', 'authTimeoutMs', 'diagnosticsDir']);

/** Whether `host` only reaches this machine. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || /^::ffff:127\./i.test(host);
}

/**
 * Merges options over the defaults and checks them. Throws a TypeError (wrong type, unknown
 * name, conflicting options) or a RangeError (out of range) whose message names the option.
 */
export function resolveOptions(options: BackdoorOptions = {}): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`The options must be an object. Received ${describe(options)}`);
  }
  for (const name of Object.keys(options)) {
    if (!known.has(name)) throw new TypeError(`Unknown option "${name}"`);
  }
  const { port, host, path, locals = {}, banner = '', token, allowRemote = false, audit } = options;

  if (path !== undefined) {
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(`The "path" option must be a non-empty string. Received ${describe(path)}`);
    }
    if (port !== undefined || host !== undefined) {
      throw new TypeError('The "path" option cannot be combined with "port" or "host"');
    }
  }
  if (port !== undefined) integer('port', port, 0, 65535);
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new TypeError(`The "host" option must be a non-empty string. Received ${describe(host)}`);
  }
  if (locals === null || typeof locals !== 'object' || Array.isArray(locals)) {
    throw new TypeError(`The "locals" option must be an object. Received ${describe(locals)}`);
  }
  if (typeof banner !== 'string') {
    throw new TypeError(`The "banner" option must be a string. Received ${describe(banner)}`);
  }
  const evalTimeoutMs = integer('evalTimeoutMs', options.evalTimeoutMs ?? defaults.evalTimeoutMs, 0, MAX_TIMER_MS);
  const mainThreadBudget = options.mainThreadBudget ?? defaults.mainThreadBudget;
  if (typeof mainThreadBudget !== 'number') {
    throw new TypeError(`The "mainThreadBudget" option must be a number. Received ${describe(mainThreadBudget)}`);
  }
  if (!(mainThreadBudget > 0 && mainThreadBudget <= 1)) {
    throw new RangeError(`The "mainThreadBudget" option must be more than 0 and at most 1. Received ${mainThreadBudget}`);
  }
  if (token !== undefined && (typeof token !== 'string' || token.length < 8 || Buffer.byteLength(token) > 1000 || /[\r\n]/.test(token))) {
    throw new TypeError(
      `The "token" option must be a string of 8 to 1000 bytes, on one line. Received ${typeof token === 'string' ? (token.length < 8 ? 'a shorter string' : /[\r\n]/.test(token) ? 'a string with a line break' : 'a longer string') : describe(token)}`,
    );
  }
  if (typeof allowRemote !== 'boolean') {
    throw new TypeError(`The "allowRemote" option must be a boolean. Received ${describe(allowRemote)}`);
  }
  if (host !== undefined && !isLoopback(host) && !(allowRemote && token !== undefined)) {
    throw new TypeError(
      `The "host" option '${host}' is not a loopback address: anyone who can reach it could run code in this process. ` +
        'Listening there needs both "token" and "allowRemote: true"; an SSH tunnel or kubectl port-forward to loopback is safer',
    );
  }
  if (audit !== undefined && audit !== false && audit !== 'stderr' && typeof audit !== 'function') {
    throw new TypeError(`The "audit" option must be a function, 'stderr' or false. Received ${describe(audit)}`);
  }
  const maxSessions = integer('maxSessions', options.maxSessions ?? defaults.maxSessions, 1, 100_000);
  const maxInputBytes = integer('maxInputBytes', options.maxInputBytes ?? defaults.maxInputBytes, 16, 2 ** 30);
  const idleTimeoutMs = integer('idleTimeoutMs', options.idleTimeoutMs ?? defaults.idleTimeoutMs, 0, MAX_TIMER_MS);
  const authTimeoutMs = integer('authTimeoutMs', options.authTimeoutMs ?? defaults.authTimeoutMs, 1, MAX_TIMER_MS);
  const { diagnosticsDir } = options;
  if (diagnosticsDir !== undefined && (typeof diagnosticsDir !== 'string' || diagnosticsDir === '')) {
    throw new TypeError(`The "diagnosticsDir" option must be a non-empty string. Received ${describe(diagnosticsDir)}`);
  }

  const onPath = path !== undefined;
  return {
    port: onPath ? undefined : (port ?? defaults.port),
    host: onPath ? undefined : (host ?? defaults.host),
    path,
    locals,
    banner,
    evalTimeoutMs,
    mainThreadBudget,
    token,
    allowRemote,
    audit: audit ?? 'default',
    maxSessions,
    maxInputBytes,
    idleTimeoutMs,
    authTimeoutMs,
    diagnosticsDir,
  };
}

function integer(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(`The "${name}" option must be a number. Received ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`The "${name}" option must be an integer from ${min} to ${max}. Received ${value}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}...` : value}'`;
  if (typeof value === 'object' || typeof value === 'function') return `type ${typeof value}`;
  return `${typeof value} ${String(value)}`;
}
