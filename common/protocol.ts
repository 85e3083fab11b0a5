/**
 * The messages between the main thread and the backdoor's worker thread.
 *
 * This is the one file that both `lib/` (main thread) and `workers/` (worker thread) import.
 * One MessageChannel joins the threads, with a comlink API exposed at each end:
 *
 * - `MainApi`, exposed by the main thread: the worker sends one complete input per call and
 *   gets one reply back. This is the only traffic an ordinary command causes on the main thread.
 * - `WorkerApi`, exposed by the worker: lifecycle (listen, close) and the events that start on
 *   the main thread (an awaited command settling, console output after a command returned).
 *
 * Both directions share the one port so that what the main thread sends arrives in the order
 * it was sent: a command's reply before the output its timers print later. (comlink's `expose`
 * ignores responses and `wrap` ignores requests, so the two coexist on a port.)
 */
import type { Endpoint } from 'comlink';
import type { MessagePort } from 'node:worker_threads';

/**
 * `import()` in session code is rewritten by the worker to a call of this function, which the
 * main thread defines in every session. Node 20 can only give `vm` scripts an `import()` of
 * their own through an experimental option that prints a warning on the app's stderr.
 */
export const importFunctionName = '__backdoorImport';

/**
 * The prompt of an unfinished input, as Node's REPL shows it: `... ` up to Node 22, `| ` from
 * Node 24 on. (The `backdoor` client knows both.)
 */
export const CONTINUATION_PROMPT: string = Number(process.versions.node.split('.')[0]) >= 24 ? '| ' : '... ';

/** What the worker needs to know to listen and greet; plain data, built from the options. */
export interface WorkerConfig {
  /** TCP host, or undefined with `path`. */
  host: string | undefined;
  /** TCP port, or undefined with `path`. */
  port: number | undefined;
  /** Unix socket path. */
  path: string | undefined;
  /** Extra text shown after the standard banner, or ''. */
  banner: string;
  /** Names of the app's locals, for `.help`. */
  locals: string[];
  /** Share of the main thread the commands may use (see workers/budget.ts). */
  mainThreadBudget: number;
  /** The secret sessions must give first, or undefined. */
  token: string | undefined;
  /** Which audit events the worker writes to stderr itself, or sends to the main thread. */
  audit: 'default' | 'stderr' | 'function' | 'none';
  maxSessions: number;
  maxInputBytes: number;
  idleTimeoutMs: number;
  authTimeoutMs: number;
}

/**
 * What the audit trail records (option `audit`). `session` numbers connections from 1; `peer`
 * is `host:port`, or `unix` for a unix socket; `time` is an ISO date.
 */
export type AuditEvent =
  | { type: 'start'; time: string; pid: number; address: BackdoorAddress }
  | { type: 'stop'; time: string; pid: number; address: BackdoorAddress }
  | { type: 'connect'; time: string; session: number; peer: string }
  | { type: 'refused'; time: string; peer: string; reason: string }
  | { type: 'auth-failure'; time: string; session: number; peer: string; attempt: number }
  | { type: 'command'; time: string; session: number; peer: string; code: string; durationMs: number; ok: boolean }
  | { type: 'disconnect'; time: string; session: number; peer: string; commands: number; reason: string }
  | { type: 'fault'; time: string; message: string }
  /** Code of a session that has ended threw (or rejected) later; the app was not told. */
  | { type: 'uncaught'; time: string; session: number; message: string }
  /** Events of connections that never gave the token, not recorded (rate limit: 20 at once, 5/s). */
  | { type: 'dropped'; time: string; count: number };

/** The events the default audit writes to stderr (the others only with `audit: 'stderr'`). */
export const defaultAuditTypes: ReadonlySet<AuditEvent['type']> = new Set(['start', 'stop', 'connect', 'disconnect', 'refused', 'fault', 'uncaught', 'dropped']);

/** One line of the audit trail on stderr, for a person to read. */
export function formatAuditEvent(event: AuditEvent): string {
  const who = 'peer' in event && 'session' in event ? `session ${event.session} (${event.peer})` : '';
  switch (event.type) {
    case 'start':
      return `backdoor: listening on ${formatAddress(event.address)} (pid ${event.pid})`;
    case 'stop':
      return `backdoor: closed ${formatAddress(event.address)} (pid ${event.pid})`;
    case 'connect':
      return `backdoor: ${who} connected`;
    case 'refused':
      return `backdoor: refused ${event.peer}: ${event.reason}`;
    case 'auth-failure':
      return `backdoor: ${who} gave a wrong token (attempt ${event.attempt})`;
    case 'command':
      return `backdoor: ${who} ran ${JSON.stringify(event.code.length > 200 ? `${event.code.slice(0, 200)}...` : event.code)} in ${event.durationMs.toFixed(1)} ms: ${event.ok ? 'ok' : 'error'}`;
    case 'disconnect':
      return `backdoor: ${who} disconnected after ${event.commands} command(s) (${event.reason})`;
    case 'fault':
      return `backdoor: ${event.message}`;
    case 'dropped':
      return `backdoor: ${event.count} audit event(s) of connections that did not give the token were not recorded (rate limit)`;
    case 'uncaught':
      return `backdoor: session ${event.session} has ended; its code threw later (the app was not told): ${event.message.replace(/\n/g, '\n  ')}`;
  }
}

/** What the worker is started with. */
export interface WorkerData {
  config: WorkerConfig;
  /** The worker's end of the channel: it wraps `MainApi` and exposes `WorkerApi` on it. */
  port: MessagePort;
}

/** One complete input, ready to run. */
export interface EvalRequest {
  /** Command id, unique for the life of the worker; echoed in `WorkerApi.settle`. */
  id: number;
  /** Main-side context id: commands with the same one share declarations and `_`. */
  context: number;
  /** The session's number (as in the audit trail), for errors its code throws after it ended. */
  session?: number;
  /** JavaScript to run. When `awaited`, it evaluates to a promise of `{ value }` or undefined. */
  code: string;
  /** The code was rewritten for top-level `await` (see workers/await-transform.ts). */
  awaited: boolean;
  /** Script name shown in stack traces, like Node's `REPL1`. */
  filename: string;
  /** The input's static imports rewritten as `await import()`, for V8's error about them. */
  importHint?: string;
  /**
   * What to do: run the code and print its value ('eval', the default); list the value of
   * the code (`.inspect`, to `depth`); report the app's health (`.stats`, with `workerReport`);
   * list the locals (`.locals`); or name the properties of `path` that start with `prefix`
   * (tab completion).
   */
  kind?: 'eval' | 'inspect' | 'stats' | 'locals' | 'complete';
  depth?: number;
  workerReport?: string;
  path?: string[];
  prefix?: string;
  /** Also serialise the value with superjson (the JSON mode). */
  json?: boolean;
  /** Format with ANSI colours (a colour terminal asked for them). */
  colors?: boolean;
  /** The client's window width, to break printed values at. */
  columns?: number;
}

/** How a command ended, formatted for the session. */
export interface EvalOutcome {
  /** false when the command threw or rejected. */
  ok: boolean;
  /** The value as the REPL prints it (`util.inspect` with REPL limits), or the `Uncaught ...` text. */
  text: string;
  /** For `json` requests: the value as superjson's `{ json, meta }`, when it could be within bounds. */
  value?: { json: unknown; meta?: unknown };
  /** For completion requests: the names. */
  names?: string[];
}

/** The main thread's answer to `evaluate`, sent when the synchronous part of the command is over. */
export interface EvalReply {
  /** Console output the command printed while it ran synchronously. */
  out: string;
  /** The outcome, or undefined while an awaited command is still pending (it ends in `settle`). */
  outcome: EvalOutcome | undefined;
  /** Main-thread milliseconds this call used (compile, run, format). */
  cost: number;
}

/** Exposed by the main thread. */
export interface MainApi {
  /** Run one complete input in its session's context. Never rejects: failures are outcomes. */
  evaluate(request: EvalRequest): Promise<EvalReply>;
  /** Forget a context (its session ended or ran `.clear`). Pending commands still settle. */
  dropContext(context: number): void;
  /** Audit events from the worker, batched (only when the `audit` option is a function). */
  audit(events: AuditEvent[]): void;
}

/** A listening address, as `Backdoor.address()` returns it. */
export type BackdoorAddress = { host: string; port: number } | { path: string };

/** `127.0.0.1:3000`, `[::1]:3000` or the socket path. */
export function formatAddress(address: BackdoorAddress): string {
  if ('path' in address) return address.path;
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}

/** The worker's answer to `listen`: an address, or the error to rethrow on the main thread. */
export type ListenReply =
  | { ok: true; address: BackdoorAddress }
  | { ok: false; message: string; code: string | undefined; syscall: string | undefined };

/** Exposed by the worker. */
export interface WorkerApi {
  /** Start listening; resolves once the listener is bound, or with why it could not be. */
  listen(): Promise<ListenReply>;
  /** Tell sessions `backdoor closed`, disconnect them and stop listening. */
  close(): Promise<void>;
  /** An awaited command has settled: console output not yet sent, and its outcome. */
  settle(id: number, out: string, outcome: EvalOutcome, cost: number): void;
  /** Console output a context printed after its command had returned (timers, promises). */
  output(context: number, text: string): void;
  /** A value the context's code passed to `tap(value)`. */
  tap(context: number, outcome: EvalOutcome): void;
  /** The context's code threw (or rejected) after its command had returned: `Uncaught ...`. */
  uncaught(context: number, session: number, text: string): void;
}

/**
 * Adapts a `worker_threads` MessagePort to comlink's Endpoint: comlink listens with
 * `addEventListener` and expects `event.data`, Node ports emit the data itself. comlink ships
 * such an adapter, but without types that resolve under NodeNext.
 */
export function portEndpoint(port: MessagePort): Endpoint {
  type Listener = Parameters<Endpoint['addEventListener']>[1];
  const wrappers = new WeakMap<Listener, (data: unknown) => void>();
  return {
    postMessage: (message: unknown) => port.postMessage(message),
    addEventListener(_type: string, listener: Listener) {
      const wrapper = (data: unknown) => {
        const event = { data } as MessageEventLike;
        if (typeof listener === 'function') listener(event as never);
        else listener.handleEvent(event as never);
      };
      wrappers.set(listener, wrapper);
      port.on('message', wrapper);
    },
    removeEventListener(_type: string, listener: Listener) {
      const wrapper = wrappers.get(listener);
      if (wrapper) port.off('message', wrapper);
      wrappers.delete(listener);
    },
  };
}

interface MessageEventLike {
  data: unknown;
}
