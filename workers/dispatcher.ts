import type { Remote } from 'comlink';
import { performance } from 'node:perf_hooks';
import type { EvalOutcome, EvalReply, EvalRequest, MainApi } from '../lib/protocol.ts';
import type { MainThreadBudget } from './budget.ts';

/**
 * What a command costs the main thread beyond what the evaluator can time: the two messages
 * and the wake-up around it (about 60 us on an idle 2-core machine, twice that under load;
 * see bench/). Charged to the budget as a flat amount with each command.
 */
const MESSAGING_COST_MS = 0.1;

/** What a session hears about one of its commands. */
export interface CommandListener {
  /** Console output the command printed, as it arrives. */
  output(text: string): void;
  /** The main thread answered that the command awaits; `done` comes later. */
  pending?(): void;
  /** The command ended (returned, threw, or its promise settled). */
  done(outcome: EvalOutcome): void;
}

/** A command handed to the dispatcher; `abandon` it to drop its result. */
export interface Command {
  readonly request: EvalRequest;
  readonly listener: CommandListener;
  abandoned: boolean;
}

/**
 * Sends complete inputs to the main thread one at a time.
 *
 * Only one call is in flight: the next command leaves only after the main thread has answered
 * the previous one, so each command runs in its own turn of the main thread's event loop and
 * the app's I/O runs between any two. A session has at most one command queued here (it waits
 * for its command to end before it submits the next), so first come, first served is also
 * round robin between sessions. A command that awaits is answered at once as pending; other
 * sessions go on while it waits, and its end arrives later through `settle`. Before each
 * command leaves, the budget may hold it back so that the commands' share of the main thread
 * stays within `mainThreadBudget`.
 */
export class Dispatcher {
  readonly #main: Remote<MainApi>;
  readonly #queue: Command[] = [];
  readonly #awaiting = new Map<number, Command>();
  /** Settlements that overtook the reply of their own `evaluate` call. */
  readonly #early = new Map<number, { out: string; outcome: EvalOutcome }>();
  #current: Command | undefined;
  #closed = false;
  #lastId = 0;
  readonly #budget: MainThreadBudget | undefined;
  #paced: NodeJS.Timeout | undefined;

  constructor(main: Remote<MainApi>, budget?: MainThreadBudget) {
    this.#main = main;
    this.#budget = budget;
  }

  /** Queue a command; its listener hears from it unless it is abandoned first. */
  submit(input: Omit<EvalRequest, 'id'>, listener: CommandListener): Command {
    const command: Command = { request: { ...input, id: ++this.#lastId }, listener, abandoned: false };
    this.#queue.push(command);
    this.#pump();
    return command;
  }

  /** Drop a command's result; one still queued never runs. */
  abandon(command: Command): void {
    command.abandoned = true;
    const queued = this.#queue.indexOf(command);
    if (queued !== -1) this.#queue.splice(queued, 1);
    this.#awaiting.delete(command.request.id);
  }

  /** An awaited command ended on the main thread; formatting its value cost `cost` ms there. */
  settle(id: number, out: string, outcome: EvalOutcome, cost = 0): void {
    this.#budget?.charge(cost, performance.now());
    // A promise that settles within microtasks can be reported before comlink has sent the
    // reply of the call that started it.
    if (this.#current?.request.id === id) {
      this.#early.set(id, { out, outcome });
      return;
    }
    const command = this.#awaiting.get(id);
    if (!command) return; // abandoned
    this.#awaiting.delete(id);
    this.#settled(command, out, outcome);
  }

  /** Tell the main thread that a context is no longer used. */
  dropContext(context: number): void {
    if (!this.#closed) void this.#main.dropContext(context);
  }

  /** Abandon everything; nothing more is sent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#paced);
    if (this.#current) this.#current.abandoned = true;
    for (const command of [...this.#queue, ...this.#awaiting.values()]) command.abandoned = true;
    this.#queue.length = 0;
    this.#awaiting.clear();
  }

  #pump(): void {
    if (this.#current || this.#closed || this.#paced || this.#queue.length === 0) return;
    const wait = this.#budget?.delay(performance.now()) ?? 0;
    if (wait > 0) {
      this.#paced = setTimeout(() => {
        this.#paced = undefined;
        this.#pump();
      }, wait);
      return;
    }
    const command = this.#queue.shift()!;
    this.#current = command;
    this.#main.evaluate(command.request).then(
      (reply) => this.#answered(command, reply),
      (error: unknown) =>
        this.#answered(command, { out: '', outcome: { ok: false, text: `Internal error: ${String(error)}` }, cost: 0 }),
    );
  }

  #answered(command: Command, reply: EvalReply): void {
    this.#current = undefined;
    this.#budget?.charge(reply.cost + MESSAGING_COST_MS, performance.now());
    const early = this.#early.get(command.request.id);
    this.#early.delete(command.request.id);
    if (!command.abandoned) {
      if (reply.out !== '') command.listener.output(reply.out);
      if (reply.outcome) command.listener.done(reply.outcome);
      else if (early) this.#settled(command, early.out, early.outcome);
      else {
        this.#awaiting.set(command.request.id, command);
        command.listener.pending?.();
      }
    }
    this.#pump();
  }

  #settled(command: Command, out: string, outcome: EvalOutcome): void {
    if (out !== '') command.listener.output(out);
    command.listener.done(outcome);
  }
}
