/**
 * What the worker's inspector ops (`.stack`, `.profile`, `.heap sample`, the end-of-session
 * collection) have cost the main thread, and how many ran: written by the worker as each ends,
 * read by the main thread for `backdoor.stats()` and the app's own load. Shared memory, so that
 * neither side sends a message for it, and the figure is current when the app asks, even when
 * no op has reached the main thread since.
 */
export class InspectorTally {
  /** [main-thread microseconds, ops] */
  readonly #cells: BigInt64Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT)) {
    this.#cells = new BigInt64Array(buffer);
  }

  /** To hand to the other thread. */
  get buffer(): SharedArrayBuffer {
    return this.#cells.buffer as SharedArrayBuffer;
  }

  /** An inspector op ended; it took `mainMs` of the main thread's time. */
  add(mainMs: number): void {
    Atomics.add(this.#cells, 0, BigInt(Math.max(0, Math.round(mainMs * 1000))));
    Atomics.add(this.#cells, 1, 1n);
  }

  read(): { ms: number; ops: number } {
    return { ms: Number(Atomics.load(this.#cells, 0)) / 1000, ops: Number(Atomics.load(this.#cells, 1)) };
  }
}
