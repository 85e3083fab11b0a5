import { performance } from 'node:perf_hooks';
import type { Diagnose, Diagnosis } from './diagnostics.ts';
import type { ModeHost } from './mode.ts';

/**
 * A diagnosis a session runs in the worker (`.stack`, `.profile`, `.heap sample`): its session
 * waits for it as for a command, Ctrl-C (or `{"interrupt": id}`) abandons it, and either way
 * it is audited as the session's command.
 */
export class DiagnosisRun {
  readonly typed: string;
  readonly #host: ModeHost;
  readonly #controller = new AbortController();
  readonly #started = performance.now();
  #over = false;

  /** Starts it; `done` hears what it found, unless it is abandoned first. */
  constructor(host: ModeHost, typed: string, diagnose: Diagnose, done: (diagnosis: Diagnosis, ok: boolean) => void) {
    this.#host = host;
    this.typed = typed;
    const settle = (diagnosis: Diagnosis, ok: boolean) => host.guard(() => {
      if (this.#end(ok)) done(diagnosis, ok);
    });
    diagnose(host.diagnostics, this.#controller.signal).then(
      (diagnosis) => settle(diagnosis, true),
      (error: unknown) => settle({ text: `${typed} failed: ${(error as Error)?.message ?? String(error)}` }, false),
    );
  }

  /** Stops it (its inspector session lets go of the main thread); nothing more is heard of it. */
  abandon(): void {
    if (this.#end(false)) this.#controller.abort();
  }

  #end(ok: boolean): boolean {
    if (this.#over) return false;
    this.#over = true;
    this.#host.runner.record(this.typed, this.#started, ok);
    return true;
  }
}
