import { AppLoad } from './app-load.ts';
import type { InspectorTally } from '../common/inspector-tally.ts';

/**
 * What the backdoor has cost the main thread: each op's time (running, formatting), each
 * notice's, the messages' (the channel's own clock), and what the worker's inspector ops took
 * there (as the worker measured it); and, from the rest, the app's own load for the budget.
 */
export class MainAccount {
  readonly #appLoad = new AppLoad();
  readonly #messagingMs: () => number;
  #ops = 0;
  /** Calls that only asked for the load (a held op's): messages of the backdoor's too. */
  #loadCalls = 0;
  #mainThreadMs = 0;
  readonly #tally: InspectorTally | undefined;

  /** `messagingMs`: the channel's time on this thread so far; `tally`: the worker's inspector ops'. */
  constructor(messagingMs: () => number = () => 0, tally?: InspectorTally) {
    this.#messagingMs = messagingMs;
    this.#tally = tally;
  }

  /** An op ran, for `ms` of the main thread's time. */
  op(ms: number): void {
    this.#ops++;
    this.#mainThreadMs += ms;
  }

  /** Work of the backdoor's outside an op (a notice formatted): its time. */
  spent(ms: number): void {
    this.#mainThreadMs += ms;
  }

  /** A request only asked for the load. */
  loadCall(): void {
    this.#loadCalls++;
  }

  /** The app's own load now (0..1), or undefined when it cannot be measured (yet). */
  load(): number | undefined {
    try {
      const inspector = this.#tally?.read() ?? { ms: 0, ops: 0 };
      const load = this.#appLoad.measure(this.#mainThreadMs + inspector.ms + this.#messagingMs(), this.#ops + this.#loadCalls + inspector.ops);
      return Number.isNaN(load) ? undefined : load;
    } catch {
      // Node's event-loop utilisation reads `process.hrtime`, which session code can replace:
      // the reply goes without the load (the budget keeps the last one).
      return undefined;
    }
  }

  /** Ops run so far (diagnoses among them), and the main-thread time they (and what followed them) used. */
  stats(): { commands: number; diagnoses: number; mainThreadMs: number } {
    const inspector = this.#tally?.read() ?? { ms: 0, ops: 0 };
    return { commands: this.#ops + inspector.ops, diagnoses: inspector.ops, mainThreadMs: this.#mainThreadMs + inspector.ms };
  }
}
