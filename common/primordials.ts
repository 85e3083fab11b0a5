/**
 * Built-ins the backdoor's own code uses on the main thread, taken when it loads, as Node's
 * own library takes its "primordials": session code reaches the app's `global`, and may replace
 * what is there (`global.Promise = null`, `performance.now = ...`, `global.setTimeout = null`,
 * `Object.defineProperty = ...`), which must neither deafen the backdoor nor take the app down
 * through it. (Prototype methods of the app's realm, `Array.prototype.map` and the like, are not
 * covered: the app's own code, Node's and comlink's use them too.)
 */
import { performance } from 'node:perf_hooks';
import * as timers from 'node:timers';

export const ReflectApply = Reflect.apply;
export const ReflectOwnKeys = Reflect.ownKeys;
export const ReflectGetOwnPropertyDescriptor = Reflect.getOwnPropertyDescriptor;
export const ObjectDefineProperty = Object.defineProperty;
export const ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
export const ObjectKeys = Object.keys;
export const ObjectEntries = Object.entries;
export const ObjectHasOwn = Object.hasOwn;
export const PromiseCtor = Promise;
export const PromiseRace = Promise.race.bind(Promise) as PromiseConstructor['race'];
export const promiseThen = Promise.prototype.then;
export const nativeQueueMicrotask = queueMicrotask;
export const SyntaxErrorCtor = SyntaxError;

/** `performance.now()`, as it was. */
export const now: () => number = performance.now.bind(performance);
/** `performance.eventLoopUtilization()`, as it was. */
export const eventLoopUtilization: typeof performance.eventLoopUtilization = performance.eventLoopUtilization.bind(performance);

/** Node's timer functions, as they were. */
export const { setTimeout, clearTimeout, setInterval, clearInterval, setImmediate, clearImmediate } = { ...timers };
