/** Which backdoor the `backdoor` client's argument means. */
import net from 'node:net';
import { findDiscovered, processExists, processIsMine, readReady, rendezvousProblems, sanitize } from '../common/discovery.ts';
import type { BackdoorAddress } from '../common/address.ts';

export type Target =
  /** Connect here. */
  | { kind: 'address'; address: BackdoorAddress; pid?: number }
  /** Process `pid` (this user's) opted in but has no backdoor running: signal it, then connect. */
  | { kind: 'attach'; pid: number; registeredSignal: string }
  /** Nothing to connect to: `reason` says why, in a sentence for the user. */
  | { kind: 'error'; reason: string };

/** How to read a bare number: as a pid, as a port, or whichever it can be. */
export type NumberMeaning = 'pid' | 'port' | undefined;

/**
 * `3000` (a loopback port, or the pid of a process of this user's that has a backdoor or
 * opted in), `host:port`, `[::1]:port`, `/path/to.sock` or `./x.sock`. A number that is both
 * such a process and a port something listens on is ambiguous: `--pid` or `--port` says which.
 * Only files of this user's rendezvous directory about this user's processes are believed.
 */
export async function resolveTarget(argument: string, meaning: NumberMeaning = undefined): Promise<Target> {
  if (meaning === undefined && argument.includes('/')) return { kind: 'address', address: { path: argument } };
  const hostPort = /^\[?([^\]]*?)\]?:(\d+)$/.exec(argument);
  if (meaning === undefined && hostPort) return { kind: 'address', address: { host: hostPort[1] || '127.0.0.1', port: Number(hostPort[2]) } };
  if (!/^\d+$/.test(argument)) {
    const what = meaning === 'pid' ? 'a pid' : meaning === 'port' ? 'a port' : 'a port, host:port, socket path or pid';
    return { kind: 'error', reason: `'${sanitize(argument)}' is not ${what}` };
  }
  const number = Number(argument);
  const isPort = number >= 1 && number <= 65535;
  const port: Target = { kind: 'address', address: { host: '127.0.0.1', port: number } };
  if (meaning === 'port') return isPort ? port : { kind: 'error', reason: `${number} is not a port (1-65535)` };
  const { target: asProcess, stale } = processTarget(number);
  // A rendezvous directory that is not safely this user's is not read, and the number is not
  // quietly taken for a port instead: the backdoor the user meant may be missing because
  // another user took the directory (and listens on that port).
  const problems = rendezvousProblems();
  if (!asProcess && problems.length > 0) {
    return { kind: 'error', reason: `${problems.join('; ')}. Its files are not believed${isPort ? `; \`backdoor --port ${number}\` connects to the port` : ''}` };
  }
  const staleNote = stale ? `; its discovery file was stale (${stale}): removed` : '';
  if (meaning === 'pid') return asProcess ?? { kind: 'error', reason: `${describeProcess(number)}${staleNote}` };
  // A process of this user's with that number, without a backdoor: say so, rather than
  // connecting to whatever listens on the port of the same number.
  if (!asProcess && processIsMine(number)) {
    return { kind: 'error', reason: `${describeProcess(number)}${staleNote}${isPort ? `; \`backdoor --port ${number}\` connects to the port` : ''}` };
  }
  if (asProcess && isPort && (await somethingListens(number))) {
    return {
      kind: 'error',
      reason: `${number} is both a process of yours with a backdoor and a port that something listens on: say \`backdoor --pid ${number}\` or \`backdoor --port ${number}\``,
    };
  }
  if (asProcess) return asProcess;
  // Another user's process with that number: whatever listens on the port of the same number
  // may be theirs, and would be given the token. Only --port says it is meant.
  if (isPort && processExists(number)) {
    return { kind: 'error', reason: `${number} is another user's process; if you mean the port, say \`backdoor --port ${number}\`` };
  }
  if (isPort) return port;
  return { kind: 'error', reason: describeProcess(number) };
}

/** This user's process `pid` as its files tell it: a backdoor, or one to attach to; `stale` when a file was found to lie, and removed. */
function processTarget(pid: number): { target?: Target; stale?: string } {
  const { entry, stale } = findDiscovered(pid);
  if (entry) return { target: { kind: 'address', address: entry.address, pid } };
  const ready = readReady(pid);
  if (ready) return { target: { kind: 'attach', pid, registeredSignal: sanitize(ready.startSignal) }, stale };
  return { stale };
}

function somethingListens(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Why a pid cannot be attached to, in a sentence. */
export function describeProcess(pid: number): string {
  if (!processExists(pid)) return `process ${pid} is not running`;
  if (!processIsMine(pid)) return `process ${pid} belongs to another user: run backdoor as that user`;
  return `process ${pid} has not opted in: no backdoor runs there and it has no signal handlers (start it with \`node --import backdoor/register\`, or call installSignalHandlers())`;
}
