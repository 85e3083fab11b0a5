/** `backdoor <pid>` for a process that opted in but has no backdoor running yet. */
import { processExists, readDiscovered } from '../common/discovery.ts';
import type { BackdoorAddress } from '../common/address.ts';
import signalNames from '../common/signal-names.cts';
import { describeProcess } from './target.ts';

/**
 * Sends `signal` to `pid` and waits (up to `timeoutMs`) for its discovery file to name an
 * address. The signal is the one the user named (`--signal`) or SIGUSR1, never one read from a
 * file: a process that registered another start signal is not sent anything until the user
 * names it. Throws an Error whose message says what went wrong, in a sentence.
 */
export async function attach(pid: number, registeredSignal: string, chosen: string | undefined, timeoutMs = 5000): Promise<BackdoorAddress> {
  const signal = chosen ?? 'SIGUSR1';
  const unusable = signalNames.unusableSignalReason(signal);
  if (unusable) throw new Error(`the signal ${unusable}`);
  if (chosen === undefined && registeredSignal !== signal) {
    throw new Error(`process ${pid} starts its backdoor on ${registeredSignal}, not ${signal}: run \`backdoor --signal ${registeredSignal} ${pid}\` if that is what you want to send`);
  }
  try {
    process.kill(pid, signal);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EPERM' || code === 'ESRCH') throw new Error(describeProcess(pid));
    throw error;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const discovered = readDiscovered(pid);
    if (discovered) return discovered.address;
    if (!processExists(pid)) throw new Error(`process ${pid} exited after ${signal}`);
    if (Date.now() > deadline) {
      throw new Error(`process ${pid} did not start a backdoor within ${timeoutMs / 1000} s of ${signal} (its stderr says why)`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
