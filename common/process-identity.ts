/**
 * Who a pid and an address are now, where the platform tells it (Linux: /proc). A pid is
 * reused once its process has died; a port is free for anyone once its listener has closed. A
 * discovery file is believed only for the process that wrote it, and its address only while
 * this user listens there: else the token would go to whoever took the pid's place or the port.
 */
import { lstatSync, readFileSync } from 'node:fs';

const uid = process.getuid?.() ?? -1;

/** Whether this platform tells what the functions below need (otherwise they answer undefined). */
export const procAvailable = ((): boolean => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

let bootId: string | undefined;

/** The fields of `/proc/<pid>/stat` from the third on (the second, the command name, may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/**
 * What tells process `pid` from a later process with the same pid: this boot of the machine
 * and the process's start time in clock ticks since boot (field 22 of `/proc/<pid>/stat`).
 * Undefined when the process is not running or the platform does not tell.
 */
export function processIdentity(pid: number): string | undefined {
  const start = statFields(pid)?.[19];
  if (start === undefined) return undefined;
  try {
    bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    bootId = 'unknown-boot';
  }
  return `${bootId}:${start}`;
}

/** Clock ticks per second in `/proc`: USER_HZ, 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** When process `pid` started, in ms since the epoch (to the second), or undefined. */
export function processStartedAt(pid: number): number | undefined {
  const start = Number(statFields(pid)?.[19]);
  if (!Number.isFinite(start)) return undefined;
  try {
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    return Number.isFinite(boot) ? (boot + start / TICKS_PER_SECOND) * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The 16 bytes of an IPv6 address (an IPv4 address as IPv4-mapped), or undefined. */
function addressBytes(host: string): number[] | undefined {
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(host);
  if (v4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4.slice(1).map(Number)];
  let text = host.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number);
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const words = [...head, ...Array<string>(missing).fill('0'), ...rest].map((word) => Number.parseInt(word, 16));
  if (words.some((word) => !(word >= 0 && word <= 0xffff))) return undefined;
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}

/** An address of /proc/net/tcp or tcp6 (32-bit words in host order, little-endian here), as 16 bytes. */
function procAddressBytes(hex: string): number[] {
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((word) => (word.match(/../g) ?? []).reverse().map((pair) => Number.parseInt(pair, 16)));
  return bytes.length === 4 ? [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes] : bytes;
}

const ANY_V4 = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0].join();
const ANY_V6 = Array<number>(16).fill(0).join();

/**
 * The users listening on TCP `host:port`: sockets bound to that address or to the wildcard
 * address (which also takes connections to it), from /proc/net/tcp and tcp6. An empty list when
 * nothing listens there; undefined when the platform does not tell, or `host` is not an address.
 */
export function tcpListeners(host: string, port: number): number[] | undefined {
  const target = addressBytes(host)?.join();
  if (target === undefined || !procAvailable) return undefined;
  const uids: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== '0A') continue; // LISTEN
      const [address, portHex] = fields[1].split(':');
      if (Number.parseInt(portHex, 16) !== port) continue;
      const bound = procAddressBytes(address).join();
      if (bound === target || bound === ANY_V4 || bound === ANY_V6) uids.push(Number(fields[7]));
    }
  }
  return uids;
}

/**
 * Why this user's backdoor cannot be at `address` now, in a phrase, or undefined when it can
 * (or the platform does not tell): nothing listens there, or another user does.
 */
export function addressNotOurs(address: { host: string; port: number } | { path: string }): string | undefined {
  if ('path' in address) {
    try {
      const stats = lstatSync(address.path);
      if (!stats.isSocket()) return `${address.path} is not a socket`;
      if (uid >= 0 && stats.uid !== uid) return `the socket ${address.path} belongs to uid ${stats.uid}`;
      return undefined;
    } catch {
      return `${address.path} is gone`;
    }
  }
  const uids = tcpListeners(address.host, address.port);
  if (uids === undefined || uid < 0) return undefined;
  if (uids.length === 0) return `nothing listens on ${address.host}:${address.port}`;
  const other = uids.find((owner) => owner !== uid);
  return other === undefined ? undefined : `uid ${other} listens on ${address.host}:${address.port} now`;
}
