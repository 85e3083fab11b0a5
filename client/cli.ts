#!/usr/bin/env node
/**
 * The `backdoor` client.
 *
 *   backdoor 3000 | host:port | /path/to.sock | <pid>    connect (attach by signal to a pid)
 *   backdoor --pid N | --port N                          the same, saying what N is
 *   backdoor ls                                          list the backdoors on this machine
 *   backdoor --eval 'expr' <target>                      one value, exit code 0 or 1
 *   backdoor --stack <target>                            the main thread's stack now
 *   backdoor --profile <seconds> <target>                a CPU profile of the main thread
 *   backdoor --json <target>                             JSON lines on stdin and stdout
 *   backdoor --all --eval 'expr' | --stack               one question to every backdoor here
 */
import type net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { processExists, readRendezvous, sanitize } from '../common/discovery.ts';
import { formatAddress, type BackdoorAddress } from '../common/address.ts';
import { askAll } from './all.ts';
import { attach } from './attach.ts';
import { runInteractive } from './interactive.ts';
import { runDiagnosis, runEval, runJson } from './json.ts';
import { runPiped } from './pipe.ts';
import { commandLine } from './process-info.ts';
import { describeProcess, resolveTarget } from './target.ts';
import { openSession } from './open-session.ts';
import { readTokenHidden } from './token.ts';

const usage = `usage: backdoor <port | host:port | /path/to.sock | pid>   connect to a backdoor
       backdoor ls                                        list the backdoors on this machine
       backdoor --all (--eval <code> | --stack | --profile <s>)
                                                          ask every backdoor on this machine

  A pid whose process has no backdoor running but opted in (--import backdoor/register,
  or installSignalHandlers) is sent SIGUSR1 first (or --signal). Only your own processes, and
  files in your own rendezvous directory (BACKDOOR_DIR, else <tmpdir>/backdoor-<uid>), count.

options:
  --pid             the argument is a pid
  --port            the argument is a loopback port
  --eval <code>     run one input, print its value, exit 0 (or 1 if it threw)
  --stack           print the main thread's JavaScript stack now (also while it is busy)
  --profile <s>     profile the main thread's CPU for s seconds (at most 60), print the
                    top functions and the file that holds the whole profile
  --json            the JSON-lines protocol on stdin and stdout (docs/json-protocol.md)
  --signal <name>   the start signal to send to a pid (default SIGUSR1)
  --timeout <ms>    how long to wait for a signalled process, for a server's first
                    words, or with --all for each process's answer (default 5000)

  --all             ask every backdoor of yours on this machine, in parallel: a table
                    (pid, title, ms, value or error) sorted by pid, or with --json one
                    JSON line per process; exit 1 if any failed or timed out
  --title <regex>   with --all: only processes whose command line matches
  --ppid <pid>      with --all: only children of this process (a cluster primary, PM2)
  --start           with --all: also processes that opted in without a backdoor
                    listening: started by signal, asked, and closed again (SIGUSR2)
  -h, --help        this text

environment:
  BACKDOOR_TOKEN    the backdoor's token, sent only if the server asks for one (else
                    asked for at a terminal, without echo, and never kept in history)
  BACKDOOR_DIR      the rendezvous directory (as for the app)
  BACKDOOR_HISTORY  history file (default ~/.backdoor_history, mode 0600; empty for none)
`;

/** Usage errors (a bad option or argument) exit 2, as with most commands; a failure to do what was asked, 1. */
const USAGE = 2;

async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return fail((error as Error).message, USAGE);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length !== (values.all ? 0 : 1)) {
    if (values.all && !values.help) return fail('--all asks every backdoor on this machine: give no target', USAGE);
    (values.help ? process.stdout : process.stderr).write(usage);
    return values.help ? 0 : USAGE;
  }
  const timeout = Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) return fail(`--timeout must be a number of milliseconds. Received '${sanitize(values.timeout)}'`, USAGE);
  if (values.profile !== undefined && !/^\d+(\.\d+)?$/.test(values.profile)) return fail(`--profile takes a number of seconds. Received '${sanitize(values.profile)}'`, USAGE);
  if (values.all) return all(values, timeout);
  if (values.start || values.title !== undefined || values.ppid !== undefined) return fail('--start, --title and --ppid choose processes for --all', USAGE);
  const [argument] = positionals as [string];
  if (argument === 'ls' && !values.pid && !values.port) return list();
  if (values.pid && values.port) return fail('--pid and --port say opposite things: give one', USAGE);
  const oneShots = [values.eval !== undefined, values.stack, values.profile !== undefined, values.json].filter(Boolean).length;
  if (oneShots > 1) return fail('--eval, --stack, --profile and --json each say what to do: give one', USAGE);
  return run(values, argument, timeout, oneShots);
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      signal: { type: 'string' },
      eval: { type: 'string' },
      stack: { type: 'boolean', default: false },
      profile: { type: 'string' },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5000' },
      pid: { type: 'boolean', default: false },
      port: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
      start: { type: 'boolean', default: false },
      title: { type: 'string' },
      ppid: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
}

type Values = ReturnType<typeof parse>['values'];

/** Connects to the one target and does what the options ask. */
async function run(values: Values, argument: string, timeout: number, oneShots: number): Promise<number> {
  const target = await resolveTarget(argument, values.pid ? 'pid' : values.port ? 'port' : undefined);
  if (target.kind === 'error') return fail(target.reason);
  let address: BackdoorAddress;
  if (target.kind === 'attach') {
    try {
      address = await attach(target.pid, target.registeredSignal, values.signal, timeout);
    } catch (error) {
      return fail((error as Error).message);
    }
  } else {
    address = target.address;
  }

  const interactive = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const opened = await openSession(address, {
    timeoutMs: timeout,
    // At a terminal, with nothing to tell, the client asks the person (without echo).
    token: async () => process.env.BACKDOOR_TOKEN || (interactive && oneShots === 0 ? readTokenHidden() : undefined),
    askAgain:
      interactive && oneShots === 0
        ? async () => {
            process.stdout.write('Wrong token.\n');
            return readTokenHidden();
          }
        : undefined,
  });
  if (!opened.ok) {
    // `backdoor 1234` where 1234 is a process, not a port: say what is wrong with the process.
    const number = Number(argument);
    return fail(opened.connectError && Number.isInteger(number) && 'port' in address && processExists(number) ? `${opened.reason}; and ${describeProcess(number)}` : opened.reason);
  }
  const { socket, tokenSent } = opened;
  socket.on('error', (error) => process.stderr.write(`backdoor: ${error.message}\n`));
  // What was read to see whether the server asks for the token waits in the paused socket for
  // the mode to read it: started, then resumed.
  const session = runMode(socket, values, interactive, tokenSent);
  socket.resume();
  return session;
}

/** `--all`: the question, the filters, then every matching process asked. */
function all(values: { eval?: string; stack?: boolean; profile?: string; json?: boolean; title?: string; ppid?: string; start?: boolean; signal?: string; pid?: boolean; port?: boolean }, timeoutMs: number): Promise<number> | number {
  const questions = [values.eval !== undefined, values.stack, values.profile !== undefined].filter(Boolean).length;
  if (questions !== 1) return fail('--all asks one question: give --eval <code>, --stack or --profile <seconds>', 2);
  if (values.pid || values.port) return fail('--all asks every backdoor: --pid and --port name one', 2);
  let title: RegExp | undefined;
  try {
    title = values.title === undefined ? undefined : new RegExp(values.title);
  } catch (error) {
    return fail(`--title takes a regular expression: ${(error as Error).message}`, 2);
  }
  if (values.ppid !== undefined && !/^\d+$/.test(values.ppid)) return fail(`--ppid takes a pid. Received '${sanitize(values.ppid)}'`, 2);
  const question = values.eval !== undefined ? { code: values.eval } : { command: values.stack ? '.stack' : `.profile ${values.profile}` };
  return askAll(
    {
      question,
      json: values.json === true,
      title,
      ppid: values.ppid === undefined ? undefined : Number(values.ppid),
      start: values.start === true,
      signal: values.signal,
      timeoutMs,
      token: process.env.BACKDOOR_TOKEN || undefined,
    },
    process.stdout,
    process.stderr,
  );
}

function runMode(socket: net.Socket, values: { eval?: string; json?: boolean; stack?: boolean; profile?: string }, interactive: boolean, tokenSent: boolean): Promise<number> {
  if (values.eval !== undefined) return runEval(socket, values.eval, process.stdout, process.stderr);
  if (values.stack) return runDiagnosis(socket, '.stack', process.stdout, process.stderr);
  if (values.profile !== undefined) return runDiagnosis(socket, `.profile ${values.profile}`, process.stdout, process.stderr);
  if (values.json) return runJson(socket, process.stdin, process.stdout);
  if (interactive) {
    const historyFile = process.env.BACKDOOR_HISTORY ?? join(homedir(), '.backdoor_history');
    return runInteractive(socket, { historyFile: historyFile === '' ? undefined : historyFile, tokenSent });
  }
  return runPiped(socket, process.stdin, process.stdout);
}

function list(): number {
  const { listening: found, optedIn, problems } = readRendezvous();
  // Never a silent empty list: a directory another user made first is named, with the fix.
  for (const problem of problems) fail(problem);
  if (found.length === 0 && optedIn.length === 0) {
    process.stdout.write('no backdoors are listening on this machine, and no process has opted in\n');
    return problems.length > 0 ? 1 : 0;
  }
  // What the files say is shown, never obeyed: no escape sequence of theirs reaches the terminal.
  // The title is the command line, as --all shows it (the file's is the title when it was written).
  const title = (pid: number, written = '') => sanitize(commandLine(pid) ?? written);
  const rows = [
    ...found.map((entry) => [String(entry.pid), sanitize(formatAddress(entry.address)), age(String(entry.startedAt)), title(entry.pid, entry.title)]),
    ...optedIn.map((ready) => [String(ready.pid), `not started (${sanitize(ready.startSignal)} starts it)`, '-', title(ready.pid)]),
  ].sort((a, b) => Number(a[0]) - Number(b[0]));
  const widths = [3, 7, 3].map((min, column) => Math.max(min, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < widths.length ? cell.padEnd(widths[i]) : cell)).join('  ');
  process.stdout.write(`${[line(['PID', 'ADDRESS', 'AGE', 'TITLE']), ...rows.map(line)].join('\n')}\n`);
  if (optedIn.length > 0) process.stdout.write('(`backdoor <pid>` starts one that has not started, and connects to it)\n');
  return 0;
}

function age(startedAt: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}m`;
}

function fail(reason: string, code = 1): number {
  process.stderr.write(`backdoor: ${reason}\n`);
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.exitCode = fail(error.message);
  },
);
