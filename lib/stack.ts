import { types } from 'node:util';

type CallSite = NodeJS.CallSite;
type Prepare = (error: Error, frames: CallSite[]) => unknown;

/**
 * Gives an error thrown by session code the stack Node's REPL would print, while it is
 * formatted for the first time (V8 formats `error.stack` when it is first read).
 *
 * Node's REPL keeps the frames above the last one whose function has no name (the top level of
 * the typed input), and drops that one and everything below it: `at f (REPL1:1:22)` stays,
 * `at REPL2:1:1` and Node's own machinery go. Here, the frames from the call into `vm` down are
 * the backdoor's and are dropped first; then the same rule applies, so a stack thrown later
 * (a timer's) loses what Node's REPL would drop from it too.
 *
 * V8 asks the `Error.prepareStackTrace` of the realm that made the error, else the main realm's.
 * It is set for the moment of the first read only, and an app's own (source-map-support) still
 * formats the kept frames. Returns false when the stack had been formatted already.
 */
export function formatStackOnce(error: unknown, sessionError: ErrorConstructor | undefined): boolean {
  if (!types.isNativeError(error) || types.isProxy(error)) return false;
  let applied = false;
  const realms = sessionError && sessionError !== Error ? [sessionError, Error] : [Error];
  const previous = realms.map((realm) => Object.getOwnPropertyDescriptor(realm, 'prepareStackTrace'));
  const prepare = (own: Prepare | undefined): Prepare =>
    function prepareReplStack(this: unknown, target: Error, frames: CallSite[]): unknown {
      if (target !== error) return own ? Reflect.apply(own, this, [target, frames]) : defaultStack(target, frames);
      applied = true;
      const kept = replFrames(frames);
      return own ? Reflect.apply(own, this, [target, kept]) : defaultStack(target, kept);
    };
  try {
    realms.forEach((realm, i) => {
      const own = previous[i]?.value;
      Object.defineProperty(realm, 'prepareStackTrace', { value: prepare(typeof own === 'function' ? own : undefined), writable: true, configurable: true });
    });
    void (error as Error).stack;
  } catch {
    // A frozen Error of the session's: its stack is printed as it comes.
  } finally {
    realms.forEach((realm, i) => {
      const descriptor = previous[i];
      try {
        if (descriptor) Object.defineProperty(realm, 'prepareStackTrace', descriptor);
        else delete (realm as { prepareStackTrace?: unknown }).prepareStackTrace;
      } catch {
        // as above
      }
    });
  }
  return applied;
}

/** Where the files of this library are, as stack frames name them (URLs for ES modules). */
export const libraryFiles = [new URL('.', import.meta.url).href, new URL('.', import.meta.url).pathname];

/**
 * The backdoor's call into vm among a stack's frames (by their file names, top first): the
 * first run of `node:vm` frames that a frame of this library called. Session code may call vm
 * itself above it, and whatever runs the backdoor (an app, a test) may use vm below it. With
 * no such run, `orLast`: the last run of vm frames (vm called from elsewhere: a test of the
 * formatter); else -1, as when there is none.
 */
export function backdoorVmCall(files: string[], orLast: boolean): number {
  let last = -1;
  for (let i = 0; i < files.length; i++) {
    if (files[i] !== 'node:vm') continue;
    let j = i;
    while (j < files.length && files[j] === 'node:vm') j++;
    if (j < files.length && libraryFiles.some((dir) => files[j].startsWith(dir))) return i;
    if (orLast) last = i;
    i = j;
  }
  return last;
}

function replFrames(frames: CallSite[]): CallSite[] {
  const vmCall = backdoorVmCall(
    frames.map((frame) => frame.getFileName() ?? ''),
    true,
  );
  const own = vmCall === -1 ? frames : frames.slice(0, vmCall);
  let topLevel = -1;
  for (let i = own.length - 1; i >= 0; i--) {
    if (own[i].getFunctionName() === null) {
      topLevel = i;
      break;
    }
  }
  // As in Node's REPL: with no such frame, the last one goes.
  return own.slice(0, topLevel);
}

/** V8's and Node's own format: `Name: message` (`Name [CODE]: message` for Node's errors), then the frames. */
function defaultStack(error: Error, frames: CallSite[]): string {
  let head: string;
  try {
    const code = (error as { code?: unknown }).code;
    head = typeof code === 'string' && code.startsWith('ERR_') && Object.hasOwn(error, 'code') ? `${error.name} [${code}]: ${error.message}` : Error.prototype.toString.call(error);
  } catch {
    head = 'Error';
  }
  return frames.length === 0 ? head : `${head}\n    at ${frames.join('\n    at ')}`;
}
