/**
 * Node's `domain` module changes how the whole process handles errors as it loads, for good:
 * it takes `process.setUncaughtExceptionCaptureCallback` from the app, hooks every callback
 * Node makes, and a domain it makes turns on an async hook for every resource. So typed code
 * may not load it (nor `repl`, which loads it), whichever way it asks: the session's
 * `require`, a module's bare name, `import()`, `process.getBuiltinModule()`, or a `require` it
 * makes itself (`module.createRequire`: every CommonJS `require` goes through `Module._load`).
 * Modules of the app's that load it are the app's business. When the app has loaded it,
 * sessions may use its domains; a domain a command leaves entered is left when it returns.
 */
import Module from 'node:module';
import { sessionCalled } from './caller.ts';
import { replInputError } from './session-realms.ts';
import { ReflectApply, ReflectGetOwnPropertyDescriptor } from '../common/primordials.ts';

/** Modules whose loading loads `domain`. */
const LOADS_DOMAIN = new Set(['domain', 'node:domain', 'repl', 'node:repl']);

/** Whether Node's `domain` module is loaded: it puts an accessor on `process.domain` as it loads. */
export function domainLoaded(): boolean {
  return typeof ReflectGetOwnPropertyDescriptor(process, 'domain')?.get === 'function';
}

const refusal = (id: string): TypeError =>
  replInputError(`The ${id.replace(/^node:/, '')} module cannot be loaded in the REPL: ${/repl/.test(id) ? 'it loads domain, which' : 'loading it'} changes how the whole process handles errors, for good`);

/** Throws the refusal when loading `id` would load `domain`. (The session's own ways of loading.) */
export function checkModuleLoad(id: unknown): void {
  if (typeof id === 'string' && LOADS_DOMAIN.has(id) && !domainLoaded()) throw refusal(id);
}

let installed = false;

/** Refuses the other ways typed code could load it (see above): installed with the first session. */
export function guardModules(): void {
  if (installed) return;
  installed = true;
  const modules = Module as unknown as { _load: (...args: unknown[]) => unknown };
  const load = modules._load;
  modules._load = function _load(this: unknown, ...args: unknown[]) {
    const id = args[0];
    if (typeof id === 'string' && LOADS_DOMAIN.has(id) && !domainLoaded() && sessionCalled(_load)) throw refusal(id);
    return ReflectApply(load, this, args);
  };
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof getBuiltin === 'function') {
    (process as { getBuiltinModule?: unknown }).getBuiltinModule = function getBuiltinModule(this: unknown, id: string) {
      if (typeof id === 'string' && LOADS_DOMAIN.has(id) && !domainLoaded() && sessionCalled(getBuiltinModule)) throw refusal(id);
      return ReflectApply(getBuiltin, this, [id]);
    };
  }
}

/**
 * Leaves the domains that typed code entered and left entered (`d.enter()` without `exit`),
 * until `process.domain` is `before` again: else the app's code after the command, and all it
 * creates, would run in the session's domain.
 */
export function leaveDomains(before: unknown): void {
  for (let i = 0; i < 100; i++) {
    const domain = (process as { domain?: { exit?: () => void } | null }).domain;
    if (domain === before || domain === null || domain === undefined || typeof domain.exit !== 'function') return;
    try {
      domain.exit();
    } catch {
      return;
    }
  }
}
