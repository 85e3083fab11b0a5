/**
 * `.stack`, `.profile` and `.heap sample`: the main thread looked at from the worker, through
 * the inspector (see main-inspector.ts), so they answer while the app's own code keeps the main
 * thread busy: the case where every command waits. Each enables its inspector domain for the
 * moment it needs it, and the session's disconnect leaves nothing enabled or paused.
 */
import { writeDiagnosticsFile } from './diagnostics-file.ts';
import { ANSWER_MS, InspectorTimeout, MainInspector, sleep, type MainSession } from './main-inspector.ts';
import { cpuProfileText, heapProfileText, place, stackText, type CpuProfile, type HeapProfile, type PausedFrame } from './profile-summary.ts';

/** After the pause is asked for, how long the main thread has to stop in JavaScript before it counts as idle. */
const PAUSE_WAIT_MS = 500;
/** CPU profile sampling interval, us: V8's default; 1,000 samples a second. */
const SAMPLING_INTERVAL_US = 1000;
/** Heap profile: one sample per this many bytes allocated, on average (V8's default). */
const HEAP_SAMPLING_BYTES = 32768;

export const MAX_PROFILE_SECONDS = 60;
export const DEFAULT_PROFILE_SECONDS = 5;

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

export class Diagnostics {
  readonly #inspector: MainInspector;

  constructor(inspector = new MainInspector()) {
    this.#inspector = inspector;
  }

  /** The main thread's JavaScript stack now, top first; or that it is idle. */
  stack(signal: AbortSignal): Promise<Diagnosis> {
    return this.#use('.stack', signal, async (session) => {
      // First a probe, which the main thread runs between two statements of what it runs (or
      // in the event loop, when idle): whether any JavaScript is on its stack. An idle main
      // thread is told apart so, without the debugger. (The probe's own view lacks the top
      // frame of a busy loop, so the frames themselves come from a pause.)
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
        await session.post('Debugger.resume');
        const frames = found.callFrames.map((frame) => ({ ...frame, url: frame.url || urls.get(frame.location.scriptId ?? '') || '' }));
        return {
          text: stackText(frames),
          frames: frames.map((frame) => ({ functionName: frame.functionName, location: place(frame.url, frame.location.lineNumber, frame.location.columnNumber) })),
          idle: false,
        };
      } finally {
        await session.post('Debugger.disable').catch(() => {});
      }
    });
  }

  /** A CPU profile of the main thread over `seconds`, summarised; the whole of it in a file. */
  profile(seconds: number, signal: AbortSignal): Promise<Diagnosis> {
    return this.#sampled('.profile', 'Profiler', seconds, signal, {
      start: async (session) => {
        await session.post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US });
        await session.post('Profiler.start');
      },
      stop: 'Profiler.stop',
      kind: 'cpuprofile',
      summary: (profile: CpuProfile) => `${cpuProfileText(profile)}\n\nThe whole profile (Chrome DevTools, speedscope): `,
    });
  }

  /** V8's sampling heap profiler over `seconds`: where the allocations still alive were made. */
  heapSample(seconds: number, signal: AbortSignal): Promise<Diagnosis> {
    return this.#sampled('.heap sample', 'HeapProfiler', seconds, signal, {
      start: (session) => session.post('HeapProfiler.startSampling', { samplingInterval: HEAP_SAMPLING_BYTES }),
      stop: 'HeapProfiler.stopSampling',
      kind: 'heapprofile',
      summary: (profile: HeapProfile) => `${heapProfileText(profile, seconds)}\n\nThe whole profile (Chrome DevTools, Memory tab): `,
    });
  }

  /**
   * A profiler of the main thread run for `seconds` (its inspector domain enabled only
   * meanwhile): summarised, and the whole profile written to a file whose path ends the text.
   */
  #sampled<P>(
    what: string,
    domain: 'Profiler' | 'HeapProfiler',
    seconds: number,
    signal: AbortSignal,
    how: { start: (session: MainSession) => Promise<unknown>; stop: string; kind: 'cpuprofile' | 'heapprofile'; summary: (profile: P) => string },
  ): Promise<Diagnosis> {
    return this.#use(what, signal, async (session) => {
      await session.post(`${domain}.enable`);
      try {
        await how.start(session);
        // Abandoned: disabling the domain stops the profiler and discards its profile, which
        // the main thread would otherwise serialize and send, for nobody.
        if (!(await sleep(seconds * 1000, signal))) return { text: 'Abandoned.' };
        const { profile } = await session.post<{ profile: P }>(how.stop);
        if (signal.aborted) return { text: 'Abandoned.' };
        const file = await writeDiagnosticsFile(how.kind, JSON.stringify(profile));
        return { text: `${how.summary(profile)}${file}`, file };
      } finally {
        await session.post(`${domain}.disable`).catch(() => {});
      }
    });
  }

  /**
   * Has V8 collect all the garbage it can on the main thread (`HeapProfiler.collectGarbage`,
   * V8's low-memory collection), which also empties its compilation cache: the one place that
   * still holds the source of what an ended session typed. A full collection: a pause of the
   * app's main thread as long as its heap is large. False when the inspector is busy.
   */
  async forgetCompiledSources(): Promise<boolean> {
    try {
      return (await this.#inspector.use('a collection', (session) => session.post('HeapProfiler.collectGarbage', {}, 10_000).then(() => true))) !== undefined;
    } catch {
      return false;
    }
  }

  async #use(what: string, signal: AbortSignal, task: (session: MainSession) => Promise<Diagnosis>): Promise<Diagnosis> {
    const busy = this.#inspector.busy;
    if (busy !== undefined) return { text: `Another session's ${busy} is using the inspector; try again when it is done.` };
    try {
      const result = await this.#inspector.use(what, task, signal);
      return result?.value ?? { text: 'Another session is using the inspector; try again when it is done.' };
    } catch (error) {
      if (error instanceof InspectorTimeout) {
        return {
          text: `The main thread did not answer the inspector within ${ANSWER_MS / 1000} s: it is blocked outside JavaScript (a synchronous system call, Atomics.wait, a native addon) or paused by a debugger.`,
        };
      }
      return { text: `${what} failed: ${(error as Error)?.message ?? String(error)}` };
    }
  }
}

/** A look at the main thread from the worker; aborted by Ctrl-C. */
export type Diagnose = (diagnostics: Diagnostics, signal: AbortSignal) => Promise<Diagnosis>;

/**
 * `.stack`, `.profile [seconds]`, `.heap sample [seconds]` (name without the dot, and what
 * follows it): what to run, and the tag of its answer in the JSON mode; `usage` when the
 * arguments are wrong; undefined when it is not a diagnosis.
 */
export function diagnosisCommand(name: string, rest: string): { tag: 'stack' | 'profile' | 'heap'; diagnose: Diagnose } | { usage: string } | undefined {
  const args = rest.trim();
  if (name === 'stack') {
    return args === '' ? { tag: 'stack', diagnose: (diagnostics, signal) => diagnostics.stack(signal) } : { usage: '.stack (no arguments)' };
  }
  if (name === 'profile') {
    const seconds = parseSeconds(args);
    return typeof seconds === 'string' ? { usage: `.profile [seconds]: ${seconds}` } : { tag: 'profile', diagnose: (diagnostics, signal) => diagnostics.profile(seconds, signal) };
  }
  const sample = /^sample(?:\s+(.*))?$/s.exec(args);
  if (name === 'heap' && sample) {
    const seconds = parseSeconds(sample[1] ?? '');
    return typeof seconds === 'string' ? { usage: `.heap sample [seconds]: ${seconds}` } : { tag: 'heap', diagnose: (diagnostics, signal) => diagnostics.heapSample(seconds, signal) };
  }
  return undefined;
}

/** `.profile [seconds]` and `.heap sample [seconds]`: the seconds, or an error message. */
export function parseSeconds(text: string): number | string {
  const trimmed = text.trim();
  if (trimmed === '') return DEFAULT_PROFILE_SECONDS;
  const seconds = Number(trimmed);
  if (!/^\d+(\.\d+)?$/.test(trimmed) || !(seconds > 0) || seconds > MAX_PROFILE_SECONDS) {
    return `seconds must be a number above 0 and at most ${MAX_PROFILE_SECONDS}, not ${JSON.stringify(trimmed.slice(0, 40))}`;
  }
  return seconds;
}
