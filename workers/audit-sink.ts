import { writeSync } from 'node:fs';
import { defaultAuditTypes, formatAuditEvent, type AuditEvent } from '../common/audit-event.ts';
import type { WorkerConfig } from '../common/protocol.ts';
import type { RateLimit } from './rate-limit.ts';

/** How long audit events for an `audit` function wait, to travel to the main thread together. */
const BATCH_MS = 100;
/** The rate limit of unauthenticated events: so many at once... */
export const UNAUTHENTICATED_BURST = 20;
/** ...and so many a second on average. */
export const UNAUTHENTICATED_PER_SECOND = 5;
/** How soon events dropped by the rate limit are counted in a line of their own, at the latest. */
const DROPPED_NOTICE_MS = 1000;

/**
 * The worker's end of the audit trail. Lines for stderr are written here, straight to file
 * descriptor 2, so that they cost the main thread nothing; events for an `audit` function go
 * to the main thread in batches, at most one message per 100 ms.
 */
export class AuditSink {
  readonly #mode: WorkerConfig['audit'];
  readonly #send: (events: AuditEvent[]) => void;
  readonly #unauthenticated: RateLimit | undefined;
  #batch: AuditEvent[] = [];
  #timer: NodeJS.Timeout | undefined;
  #droppedTimer: NodeJS.Timeout | undefined;

  /**
   * @param unauthenticated the limit for events of connections that never gave the token, and
   *   for connects and disconnects of any (a flood of them must not flood the app's stderr);
   *   what it drops is counted in a `dropped` event before the next one that passes, or a
   *   second later.
   */
  constructor(mode: WorkerConfig['audit'], send: (events: AuditEvent[]) => void, unauthenticated?: RateLimit) {
    this.#mode = mode;
    this.#send = send;
    this.#unauthenticated = unauthenticated;
  }

  record(event: AuditEvent, unauthenticated = false): void {
    const limit = this.#unauthenticated;
    if (limit) {
      if (unauthenticated && !limit.take(performance.now())) {
        // Told by the next event that passes, or within a second if none does.
        this.#droppedTimer ??= setTimeout(() => {
          this.#droppedTimer = undefined;
          const dropped = limit.takeDropped();
          if (dropped > 0) this.#record({ type: 'dropped', time: new Date().toISOString(), count: dropped });
        }, DROPPED_NOTICE_MS).unref();
        return;
      }
      const dropped = limit.takeDropped();
      if (dropped > 0) this.#record({ type: 'dropped', time: event.time, count: dropped });
    }
    this.#record(event);
  }

  #record(event: AuditEvent): void {
    if (this.#mode === 'function') {
      this.#batch.push(event);
      this.#timer ??= setTimeout(() => this.flush(), BATCH_MS);
    } else if (this.#mode === 'stderr' || (this.#mode === 'default' && defaultAuditTypes.has(event.type))) {
      writeLine(`${formatAuditEvent(event)}\n`);
    }
  }

  /** Sends what is waiting now (before closing). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#batch.length === 0) return;
    const events = this.#batch;
    this.#batch = [];
    this.#send(events);
  }
}

function writeLine(line: string): void {
  try {
    writeSync(2, line);
  } catch {
    // A non-blocking stderr that is full: go through Node's stream (and the main thread).
    process.stderr.write(line);
  }
}
