import { types } from 'node:util';
import type { SessionOwner } from './attribution.ts';

/** Each session context's `Object.prototype`, to its owner: any object made there leads to it. */
const realms = new WeakMap<object, SessionOwner>();

/** Objects (functions, errors, promises) made in this realm are `owner`'s. */
export function addRealm(objectPrototype: object, owner: SessionOwner): void {
  realms.set(objectPrototype, owner);
}

/** The session whose realm made `value`, if any; never runs a proxy trap. */
export function realmOwner(value: unknown): SessionOwner | undefined {
  if ((typeof value !== 'object' || value === null) && typeof value !== 'function') return undefined;
  let current: unknown = value;
  for (let depth = 0; depth < 32; depth++) {
    if (types.isProxy(current)) return undefined;
    const proto = Object.getPrototypeOf(current as object) as object | null;
    if (proto === null) return realms.get(current as object);
    current = proto;
  }
  return undefined;
}

const refusals = new WeakSet<object>();

/** Whether `value` is a refusal of the backdoor's (`replInputError`): printed as its one line. */
export function isRefusal(value: unknown): boolean {
  return typeof value === 'object' && value !== null && refusals.has(value);
}

/** Node's `ERR_INVALID_REPL_INPUT`, exactly as its REPL throws it (for what it refuses too). */
export function nodeReplInputError(message: string): TypeError {
  const error = new TypeError(message);
  // Node's own errors print their code in the first line of the stack.
  Object.defineProperty(error, 'name', { value: 'TypeError [ERR_INVALID_REPL_INPUT]', configurable: true, writable: true, enumerable: false });
  void error.stack; // formatted now, with that name
  delete (error as { name?: string }).name;
  Object.assign(error, { code: 'ERR_INVALID_REPL_INPUT' });
  return error;
}

/**
 * `ERR_INVALID_REPL_INPUT` for what the backdoor refuses beyond Node's REPL: the code in the
 * first line, and it prints as that one line: no frames (they would be the backdoor's or
 * Node's, where it was refused), and `code` not listed after it (`_error.code` has it).
 */
export function replInputError(message: string): TypeError {
  const error = new TypeError(message);
  refusals.add(error);
  Object.defineProperty(error, 'stack', { value: `TypeError [ERR_INVALID_REPL_INPUT]: ${message}`, configurable: true, writable: true, enumerable: false });
  Object.defineProperty(error, 'code', { value: 'ERR_INVALID_REPL_INPUT', configurable: true, writable: true, enumerable: false });
  return error;
}
