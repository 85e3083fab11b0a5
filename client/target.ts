/** Which backdoor the `backdoor` client's argument means. */
import { discoveryPath, processExists, readJson, readyPath, type Discovered, type Ready } from '../lib/discovery.ts';
import type { BackdoorAddress } from '../lib/protocol.ts';

export type Target =
  /** Connect here. */
  | { kind: 'address'; address: BackdoorAddress; pid?: number }
  /** Process `pid` opted in but has no backdoor running: send it `signal`, then connect. */
  | { kind: 'attach'; pid: number; signal: string }
  /** Nothing to connect to: `reason` says why, in a sentence for the user. */
  | { kind: 'error'; reason: string };

/**
 * `3000` (a port on loopback, unless it is the pid of a process with a backdoor or that opted
 * in), `host:port`, `[::1]:port`, `/path/to.sock` or `./x.sock`, or a pid.
 */
export function resolveTarget(argument: string): Target {
  if (argument.includes('/')) return { kind: 'address', address: { path: argument } };
  const hostPort = /^\[?([^\]]*?)\]?:(\d+)$/.exec(argument);
  if (hostPort) return { kind: 'address', address: { host: hostPort[1] || '127.0.0.1', port: Number(hostPort[2]) } };
  if (!/^\d+$/.test(argument)) {
    return { kind: 'error', reason: `'${argument}' is not a port, host:port, socket path or pid` };
  }
  const number = Number(argument);
  const discovered = readJson<Discovered>(discoveryPath(number));
  if (discovered?.address && processExists(number)) return { kind: 'address', address: discovered.address, pid: number };
  const ready = readJson<Ready>(readyPath(number));
  if (ready && processExists(number)) return { kind: 'attach', pid: number, signal: ready.startSignal };
  if (number >= 1 && number <= 65535) return { kind: 'address', address: { host: '127.0.0.1', port: number } };
  return { kind: 'error', reason: describeProcess(number) };
}

/** Why a pid cannot be attached to, in a sentence. */
export function describeProcess(pid: number): string {
  if (!processExists(pid)) return `process ${pid} is not running`;
  try {
    process.kill(pid, 0);
  } catch {
    return `process ${pid} belongs to another user: run backdoor as that user`;
  }
  return (
    `process ${pid} has not opted in: no backdoor runs there and it has no signal handlers ` +
    `(start it with \`node --import backdoor/register\`, or call installSignalHandlers())`
  );
}
