import { wrap, type Remote } from 'comlink';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import type { BackdoorAddress } from '../common/address.ts';
import type { WorkerApi, WorkerConfig, WorkerData } from '../common/protocol.ts';
import { Auditor } from './audit.ts';
import { announce, withdraw } from './announce.ts';
import { lastMade, removeAtExit } from './diagnostics-dir.ts';
import { PromiseCtor, PromiseRace } from '../common/primordials.ts';
import { InspectorTally } from '../common/inspector-tally.ts';
import { BackdoorError, listenErrorCode } from '../common/errors.ts';
import { mainSide, type MainSide } from './main-side.ts';
import { HOOK, RunawayStop } from './runaway-stop.ts';
import { holdMemoryReducer } from './quiet-heap.ts';
import { resolveOptions, type BackdoorOptions, type ResolvedOptions } from './options.ts';

const fromSource = import.meta.url.endsWith('.ts');
/** The worker entry, compiled beside this file (`.ts` when run from source under a loader). */
const workerUrl = new URL(`../workers/worker${fromSource ? '.ts' : '.js'}`, import.meta.url);
/**
 * The compiled worker needs none of the app's flags, and must not inherit its preloads
 * (`--import`, `--require`, loaders): they would run again in the worker, costing start-up
 * time and, for `backdoor/register`, starting a backdoor inside the backdoor. Run from source,
 * it needs the TypeScript loader it was started with.
 */
const workerExecArgv = fromSource ? process.execArgv : [];

type State = 'starting' | 'running' | 'closing' | 'closed';

/** `backdoor[Symbol.for('backdoor.worker')]` is the backdoor's Worker. */
export const workerSymbol: unique symbol = Symbol.for('backdoor.worker') as never;

/** See `Backdoor.stats()`. */
export interface BackdoorStats {
  /** Ops the sessions ran: on the main thread, and against it through the inspector (diagnoses). */
  commands: number;
  /** Of those, the diagnoses: `.stack`, `.profile`, `.heap sample`, and the collection a session's end makes. */
  diagnoses: number;
  /** Main-thread time they used, in ms. */
  mainThreadMs: number;
}

/**
 * A running backdoor: a worker thread that listens and runs the sessions, and the main-thread
 * evaluator it sends complete inputs to. Made by `startBackdoor`.
 */
export class Backdoor {
  #state: State = 'starting';
  #address: BackdoorAddress | undefined;
  #closing: Promise<void> | undefined;
  readonly #worker: Worker;
  readonly #control: Remote<WorkerApi>;
  readonly #side: MainSide;
  readonly #port: MessagePort;
  readonly #exited: Promise<void>;
  readonly #auditor: Auditor;
  readonly #runawayStop: RunawayStop | undefined;
  /** Keeps V8's memory reducer off the worker's isolate until its first full collection (lib/quiet-heap.ts). */
  readonly #releaseReducer: () => void;

  /** @internal use `startBackdoor` */
  constructor(options: ResolvedOptions) {
    this.#auditor = new Auditor(options.audit);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#runawayStop = options.evalTimeoutMs > 0 ? RunawayStop.create() : undefined;
    const config: WorkerConfig = {
      host: options.host,
      port: options.port,
      path: options.path,
      banner: options.banner,
      locals: Object.keys(options.locals),
      mainThreadBudget: options.mainThreadBudget,
      token: options.token,
      audit: this.#auditor.workerMode,
      maxSessions: options.maxSessions,
      maxInputBytes: options.maxInputBytes,
      idleTimeoutMs: options.idleTimeoutMs,
      authTimeoutMs: options.authTimeoutMs,
      evalTimeoutMs: options.evalTimeoutMs,
      runawayHook: this.#runawayStop ? { name: HOOK, stop: this.#runawayStop.number } : undefined,
      diagnosticsDir: options.diagnosticsDir,
      diagnosticsDirMade: lastMade(),
    };
    const tally = new InspectorTally();
    const workerData: WorkerData = { config, port: port2, tally: tally.buffer };
    this.#releaseReducer = holdMemoryReducer();
    try {
      this.#worker = new Worker(workerUrl, {
        workerData,
        execArgv: workerExecArgv,
        // A fault in the worker (a leak, a runaway buffer) ends the worker, not the process.
        resourceLimits: { maxOldGenerationSizeMb: 256 },
        transferList: [port2],
        name: 'backdoor',
      });
    } catch (error) {
      this.#releaseReducer();
      throw error;
    }
    this.#exited = new Promise((resolve) => this.#worker.once('exit', () => resolve()));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.once('exit', (code) => {
      if (this.#state === 'running' || this.#state === 'starting') {
        this.#fail(new Error(`the worker thread exited with code ${code}`));
      }
    });

    this.#side = mainSide(
      port1,
      { locals: options.locals, evalTimeoutMs: options.evalTimeoutMs, mainThreadBudget: options.mainThreadBudget, runawayStop: this.#runawayStop, tally },
      {
        audit: (event) => this.#auditor.emit(event),
        notice: (notice) => {
          if (notice.type === 'heap-collected') this.#releaseReducer();
          else if (notice.type === 'diagnostics-dir') removeAtExit(notice.path);
          else if (notice.type === 'audit') this.#auditor.emit(...notice.events);
        },
      },
    );
    this.#control = wrap<WorkerApi>(this.#side.end.endpoint);

    // The backdoor never keeps the app alive on its own.
    this.#worker.unref();
    port1.unref();
  }

  /** @internal */
  async start(): Promise<this> {
    // Held only while starting, so that `await startBackdoor()` completes in an idle process.
    this.#worker.ref();
    const reply = await PromiseRace([this.#control.listen(), this.#exited.then(() => undefined)]).finally(() => this.#worker.unref());
    if (reply === undefined) {
      throw new BackdoorError('ERR_BACKDOOR_WORKER', 'The backdoor worker stopped before listening', { cause: this.#failure });
    }
    if (!reply.ok) {
      await this.close();
      const error = new BackdoorError(listenErrorCode(reply.code), `The backdoor could not listen: ${reply.message}`);
      if (reply.syscall) Object.assign(error, { syscall: reply.syscall });
      throw error;
    }
    if (this.#state !== 'starting') {
      throw new BackdoorError('ERR_BACKDOOR_CLOSED', 'The backdoor was closed while starting');
    }
    this.#address = reply.address;
    this.#state = 'running';
    announce(this, reply.address);
    this.#auditor.emit({ type: 'start', time: new Date().toISOString(), pid: process.pid, address: reply.address });
    return this;
  }

  /**
   * Where the backdoor listens: `{ host, port }` (the actual port when 0 was asked) or
   * `{ path }`. After `close()` it still tells where it listened.
   */
  address(): BackdoorAddress {
    if (!this.#address) throw new BackdoorError('ERR_BACKDOOR_CLOSED', 'The backdoor is not listening');
    return { ...this.#address };
  }

  /** The worker thread, for tests and diagnostics (e.g. to see that its death harms nothing). */
  get [workerSymbol](): Worker {
    return this.#worker;
  }

  /** Whether the backdoor listens: false before `startBackdoor` resolves, after `close()`, and after its worker died. */
  get listening(): boolean {
    return this.#state === 'running';
  }

  /**
   * What the backdoor has cost the app so far: the commands it ran and the main-thread
   * milliseconds they used (compiling, running, formatting). Cheap: counters, no message.
   */
  stats(): BackdoorStats {
    return this.#side.account.stats();
  }

  /**
   * Closes the listener, tells every session `backdoor closed` and disconnects it, and ends
   * the worker. Commands still running on the main thread finish; their results are dropped.
   * Safe to call more than once: every call returns the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#state !== 'closed') {
      this.#state = 'closing';
      // A worker that has died never answers: don't wait for it.
      this.#worker.ref();
      // comlink's call builds its promise from the app's global Promise, which typed code may
      // have replaced: then the worker is terminated, which closes its sockets too.
      let closed: Promise<unknown>;
      try {
        closed = this.#control.close();
      } catch {
        closed = PromiseCtor.resolve();
      }
      await PromiseRace([closed, this.#exited]);
    }
    const wasListening = this.#address !== undefined && this.#failure === undefined;
    this.#release();
    await this.#worker.terminate();
    if (wasListening) this.#auditor.emit({ type: 'stop', time: new Date().toISOString(), pid: process.pid, address: this.#address! });
  }

  #failure: unknown;

  #fail(error: unknown): void {
    if (this.#state === 'closed') return;
    const wasRunning = this.#state === 'running';
    this.#failure = error;
    this.#release();
    if (wasRunning) {
      // The app goes on; the fault is told wherever the audit trail goes (stderr by default).
      this.#auditor.emit({ type: 'fault', time: new Date().toISOString(), message: `the worker thread failed, backdoor closed: ${String(error)}` });
    }
  }

  #release(): void {
    this.#releaseReducer();
    withdraw(this);
    this.#state = 'closed';
    this.#side.close();
    this.#runawayStop?.close();
    this.#port.close();
  }
}

/**
 * Starts a backdoor: a JavaScript REPL, served from a worker thread, that evaluates what
 * people type against the app's live objects. Resolves once it listens; rejects with an error
 * whose `code` is the system's (`EADDRINUSE`...) when it cannot.
 */
export async function startBackdoor(options?: BackdoorOptions): Promise<Backdoor> {
  const backdoor = new Backdoor(resolveOptions(options));
  return backdoor.start();
}
