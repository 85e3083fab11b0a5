/**
 * The REPL's dot-commands, one entry each, as Node's `defineCommand(name, { help, action })`:
 * the help text `.help` prints and what the command does.
 */
import { diagnosisCommand, type Diagnose } from './diagnostics.ts';
import { classifyInput } from './input.ts';

/** What a command asks of the main thread; the REPL adds what it knows (colours, line numbers). */
export type CommandRequest = { kind: 'inspect'; code: string; depth: number } | { kind: 'locals' } | { kind: 'stats' } | { kind: 'heap' } | { kind: 'exit-app'; exitCode: number };

/** What a command may do to the text REPL it is typed in. */
export interface ReplCommandHost {
  write(text: string): void;
  /** End the session. */
  end(): void;
  /** Forget the context's declarations and `_`. */
  clearContext(): void;
  /** Switch the session to the JSON mode. */
  jsonMode(): void;
  /** Run a request on the main thread, printing what it answers. */
  run(request: CommandRequest, typed: string): void;
  /** Run a diagnosis in the worker, printing what it finds. */
  diagnose(diagnose: Diagnose, typed: string): void;
  /** Asks `question`; the next line `yes` runs `then`, anything else cancels. */
  confirm(question: string, then: () => void): void;
  readonly locals: readonly string[];
}

export interface ReplCommand {
  help: string;
  /**
   * Does it; `rest` is what follows the name. Returns 'prompt' when the REPL is to show a fresh
   * prompt now, or 'busy' when it has started a command, ended or changed mode.
   */
  action(host: ReplCommandHost, rest: string, typed: string): 'prompt' | 'busy';
}

export const replCommands: Readonly<Record<string, ReplCommand>> = {
  break: {
    help: 'Sometimes you get stuck, this gets you out',
    action: () => 'prompt',
  },
  clear: {
    help: "Break, and also forget this session's declarations and _",
    action(host) {
      host.clearContext();
      host.write('Clearing context...\n');
      return 'prompt';
    },
  },
  exit: {
    help: 'End this session (the app keeps running)',
    action(host) {
      host.end();
      return 'busy';
    },
  },
  'exit-app': {
    help: 'End the app itself with process.exit([code]) (default 0), after you confirm: process.exit() typed in a session is refused',
    action(host, rest, typed) {
      const code = exitCode(rest);
      if (code === undefined) {
        host.write('Usage: .exit-app [code]  (an exit code from 0 to 255; you are asked to confirm)\n');
        return 'prompt';
      }
      host.confirm(`End the app (pid ${process.pid}) with exit code ${code}? Its 'exit' listeners run, every session ends. Type yes to confirm: `, () => host.run({ kind: 'exit-app', exitCode: code }, typed));
      return 'busy';
    },
  },
  heap: {
    help: "The main thread's heap and its spaces now; .heap sample [seconds]: where allocations are made",
    action(host, rest, typed) {
      if (rest.trim() === '') {
        host.run({ kind: 'heap' }, typed);
        return 'busy';
      }
      return diagnose(host, 'heap', rest, typed, '.heap, or .heap sample [seconds]');
    },
  },
  help: {
    help: 'Print this help message',
    action(host) {
      host.write(helpText(host.locals));
      return 'prompt';
    },
  },
  inspect: {
    help: 'List a value one level deep, numbering its parts $1, $2... to go deeper: .inspect <expr> [depth]',
    action(host, rest, typed) {
      const parsed = /^(.*?)(?:\s+(\d+))?\s*$/s.exec(rest)!;
      const verdict = classifyInput(parsed[1] || '_');
      if (verdict.kind !== 'complete' || verdict.awaited) {
        host.write('Usage: .inspect <expression> [depth]  (an expression without await; `const v = await ...` first)\n');
        return 'prompt';
      }
      host.run({ kind: 'inspect', code: verdict.code, depth: Math.min(Number(parsed[2] ?? 1), 4) }, typed);
      return 'busy';
    },
  },
  locals: {
    help: 'The names the app provided, with a preview of each',
    action(host) {
      host.run({ kind: 'locals' }, '.locals');
      return 'busy';
    },
  },
  mode: {
    help: 'Switch to the JSON-lines protocol for tools: .mode json',
    action(host, rest) {
      if (rest.trim() !== 'json') {
        host.write('Usage: .mode json (one JSON object per line from now on; see the README)\n');
        return 'prompt';
      }
      host.jsonMode();
      return 'busy';
    },
  },
  profile: {
    help: "Profile the main thread's CPU for [seconds] (default 5, at most 60): top functions, hottest paths, and a file",
    action: (host, rest, typed) => diagnose(host, 'profile', rest, typed),
  },
  stack: {
    help: "The main thread's JavaScript stack now: it answers while the main thread is busy (from another session)",
    action: (host, rest, typed) => diagnose(host, 'stack', rest, typed),
  },
  stats: {
    help: "The app's health: event-loop delay and use, memory, resources, and the backdoor's cost",
    action(host) {
      host.run({ kind: 'stats' }, '.stats');
      return 'busy';
    },
  },
};

/** `.exit-app`'s argument: an exit code (0 when none), or undefined when it is not one. */
export function exitCode(rest: string): number | undefined {
  const text = rest.trim();
  if (text === '') return 0;
  return /^\d{1,3}$/.test(text) && Number(text) <= 255 ? Number(text) : undefined;
}

function diagnose(host: ReplCommandHost, name: string, rest: string, typed: string, otherwise = ''): 'prompt' | 'busy' {
  const command = diagnosisCommand(name, rest);
  if (!command || 'usage' in command) {
    host.write(`Usage: ${command?.usage ?? otherwise}\n`);
    return 'prompt';
  }
  host.diagnose(command.diagnose, typed);
  return 'busy';
}

/** `.help`: the commands, the keys, and the app's locals. */
export function helpText(locals: readonly string[]): string {
  const width = Math.max(...Object.keys(replCommands).map((name) => name.length)) + 5;
  const lines = Object.entries(replCommands).map(([name, command]) => `.${name}`.padEnd(width) + command.help);
  lines.push('', 'Press Ctrl+C to abort the current expression, Ctrl+D to end the session.');
  if (locals.length > 0) lines.push(`Names from the app: ${locals.join(', ')}`);
  return `${lines.join('\n')}\n`;
}
