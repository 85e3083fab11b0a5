/**
 * This process's side of discovery (see common/discovery.ts): it creates the rendezvous
 * directory, and writes its `<pid>.json` while a backdoor listens and its `<pid>.ready` while
 * signal handlers are installed. The client only reads them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackdoorAddress } from '../common/address.ts';
import { dirProblem, discoveryPath, readyPath, removeFile, rendezvousDir, unsafeDirReason, type Discovered, type Ready } from '../common/discovery.ts';
import { BackdoorError } from '../common/errors.ts';
import { processIdentity } from '../common/process-identity.ts';

/**
 * Creates the rendezvous directory (0700) if it is not there, and checks it. Throws
 * `ERR_BACKDOOR_UNSAFE_DIR` when it belongs to someone else, is a link, or is open to others:
 * another user who made it first must not receive this user's files and sockets.
 */
export function ensureRendezvousDir(env?: NodeJS.ProcessEnv): string {
  const dir = rendezvousDir(env);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (unsafeDirReason(dir) !== undefined) {
    throw new BackdoorError('ERR_BACKDOOR_UNSAFE_DIR', dirProblem(dir) ?? `${dir} ${unsafeDirReason(dir)}`);
  }
  return dir;
}

/** Writes `data` as JSON at `path`, mode 0600, atomically (a fresh file renamed into place). */
export function writePrivateJson(path: string, data: unknown): void {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(data)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    renameSync(temporary, path);
  } catch (error) {
    removeFile(temporary);
    throw error;
  }
}

// This process's own files. A unix socket's inode is kept, to remove the file only while it
// is still the one this process bound.
const listening = new Map<object, { address: BackdoorAddress; startedAt: string; socket?: { path: string; ino: number } }>();
let ready: Ready | undefined;
let exitHookInstalled = false;
/** Private directories made for this process's sockets (env.ts), removed when it exits. */
const privateDirs = new Set<string>();

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Every exit the app runs code on (the end of its work, process.exit, a signal it handles by
  // exiting) comes here; 'exit' handlers must be synchronous. A process killed by a signal runs
  // none, which is why the client removes what a dead process left (common/discovery.ts).
  process.once('exit', () => {
    if (listening.size > 0) removeFile(discoveryPath(process.pid));
    for (const entry of listening.values()) if (entry.socket) removeSocketFile(entry.socket);
    if (ready) removeFile(readyPath(process.pid));
    for (const dir of privateDirs) removeEmptyDir(dir);
  });
}

/** The socket file at `path` if it is still the one with inode `ino`. */
function removeSocketFile({ path, ino }: { path: string; ino: number }): void {
  try {
    if (statSync(path).ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}

function removeEmptyDir(dir: string): void {
  try {
    // Its socket is removed by then: rmdir fails rather than remove anything else.
    rmdirSync(dir);
  } catch {
    // not empty, or gone
  }
}

/**
 * A fresh private directory (0700, a random name, made atomically under the temporary
 * directory) for a socket of this process, where the rendezvous directory cannot be used;
 * removed when the process exits.
 */
export function privateSocketDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'backdoor-'));
  privateDirs.add(dir);
  installExitHook();
  return dir;
}

function writeDiscovery(): void {
  const path = discoveryPath(process.pid);
  if (listening.size === 0) return removeFile(path);
  ensureRendezvousDir();
  const entries = [...listening.values()];
  const latest = entries.at(-1)!;
  const data: Discovered = {
    pid: process.pid,
    address: latest.address,
    addresses: entries.map((entry) => entry.address),
    startedAt: latest.startedAt,
    title: process.title,
    node: process.version,
    identity: processIdentity(process.pid),
  };
  writePrivateJson(path, data);
}

/** A backdoor of this process listens at `address` (owner: the Backdoor). */
export function announce(owner: object, address: BackdoorAddress): void {
  installExitHook();
  let socket: { path: string; ino: number } | undefined;
  if ('path' in address) {
    try {
      socket = { path: address.path, ino: statSync(address.path).ino };
    } catch {
      // gone already: nothing to remove later
    }
  }
  listening.set(owner, { address, startedAt: new Date().toISOString(), socket });
  tryWrite(writeDiscovery);
}

/** That backdoor no longer listens (closed, or its worker died): its files go. */
export function withdraw(owner: object): void {
  const entry = listening.get(owner);
  if (!entry) return;
  listening.delete(owner);
  if (entry.socket) removeSocketFile(entry.socket);
  tryWrite(writeDiscovery);
}

/** This process has signal handlers installed; undefined when they are uninstalled. */
export function setReady(signals: { startSignal: string; stopSignal: string } | undefined): void {
  installExitHook();
  ready = signals && { pid: process.pid, ...signals, identity: processIdentity(process.pid) };
  tryWrite(() => {
    if (!ready) return removeFile(readyPath(process.pid));
    ensureRendezvousDir();
    writePrivateJson(readyPath(process.pid), ready);
  });
}

// An unsafe, read-only or full directory must not stop the backdoor: only `backdoor <pid>`
// and `backdoor ls` depend on these files. Each reason is told once (the preload has told it
// already when the directory was another user's).
const told = new Set<string>();

function tryWrite(write: () => void): void {
  try {
    write();
  } catch (error) {
    const message = (error as Error).message;
    if (told.has(message)) return;
    told.add(message);
    process.stderr.write(`backdoor: could not write its discovery file: ${message}\n`);
  }
}

/** Notes that `message` has been told on stderr already (see tryWrite). */
export function toldAlready(message: string): void {
  told.add(message);
}
