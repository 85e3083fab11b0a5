import type { MainOp, OpRequest, OpResult } from '../../common/protocol.ts';

/** Why an op waits: the budget holds it, the main thread does not answer, or others go first. */
export type WaitCode = 'budget-held' | 'main-busy' | 'queued';

/** What a session hears about one of its ops. */
export interface OpListener {
  /** Console output the op printed, as it arrives. */
  output?(text: string): void;
  /** An inspector op has started (it waited for nothing, or its wait is over). */
  started?(): void;
  /** The main thread answered that the op awaits; `done` comes later. */
  pending?(): void;
  /** It has waited `ms` for the main thread (once, after HELD_NOTICE_MS), and why. */
  waiting?(ms: number, code: WaitCode, reason: string): void;
  /** The op ended (returned, threw, its promise settled, or it could not run). */
  done(result: OpResult): void;
}

/** An op through the door: a main-thread op, or one the worker runs against the main thread through the inspector. */
export interface DoorOp extends Omit<OpRequest, 'id' | 'op'> {
  /** Whose budget pays for it: a session, or the backdoor's own work. */
  account: unknown;
  op: MainOp | 'stack' | 'profile' | 'heap-sample' | 'collect';
}

/** An op handed to the door; `abandon` it to drop its result (and stop it, if it runs in the worker). */
export interface Ticket {
  readonly id: number;
  readonly op: DoorOp;
  readonly listener: OpListener;
  readonly submitted: number;
  readonly onMain: boolean;
  abandoned: boolean;
  /** Why it was last told it waits. */
  told?: WaitCode;
  /** An inspector op running: aborting it lets go of the main thread. */
  controller?: AbortController;
  /** Abandoned while its code ran on the main thread: called if evalTimeoutMs stops it. */
  stopped?: () => void;
}

/** Ops the worker runs against the main thread through the inspector. */
export const INSPECTOR_OPS: ReadonlySet<string> = new Set(['stack', 'profile', 'heap-sample', 'collect']);

/** How an op that did not run ends. */
export function interrupted(why: string): OpResult {
  return { status: 'error', code: 'interrupted', value: { text: why } };
}
