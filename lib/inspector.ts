/**
 * The inspector commands' main-thread side: `.stats` (the app's health and the backdoor's
 * cost), `.inspect` (a shallow, navigable listing of a value), `.locals`. None of them runs a
 * getter or a proxy trap.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { inspect, types } from 'node:util';
import { truncateToWidth } from '../common/ansi.ts';
import { formatDuration } from '../common/duration.ts';
import { manyKeys } from './format.ts';

/** The most entries a listing or a completion shows. */
const MAX_ENTRIES = 100;
/** The most lines one listing has, and the longest it may take: whatever the value's shape. */
const MAX_LISTING_LINES = 1000;
const MAX_LISTING_MS = 250;

/**
 * A one-line preview of a value, bounded, without running its getters or traps: cut at twice
 * `width` columns of what shows (its colours count for none, and are not cut in two).
 */
export function preview(value: unknown, width = 80, colors = false): string {
  try {
    // An object with a great many keys is previewed by its first ones (util.inspect would list all).
    const many = typeof value === 'object' && value !== null ? manyKeys(value) : undefined;
    if (many) value = many.head;
    const text = inspect(value, { depth: 0, maxArrayLength: 10, maxStringLength: width, breakLength: Infinity, showProxy: true, getters: false, colors, compact: true });
    const cut = truncateToWidth(text, width * 2);
    return cut === text ? text : `${cut}...`;
  } catch (error) {
    return `[could not be printed: ${String((error as Error)?.message ?? error)}]`;
  }
}

/** Whether a value can be walked into (an object or a function, not a proxy). */
function isWalkable(value: unknown): value is object {
  return ((typeof value === 'object' && value !== null) || typeof value === 'function') && !types.isProxy(value);
}

/**
 * A shallow listing of `value`: one line per entry, each object or function numbered (`$1`,
 * `$2`...) through `handle`, so that later commands can go deeper (`.inspect $2`) without the
 * whole structure ever being serialised. Getters are listed, not run; a proxy is not entered.
 * An object is walked into once (a back-reference shows its number and `[listed above]`), and
 * the listing stops at 1,000 lines or 250 ms, saying so: its cost is bounded whatever the shape.
 */
export function listValue(value: unknown, handle: (value: object) => string, depth = 1, colors = false): string {
  const lines: string[] = [];
  const started = performance.now();
  const walked = new Set<object>();
  let stopped: string | undefined;
  const full = () => {
    if (stopped === undefined && lines.length >= MAX_LISTING_LINES) stopped = `${MAX_LISTING_LINES} lines`;
    if (stopped === undefined && performance.now() - started > MAX_LISTING_MS) stopped = `${MAX_LISTING_MS} ms`;
    return stopped !== undefined;
  };
  const describe = (entry: unknown) => (isWalkable(entry) ? `${handle(entry)} ${walked.has(entry) ? '[listed above]' : preview(entry, 60, colors)}` : preview(entry, 60, colors));
  lines.push(describe(value));
  const walk = (target: unknown, indent: string, level: number) => {
    if (!isWalkable(target) || level > depth || walked.has(target) || full()) return;
    walked.add(target);
    let shown = 0;
    const add = (key: string, entry: unknown, isObject: boolean) => {
      if (full()) return;
      shown++;
      lines.push(`${indent}${key}: ${describe(entry)}`);
      if (isObject) walk(entry, `${indent}  `, level + 1);
    };
    // Maps and sets (of any realm) are read with the built-in methods, not the object's own.
    if (types.isMap(target)) {
      for (const [key, entry] of Map.prototype.entries.call(target) as IterableIterator<[unknown, unknown]>) {
        if (shown >= MAX_ENTRIES) break;
        add(`[${preview(key, 30, colors)}]`, entry, isWalkable(entry));
      }
      const size = Reflect.get(Map.prototype, 'size', target) as number;
      if (size > shown) lines.push(`${indent}... ${size - shown} more entries`);
      return;
    }
    if (types.isSet(target)) {
      for (const entry of Set.prototype.values.call(target) as IterableIterator<unknown>) {
        if (shown >= MAX_ENTRIES) break;
        add(`[${shown}]`, entry, isWalkable(entry));
      }
      const size = Reflect.get(Set.prototype, 'size', target) as number;
      if (size > shown) lines.push(`${indent}... ${size - shown} more entries`);
      return;
    }
    const isArray = Array.isArray(target);
    const keys = Reflect.ownKeys(target).filter((key) => !(isArray && key === 'length'));
    for (const key of keys) {
      if (shown >= MAX_ENTRIES) break;
      const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
      if (!descriptor) continue;
      const name = typeof key === 'symbol' ? `[${key.toString()}]` : key;
      if ('value' in descriptor) add(name, descriptor.value, isWalkable(descriptor.value));
      else {
        shown++;
        lines.push(`${indent}${name}: [${descriptor.get ? 'Getter' : ''}${descriptor.get && descriptor.set ? '/' : ''}${descriptor.set ? 'Setter' : ''}] (not run)`);
      }
    }
    if (keys.length > shown) lines.push(`${indent}... ${keys.length - shown} more properties`);
    const proto = Object.getPrototypeOf(target) as unknown;
    if (proto !== null && proto !== Object.prototype && proto !== Array.prototype && proto !== Function.prototype) {
      lines.push(`${indent}[[Prototype]]: ${describe(proto)}`);
    }
  };
  walk(value, '  ', 1);
  if (stopped !== undefined) lines.push(`... listing stopped at ${stopped}: go deeper with .inspect $N`);
  return lines.join('\n');
}

/** How often the event-loop delay histogram's timer fires, in ms. */
const DELAY_RESOLUTION_MS = 10;

/**
 * The main thread's health: event-loop delay and utilisation, memory, active resources,
 * uptime; and what the backdoor has cost. Event-loop delay is measured only once someone asks
 * (its histogram wakes the loop every 10 ms), for as long as `.stats` keeps being asked, over
 * windows of a minute. The histogram records the time between its timer's firings, so each
 * value is the 10 ms interval plus how late the timer fired: the delay is what exceeds the
 * interval (Node's docs on monitorEventLoopDelay), shown as such.
 */
export class HealthMonitor {
  #delay: IntervalHistogram | undefined;
  #window: IntervalHistogram | undefined;
  #since = 0;
  #lastAsked = 0;
  #timer: NodeJS.Timeout | undefined;
  #elu = performance.eventLoopUtilization();
  #eluMinute = { at: performance.now(), elu: performance.eventLoopUtilization() };
  readonly #startedAt = performance.now();

  report(cost: { commands: number; diagnoses: number; mainThreadMs: number }, budget: number, extra: string): string {
    this.#start();
    const now = performance.now();
    const ms = (ns: number) => (Number.isFinite(ns) ? (ns / 1e6).toFixed(2) : '-');
    const late = (ns: number) => ms(Math.max(0, ns - DELAY_RESOLUTION_MS * 1e6));
    const elu = performance.eventLoopUtilization(this.#eluMinute.elu);
    const memory = process.memoryUsage();
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    const resources = new Map<string, number>();
    for (const kind of process.getActiveResourcesInfo()) resources.set(kind, (resources.get(kind) ?? 0) + 1);
    const window = this.#window!;
    const measuredFor = (now - this.#since) / 1000;
    const lifetime = (now - this.#startedAt) / 1000;
    const lines = [
      `event loop delay (how late a ${DELAY_RESOLUTION_MS} ms timer fires, last ${Math.min(measuredFor, 60).toFixed(0)} s): ` +
        `p50 ${late(window.percentile(50))} ms, p99 ${late(window.percentile(99))} ms, max ${late(window.max)} ms${measuredFor < 1 ? ' (measuring from now: ask again)' : ''}`,
      `event loop utilisation: ${(elu.utilization * 100).toFixed(1)}% over the last ${((now - this.#eluMinute.at) / 1000).toFixed(0)} s, ` +
        `${(performance.eventLoopUtilization(this.#elu).utilization * 100).toFixed(1)}% since the backdoor started`,
      `memory: heap ${mb(memory.heapUsed)} used of ${mb(memory.heapTotal)}, rss ${mb(memory.rss)}, external ${mb(memory.external)}`,
      `active resources: ${[...resources].map(([kind, count]) => `${kind} ${count}`).join(', ') || 'none'}`,
      `uptime: ${formatUptime(process.uptime())}, pid ${process.pid}, Node.js ${process.version}`,
      `backdoor: ${cost.commands} op(s) (${cost.diagnoses} diagnoses), ${cost.mainThreadMs.toFixed(1)} ms of main-thread time, ` +
        `${((cost.mainThreadMs / (lifetime * 1000)) * 100).toFixed(2)}% of the main thread since it started (budget ${(budget * 100).toFixed(0)}%)`,
    ];
    if (extra !== '') lines.push(extra);
    if (now - this.#eluMinute.at > 60_000) this.#eluMinute = { at: now, elu: performance.eventLoopUtilization() };
    return lines.join('\n');
  }

  #start(): void {
    this.#lastAsked = performance.now();
    if (this.#delay) return;
    this.#since = performance.now();
    this.#delay = monitorEventLoopDelay({ resolution: DELAY_RESOLUTION_MS });
    this.#delay.enable();
    this.#window = this.#delay;
    // Each minute a fresh window; after 5 minutes without `.stats`, stop measuring.
    this.#timer = setInterval(() => {
      if (performance.now() - this.#lastAsked > 5 * 60_000) return this.stop();
      this.#delay!.reset();
      this.#since = performance.now();
    }, 60_000);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#delay?.disable();
    this.#delay = undefined;
    this.#window = undefined;
  }
}

/** Whole seconds, as `formatDuration` writes them. */
function formatUptime(seconds: number): string {
  const whole = Math.floor(seconds);
  return whole === 0 ? '0 s' : formatDuration(whole * 1000);
}
