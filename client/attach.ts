/** `backdoor <pid>` for a process that opted in but has no backdoor running yet. */
import { discoveryPath, processExists, readJson, type Discovered } from '../lib/discovery.ts';
import type { BackdoorAddress } from '../lib/protocol.ts';
import { describeProcess } from './target.ts';

/**
 * Sends `signal` to `pid` and waits (up to `timeoutMs`) for its discovery file to name an
 * address. Throws an Error whose message says what went wrong, in a sentence.
 */
export async function attach(pid: number, signal: string, timeoutMs = 5000): Promise<BackdoorAddress> {
  try {
    process.kill(pid, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'ESRCH') throw new Error(describeProcess(pid));
    throw error;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const discovered = readJson<Discovered>(discoveryPath(pid));
    if (discovered?.address) return discovered.address;
    if (!processExists(pid)) throw new Error(`process ${pid} exited after ${signal}`);
    if (Date.now() > deadline) {
      throw new Error(`process ${pid} did not start a backdoor within ${timeoutMs / 1000} s of ${signal} (its stderr says why)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
