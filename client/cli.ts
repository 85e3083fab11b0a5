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
 */
import net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { listDiscovered, processExists, sanitize } from '../common/discovery.ts';
import { formatAddress, type BackdoorAddress } from '../common/address.ts';
import { attach } from './attach.ts';
import { runInteractive } from './interactive.ts';
import { runDiagnosis, runEval, runJson } from './json.ts';
import { runPiped } from './pipe.ts';
import { describeProcess, resolveTarget } from './target.ts';
import { readTokenHidden, serverAdmits, serverAsksToken } from './token.ts';

/** Connections made, at most, when the server pushes one out before it has given the token. */
const MAX_ATTEMPTS = 5;

const usage = `usage: backdoor <port | host:port | /path/to.sock | pid>   connect to a backdoor
       backdoor ls                                        list the backdoors on this machine

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
  --json            the JSON-lines protocol on stdin and stdout (see the README)
  --signal <name>   the start signal to send to a pid (default SIGUSR1)
  --timeout <ms>    how long to wait for a signalled process (default 5000)
  -h, --help        this text

environment:
  BACKDOOR_TOKEN    the backdoor's token, sent only if the server asks for one (else
                    asked for at a terminal, without echo, and never kept in history)
  BACKDOOR_DIR      the rendezvous directory (as for the app)
  BACKDOOR_HISTORY  history file (default ~/.backdoor_history, mode 0600; empty for none)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(usage);
    return values.help ? 0 : 2;
  }
  const [argument] = positionals;
  if (argument === 'ls' && !values.pid && !values.port) return list();
  const timeout = Number(values.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0) return fail(`--timeout must be a number of milliseconds. Received '${sanitize(values.timeout)}'`);
  if (values.pid && values.port) return fail('--pid and --port say opposite things: give one');
  const oneShots = [values.eval !== undefined, values.stack, values.profile !== undefined, values.json].filter(Boolean).length;
  if (oneShots > 1) return fail('--eval, --stack, --profile and --json each say what to do: give one');
  if (values.profile !== undefined && !/^\d+(\.\d+)?$/.test(values.profile)) return fail(`--profile takes a number of seconds. Received '${sanitize(values.profile)}'`);

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
  let socket: net.Socket;
  let token: string | undefined;
  // A connection pushed out while it was giving the token (a flood of connections that never
  // give one fills the server's pool) is made again, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      socket = await connect(address);
    } catch (error) {
      const why = `cannot connect to ${formatAddress(address)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      // `backdoor 1234` where 1234 is a process, not a port: say what is wrong with the process.
      const number = Number(argument);
      return fail(Number.isInteger(number) && 'port' in address && processExists(number) ? `${why}; and ${describeProcess(number)}` : why);
    }
    socket.on('error', (error) => process.stderr.write(`backdoor: ${error.message}\n`));
    // The token goes only to a server that asks for it: never to one that would run it as
    // code, nor to one that merely greets.
    if (!(await serverAsksToken(socket))) break;
    if (token === undefined) {
      token = process.env.BACKDOOR_TOKEN || undefined;
      if (!token && interactive && oneShots === 0) {
        try {
          token = await readTokenHidden();
        } catch (error) {
          socket.destroy();
          return fail((error as Error).message);
        }
      }
      if (!token) {
        socket.destroy();
        return fail('the backdoor asks for a token: set BACKDOOR_TOKEN');
      }
    }
    socket.write(`${token}\n`);
    if ((await serverAdmits(socket)) !== 'pushed out' || attempt === MAX_ATTEMPTS) break;
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }

  // What was read to see whether the server asks for the token waits in the paused socket for
  // the mode to read it: started, then resumed.
  const session = runMode(socket, values, interactive, Boolean(token));
  socket.resume();
  return session;
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

function connect(address: BackdoorAddress): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = 'path' in address ? net.connect({ path: address.path }) : net.connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function list(): number {
  let found;
  try {
    found = listDiscovered();
  } catch (error) {
    return fail((error as Error).message);
  }
  if (found.length === 0) {
    process.stdout.write('no backdoors are listening on this machine\n');
    return 0;
  }
  // What the files say is shown, never obeyed: no escape sequence of theirs reaches the terminal.
  const rows = found.map((entry) => [String(entry.pid), sanitize(formatAddress(entry.address)), age(String(entry.startedAt)), sanitize(entry.title)]);
  const widths = [3, 7, 3].map((min, column) => Math.max(min, ...rows.map((row) => row[column].length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i < widths.length ? cell.padEnd(widths[i]) : cell)).join('  ');
  process.stdout.write(`${[line(['PID', 'ADDRESS', 'AGE', 'TITLE']), ...rows.map(line)].join('\n')}\n`);
  return 0;
}

function age(startedAt: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor(seconds / 60) % 60).padStart(2, '0')}m`;
}

function fail(reason: string): number {
  process.stderr.write(`backdoor: ${reason}\n`);
  return 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.exitCode = fail(error.message);
  },
);
