import { performance } from 'node:perf_hooks';

/**
 * Ends a session after `idleMs` without activity (a complete line, a command ending); a
 * session that is working (a command running) is not idle. One timer, re-armed for what is
 * left rather than on every line.
 */
export class IdleTimer {
  readonly #idleMs: number;
  readonly #working: (now: number) => boolean;
  readonly #idle: () => void;
  #last = performance.now();
  #timer: NodeJS.Timeout | undefined;

  /** `idleMs` 0 never fires. */
  constructor(idleMs: number, working: (now: number) => boolean, idle: () => void) {
    this.#idleMs = idleMs;
    this.#working = working;
    this.#idle = idle;
    if (idleMs > 0) this.#arm();
  }

  /** Something happened: idleness counts from now. */
  touch(): void {
    this.#last = performance.now();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const left = this.#idleMs - (performance.now() - this.#last);
    this.#timer = setTimeout(
      () => {
        if (this.#timer === undefined) return;
        const now = performance.now();
        if (this.#working(now) || now - this.#last < this.#idleMs) return this.#arm();
        this.#idle();
      },
      Math.max(0, left),
    );
  }
}
