/**
 * Who called: typed code of a session, or the app. A session's call of `process.exit()` is
 * stopped, the app's own (its shutdown path, its signal handlers) never is, even when a session
 * ran the app's code that made it: what decides is the code that made the call.
 */
import { attribution } from './attribution.ts';
import { libraryFiles } from './stack.ts';
import { ObjectDefineProperty, ReflectGetOwnPropertyDescriptor } from '../common/primordials.ts';

type CallSite = NodeJS.CallSite;

/** The backdoor's compiled inputs are named as Node's REPL names them (script-cache.ts). */
const SESSION_FILE = /^REPL\d+$/;
const SESSION_EVAL = /\(REPL\d+:\d+:\d+\)/;

/** What a frame is, for `sessionCalled`. */
function kindOf(frame: CallSite): 'session' | 'node' | 'domain' | 'pass' | 'app' {
  const file = frame.getFileName() ?? '';
  if (SESSION_FILE.test(file)) return 'session';
  // eval() and new Function in typed code: their origin is the typed input.
  if (frame.isEval() && SESSION_EVAL.test(frame.getEvalOrigin() ?? '')) return 'session';
  if (file === 'node:domain') return 'domain';
  if (file.startsWith('node:')) return 'node';
  // Built-ins (Reflect.apply, Array.prototype.forEach), and the backdoor's own frames (its
  // watchdog script, its wrappers of session functions), call on someone else's behalf.
  if (file === '' || file === 'backdoor-format' || libraryFiles.some((dir) => file.startsWith(dir))) return 'pass';
  return 'app';
}

// The app's realm's, as they were: session code may replace the globals.
const ErrorCtor = Error;
const captureStackTrace = Error.captureStackTrace;
const asSites = (_: unknown, sites: CallSite[]): CallSite[] => sites;

/** The call sites above `below` (which is not among them), top first; none if they cannot be had. */
function callSites(below: (...args: never[]) => unknown): CallSite[] {
  const previousPrepare = ReflectGetOwnPropertyDescriptor(ErrorCtor, 'prepareStackTrace');
  const previousLimit = ErrorCtor.stackTraceLimit;
  const holder: { stack?: unknown } = {};
  try {
    ObjectDefineProperty(ErrorCtor, 'prepareStackTrace', { value: asSites, writable: true, configurable: true });
    ErrorCtor.stackTraceLimit = 40;
    captureStackTrace(holder, below);
    const sites = holder.stack;
    return Array.isArray(sites) ? (sites as CallSite[]) : [];
  } catch {
    return [];
  } finally {
    try {
      ErrorCtor.stackTraceLimit = previousLimit;
      if (previousPrepare) ObjectDefineProperty(ErrorCtor, 'prepareStackTrace', previousPrepare);
      else delete (ErrorCtor as { prepareStackTrace?: unknown }).prepareStackTrace;
    } catch {
      // a frozen Error: left as the app made it
    }
  }
}

/**
 * Whether the call of `callee` now running was made by typed code of a session: the nearest
 * caller that is neither Node's, a built-in nor the backdoor's own decides. With none (Node
 * called it from its own machinery: a timer whose callback is `process.exit` itself), the code
 * running is the session's when its async context says so (attribution.ts). With
 * `nodeDomainIsOwner`, a call from Node's `domain` module is its own bookkeeping, never the
 * session's (entering and leaving a domain sets the capture callback).
 */
export function sessionCalled(callee: (...args: never[]) => unknown, nodeDomainIsOwner = false): boolean {
  for (const frame of callSites(callee)) {
    const kind = kindOf(frame);
    if (kind === 'session') return true;
    if (kind === 'app' || (kind === 'domain' && nodeDomainIsOwner)) return false;
  }
  return attribution.current() !== undefined;
}
