/**
 * Discovery: how the `backdoor` client finds the backdoors of its user on this machine, in a
 * per-user rendezvous directory that no other user can write, as tmux (`/tmp/tmux-<uid>`) and
 * Java's attach mechanism do.
 *
 * The directory is `$BACKDOOR_DIR`, else `<tmpdir>/backdoor-<uid>`: created mode 0700, and used
 * only while it is a real directory (not a link) owned by this user with no access for anybody
 * else. In it:
 *
 * - `<pid>.json`, while a backdoor of process <pid> listens: pid, address, start time, the
 *   app's title, Node's version. Removed on close and when the process exits.
 * - `<pid>.ready`, while process <pid> has signal handlers installed: the client signals only a
 *   process that opted in (SIGUSR1 starts Node's inspector in one that did not).
 * - `<pid>.sock`, the preload's default unix socket.
 *
 * A reader trusts a file only if it is a regular file (opened without following links, and
 * without blocking on a FIFO) owned by its user, and a process only if it is its user's.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BackdoorError } from './errors.ts';
import inheritance from './inheritance.cts';
import type { BackdoorAddress } from './address.ts';

/** What a discovery file holds. */
export interface Discovered {
  pid: number;
  /** Where the (most recently started) backdoor listens. */
  address: BackdoorAddress;
  /** Every backdoor the process runs, when it runs more than one. */
  addresses: BackdoorAddress[];
  startedAt: string;
  title: string;
  node: string;
}

/** What a ready file holds. */
export interface Ready {
  pid: number;
  startSignal: string;
  stopSignal: string;
}

const uid = process.getuid?.() ?? -1;
/** As the process started: the preload removes BACKDOOR_* from the environment once read. */
const dirAtStart = inheritance.peekPreloadSettings().BACKDOOR_DIR;

/** The rendezvous directory of this user (see above), from `env` or as at start; not checked. */
export function rendezvousDir(env?: NodeJS.ProcessEnv): string {
  const configured = env === undefined ? dirAtStart : env.BACKDOOR_DIR;
  if (configured) return resolve(configured);
  return join(tmpdir(), `backdoor-${uid >= 0 ? uid : userInfo().username}`);
}

export const discoveryPath = (pid: number): string => join(rendezvousDir(), `${pid}.json`);
export const readyPath = (pid: number): string => join(rendezvousDir(), `${pid}.ready`);
export const defaultSocketPath = (pid: number, env?: NodeJS.ProcessEnv): string => join(rendezvousDir(env), `${pid}.sock`);

/** Why `dir` is not a private directory of this user, or undefined when it is. */
export function unsafeDirReason(dir: string): string | undefined {
  let stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as Error).message;
  }
  if (stats.isSymbolicLink()) return 'is a symbolic link';
  if (!stats.isDirectory()) return 'is not a directory';
  if (uid >= 0 && stats.uid !== uid) return `belongs to uid ${stats.uid}, not to this user (uid ${uid})`;
  if ((stats.mode & 0o077) !== 0) return `is open to other users (mode ${(stats.mode & 0o777).toString(8)})`;
  // In a parent that every user may write without the sticky bit, another user can rename the
  // directory away between a check and a use, and put a link of theirs in its place.
  const parent = dirname(dir);
  try {
    const above = statSync(parent);
    if ((above.mode & 0o002) !== 0 && (above.mode & 0o1000) === 0) {
      return `is in ${parent}, which every user may write without the sticky bit (mode ${(above.mode & 0o7777).toString(8)})`;
    }
    // The owner of the parent may rename anything in it, sticky bit or not.
    if (uid >= 0 && above.uid !== uid && above.uid !== 0) return `is in ${parent}, which belongs to uid ${above.uid}, not to this user (uid ${uid}) nor root`;
  } catch (error) {
    return `is in ${parent}, which cannot be checked: ${(error as Error).message}`;
  }
  return undefined;
}

/** Removes a file if it is there. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/**
 * Reads a JSON file only if it is a regular file of this user's, of at most 64 KB: not through
 * a link, never blocking on a FIFO. Undefined otherwise.
 */
export function readTrustedJson<T>(path: string): T | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile() || (uid >= 0 && stats.uid !== uid) || stats.size > 64 * 1024) return undefined;
    return JSON.parse(readFileSync(fd, 'utf8')) as T;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Whether process `pid` exists (also when it belongs to another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether process `pid` runs as this user: the owner of `/proc/<pid>` on Linux (root may
 * signal anybody's process, so a successful `kill(pid, 0)` proves nothing there); elsewhere,
 * whether it may be signalled.
 */
export function processIsMine(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    return statSync(`/proc/${pid}`).uid === uid;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && process.platform === 'linux') return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Control characters (C0, DEL, C1: escape sequences; bidirectional controls) of text read from a file, made visible. */
export function sanitize(text: unknown): string {
  // Bidirectional controls too: they reorder what a terminal shows.
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

/** A discovery file of this user's process `pid`, if there is a trustworthy one. */
export function readDiscovered(pid: number): Discovered | undefined {
  const entry = readTrustedJson<Discovered>(discoveryPath(pid));
  return entry?.pid === pid && entry.address && processIsMine(pid) ? entry : undefined;
}

/** A ready file of this user's process `pid`, if there is a trustworthy one. */
export function readReady(pid: number): Ready | undefined {
  const entry = readTrustedJson<Ready>(readyPath(pid));
  return entry?.pid === pid && processIsMine(pid) ? entry : undefined;
}

/** What the rendezvous directory says of this user's processes on this machine. */
export interface Rendezvous {
  /** Processes with a backdoor listening, by pid. */
  listening: Discovered[];
  /** Processes that opted in (signal handlers installed) with no backdoor listening, by pid. */
  optedIn: Ready[];
}

/**
 * This user's backdoors on this machine, and the processes that opted in without one running,
 * from the rendezvous directory; files of processes that are gone are removed on the way.
 * Throws with the reason when the directory is not safe to read.
 */
export function readRendezvous(): Rendezvous {
  const dir = rendezvousDir();
  const reason = unsafeDirReason(dir);
  if (reason === 'does not exist') return { listening: [], optedIn: [] };
  if (reason) throw new BackdoorError('ERR_BACKDOOR_UNSAFE_DIR', `${dir} ${reason}: not reading it`);
  const listening: Discovered[] = [];
  const ready: Ready[] = [];
  for (const name of readdirSync(dir)) {
    const match = /^(\d+)\.(json|ready)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    if (!processExists(pid)) {
      removeFile(join(dir, name));
      continue;
    }
    const entry = match[2] === 'json' ? readDiscovered(pid) : readReady(pid);
    if (!entry) continue;
    if (match[2] === 'json') listening.push(entry as Discovered);
    else ready.push(entry as Ready);
  }
  const byPid = (a: { pid: number }, b: { pid: number }) => a.pid - b.pid;
  const listens = new Set(listening.map((entry) => entry.pid));
  return { listening: listening.sort(byPid), optedIn: ready.filter((entry) => !listens.has(entry.pid)).sort(byPid) };
}

/** The backdoors of this user listening on this machine (see readRendezvous). */
export function listDiscovered(): Discovered[] {
  return readRendezvous().listening;
}
