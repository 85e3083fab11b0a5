/**
 * The messages between the main thread (`lib/`) and the backdoor's worker thread (`workers/`).
 *
 * One MessageChannel joins the threads (see channel.ts). Calls that need an answer go through
 * comlink: the worker calls `MainApi.evaluate` once per complete input, the main thread calls
 * `WorkerApi.listen` and `close`. Everything else is a notification, one message that nobody
 * answers: an awaited command settling, console output after a command returned, a context
 * the worker no longer uses.
 */
import type { AuditEvent } from './audit-event.ts';
import type { BackdoorAddress } from './address.ts';

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
  /** evalTimeoutMs, kept by the worker when `runawayHook` is set. */
  evalTimeoutMs: number;
  /**
   * The main thread's hook that stops a runaway command: a property of its global object, and
   * this backdoor's number for it (see lib/runaway-stop.ts and workers/runaway-watch.ts);
   * undefined when V8's watchdog does it.
   */
  runawayHook: { name: string; stop: number } | undefined;
}

/** What the worker is started with. */
export interface WorkerData {
  config: WorkerConfig;
  /** The worker's end of the channel. */
  port: import('node:worker_threads').MessagePort;
}

/** Which session context a request is for. */
export interface InContext {
  /** Main-side context id: commands with the same one share declarations and `_`. */
  context: number;
  /** The session's number (as in the audit trail), for errors its code throws after it ended. */
  session: number;
}

/** Code a session typed, as the main thread runs it. */
interface Code extends InContext {
  /** JavaScript to run. */
  code: string;
  /**
   * Lines the session has evaluated, this input's last included: the input is `REPL<line>` in
   * stack traces, as in Node (one typed again in the same context keeps its first name).
   */
  line: number;
  /** Format with ANSI colours (a colour terminal asked for them). */
  colors: boolean;
  /** The client's window width, to break printed values at. */
  columns?: number;
}

/** What a request asks of the main thread, by its `kind`. */
export type RequestBody =
  /** Run the code and print its value. */
  | (Code & {
      kind: 'eval';
      /** The code was rewritten for top-level `await` and evaluates to a promise of `{ value }`. */
      awaited: boolean;
      /** Names it declares at the top level (`let x`, `class A`): the context's, for completion. */
      declared: string[];
      /** The input's static imports rewritten as `await import()`, for V8's error about them. */
      importHint?: string;
      /** Also serialise the value with superjson (the JSON mode). */
      json: boolean;
    })
  /** `.inspect`: list the value of the code to `depth`, numbering its parts `$1`, `$2`... */
  | (Code & { kind: 'inspect'; depth: number })
  /** Tab completion: the names of the context, or the properties of `path`, that start with `prefix`. */
  | (InContext & { kind: 'complete'; path: string[]; prefix: string })
  /** `.stats`: the app's health, with the worker's own line. */
  | { kind: 'stats'; workerReport: string }
  /** `.locals`: the app's locals, a line each. */
  | { kind: 'locals'; colors: boolean }
  /** `.heap`: the main thread's heap and its spaces. */
  | { kind: 'heap' }
  /** `.exit-app`, confirmed: audited, then `process.exit(code)`; never answered. */
  | { kind: 'exit-app'; exitCode: number; session: number; peer: string };

/**
 * One request to the main thread; `id` is unique for the life of the worker and echoed in the
 * `settle` notification of a command that awaits.
 */
export type EvalRequest = RequestBody & { id: number };

/** A request of one kind. */
export type RequestOf<K extends RequestBody['kind']> = Extract<EvalRequest, { kind: K }>;

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
  /**
   * The app's own load: its event-loop utilisation without the backdoor's work (0..1), smoothed
   * over about a second, for the budget (see workers/budget.ts). Absent until it is known.
   */
  load?: number;
}

/** Exposed by the main thread. */
export interface MainApi {
  /** Run one complete input in its session's context. Never rejects: failures are outcomes. */
  evaluate(request: EvalRequest): Promise<EvalReply>;
  /**
   * The worker had command `id` stopped at evalTimeoutMs: its reply (a timeout), or undefined
   * when it is not the command left running (it ended by itself, or has not started).
   */
  recover(id: number): Promise<EvalReply | undefined>;
  /**
   * The app's own load now (as sent with each reply; undefined when it cannot be measured):
   * asked only for a command the budget holds, so that it is not held on a load that is stale.
   */
  load(): Promise<number | undefined>;
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
}

/** What the main thread tells the worker without waiting for an answer. */
export type MainNotification =
  /** An awaited command has settled: console output not yet sent, its outcome, and its cost. */
  | { type: 'settle'; id: number; out: string; outcome: EvalOutcome; cost: number }
  /** Console output a context printed after its command had returned (timers, promises). */
  | { type: 'output'; context: number; text: string }
  /** A value the context's code passed to `tap(value)`. */
  | { type: 'tap'; context: number; outcome: EvalOutcome }
  /** The context's code threw (or rejected) after its command had returned: `Uncaught ...`. */
  | { type: 'uncaught'; context: number; session: number; text: string };

/** What the worker tells the main thread without waiting for an answer. */
export type WorkerNotification =
  /** A context is no longer used (its session ended or ran `.clear`); pending commands still settle. */
  | { type: 'drop-context'; context: number }
  /** Audit events from the worker, batched (only when the `audit` option is a function). */
  | { type: 'audit'; events: AuditEvent[] }
  /** The worker's heap has had its first full collection, after it started listening (lib/quiet-heap.ts). */
  | { type: 'heap-collected' };
