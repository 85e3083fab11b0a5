/**
 * Discovery: how the `backdoor` client finds the backdoors of its user on this machine, in the
 * user's rendezvous directories (see rendezvous.ts). In one:
 *
 * - `<pid>.json`, while a backdoor of process <pid> listens: pid, address, start time, the
 *   app's title, Node's version, and the process's identity (see process-identity.ts).
 *   Removed on close and when the process exits.
 * - `<pid>.ready`, while process <pid> has signal handlers installed: the client signals only a
 *   process that opted in (SIGUSR1 starts Node's inspector in one that did not).
 * - `<pid>.sock`, the preload's default unix socket.
 *
 * A reader trusts a file only if it is a regular file (opened without following links, and
 * without blocking on a FIFO) owned by its user, about a process of its user that is the very
 * process that wrote it (not a later one with the same pid), and an address only while its user
 * listens there. A file of a process that is gone, or that no longer tells the truth, is removed.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { BackdoorAddress } from './address.ts';
import { addressNotOurs, processIdentity, processStartedAt, procAvailable } from './process-identity.ts';
import { dirProblem, rendezvousDir, rendezvousDirs, unsafeDirReason } from './rendezvous.ts';

export { rendezvousDir, rendezvousDirs, unsafeDirReason, dirProblem } from './rendezvous.ts';

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
  /** The writing process's identity (processIdentity), where the platform tells it. */
  identity?: string;
}

/** What a ready file holds. */
export interface Ready {
  pid: number;
  startSignal: string;
  stopSignal: string;
  identity?: string;
}

const uid = process.getuid?.() ?? -1;

export const discoveryPath = (pid: number): string => join(rendezvousDir(), `${pid}.json`);
export const readyPath = (pid: number): string => join(rendezvousDir(), `${pid}.ready`);
export const defaultSocketPath = (pid: number, env?: NodeJS.ProcessEnv): string => join(rendezvousDir(env), `${pid}.sock`);

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

/** The rendezvous directories that exist and are safe to read, and what is wrong with the others. */
function readableDirs(): { dirs: string[]; problems: string[] } {
  const dirs: string[] = [];
  const problems: string[] = [];
  for (const dir of rendezvousDirs()) {
    const problem = dirProblem(dir);
    if (problem !== undefined) problems.push(problem);
    else if (unsafeDirReason(dir) === undefined) dirs.push(dir);
  }
  return { dirs, problems };
}

/** What is wrong with the rendezvous directories that cannot be read, a sentence each (see dirProblem). */
export function rendezvousProblems(): string[] {
  return readableDirs().problems;
}

/**
 * Why a file of process `pid` (read from `file`) is stale, or undefined when it still tells the
 * truth: the process is gone or is another one now (same pid), or (a discovery file) its address
 * is no longer this user's backdoor. Where the platform does not tell identities, only whether
 * the process runs.
 */
function staleReason(file: string, pid: number, entry: { identity?: unknown; address?: BackdoorAddress }): string | undefined {
  if (!processExists(pid)) return `process ${pid} is not running`;
  // This user's file about another user's process: the pid was reused.
  if (!processIsMine(pid)) return `process ${pid} belongs to another user now (its pid was reused)`;
  if (procAvailable) {
    const identity = processIdentity(pid);
    if (identity !== undefined && entry.identity !== identity) return `process ${pid} is not the process that wrote ${file} (its pid was reused)`;
  }
  if (entry.address) {
    const notOurs = addressNotOurs(entry.address as { host: string; port: number } | { path: string });
    if (notOurs !== undefined) return `its backdoor no longer listens there: ${notOurs}`;
  }
  return undefined;
}

/** What the rendezvous directories say of this user's process `pid`: its file, or why none was believed. */
function readEntry<T extends { pid: number; address?: BackdoorAddress }>(pid: number, suffix: 'json' | 'ready'): { entry?: T; stale?: string } {
  if (!Number.isSafeInteger(pid) || pid <= 0) return {};
  let stale: string | undefined;
  for (const dir of readableDirs().dirs) {
    const file = join(dir, `${pid}.${suffix}`);
    const entry = readTrustedJson<T>(file);
    if (entry?.pid !== pid || (suffix === 'json' && !entry.address)) continue;
    const reason = staleReason(file, pid, entry);
    if (reason === undefined) return { entry };
    // A file that lies is removed: the next reader need not find out again.
    removeFile(file);
    stale = reason;
  }
  return { stale };
}

/**
 * The discovery file of this user's process `pid`, if there is one to believe (see above);
 * `stale` says why one was found and removed.
 */
export function findDiscovered(pid: number): { entry?: Discovered; stale?: string } {
  return readEntry<Discovered>(pid, 'json');
}

/** A discovery file of this user's process `pid`, if there is one to believe. */
export function readDiscovered(pid: number): Discovered | undefined {
  return findDiscovered(pid).entry;
}

/** A ready file of this user's process `pid`, if there is one to believe. */
export function readReady(pid: number): Ready | undefined {
  return readEntry<Ready>(pid, 'ready').entry;
}

/** What the rendezvous directories say of this user's processes on this machine. */
export interface Rendezvous {
  /** Processes with a backdoor listening, by pid. */
  listening: Discovered[];
  /** Processes that opted in (signal handlers installed) with no backdoor listening, by pid. */
  optedIn: Ready[];
  /** Rendezvous directories that could not be read, each with what to do about it, in a sentence. */
  problems: string[];
}

/**
 * This user's backdoors on this machine, and the processes that opted in without one running;
 * files that are stale (see `staleReason`) are removed on the way, and so are unix sockets of
 * processes that are gone or started after the socket was made.
 */
export function readRendezvous(): Rendezvous {
  const { dirs, problems } = readableDirs();
  const listening = new Map<number, Discovered>();
  const ready = new Map<number, Ready>();
  for (const dir of dirs) {
    for (const name of readdirSync(dir)) {
      const match = /^(\d+)\.(json|ready|sock)$/.exec(name);
      if (!match) continue;
      const pid = Number(match[1]);
      if (match[2] === 'sock') {
        if (staleSocket(join(dir, name), pid)) removeFile(join(dir, name));
        continue;
      }
      if (!processExists(pid)) {
        removeFile(join(dir, name));
        continue;
      }
      if (match[2] === 'json' && !listening.has(pid)) {
        const { entry } = findDiscovered(pid);
        if (entry) listening.set(pid, entry);
      } else if (match[2] === 'ready' && !ready.has(pid)) {
        const entry = readReady(pid);
        if (entry) ready.set(pid, entry);
      }
    }
  }
  const byPid = (a: { pid: number }, b: { pid: number }) => a.pid - b.pid;
  return { listening: [...listening.values()].sort(byPid), optedIn: [...ready.values()].filter((entry) => !listening.has(entry.pid)).sort(byPid), problems };
}

/**
 * Whether the unix socket `path` of process `pid` is left over: its process is gone, or started
 * after the socket was made (a later process with that pid). A socket of this user's, only.
 */
function staleSocket(path: string, pid: number): boolean {
  try {
    const stats = lstatSync(path);
    if (!stats.isSocket() || (uid >= 0 && stats.uid !== uid)) return false;
    if (!processExists(pid)) return true;
    const started = processStartedAt(pid);
    // Both to the second or so (/proc's boot time is in whole seconds).
    return started !== undefined && started > stats.mtimeMs + 2000;
  } catch {
    return false;
  }
}
