/**
 * `.stack`, `.profile` and `.heap sample`: the main thread looked at from the worker, through
 * the inspector (see main-inspector.ts), so they answer while the app's own code keeps the main
 * thread busy: the case where every command waits. Each enables its inspector domain for the
 * moment it needs it, and the session's disconnect leaves nothing enabled or paused.
 */
import { performance } from 'node:perf_hooks';
import type { Args } from '../../common/ops.ts';
import type { OpCode, OpResult } from '../../common/protocol.ts';
import type { DiagnosticsFiles } from './diagnostics-file.ts';
import { ANSWER_MS, InspectorTimeout, MainInspector, sleep, type MainSession } from './main-inspector.ts';
import { readSource } from './hot-line.ts';
import { cpuProfileText, heapProfileText, place, stackText, topFunction, type CpuProfile, type HeapProfile, type PausedFrame } from './profile-summary.ts';

/** After the pause is asked for, how long the main thread has to stop in JavaScript before it counts as idle. */
const PAUSE_WAIT_MS = 500;
/** CPU profile sampling interval, us: V8's default; 1,000 samples a second. */
const SAMPLING_INTERVAL_US = 1000;
/** Heap profile: one sample per this many bytes allocated, on average (V8's default). */
const HEAP_SAMPLING_BYTES = 32768;

/**
 * What sampling costs the main thread while it runs, as a share of the time sampled: V8
 * interrupts it every SAMPLING_INTERVAL_US to record a stack (the bench's ".profile running"
 * row: event-loop utilisation 0.36 against 0.29), or records an allocation now and then
 * (heap sampling, one per HEAP_SAMPLING_BYTES: less). Charged to the session with what its
 * inspector calls took.
 */
const PROFILE_COST = 0.05;
const HEAP_SAMPLE_COST = 0.02;

/** What a diagnosis found: text for a person, and the same as data for the JSON mode. */
export interface Diagnosis {
  text: string;
  /** The full result (`.profile`, `.heap sample`), owner-only. */
  file?: string;
  /** `.stack`: the frames, top first; empty when the main thread is idle. */
  frames?: { functionName: string; location: string }[];
  /** `.stack`: the main thread runs no JavaScript (waits in the event loop). */
  idle?: boolean;
}

/**
 * Run on the main thread by the inspector: how many frames of JavaScript are below it (0 when
 * the main thread was idle). Its own stack formatter, not the app's `Error.prepareStackTrace`
 * (source-map support and the like), which it puts back at once.
 */
const PROBE = `(function backdoorProbe() {
  const limit = Error.stackTraceLimit, prepare = Error.prepareStackTrace, holder = {};
  try {
    Error.stackTraceLimit = 2;
    Error.prepareStackTrace = (_, sites) => sites.length;
    Error.captureStackTrace(holder, backdoorProbe);
    return holder.stack - 1; // less the probe's own script
  } finally {
    Error.stackTraceLimit = limit;
    Error.prepareStackTrace = prepare;
  }
})()`;

export const IDLE_TEXT = 'The main thread is idle: it waits in the event loop and runs no JavaScript now.';

/** A diagnosis's end, and the main thread's time it took (its inspector calls, the pause, sampling). */
export interface DiagnosisRun {
  result: OpResult;
  mainMs: number;
}

export class Diagnostics {
  readonly #inspector: MainInspector;
  readonly #files: DiagnosticsFiles;

  constructor(files: DiagnosticsFiles, inspector = new MainInspector()) {
    this.#files = files;
    this.#inspector = inspector;
  }

  /** Runs the inspector op `op` (`stack`, `profile`, `heap-sample`, `collect`) until it ends or `signal` aborts it. */
  run(op: string, args: Args, signal: AbortSignal): Promise<DiagnosisRun> {
    switch (op) {
      case 'stack':
        return this.#use('.stack', signal, (session) => this.#stack(session, signal));
      case 'profile':
        return this.#sampled('.profile', 'Profiler', Number(args.seconds), PROFILE_COST, signal, {
          start: async (session) => {
            await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
            await session.post('Profiler.start');
          },
          stop: 'Profiler.stop',
          kind: 'cpuprofile',
          // The top function's file is read here, in the worker, for its hottest line.
          summary: async (profile: CpuProfile) => `${cpuProfileText(profile, 10, 5, await readSource(topFunction(profile)?.url ?? ''))}\n\nThe whole profile (Chrome DevTools, speedscope): `,
        });
      case 'heap-sample':
        return this.#sampled('.heap sample', 'HeapProfiler', Number(args.seconds), HEAP_SAMPLE_COST, signal, {
          start: (session) => session.post('HeapProfiler.startSampling', { samplingInterval: HEAP_SAMPLING_BYTES }),
          stop: 'HeapProfiler.stopSampling',
          kind: 'heapprofile',
          summary: (profile: HeapProfile) => `${heapProfileText(profile, Number(args.seconds))}\n\nThe whole profile (Chrome DevTools, Memory tab): `,
        });
      default:
        // Has V8 collect all the garbage it can on the main thread (V8's low-memory
        // collection), which also empties its compilation cache: the one place that still
        // holds the source of what an ended session typed. A full collection: a pause of the
        // app as long as its heap is large, paced and charged as the ops are.
        return this.#use('a collection', signal, async (session) => {
          await session.post('HeapProfiler.collectGarbage', {}, 10_000);
          return { text: 'collected' };
        });
    }
  }

  /** The main thread's JavaScript stack now, top first; or that it is idle. */
  async #stack(session: MainSession, signal: AbortSignal): Promise<Diagnosis> {
    // First a probe, which the main thread runs between two statements of what it runs (or in
    // the event loop, when idle): whether any JavaScript is on its stack. An idle main thread
    // is told apart so, without the debugger. (The probe's own view lacks the top frame of a
    // busy loop, so the frames themselves come from a pause.)
    const probe = await session.post<{ result: { value?: unknown } }>('Runtime.evaluate', { expression: PROBE, returnByValue: true, silent: true });
    if (probe.result.value === 0) return { text: IDLE_TEXT, frames: [], idle: true };
    const urls = new Map<string, string>();
    session.on<{ scriptId: string; url: string }>('Debugger.scriptParsed', ({ scriptId, url }) => urls.set(scriptId, url));
    await session.post('Debugger.enable');
    try {
      // Asked for while JavaScript runs, the pause comes at its next statement. If the main
      // thread went idle meanwhile, V8 would pause the next callback to run: that is waited
      // for only briefly, and disabling the debugger drops it.
      const paused = session.next<{ callFrames: PausedFrame[] }>('Debugger.paused', ANSWER_MS + PAUSE_WAIT_MS, signal);
      await session.post('Debugger.pause');
      const found = await Promise.race([paused, sleep(PAUSE_WAIT_MS, signal).then(() => undefined)]);
      if (!found) return { text: IDLE_TEXT, frames: [], idle: true };
      // Paused from the moment it was found until the resume's answer: all of it the app's.
      const pausedAt = performance.now();
      await session.post('Debugger.resume');
      session.charge(performance.now() - pausedAt);
      const frames = found.callFrames.map((frame) => ({ ...frame, url: frame.url || urls.get(frame.location.scriptId ?? '') || '' }));
      return {
        text: stackText(frames),
        frames: frames.map((frame) => ({ functionName: frame.functionName, location: place(frame.url, frame.location.lineNumber, frame.location.columnNumber) })),
        idle: false,
      };
    } finally {
      await session.post('Debugger.disable').catch(() => {});
    }
  }

  /**
   * A profiler of the main thread run for `seconds` (its inspector domain enabled only
   * meanwhile): summarised, and the whole profile written to a file whose path ends the text.
   */
  #sampled<P>(
    what: string,
    domain: 'Profiler' | 'HeapProfiler',
    seconds: number,
    cost: number,
    signal: AbortSignal,
    how: { start: (session: MainSession) => Promise<unknown>; stop: string; kind: 'cpuprofile' | 'heapprofile'; summary: (profile: P) => string | Promise<string> },
  ): Promise<DiagnosisRun> {
    return this.#use(what, signal, async (session) => {
      await session.post(`${domain}.enable`);
      const started = performance.now();
      try {
        await how.start(session);
        // Abandoned: disabling the domain stops the profiler and discards its profile, which
        // the main thread would otherwise serialize and send, for nobody.
        const ran = await sleep(seconds * 1000, signal);
        session.charge((performance.now() - started) * cost);
        if (!ran) return { text: 'Abandoned.' };
        const { profile } = await session.post<{ profile: P }>(how.stop);
        if (signal.aborted) return { text: 'Abandoned.' };
        const file = await this.#files.write(how.kind, JSON.stringify(profile));
        return { text: `${await how.summary(profile)}${file}`, file };
      } finally {
        await session.post(`${domain}.disable`).catch(() => {});
      }
    });
  }

  async #use(what: string, signal: AbortSignal, task: (session: MainSession) => Promise<Diagnosis>): Promise<DiagnosisRun> {
    const busy = this.#inspector.busy;
    if (busy !== undefined) return { result: failed('inspector-busy', `Another session's ${busy} is using the inspector; try again when it is done.`), mainMs: 0 };
    let mainMs = 0;
    try {
      const result = await this.#inspector.use(what, task, signal, (ms) => (mainMs += ms));
      if (signal.aborted) return { result: failed('interrupted', 'Abandoned.'), mainMs };
      if (result === undefined) return { result: failed('inspector-busy', 'Another session is using the inspector; try again when it is done.'), mainMs };
      const { text, ...data } = result.value;
      return { result: { status: 'done', value: { text, ...data } }, mainMs };
    } catch (error) {
      if (error instanceof InspectorTimeout) {
        return {
          result: failed('timeout', `The main thread did not answer the inspector within ${ANSWER_MS / 1000} s: it is blocked outside JavaScript (a synchronous system call, Atomics.wait, a native addon) or paused by a debugger.`),
          mainMs,
        };
      }
      return { result: failed('internal', `${what} failed: ${(error as Error)?.message ?? String(error)}`), mainMs };
    }
  }
}

function failed(code: OpCode, text: string): OpResult {
  return { status: 'error', code, value: { text } };
}
