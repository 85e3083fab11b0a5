#!/usr/bin/env node
/**
 * The `backdoor` client.
 *
 *   backdoor 3000 | host:port | /path/to.sock | <pid>    connect (attach by signal to a pid)
 *   backdoor ls                                          list the backdoors on this machine
 *   backdoor --eval 'expr' <target>                      one value, exit code 0 or 1
 *   backdoor --json <target>                             JSON lines on stdin and stdout
 */
import net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { listDiscovered, processExists } from '../lib/discovery.ts';
import { formatAddress, type BackdoorAddress } from '../lib/protocol.ts';
import { attach } from './attach.ts';
import { runInteractive } from './interactive.ts';
import { runEval, runJson } from './json.ts';
import { runPiped } from './pipe.ts';
import { describeProcess, resolveTarget } from './target.ts';

const usage = `usage: backdoor <port | host:port | /path/to.sock | pid>   connect to a backdoor
       backdoor ls                                        list the backdoors on this machine

  A pid whose process has no backdoor running but opted in (--import backdoor/register,
  or installSignalHandlers) is sent its start signal first.

options:
  --eval <code>     run one input, print its value, exit 0 (or 1 if it threw)
  --json            the JSON-lines protocol on stdin and stdout (see the README)
  --signal <name>   the start signal to send to a pid (default: the one it registered)
  --timeout <ms>    how long to wait for a signalled process (default 5000)
  -h, --help        this text

environment:
  BACKDOOR_TOKEN    the backdoor's token, sent when connecting
  BACKDOOR_HISTORY  history file (default ~/.backdoor_history, mode 0600; empty for none)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      signal: { type: 'string' },
      eval: { type: 'string' },
      json: { type: 'boolean', default: false },
      timeout: { type: 'string', default: '5000' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length !== 1) {
    (values.help ? process.stdout : process.stderr).write(usage);
    return values.help ? 0 : 2;
  }
  const [argument] = positionals;
  if (argument === 'ls') return list();

  const target = resolveTarget(argument);
  if (target.kind === 'error') return fail(target.reason);
  let address: BackdoorAddress;
  if (target.kind === 'attach') {
    try {
      address = await attach(target.pid, values.signal ?? target.signal, Number(values.timeout));
    } catch (error) {
      return fail((error as Error).message);
    }
  } else {
    address = target.address;
  }

  let socket: net.Socket;
  try {
    socket = await connect(address);
  } catch (error) {
    const why = `cannot connect to ${formatAddress(address)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    // `backdoor 1234` where 1234 is a process, not a port: say what is wrong with the process.
    const number = Number(argument);
    return fail(Number.isInteger(number) && 'port' in address && processExists(number) ? `${why}; and ${describeProcess(number)}` : why);
  }
  socket.on('error', (error) => process.stderr.write(`backdoor: ${error.message}\n`));
  // A backdoor with a token asks for it first; a wrong one gets nothing but the question.
  const token = process.env.BACKDOOR_TOKEN;
  if (token) socket.write(`${token}\n`);

  if (values.eval !== undefined) return runEval(socket, values.eval, process.stdout, process.stderr);
  if (values.json) return runJson(socket, process.stdin, process.stdout);
  if (process.stdin.isTTY && process.stdout.isTTY) {
    const historyFile = process.env.BACKDOOR_HISTORY ?? join(homedir(), '.backdoor_history');
    return runInteractive(socket, { historyFile: historyFile === '' ? undefined : historyFile, tokenSent: Boolean(token) });
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
  const found = listDiscovered();
  if (found.length === 0) {
    process.stdout.write('no backdoors are listening on this machine\n');
    return 0;
  }
  const rows = found.map((entry) => [String(entry.pid), formatAddress(entry.address), age(entry.startedAt), entry.title]);
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
