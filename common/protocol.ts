/**
 * The messages between the main thread (`lib/`) and the backdoor's worker thread (`workers/`),
 * on one MessagePort (see channel.ts), in the order they were sent:
 *
 * - worker -> main: an `OpRequest` for each op that runs on the main thread (common/ops.ts),
 *   one at a time; `WorkerNotice`s that need no answer.
 * - main -> worker: the `OpReply` to each request, sent by the main thread itself as the op
 *   ends its turn; `MainNotice`s that need no answer (an awaited op settling, console output
 *   after an op returned), each carrying what it cost the main thread.
 *
 * comlink carries the main thread's calls of the worker (`WorkerApi`: listen, close).
 */
import type { AuditEvent } from './audit-event.ts';
import type { BackdoorAddress } from './address.ts';
import type { Args } from './ops.ts';

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
/** How a question the session waits an answer to ends (`.exit-app`'s): the client shows it as a prompt. */
export const CONFIRM_PROMPT_END = 'Type yes to confirm: ';
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
  /** Share of the main thread the ops may use (see workers/ops/budget.ts). */
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
   * this backdoor's number for it (see lib/runaway-stop.ts and workers/ops/runaway-watch.ts);
   * undefined when V8's watchdog does it.
   */
  runawayHook: { name: string; stop: number } | undefined;
  /** Where `.profile` and `.heap sample` write their files: the app's directory, or undefined for one made when needed. */
  diagnosticsDir: string | undefined;
  /** The directory of our own an earlier backdoor of this process made for them, if any. */
  diagnosticsDirMade: string | undefined;
}

/** What the worker is started with. */
export interface WorkerData {
  config: WorkerConfig;
  /** The worker's end of the channel. */
  port: import('node:worker_threads').MessagePort;
  /** What its inspector ops cost the main thread (common/inspector-tally.ts). */
  tally: SharedArrayBuffer;
}

/** The ops the main thread runs, and the two of the worker's own: the app's load now, a stopped command's reply. */
export type MainOp = 'eval' | 'inspect' | 'complete' | 'stats' | 'locals' | 'heap' | 'exit-app' | 'load' | 'recover';

/** The session an op is for, on the main thread. */
export interface SessionRef {
  /** Main-side context id: ops with the same one share declarations and `_`. */
  context: number;
  /** The session's number (as in the audit trail). */
  session: number;
  peer: string;
}

/** Typed code, as the worker prepared it (eval, inspect). */
export interface PreparedInput {
  /** What to run: the code rewritten for top-level `await` (then it evaluates to a promise of `{ value }`). */
  code: string;
  awaited: boolean;
  /** Names it declares at the top level (`let x`, `class A`): the context's, for completion. */
  declared: string[];
  /** The input's static imports rewritten as `await import()`, for V8's error about them. */
  importHint?: string;
  /**
   * Not to be compiled: the message of the SyntaxError it throws instead, as Node's REPL words
   * it for an input with `await` that does not parse (workers/input/await-transform.ts).
   */
  syntaxError?: string;
  /**
   * Lines the session has evaluated, this input's last included: the input is `REPL<line>` in
   * stack traces, as in Node (one typed again in the same context keeps its first name).
   */
  line: number;
}

/** How a value is wanted. */
export interface ValueView {
  /** ANSI colours (a colour terminal asked for them). */
  colors: boolean;
  /** The client's window width, to break printed values at. */
  columns?: number;
  /** Also as superjson (the JSON mode). */
  json: boolean;
}

/** One op for the main thread; `id` is unique for the life of the worker. */
export interface OpRequest {
  id: number;
  op: MainOp;
  args: Args;
  session?: SessionRef;
  input?: PreparedInput;
  view?: ValueView;
  /** complete: the names to walk from the session's globals (`a.b.` of `a.b.c`), and the start of the name. */
  target?: { path: string[]; prefix: string };
  /** stats: the worker's own line. */
  note?: string;
}

/**
 * Why an op did not end as asked, as nREPL's status sets say it: `thrown` (its code threw or
 * rejected), `syntax`, `incomplete` (JSON mode: code that needs more), `interrupted` (Ctrl-C,
 * `{"interrupt": id}`, or its session ended), `timeout` (evalTimeoutMs, or the client's own
 * deadline), `budget-held` and `main-busy` (told while it waits, not an end), `inspector-busy`
 * (another session's diagnosis holds the inspector), `refused` (not allowed here),
 * `bad-args`, `unknown-op`, `internal` (a fault of the backdoor's own).
 */
export type OpCode = 'thrown' | 'syntax' | 'incomplete' | 'interrupted' | 'timeout' | 'budget-held' | 'main-busy' | 'inspector-busy' | 'refused' | 'bad-args' | 'unknown-op' | 'internal';

/** What an op answers: `text` for a person, and data for tools. */
export interface OpValue {
  /** As the text mode prints it. */
  text: string;
  /** eval: the value as superjson's `{ json, meta }`, when it could be within bounds. */
  json?: { json: unknown; meta?: unknown };
  /** complete: the names, and the part of the line they replace. */
  names?: string[];
  completed?: string;
  /** stack. */
  frames?: { functionName: string; location: string }[];
  idle?: boolean;
  /** profile, heap-sample: the file with the whole profile. */
  file?: string;
  /** describe. */
  ops?: unknown[];
  /** versions: process.versions. */
  versions?: Record<string, string | undefined>;
}

/** How an op ended. */
export interface OpResult {
  status: 'done' | 'error';
  code?: OpCode;
  value: OpValue;
}

/** The main thread's answer to an `OpRequest`, sent when the op's synchronous part is over. */
export interface OpReply {
  id: number;
  /** `pending`: it awaits; it ends in a `settle` notice. */
  status: OpResult['status'] | 'pending';
  code?: OpCode;
  value?: OpValue;
  /** Console output it printed while it ran synchronously. */
  out: string;
  /** Main-thread milliseconds it used (compile, run, format). */
  cost: number;
  /**
   * The app's own load: its event-loop utilisation without the backdoor's work (0..1), smoothed
   * over about a second, for the budget (see workers/ops/budget.ts). Absent until it is known.
   */
  load?: number;
  /** `load`: the number itself. */
  measured?: number;
  /** `recover`: the stopped command's reply, if it was the one left running. */
  recovered?: Omit<OpReply, 'id' | 'recovered'>;
}

/** What the main thread tells the worker on its own; each says what it cost the main thread. */
export type MainNotice =
  /** An awaited op has ended: console output not yet sent, and how it ended. */
  | { type: 'settle'; id: number; out: string; result: OpResult; cost: number }
  /** Console output a context printed after its op had returned (timers, promises). */
  | { type: 'output'; context: number; text: string; cost: number }
  /** A value the context's code passed to `tap(value)`. */
  | { type: 'tap'; context: number; value: OpValue; cost: number }
  /** The context's code threw (or rejected) after its op had returned: `Uncaught ...`. */
  | { type: 'uncaught'; context: number; session: number; text: string; cost: number };

/** What the worker tells the main thread on its own. */
export type WorkerNotice =
  /**
   * A context is no longer used (its session ended or ran `.clear`); pending ops still settle.
   * `successor`: the context `.clear` made, which starts with its `_` and `_error`.
   */
  | { type: 'drop-context'; context: number; successor?: number }
  /** Audit events from the worker, batched (only when the `audit` option is a function). */
  | { type: 'audit'; events: AuditEvent[] }
  /** The worker's heap has had its first full collection, after it started listening (lib/quiet-heap.ts). */
  | { type: 'heap-collected' }
  /** The worker made a directory for diagnostics files: removed when the app exits. */
  | { type: 'diagnostics-dir'; path: string };

/** The worker's answer to `listen`: an address, or the error to rethrow on the main thread. */
export type ListenReply = { ok: true; address: BackdoorAddress } | { ok: false; message: string; code: string | undefined; syscall: string | undefined };

/** Exposed by the worker (through comlink). */
export interface WorkerApi {
  /** Start listening; resolves once the listener is bound, or with why it could not be. */
  listen(): Promise<ListenReply>;
  /** Tell sessions `backdoor closed`, disconnect them and stop listening. */
  close(): Promise<void>;
}

/** What the worker sends the main thread: ops, and notices (which have a `type`). */
export type ToMain = OpRequest | WorkerNotice;
/** What the main thread sends the worker: replies, and notices (which have a `type`). */
export type ToWorker = OpReply | MainNotice;
