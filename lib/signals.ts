import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';
import { startBackdoor, type Backdoor } from './backdoor.ts';
import { rendezvousDir } from '../common/discovery.ts';
import { ensureRendezvousDir, setReady } from './announce.ts';
import { keepListener } from './process-guard.ts';
import { BackdoorError } from '../common/errors.ts';
import { resolveOptions, type BackdoorOptions } from './options.ts';
import signalNames from '../common/signal-names.cts';

/** Options of `installSignalHandlers`: any `startBackdoor` option, and the two signals. */
export interface SignalOptions extends BackdoorOptions {
  /** Starts the backdoor. Default 'SIGUSR1' (which takes it from Node's inspector). */
  startSignal?: NodeJS.Signals;
  /** Closes it. Default 'SIGUSR2'. */
  stopSignal?: NodeJS.Signals;
}

/** What the listeners currently do: nothing, until an installation is active. */
let active: Installation | undefined;
/** Signals that have our listener. It stays for the life of the process (see docs/attach.md, "SIGUSR1 and the inspector"). */
const listened = new Set<string>();

class Installation {
  readonly #options: BackdoorOptions;
  #backdoor: Backdoor | undefined;
  #want: 'open' | 'closed' = 'closed';
  #busy: Promise<void> | undefined;

  constructor(options: BackdoorOptions) {
    this.#options = options;
  }

  /** The start signal arrived: open the backdoor if it is not open. */
  open(): Promise<void> {
    this.#want = 'open';
    return this.#reconcile();
  }

  /** The stop signal arrived: close it if it is open. */
  close(): Promise<void> {
    this.#want = 'closed';
    return this.#reconcile();
  }

  // Signals can come in bursts and while a start or a close is under way: the last one wins,
  // one transition at a time.
  #reconcile(): Promise<void> {
    this.#busy ??= this.#transitions().finally(() => {
      this.#busy = undefined;
    });
    return this.#busy;
  }

  async #transitions(): Promise<void> {
    for (;;) {
      const open = this.#backdoor?.listening === true;
      if (this.#want === 'open' && !open) {
        try {
          // The default socket's directory may have been cleaned away since start-up.
          if (this.#options.path !== undefined && dirname(this.#options.path) === rendezvousDir()) ensureRendezvousDir();
          // Its address goes to stderr with the audit trail's start event (by default).
          this.#backdoor = await startBackdoor(this.#options);
        } catch (error) {
          this.#want = 'closed';
          say(`could not start: ${(error as Error).message}`);
        }
      } else if (this.#want === 'closed' && this.#backdoor) {
        const backdoor = this.#backdoor;
        this.#backdoor = undefined;
        await backdoor.close();
      } else {
        return;
      }
    }
  }
}

/**
 * Whether `signal` is blocked in this thread (Linux: `SigBlk` of /proc/self/status; false
 * elsewhere). Node 22 and 24 block SIGUSR1 in every thread under `--disable-sigusr1`, and a
 * process may inherit a blocked signal from its parent.
 */
function signalBlocked(signal: string): boolean {
  const number = (constants.signals as Record<string, number>)[signal];
  try {
    const mask = /^SigBlk:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return number !== undefined && mask !== undefined && ((BigInt(`0x${mask}`) >> BigInt(number - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function say(text: string): void {
  process.stderr.write(`backdoor: ${text} (pid ${process.pid})\n`);
}

function checkSignal(name: 'startSignal' | 'stopSignal', value: unknown): NodeJS.Signals {
  const reason = signalNames.unusableSignalReason(value);
  if (reason === undefined) {
    if (signalBlocked(value as string)) {
      // A listener would wait for ever: the signal never reaches this process's handlers.
      const why = value === 'SIGUSR1' && [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => arg.includes('--disable-sigusr1')) ? ' by --disable-sigusr1' : '';
      throw new BackdoorError(
        'ERR_BACKDOOR_SIGNAL_BLOCKED',
        `The "${name}" ${String(value)} is blocked in this process${why}: it would never arrive. Choose other signals (BACKDOOR_START_SIGNAL=SIGUSR2 BACKDOOR_STOP_SIGNAL=SIGHUP, or the options of the same names)`,
      );
    }
    return value as NodeJS.Signals;
  }
  if (reason.startsWith('is not')) throw new TypeError(`The "${name}" option must be a signal name such as 'SIGUSR2'. Received ${String(value)}`);
  throw new TypeError(`The "${name}" option ${reason}`);
}

/**
 * Lets a running process be given a backdoor, and have it taken away, by signal:
 * `kill -USR1 <pid>` starts one with `options` (and prints its address on stderr),
 * `kill -USR2 <pid>` closes it; the process keeps running either way. Repeated signals are
 * harmless. Returns `uninstall`, which closes a backdoor the signals started and makes the
 * listeners do nothing.
 *
 * The listeners themselves stay for the life of the process: on Node 20, removing a SIGUSR1
 * listener makes the next SIGUSR1 kill the process. And while a JS listener for SIGUSR1 is
 * installed, `kill -USR1` no longer starts Node's inspector: pick other signals (e.g.
 * `startSignal: 'SIGUSR2', stopSignal: 'SIGHUP'`) to keep that.
 *
 * Only one installation at a time: a second call throws `ERR_BACKDOOR_SIGNALS_INSTALLED`.
 */
export function installSignalHandlers(options: SignalOptions = {}): () => Promise<void> {
  const { startSignal: start = 'SIGUSR1', stopSignal: stop = 'SIGUSR2', ...backdoorOptions } = options;
  const startSignal = checkSignal('startSignal', start);
  const stopSignal = checkSignal('stopSignal', stop);
  if (startSignal === stopSignal) throw new TypeError('The "startSignal" and "stopSignal" options must differ');
  resolveOptions(backdoorOptions); // bad options fail now, not at the first signal
  if (active) {
    throw new BackdoorError('ERR_BACKDOOR_SIGNALS_INSTALLED', 'Signal handlers are already installed; call the uninstall function first');
  }

  const installation = new Installation(backdoorOptions);
  active = installation;
  listen(startSignal, () => installation.open());
  listen(stopSignal, () => installation.close());
  setReady({ startSignal, stopSignal });

  return async () => {
    if (active !== installation) return;
    active = undefined;
    setReady(undefined);
    await installation.close();
  };

  function listen(signal: NodeJS.Signals, action: () => Promise<void>): void {
    // The listener runs the action bound to its signal, if that binding is the current one.
    handlers.set(signal, { installation, action });
    if (listened.has(signal)) return;
    listened.add(signal);
    const listener = () => {
      const handler = handlers.get(signal);
      if (handler && handler.installation === active) void handler.action();
    };
    process.on(signal, listener);
    // Removed by a session's command, it is put back when the command returns: without it,
    // the next SIGUSR1 would start Node's inspector, SIGUSR2 would kill the app.
    keepListener(signal, listener);
  }
}

const handlers = new Map<string, { installation: Installation; action: () => Promise<void> }>();

/** Starts the backdoor of the current installation, as its start signal would (for the preload). */
export function startNow(): Promise<void> {
  if (!active) throw new BackdoorError('ERR_BACKDOOR_SIGNALS_NOT_INSTALLED', 'No signal handlers are installed');
  return active.open();
}
