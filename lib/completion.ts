/**
 * Tab completion's main-thread side: the names that can follow `a.b.` (`path`) and start with
 * `prefix`, read from the live objects without running a getter or a proxy trap.
 *
 * Bounded whatever the objects: the own names of an array or a typed array are its indexes
 * (listing the 3 million of `arr` makes 3 million strings: 1.3 s of the main thread), so a
 * large array's level contributes only `length` (not names it was given besides its items),
 * a typed array's nothing, and the rest comes from their prototypes; a level's
 * names are read once, filtered by the prefix before anything else is done with them; the
 * walk stops at MAX_NAMES names or MAX_MS, and all of it runs under V8's watchdog (a custom
 * getter met by a proxy check cannot loop). An object with a great many keys of its own (a
 * cache of millions of entries) still costs what V8 takes to list them (130-160 ms for 300,000
 * keys, test/stalls.ts), which no watchdog can interrupt: it is inside V8's own code.
 */
import { types } from 'node:util';
import { within } from './format.ts';
import type { SessionContext } from './session-context.ts';
import { now } from '../common/primordials.ts';

/** Names found at most, and the time the walk may take (less when evalTimeoutMs is shorter). */
export const MAX_NAMES = 1000;
export const MAX_MS = 250;
const NAME = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/** Whether a value can be walked into (an object or a function, not a proxy). */
function isWalkable(value: unknown): value is object {
  return ((typeof value === 'object' && value !== null) || typeof value === 'function') && !types.isProxy(value);
}

/** The completions of `path` + `prefix` in `session`, sorted; none when the walk cannot be done in time. */
export function completeNames(session: SessionContext, path: string[], prefix: string, evalTimeoutMs: number): string[] {
  const ms = evalTimeoutMs > 0 ? Math.min(evalTimeoutMs, MAX_MS) : MAX_MS;
  try {
    return within(ms, () => {
      if (path.length === 0)
        return session
          .globalNames()
          .filter((name) => name.startsWith(prefix))
          .sort()
          .slice(0, MAX_NAMES);
      const first = session.globalForCompletion(path[0], ms);
      return first.found ? propertyNames(first.value, path.slice(1), prefix, now() + ms) : [];
    });
  } catch {
    return []; // stopped by the watchdog
  }
}

/**
 * Property names for completing `<path>.<prefix>`, found by reading data properties only: the
 * walk stops at a getter, a proxy or a missing property. `start` is where the path begins.
 */
export function propertyNames(start: unknown, path: string[], prefix: string, deadline = Infinity): string[] {
  let target = start;
  for (const key of path) {
    if (!isWalkable(target)) return [];
    const descriptor = findDescriptor(target, key);
    if (!descriptor || !('value' in descriptor)) return [];
    target = descriptor.value;
  }
  const names = new Set<string>();
  // Primitives complete with their wrapper's methods ('abc'.toUp -> toUpperCase).
  let level: unknown = isWalkable(target) ? target : target === null || target === undefined ? null : Object(target);
  for (let depth = 0; isWalkable(level) && depth < 20 && names.size < MAX_NAMES && now() < deadline; depth++) {
    for (const name of ownNames(level)) {
      if (name.startsWith(prefix) && NAME.test(name)) names.add(name);
      if (names.size >= MAX_NAMES) break;
    }
    level = Object.getPrototypeOf(level);
  }
  return [...names].sort();
}

/** Above this many items, an array's own names are not listed (they are its indexes). */
const MAX_LISTED_ITEMS = 1000;

/** A level's own names, without the indexes of a large array or of a typed array. */
function ownNames(level: object): string[] {
  // (Array.prototype is an array too, of length 0: its methods are listed.)
  if (Array.isArray(level) && level.length > MAX_LISTED_ITEMS) return ['length'];
  if (types.isTypedArray(level)) return [];
  return Object.getOwnPropertyNames(level);
}

function findDescriptor(target: object, key: string): PropertyDescriptor | undefined {
  let level: unknown = target;
  for (let depth = 0; isWalkable(level) && depth < 20; depth++) {
    // The same walk as above: an index of an array is a value, not a name to list.
    const descriptor = Reflect.getOwnPropertyDescriptor(level, key);
    if (descriptor) return descriptor;
    level = Object.getPrototypeOf(level);
  }
  return undefined;
}
