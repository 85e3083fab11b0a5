/** Options of `startBackdoor`. Every one is optional; the defaults are in `defaults` below. */
export interface BackdoorOptions {
  /** TCP port; 0 picks a free one. Default 3000. Not with `path`. */
  port?: number;
  /** Address to listen on. Default '127.0.0.1' (loopback only); '::1' for IPv6. Not with `path`. */
  host?: string;
  /** A unix socket path to listen on instead of host and port. Default none. */
  path?: string;
  /** Names visible in every session, like eventlet's `locals`. The objects are shared, not copied. */
  locals?: Record<string, unknown>;
  /** Extra text shown after the standard banner. Default none. */
  banner?: string;
  /** Synchronous code running longer than this many ms is stopped; 0 turns the guard off. Default 2000. */
  evalTimeoutMs?: number;
  /** Share of the main thread's time the backdoor's commands may use, in (0, 1]; 1 turns pacing off. Default 0.1. */
  mainThreadBudget?: number;
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
}

export const defaults = {
  port: 3000,
  host: '127.0.0.1',
  evalTimeoutMs: 2000,
  mainThreadBudget: 0.1,
} as const;

const known = new Set(['port', 'host', 'path', 'locals', 'banner', 'evalTimeoutMs', 'mainThreadBudget']);

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
  const {
    port,
    host,
    path,
    locals = {},
    banner = '',
    evalTimeoutMs = defaults.evalTimeoutMs,
    mainThreadBudget = defaults.mainThreadBudget,
  } = options;

  if (path !== undefined) {
    if (typeof path !== 'string' || path === '') {
      throw new TypeError(`The "path" option must be a non-empty string. Received ${describe(path)}`);
    }
    if (port !== undefined || host !== undefined) {
      throw new TypeError('The "path" option cannot be combined with "port" or "host"');
    }
  }
  if (port !== undefined) {
    if (typeof port !== 'number') {
      throw new TypeError(`The "port" option must be a number. Received ${describe(port)}`);
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`The "port" option must be an integer from 0 to 65535. Received ${port}`);
    }
  }
  if (host !== undefined && (typeof host !== 'string' || host === '')) {
    throw new TypeError(`The "host" option must be a non-empty string. Received ${describe(host)}`);
  }
  if (locals === null || typeof locals !== 'object' || Array.isArray(locals)) {
    throw new TypeError(`The "locals" option must be an object. Received ${describe(locals)}`);
  }
  if (typeof banner !== 'string') {
    throw new TypeError(`The "banner" option must be a string. Received ${describe(banner)}`);
  }
  if (typeof evalTimeoutMs !== 'number') {
    throw new TypeError(`The "evalTimeoutMs" option must be a number. Received ${describe(evalTimeoutMs)}`);
  }
  if (!Number.isInteger(evalTimeoutMs) || evalTimeoutMs < 0 || evalTimeoutMs > 2 ** 31 - 1) {
    throw new RangeError(
      `The "evalTimeoutMs" option must be an integer from 0 to ${2 ** 31 - 1}. Received ${evalTimeoutMs}`,
    );
  }

  if (typeof mainThreadBudget !== 'number') {
    throw new TypeError(`The "mainThreadBudget" option must be a number. Received ${describe(mainThreadBudget)}`);
  }
  if (!(mainThreadBudget > 0 && mainThreadBudget <= 1)) {
    throw new RangeError(`The "mainThreadBudget" option must be more than 0 and at most 1. Received ${mainThreadBudget}`);
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
  };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? value.slice(0, 40) + '...' : value}'`;
  if (typeof value === 'object' || typeof value === 'function') return `type ${typeof value}`;
  return `${typeof value} ${String(value)}`;
}
