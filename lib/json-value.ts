/**
 * Values for the JSON mode: superjson keeps their types (Date, Map, Set, BigInt, undefined,
 * RegExp, Error...), but it walks a value whole, runs its getters, and recognises types with
 * `instanceof`, which fails for values made in a session's `vm` context (another realm). So a
 * value is first copied into this realm by a bounded walk that reads data properties only;
 * a value too large, or with getters or proxies, is not serialised (the caller sends its
 * inspect string alone).
 */
import superjson from 'superjson';
import { types } from 'node:util';

const MAX_NODES = 10_000;
const MAX_DEPTH = 64;
const MAX_CHARS = 1024 * 1024;

class TooComplex extends Error {}

/** superjson's `{ json, meta }` for the value, or undefined when it cannot be done within bounds. */
export function toJsonValue(value: unknown): { json: unknown; meta?: unknown } | undefined {
  let nodes = 0;
  let chars = 0;
  const copies = new Map<object, unknown>();
  const copy = (input: unknown, depth: number): unknown => {
    if (++nodes > MAX_NODES || depth > MAX_DEPTH) throw new TooComplex();
    if (typeof input === 'string') {
      chars += input.length;
      if (chars > MAX_CHARS) throw new TooComplex();
      return input;
    }
    if (typeof input !== 'object' || input === null) {
      return typeof input === 'function' || typeof input === 'symbol' ? undefined : input;
    }
    if (types.isProxy(input)) throw new TooComplex();
    const seen = copies.get(input);
    if (seen !== undefined) return seen;
    if (types.isDate(input)) return remember(input, new Date(Date.prototype.getTime.call(input)));
    if (types.isRegExp(input)) {
      const source = Reflect.get(RegExp.prototype, 'source', input) as string;
      const flags = Reflect.get(RegExp.prototype, 'flags', input) as string;
      return remember(input, new RegExp(source, flags));
    }
    if (types.isNativeError(input)) {
      // Only string name and message, counted as every string is: converting another value
      // would run its code, and a 50 MB message must not make a 50 MB line.
      const name = dataProperty(input, 'name');
      const message = dataProperty(input, 'message');
      const error = new Error(typeof message === 'string' ? (copy(message, depth + 1) as string) : '');
      error.name = typeof name === 'string' ? (copy(name, depth + 1) as string) : 'Error';
      return remember(input, error);
    }
    if (types.isMap(input)) {
      const map = remember(input, new Map());
      for (const [key, entry] of Map.prototype.entries.call(input) as IterableIterator<[unknown, unknown]>) {
        map.set(copy(key, depth + 1), copy(entry, depth + 1));
      }
      return map;
    }
    if (types.isSet(input)) {
      const set = remember(input, new Set());
      for (const entry of Set.prototype.values.call(input) as IterableIterator<unknown>) set.add(copy(entry, depth + 1));
      return set;
    }
    if (types.isTypedArray(input) || types.isArrayBuffer(input)) throw new TooComplex();
    const out: Record<string, unknown> | unknown[] = remember(input, Array.isArray(input) ? [] : {});
    for (const key of Object.keys(input)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(input, key);
      if (!descriptor || !('value' in descriptor)) throw new TooComplex(); // a getter: not run
      (out as Record<string, unknown>)[key] = copy(descriptor.value, depth + 1);
    }
    return out;
  };
  const remember = <T>(input: object, output: T): T => {
    copies.set(input, output);
    return output;
  };
  try {
    return superjson.serialize(copy(value, 0) as never) as { json: unknown; meta?: unknown };
  } catch {
    return undefined;
  }
}

/** A data property of the value or its prototype; never a getter run or a proxy's trap. */
function dataProperty(target: object, key: string): unknown {
  let descriptor = Reflect.getOwnPropertyDescriptor(target, key);
  if (!descriptor) {
    const prototype = Reflect.getPrototypeOf(target);
    if (prototype === null || types.isProxy(prototype)) return undefined;
    descriptor = Reflect.getOwnPropertyDescriptor(prototype, key);
  }
  return descriptor && 'value' in descriptor ? descriptor.value : undefined;
}
