import { performance } from 'node:perf_hooks';
import type { EvalOutcome, EvalReply, EvalRequest, RequestBody, WorkerNotification } from '../common/protocol.ts';
import type { MainThreadBudget } from './budget.ts';
import type { RunawayWatch } from './runaway-watch.ts';

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
  /** It has waited `ms` for the main thread (once, after HELD_NOTICE_MS), and why. */
  waiting?(ms: number, reason: string): void;
  /** The command ended (returned, threw, or its promise settled). */
  done(outcome: EvalOutcome): void;
}

/** The main thread as the dispatcher sees it: one call, and notifications. */
export interface MainLink {
  evaluate(request: EvalRequest): Promise<EvalReply>;
  notify(message: WorkerNotification): void;
  /** See MainApi.recover. */
  recover?(id: number): Promise<EvalReply | undefined>;
  /** See MainApi.load. */
  load?(): Promise<number | undefined>;
}

/** A command handed to the dispatcher; `abandon` it to drop its result. */
export interface Command {
  readonly request: EvalRequest;
  readonly listener: CommandListener;
  abandoned: boolean;
  /** When it was submitted (performance.now()). */
  readonly submitted: number;
  /** Told that it waits. */
  noticed?: boolean;
}

/** A command that has waited this long for the main thread is told why, once. */
export const HELD_NOTICE_MS = 1000;

/**
 * A command the budget holds asks the main thread for the app's load this often: the load
 * comes with each reply, and none comes while the command waits, so the wait would otherwise
 * rest on the load before it (an app that has calmed down, or the app's own start, would
 * hold it at the floor for as long as its debt takes there).
 */
export const LOAD_REFRESH_MS = 500;

/**
 * Sends complete inputs to the main thread one at a time.
 *
 * Only one call is in flight: the next command leaves only after the main thread has answered
 * the previous one, so each command runs in its own turn of the main thread's event loop and
 * the app's I/O runs between any two. A session has at most one command queued here (it waits
 * for its command to end before it submits the next), so first come, first served is also
 * round robin between sessions. A command that awaits is answered at once as pending; other
 * sessions go on while it waits, and its end arrives later through `settle` (never before the
 * reply of its own call: see common/channel.ts). Before each
 * command leaves, the budget may hold it back so that the commands' share of the main thread
 * stays within `mainThreadBudget`.
 */
export class Dispatcher {
  readonly #main: MainLink;
  readonly #queue: Command[] = [];
  readonly #awaiting = new Map<number, Command>();
  #current: Command | undefined;
  /** When the call in flight left (performance.now()). */
  #sentAt = 0;
  #closed = false;
  #lastId = 0;
  readonly #budget: MainThreadBudget | undefined;
  #paced: NodeJS.Timeout | undefined;
  #noticeTimer: NodeJS.Timeout | undefined;

  readonly #runaways: RunawayWatch | undefined;
  #unwatch: (() => void) | undefined;

  /** @param runaways keeps the time of commands, where the worker stops runaways (see runaway-watch.ts) */
  constructor(main: MainLink, budget?: MainThreadBudget, runaways?: RunawayWatch) {
    this.#main = main;
    this.#budget = budget;
    this.#runaways = runaways;
  }

  /** Queue a command; its listener hears from it unless it is abandoned first. */
  submit(input: RequestBody, listener: CommandListener): Command {
    const command: Command = { request: { ...input, id: ++this.#lastId } as EvalRequest, listener, abandoned: false, submitted: performance.now() };
    this.#queue.push(command);
    this.#pump();
    this.#watch();
    return command;
  }

  /**
   * How long the main thread has kept `command` waiting: its call in flight, or the one ahead of
   * it in flight for half the notice time or more. Undefined when something else holds it (the
   * budget, or its turn behind a call just sent).
   */
  mainSilentMs(command: Command, now: number): number | undefined {
    const current = this.#current;
    const onMain = current === command || (current !== undefined && now - current.submitted >= HELD_NOTICE_MS / 2);
    return onMain ? now - this.#sentAt : undefined;
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
    const command = this.#awaiting.get(id);
    if (!command) return; // abandoned
    this.#awaiting.delete(id);
    this.#settled(command, out, outcome);
  }

  /** Tell the main thread that a context is no longer used. */
  dropContext(context: number): void {
    if (!this.#closed) this.#main.notify({ type: 'drop-context', context });
  }

  /** Abandon everything; nothing more is sent. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#paced);
    clearTimeout(this.#noticeTimer);
    this.#unwatch?.();
    if (this.#current) this.#current.abandoned = true;
    for (const command of [...this.#queue, ...this.#awaiting.values()]) command.abandoned = true;
    this.#queue.length = 0;
    this.#awaiting.clear();
  }

  #pump(): void {
    if (this.#current || this.#closed || this.#paced || this.#queue.length === 0) return;
    const wait = this.#budget?.delay(performance.now()) ?? 0;
    if (wait > 0) {
      const refresh = this.#main.load !== undefined && wait > LOAD_REFRESH_MS;
      this.#paced = setTimeout(() => (refresh ? this.#refreshLoad() : this.#unpace()), refresh ? LOAD_REFRESH_MS : wait);
      return;
    }
    const command = this.#queue.shift()!;
    this.#current = command;
    this.#sentAt = performance.now();
    const { kind, id } = command.request;
    if (this.#runaways && (kind === 'eval' || kind === 'inspect')) {
      // A stopped command's call is never answered: its reply comes from `recover`.
      this.#unwatch = this.#runaways.watch(id, (reply) => this.#answered(command, reply));
    }
    this.#main.evaluate(command.request).then(
      (reply) => this.#answered(command, reply),
      (error: unknown) =>
        this.#answered(command, { out: '', outcome: { ok: false, text: `Internal error: ${String(error)}` }, cost: 0 }),
    );
  }

  #unpace(): void {
    this.#paced = undefined;
    this.#pump();
  }

  /** Held: the load now, then the wait again (nothing is sent meanwhile: #paced stays set). */
  #refreshLoad(): void {
    if (this.#queue.length === 0) return this.#unpace(); // the held command was abandoned
    this.#main.load!().then((load) => {
      if (this.#closed) return;
      if (load !== undefined) this.#budget?.observe(load, performance.now());
      this.#budget?.charge(0, performance.now(), MESSAGING_COST_MS);
    }, () => {}).finally(() => this.#unpace());
  }

  #answered(command: Command, reply: EvalReply): void {
    if (this.#current !== command) return; // answered already (stopped, then its call too)
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#current = undefined;
    if (reply.load !== undefined) this.#budget?.observe(reply.load, performance.now());
    this.#budget?.charge(reply.cost, performance.now(), MESSAGING_COST_MS);
    if (!command.abandoned) {
      if (reply.out !== '') command.listener.output(reply.out);
      if (reply.outcome) command.listener.done(reply.outcome);
      else {
        this.#awaiting.set(command.request.id, command);
        command.listener.pending?.();
      }
    }
    this.#pump();
  }

  /**
   * Never silent: a command still waiting for the main thread after HELD_NOTICE_MS hears why,
   * the budget or a main thread that does not answer. One timer, for the oldest such command,
   * only while commands wait.
   */
  #watch(): void {
    if (this.#noticeTimer || this.#closed) return;
    // The queue is in submission order, and the command in flight left it first: the first one
    // that can be told is the oldest.
    const current = this.#current;
    const first = current && !current.noticed && current.listener.waiting ? current : this.#queue.find((command) => !command.noticed && command.listener.waiting);
    if (!first) return;
    const oldest = first.submitted;
    this.#noticeTimer = setTimeout(() => {
      this.#noticeTimer = undefined;
      const now = performance.now();
      for (const command of [this.#current, ...this.#queue]) {
        if (!command || command.noticed || command.abandoned || now - command.submitted < HELD_NOTICE_MS) continue;
        command.noticed = true;
        command.listener.waiting?.(now - command.submitted, this.#reason(command, now));
      }
      this.#watch();
    }, Math.max(0, oldest + HELD_NOTICE_MS - performance.now()));
    this.#noticeTimer.unref?.();
  }

  #reason(command: Command, now: number): string {
    if (this.mainSilentMs(command, now) !== undefined) {
      const since = this.#current === command ? 'it was sent' : 'the command ahead of it was sent';
      return `the app's main thread has not answered since ${since}: it is busy (the app's own work, or a long command), and .stack in another session shows where`;
    }
    const budget = this.#budget;
    if (this.#paced && budget) {
      const load = budget.load === undefined ? 'not known yet' : `${Math.round(budget.load * 100)}%`;
      return `held by the budget: the app's own load is ${load}, so commands may use ${formatShare(budget.share)} of its main thread now (mainThreadBudget ${budget.ceiling})`;
    }
    return 'queued behind the commands of other sessions';
  }

  #settled(command: Command, out: string, outcome: EvalOutcome): void {
    if (out !== '') command.listener.output(out);
    command.listener.done(outcome);
  }
}

function formatShare(share: number): string {
  return share >= 0.1 ? `${Math.round(share * 100)}%` : `${(share * 100).toFixed(1)}%`;
}
