/**
 * Who called: typed code of a session, or the app. A session's call of `process.exit()` is
 * stopped, the app's own (its shutdown path, its signal handlers) never is, even when a session
 * ran the app's code that made it: what decides is the code that made the call. When no frame
 * tells (Node called the function itself: `setTimeout(process.exit)`), the call is the app's:
 * refusing the app's own exit would be the worse mistake.
 */
import { libraryFiles } from './stack.ts';
import { ObjectDefineProperty, ReflectGetOwnPropertyDescriptor } from '../common/primordials.ts';

type CallSite = NodeJS.CallSite;

/** The backdoor's compiled inputs are named as Node's REPL names them (script-cache.ts). */
const SESSION_FILE = /^REPL\d+$/;
const SESSION_EVAL = /\(REPL\d+:\d+:\d+\)/;
/** A file of the app's: an absolute path, or a URL (`file:`, a loader's). */
const APP_FILE = /^(\/|[A-Za-z]:[\\/]|[a-z][\w+.-]*:)/;

const isLibrary = (file: string) => libraryFiles.some((dir) => file.startsWith(dir));

/** What a frame is, for `sessionCalled`. */
function kindOf(frame: CallSite): 'session' | 'node' | 'domain' | 'pass' | 'app' {
  const file = frame.getFileName() ?? '';
  if (SESSION_FILE.test(file)) return 'session';
  if (frame.isEval()) {
    // eval() and new Function: their origin, typed input or a file of the app's.
    const origin = frame.getEvalOrigin() ?? '';
    if (SESSION_EVAL.test(origin)) return 'session';
    const files = [...origin.matchAll(/\((?:eval at [^(]*\()*([^():]+(?::[^():]+)?):\d+:\d+\)/g)].map((match) => match[1]);
    return files.some((name) => APP_FILE.test(name) && !name.startsWith('node:') && !isLibrary(name)) ? 'app' : 'pass';
  }
  if (file === 'node:domain') return 'domain';
  if (file.startsWith('node:')) return 'node';
  // Built-ins (Reflect.apply, Array.prototype.forEach), the backdoor's own frames (its watchdog
  // script, its wrappers of session functions), and code `vm` runs under a name that is no file
  // (`evalmachine.<anonymous>`) call on behalf of the frame below them.
  if (!APP_FILE.test(file) || isLibrary(file)) return 'pass';
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
 * caller that is neither Node's, a built-in, nameless `vm` code nor the backdoor's own decides;
 * with none, it is the app's (see above). With `nodeDomainIsOwner`, a call from Node's `domain`
 * module is its own bookkeeping, never the session's (entering and leaving a domain sets the
 * capture callback).
 */
export function sessionCalled(callee: (...args: never[]) => unknown, nodeDomainIsOwner = false): boolean {
  for (const frame of callSites(callee)) {
    const kind = kindOf(frame);
    if (kind === 'session') return true;
    if (kind === 'app' || (kind === 'domain' && nodeDomainIsOwner)) return false;
  }
  return false;
}
