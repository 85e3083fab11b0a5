/**
 * What `.stack`, `.profile` and `.heap sample` print: the inspector's answers (Chrome DevTools
 * Protocol objects) made into a few lines a person can read in a terminal. Pure: tests feed it
 * recorded shapes.
 */
import { fileURLToPath } from 'node:url';
import { addTicks, hotLineNote, type LineTicks } from './hot-line.ts';

/** A frame as the inspector describes it (Runtime.CallFrame, or Debugger.CallFrame's parts). */
export interface Frame {
  functionName: string;
  url: string;
  /** 0-based, as the protocol counts. */
  lineNumber: number;
  columnNumber: number;
}

/** Debugger.CallFrame: the frame's location is in `location`. */
export interface PausedFrame {
  functionName: string;
  url?: string;
  location: { scriptId?: string; lineNumber: number; columnNumber?: number };
}

/** Profiler.Profile. */
export interface CpuProfile {
  nodes: { id: number; callFrame: Frame; hitCount?: number; children?: number[]; positionTicks?: LineTicks[] }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** HeapProfiler.SamplingHeapProfile. */
export interface HeapProfile {
  head: HeapNode;
}
interface HeapNode {
  callFrame: Frame;
  selfSize: number;
  children: HeapNode[];
}

/** `file:///a/b.js`, line 0, column 4 -> `/a/b.js:1:5`; other URLs (node:internal/...) as they are; '' for none. */
export function place(url: string, lineNumber: number, columnNumber = 0): string {
  const where = fileOf(url);
  return where === '' ? '' : `${where}:${lineNumber + 1}:${columnNumber + 1}`;
}

/** `file:///a/b.js` -> `/a/b.js`; other URLs as they are. */
function fileOf(url: string): string {
  if (url.startsWith('file://')) {
    try {
      return fileURLToPath(url);
    } catch {
      // a URL fileURLToPath refuses: shown as it is
    }
  }
  return url;
}

/** The main thread's stack, top first, as an Error's stack prints it. */
export function stackText(frames: readonly PausedFrame[]): string {
  if (frames.length === 0) return 'The main thread is running JavaScript, but no frame of it could be read.';
  const lines = frames.map((frame) => {
    const at = place(frame.url ?? '', frame.location.lineNumber, frame.location.columnNumber);
    const name = frame.functionName || '<anonymous>';
    return at === '' ? `    at ${name}` : frame.functionName ? `    at ${name} (${at})` : `    at ${at}`;
  });
  return `The main thread is running JavaScript, here (top first):\n${lines.join('\n')}`;
}

/** Nodes that stand for no function of the app's: shown apart from the functions. */
const META = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

const label = (frame: Frame): string => frame.functionName || '(anonymous)';

function key(frame: Frame): string {
  return `${label(frame)}\u0000${place(frame.url, frame.lineNumber, frame.columnNumber)}`;
}

function percent(part: number, whole: number): string {
  return `${whole > 0 ? ((part / whole) * 100).toFixed(1) : '0.0'}%`.padStart(6);
}

interface Counted {
  byId: Map<number, CpuProfile['nodes'][number]>;
  parent: Map<number, number>;
  hits: Map<number, number>;
  total: number;
  meta: Map<string, number>;
  ranked: { frame: Frame; count: number; lines: Map<number, number> }[];
}
const counted = new WeakMap<CpuProfile, Counted>();

/** A profile's samples counted: by node, by kind of time (idle, GC...), and by function (self time, most first). Once per profile. */
function count(profile: CpuProfile): Counted {
  const done = counted.get(profile);
  if (done) return done;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const hits = new Map<number, number>();
  if (profile.samples && profile.samples.length > 0) {
    for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  } else {
    for (const node of profile.nodes) if (node.hitCount) hits.set(node.id, node.hitCount);
  }
  let total = 0;
  for (const count of hits.values()) total += count;
  const meta = new Map<string, number>();
  const functions = new Map<string, { frame: Frame; count: number; lines: Map<number, number> }>();
  for (const [id, count] of hits) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (META.has(frame.functionName)) {
      meta.set(frame.functionName, (meta.get(frame.functionName) ?? 0) + count);
      continue;
    }
    const entry = functions.get(key(frame)) ?? { frame, count: 0, lines: new Map<number, number>() };
    entry.count += count;
    addTicks(entry.lines, byId.get(id)?.positionTicks);
    functions.set(key(frame), entry);
  }
  const result = { byId, parent, hits, total, meta, ranked: [...functions.values()].sort((a, b) => b.count - a.count) };
  counted.set(profile, result);
  return result;
}

/** The function with the most self time, if any: its file's text is what `cpuProfileText` wants as `source`. */
export function topFunction(profile: CpuProfile): Frame | undefined {
  return count(profile).ranked[0]?.frame;
}

/**
 * A CPU profile summarised: where the time went (idle, GC, the app's functions by self time,
 * top `top`), and the hottest call paths (root to the function that was running). With the
 * `source` of the top function's file, that function's hottest line and what it calls.
 */
export function cpuProfileText(profile: CpuProfile, top = 10, paths = 5, source?: string): string {
  const { byId, parent, hits, total, meta, ranked: all } = count(profile);
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  const msPerSample = total > 0 ? durationMs / total : 0;
  if (total === 0) return `No samples in ${(durationMs / 1000).toFixed(1)} s.`;
  const ms = (count: number) => `${(count * msPerSample).toFixed(1)} ms`.padStart(10);
  const lines = [`${total} samples over ${(durationMs / 1000).toFixed(1)} s (${(msPerSample * 1000).toFixed(0)} us apart).`];
  const idle = meta.get('(idle)') ?? 0;
  lines.push(
    `Idle (waiting in the event loop) ${percent(idle, total).trim()}, garbage collection ${percent(meta.get('(garbage collector)') ?? 0, total).trim()}, V8 and Node outside JavaScript ${percent(meta.get('(program)') ?? 0, total).trim()}.`,
  );
  const ranked = all.slice(0, top);
  if (ranked.length === 0) {
    lines.push('No JavaScript ran while it was sampled.');
    return lines.join('\n');
  }
  lines.push('', 'Functions by self time:');
  for (const { frame, count } of ranked) lines.push(`${percent(count, total)} ${ms(count)}  ${label(frame)}  ${place(frame.url, frame.lineNumber, frame.columnNumber) || '(native)'}`);
  const first = ranked[0];
  if (first.frame.url.startsWith('node:')) {
    lines.push("  (the time of Node's own function at the top can be that of an app function V8 had optimized or inlined before the profile began)");
  } else if (source !== undefined) {
    lines.push(...hotLineNote(label(first.frame), fileOf(first.frame.url), first.frame, first.lines, source));
  }

  const leaves = [...hits].filter(([id]) => {
    const name = byId.get(id)?.callFrame.functionName ?? '';
    return !META.has(name);
  });
  leaves.sort((a, b) => b[1] - a[1]);
  lines.push('', 'Hottest call paths (caller > callee):');
  for (const [id, count] of leaves.slice(0, paths)) {
    const names: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)?.callFrame;
      if (!frame || frame.functionName === '(root)') break;
      names.push(label(frame));
    }
    names.reverse();
    const shown = names.length > 8 ? ['...', ...names.slice(-8)] : names;
    lines.push(`${percent(count, total)} ${ms(count)}  ${shown.join(' > ')}`);
  }
  return lines.join('\n');
}

/** A sampling heap profile summarised: the live bytes it saw allocated, by allocating function. */
export function heapProfileText(profile: HeapProfile, seconds: number, top = 10): string {
  const sites = new Map<string, { frame: Frame; bytes: number }>();
  let total = 0;
  const stack: HeapNode[] = [profile.head];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node.selfSize > 0) {
      total += node.selfSize;
      const entry = sites.get(key(node.callFrame)) ?? { frame: node.callFrame, bytes: 0 };
      entry.bytes += node.selfSize;
      sites.set(key(node.callFrame), entry);
    }
    stack.push(...node.children);
  }
  if (total === 0) return `No sampled allocation still alive after ${seconds} s.`;
  const lines = [`${formatBytes(total)} sampled in allocations made over ${seconds} s and still alive, by allocating function:`];
  for (const { frame, bytes } of [...sites.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top)) {
    lines.push(`${percent(bytes, total)} ${formatBytes(bytes).padStart(10)}  ${label(frame)}  ${place(frame.url, frame.lineNumber, frame.columnNumber) || '(native)'}`);
  }
  return lines.join('\n');
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${bytes} B`;
}
