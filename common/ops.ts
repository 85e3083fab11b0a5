/**
 * The operations a session can ask for, as nREPL has them: one table, each op with its help,
 * its arguments, where it runs and what it returns. Every way in is a view of this table: the
 * text mode's dot-commands, the JSON mode's `{"op": ...}`, `describe` (so tools need no list of
 * their own). Adding an op is an entry here, a handler where it runs, and its test.
 *
 * Where an op runs decides what it costs the app:
 * - `main`: a handler on the app's main thread (lib/op-handlers.ts), one op at a time, each in
 *   a turn of the event loop of its own, paced by the budget and charged to its session;
 * - `inspector`: the worker, looking at the main thread through the inspector
 *   (workers/diagnostics/): it answers while the main thread is busy, and what it costs the
 *   main thread (a pause, sampling) is paced and charged in the same way;
 * - `session`: the worker alone (the session's own state): it costs the app nothing.
 */

/** An argument of an op: its type and bounds (checked wherever the op comes from). */
export interface ArgSpec {
  readonly name: string;
  readonly type: 'string' | 'number' | 'integer' | 'boolean';
  readonly doc: string;
  readonly optional?: boolean;
  readonly default?: string | number | boolean;
  readonly min?: number;
  /** Numbers: more than this (an open bound). */
  readonly above?: number;
  readonly max?: number;
  /** Strings: the longest accepted, in characters. */
  readonly maxLength?: number;
  /** Strings: the only values accepted. */
  readonly values?: readonly string[];
}

/** Who may run an op: `observe` ops only look; `full` ones change the app (or end it). */
export type Role = 'observe' | 'full';

export interface OpSpec {
  readonly name: string;
  readonly doc: string;
  readonly args: readonly ArgSpec[];
  readonly runs: 'main' | 'inspector' | 'session';
  readonly role: Role;
  /** What its value holds, for `describe`. */
  readonly returns: string;
  /**
   * An op that lasts its `seconds`: what it does meanwhile, told when it starts ("Profiling the
   * main thread's CPU"). Such an op ends with its client: when it closes its side, or types
   * `.exit`.
   */
  readonly lasts?: string;
  /**
   * No use late (TAB completion): when the budget would hold it, it is answered at once,
   * `budget-held`, with the reason, rather than queued.
   */
  readonly urgent?: true;
  /**
   * The text mode's dot-command (`.heap sample`), and how the rest of the line becomes its
   * arguments (default: the arguments in order, one word each). None: not a dot-command.
   */
  readonly command?: { readonly name: string; readonly usage: string; parse?(rest: string): Args | string };
}

export type Args = Record<string, unknown>;

/** Code: what a session types, as long as one input may be (the worker's maxInputBytes bounds it first). */
const CODE: ArgSpec = { name: 'code', type: 'string', doc: 'JavaScript, as typed at the prompt (top-level await allowed)', maxLength: 64 * 1024 * 1024 };
const SECONDS = (doc: string): ArgSpec => ({ name: 'seconds', type: 'number', doc, optional: true, default: 5, above: 0, max: 60 });

/** Every op, in the order `.help` and `describe` list them. */
export const OPS: readonly OpSpec[] = [
  { name: 'eval', doc: "Run code in this session, as Node's REPL does, and print its value", args: [CODE], runs: 'main', role: 'full', returns: "text (as Node's REPL prints the value or error), json (superjson, when small and plain)" },
  {
    name: 'inspect',
    doc: 'List a value one level deep, numbering its parts $1, $2... to go deeper',
    runs: 'main',
    role: 'full',
    args: [
      { ...CODE, doc: 'an expression (no await)' },
      { name: 'depth', type: 'integer', doc: 'levels listed', optional: true, default: 1, min: 1, max: 4 },
    ],
    returns: 'text: the listing',
    command: { name: 'inspect', usage: '.inspect <expression> [depth]', parse: parseInspect },
  },
  {
    name: 'complete',
    doc: 'Tab completion: the names that can follow the end of a line',
    args: [{ name: 'line', type: 'string', doc: 'the line up to the cursor', maxLength: 1024 }],
    runs: 'main',
    role: 'observe',
    returns: 'names, and completed: the part of the line they replace',
    urgent: true,
  },
  { name: 'stats', doc: "The app's health: event-loop delay and use, memory, resources, and the backdoor's cost", args: [], runs: 'main', role: 'observe', returns: 'text', command: { name: 'stats', usage: '.stats' } },
  { name: 'locals', doc: 'The names the app provided, with a preview of each', args: [], runs: 'main', role: 'observe', returns: 'text', command: { name: 'locals', usage: '.locals' } },
  { name: 'heap', doc: "The main thread's heap and its spaces now", args: [], runs: 'main', role: 'observe', returns: 'text', command: { name: 'heap', usage: '.heap' } },
  {
    name: 'heap-sample',
    doc: "Where the main thread's allocations are made, sampled over [seconds] (default 5, at most 60), and a .heapprofile file",
    runs: 'inspector',
    role: 'observe',
    args: [SECONDS('how long to sample')],
    returns: 'text, file',
    lasts: "Sampling the main thread's allocations",
    command: { name: 'heap sample', usage: '.heap sample [seconds]' },
  },
  {
    name: 'stack',
    doc: "The main thread's JavaScript stack now; it answers while the main thread is busy",
    args: [],
    runs: 'inspector',
    role: 'observe',
    returns: 'text, idle, frames (functionName, location; top first)',
    command: { name: 'stack', usage: '.stack' },
  },
  {
    name: 'profile',
    doc: "Profile the main thread's CPU for [seconds] (default 5, at most 60): top functions, hottest paths, and a .cpuprofile file",
    runs: 'inspector',
    role: 'observe',
    args: [SECONDS('how long to profile')],
    returns: 'text, file',
    lasts: "Profiling the main thread's CPU",
    command: { name: 'profile', usage: '.profile [seconds]' },
  },
  {
    name: 'exit-app',
    doc: 'End the app itself: process.exit([code]) (default 0), after you confirm',
    runs: 'main',
    role: 'full',
    args: [
      { name: 'code', type: 'integer', doc: 'the exit code', optional: true, default: 0, min: 0, max: 255 },
      { name: 'confirm', type: 'boolean', doc: 'true: the app is to end (the text mode asks)', optional: true, default: false },
    ],
    returns: 'nothing: the app ends',
    // Typed, only the code: the text mode asks for the confirmation itself.
    command: { name: 'exit-app', usage: '.exit-app [code]', parse: (rest) => (rest === '' ? {} : /^\d+$/.test(rest) ? { code: Number(rest) } : `code must be a whole number from 0 to 255, not "${rest}"`) },
  },
  { name: 'describe', doc: 'The ops, their arguments and what they return', args: [], runs: 'session', role: 'observe', returns: 'ops', command: { name: 'describe', usage: '.describe' } },
  {
    name: 'versions',
    doc: 'The versions of Node.js and what it is built with (V8, libuv, OpenSSL...), as the app runs them',
    args: [],
    runs: 'session',
    role: 'observe',
    returns: 'text, versions',
    command: { name: 'versions', usage: '.versions' },
  },
  { name: 'help', doc: 'Print this help message', args: [], runs: 'session', role: 'observe', returns: 'text', command: { name: 'help', usage: '.help' } },
  { name: 'break', doc: 'Sometimes you get stuck, this gets you out', args: [], runs: 'session', role: 'observe', returns: 'nothing', command: { name: 'break', usage: '.break' } },
  { name: 'clear', doc: "Break, and also forget this session's declarations and _", args: [], runs: 'session', role: 'observe', returns: 'nothing', command: { name: 'clear', usage: '.clear' } },
  { name: 'exit', doc: 'End this session (the app keeps running)', args: [], runs: 'session', role: 'observe', returns: 'nothing', command: { name: 'exit', usage: '.exit' } },
  {
    name: 'mode',
    doc: 'Switch to the JSON-lines protocol for tools: .mode json',
    runs: 'session',
    role: 'observe',
    args: [{ name: 'mode', type: 'string', doc: 'json, or text (from the JSON mode)', values: ['json', 'text'] }],
    returns: 'nothing',
    command: { name: 'mode', usage: '.mode json' },
  },
];

const byName = new Map(OPS.map((op) => [op.name, op]));

/** The op named `name`, if there is one. */
export function opNamed(name: unknown): OpSpec | undefined {
  return typeof name === 'string' ? byName.get(name) : undefined;
}

/**
 * A text-mode dot-command (`.profile 3`, without its dot): the op and its arguments, a usage
 * message for arguments that do not fit, or undefined when no op has that command.
 */
/** Whether op `name` lasts seconds (OpSpec.lasts). */
export const lastsSeconds = (name: string): boolean => opNamed(name)?.lasts !== undefined;

/** What the text mode says when op `name` starts: for one that lasts seconds, what it does and for how long; else nothing. */
export function startedText(name: string, args: Args): string {
  const lasts = opNamed(name)?.lasts;
  return lasts ? `${lasts} for ${String(args.seconds)} s; Ctrl+C abandons it.\n` : '';
}

export function parseCommand(text: string): { op: OpSpec; args: Args } | { op: OpSpec; usage: string } | undefined {
  const trimmed = text.trim();
  // The longest command that the line starts with (`heap sample` before `heap`).
  let found: OpSpec | undefined;
  for (const op of OPS) {
    const name = op.command?.name;
    if (name && (trimmed === name || trimmed.startsWith(`${name} `) || trimmed.startsWith(`${name}\t`)) && name.length > (found?.command?.name.length ?? -1)) found = op;
  }
  if (!found) return undefined;
  const rest = trimmed.slice(found.command!.name.length).trim();
  const parsed = found.command!.parse ? found.command!.parse(rest) : positional(found, rest);
  const checked = typeof parsed === 'string' ? parsed : checkArgs(found, parsed);
  if (typeof checked !== 'string') return { op: found, args: checked };
  // `.heap nonsense`: the commands of the same first word, all of them.
  const word = found.command!.name.split(' ')[0];
  const kin = OPS.filter((op) => op !== found && op.command?.name.startsWith(`${word} `)).map((op) => op.command!.usage);
  return { op: found, usage: `${found.command!.usage}${kin.length > 0 ? ` (or ${kin.join(', ')})` : ''}: ${checked}` };
}

/** The rest of a command line as the op's arguments, in order, one word each. */
function positional(op: OpSpec, rest: string): Args | string {
  const words = rest === '' ? [] : rest.split(/\s+/);
  if (words.length > op.args.length) return op.args.length === 0 ? 'it takes no arguments' : `too many arguments: ${op.args.map((arg) => arg.name).join(', ')}`;
  const args: Args = {};
  op.args.forEach((arg, i) => {
    if (words[i] === undefined) return;
    args[arg.name] = arg.type === 'number' || arg.type === 'integer' ? (/^-?\d+(\.\d+)?$/.test(words[i]) ? Number(words[i]) : words[i]) : arg.type === 'boolean' ? words[i] === 'true' : words[i];
  });
  return args;
}

/** `.inspect <expression> [depth]`: a number at the end is the depth. */
function parseInspect(rest: string): Args | string {
  const match = /^(.*?)(?:\s+(\d+))?\s*$/s.exec(rest)!;
  const code = match[1] === '' ? '_' : match[1];
  return match[2] === undefined ? { code } : { code, depth: Number(match[2]) };
}

/**
 * `args` checked against the op's arguments, with the defaults filled in; or what is wrong, in
 * a phrase. Unknown arguments are refused (a tool's typo must not be ignored).
 */
export function checkArgs(op: OpSpec, args: unknown): Args | string {
  if (args === undefined || args === null) args = {};
  if (typeof args !== 'object' || Array.isArray(args)) return 'args must be an object';
  const given = args as Args;
  for (const name of Object.keys(given)) {
    if (!op.args.some((arg) => arg.name === name)) return `unknown argument ${JSON.stringify(name.slice(0, 40))} (${op.name} takes ${op.args.map((arg) => arg.name).join(', ') || 'none'})`;
  }
  const checked: Args = {};
  for (const arg of op.args) {
    const value = given[arg.name];
    if (value === undefined) {
      if (!arg.optional) return `${arg.name} is required`;
      if (arg.default !== undefined) checked[arg.name] = arg.default;
      continue;
    }
    const wrong = checkValue(arg, value);
    if (wrong) return wrong;
    checked[arg.name] = value;
  }
  return checked;
}

function checkValue(arg: ArgSpec, value: unknown): string | undefined {
  switch (arg.type) {
    case 'string':
      if (typeof value !== 'string') return `${arg.name} must be a string`;
      if (arg.maxLength !== undefined && value.length > arg.maxLength) return `${arg.name} is longer than ${arg.maxLength} characters`;
      if (arg.values && !arg.values.includes(value)) return `${arg.name} must be ${arg.values.join(' or ')}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${arg.name} must be true or false`;
    default: {
      const integer = arg.type === 'integer';
      if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) return `${arg.name} must be ${integer ? 'a whole number' : 'a number'}, not ${JSON.stringify(String(value).slice(0, 40))}`;
      const low = arg.above !== undefined ? value > arg.above : arg.min === undefined || value >= arg.min;
      if (low && (arg.max === undefined || value <= arg.max)) return undefined;
      return arg.above !== undefined ? `${arg.name} must be above ${arg.above} and at most ${arg.max}, not ${value}` : `${arg.name} must be from ${arg.min} to ${arg.max}, not ${value}`;
    }
  }
}

/** What `describe` answers: every op, as tools need it. */
export function describeOps(): { ops: { name: string; doc: string; args: readonly ArgSpec[]; runs: string; role: Role; returns: string; command?: string }[] } {
  return { ops: OPS.map(({ name, doc, args, runs, role, returns, command }) => ({ name, doc, args, runs, role, returns, ...(command && { command: command.usage }) })) };
}

/** `.help`: the commands, the keys, and the app's locals. */
export function helpText(locals: readonly string[]): string {
  const commands = OPS.filter((op) => op.command).sort((a, b) => (a.command!.name < b.command!.name ? -1 : 1));
  const width = Math.max(...commands.map((op) => op.command!.name.length)) + 5;
  const lines = commands.map((op) => `.${op.command!.name}`.padEnd(width) + op.doc);
  lines.push('', 'Press Ctrl+C to abort the current expression, Ctrl+D to end the session.');
  if (locals.length > 0) lines.push(`Names from the app: ${locals.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
