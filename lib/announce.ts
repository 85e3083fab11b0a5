/**
 * This process's side of discovery (see common/discovery.ts): it creates the rendezvous
 * directory, and writes its `<pid>.json` while a backdoor listens and its `<pid>.ready` while
 * signal handlers are installed. The client only reads them.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import type { BackdoorAddress } from '../common/address.ts';
import { discoveryPath, readyPath, removeFile, rendezvousDir, unsafeDirReason, type Discovered, type Ready } from '../common/discovery.ts';
import { BackdoorError } from '../common/errors.ts';

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
  const reason = unsafeDirReason(dir);
  if (reason) {
    throw new BackdoorError('ERR_BACKDOOR_UNSAFE_DIR', `${dir} ${reason}: not using it for the backdoor's files (set BACKDOOR_DIR to a directory of your own)`);
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

// This process's own files.
const listening = new Map<object, { address: BackdoorAddress; startedAt: string }>();
let ready: Ready | undefined;
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; a process killed by a signal runs none, which is why
  // `listDiscovered` cleans up after dead processes.
  process.once('exit', () => {
    if (listening.size > 0) removeFile(discoveryPath(process.pid));
    if (ready) removeFile(readyPath(process.pid));
  });
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
  };
  writePrivateJson(path, data);
}

/** A backdoor of this process listens at `address` (owner: the Backdoor). */
export function announce(owner: object, address: BackdoorAddress): void {
  installExitHook();
  listening.set(owner, { address, startedAt: new Date().toISOString() });
  tryWrite(writeDiscovery);
}

/** That backdoor no longer listens. */
export function withdraw(owner: object): void {
  if (listening.delete(owner)) tryWrite(writeDiscovery);
}

/** This process has signal handlers installed; undefined when they are uninstalled. */
export function setReady(signals: { startSignal: string; stopSignal: string } | undefined): void {
  installExitHook();
  ready = signals && { pid: process.pid, ...signals };
  tryWrite(() => {
    if (!ready) return removeFile(readyPath(process.pid));
    ensureRendezvousDir();
    writePrivateJson(readyPath(process.pid), ready);
  });
}

// An unsafe, read-only or full directory must not stop the backdoor: only `backdoor <pid>`
// and `backdoor ls` depend on these files.
function tryWrite(write: () => void): void {
  try {
    write();
  } catch (error) {
    process.stderr.write(`backdoor: could not write its discovery file: ${(error as Error).message}\n`);
  }
}
