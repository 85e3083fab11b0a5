/**
 * Discovery files: how the `backdoor` client finds the backdoors on this machine.
 *
 * - `<tmpdir>/backdoor-<pid>.json`, while a backdoor of process <pid> listens: pid, address,
 *   start time, the app's title, Node's version. Removed on close and when the process exits.
 * - `<tmpdir>/backdoor-<pid>.ready`, while process <pid> has signal handlers installed: its
 *   start and stop signals. It is how the client knows a process opted in before it signals it
 *   (SIGUSR1 starts Node's inspector in a process that did not, and kills a non-Node one).
 *
 * Both are written mode 0600 through a fresh temporary file renamed into place, so that a file
 * or link planted at the name in a shared /tmp is replaced, never written through.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackdoorAddress } from './protocol.ts';

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

export const discoveryPath = (pid: number): string => join(tmpdir(), `backdoor-${pid}.json`);
export const readyPath = (pid: number): string => join(tmpdir(), `backdoor-${pid}.ready`);

/** Writes `data` as JSON at `path`, mode 0600, atomically. */
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

/** Removes a file if it is there. */
export function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Reads a JSON file written by `writePrivateJson`, or undefined. */
export function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
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
 * The backdoors listening on this machine, from their discovery files; the files (and ready
 * files) of processes that are gone are removed on the way.
 */
export function listDiscovered(): Discovered[] {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return [];
  }
  const found: Discovered[] = [];
  for (const name of names) {
    const match = /^backdoor-(\d+)\.(json|ready)$/.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    const path = join(tmpdir(), name);
    if (!processExists(pid)) {
      removeFile(path);
      continue;
    }
    if (match[2] === 'json') {
      const entry = readJson<Discovered>(path);
      if (entry?.address) found.push(entry);
    }
  }
  return found.sort((a, b) => a.pid - b.pid);
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
  tryWrite(() => (ready ? writePrivateJson(readyPath(process.pid), ready) : removeFile(readyPath(process.pid))));
}

// A read-only or full temporary directory must not stop the backdoor: only `backdoor <pid>`
// and `backdoor ls` depend on these files.
function tryWrite(write: () => void): void {
  try {
    write();
  } catch (error) {
    process.stderr.write(`backdoor: could not write its discovery file in ${tmpdir()}: ${(error as Error).message}\n`);
  }
}
