import { defaultAuditTypes, formatAuditEvent, type AuditEvent } from '../common/audit-event.ts';
import type { WorkerConfig } from '../common/protocol.ts';
import type { ResolvedOptions } from './options.ts';

/**
 * The main thread's end of the audit trail: start, stop and faults happen here; connections,
 * authentication and commands are seen by the worker, which writes their lines to stderr itself
 * (no main-thread work) or, for an `audit` function, sends them over in batches.
 */
export class Auditor {
  readonly #option: ResolvedOptions['audit'];
  #reportedThrow = false;

  constructor(option: ResolvedOptions['audit']) {
    this.#option = option;
  }

  /** What the worker should do with the events it sees. */
  get workerMode(): WorkerConfig['audit'] {
    if (typeof this.#option === 'function') return 'function';
    return this.#option === false ? 'none' : this.#option;
  }

  /** Records an event (from this thread, or a batch from the worker). */
  emit(...events: AuditEvent[]): void {
    const option = this.#option;
    for (const event of events) {
      if (typeof option === 'function') {
        try {
          option(event);
        } catch (error) {
          // An audit function that throws must not take the backdoor (or the app) down.
          if (!this.#reportedThrow) {
            this.#reportedThrow = true;
            process.stderr.write(`backdoor: the audit function threw (reported once): ${String(error)}\n`);
          }
        }
      } else if (option === 'stderr' || (option === 'default' && defaultAuditTypes.has(event.type))) {
        process.stderr.write(`${formatAuditEvent(event)}\n`);
      }
    }
  }
}
