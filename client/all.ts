/**
 * `backdoor --all`: one question (an input, or a diagnosis such as `.stack`) to every backdoor
 * of this user on this machine, in parallel, each bounded in time, as Erlang's `rpc:multicall`
 * asks every node. Only what the rendezvous directory says of the user's own processes is
 * believed (see common/discovery.ts). A process that opted in without a backdoor listening is
 * started only with `--start`, and closed again once it has answered.
 */
import type { Socket } from 'node:net';
import { readDiscovered, readRendezvous, sanitize, type Ready } from '../common/discovery.ts';
import type { BackdoorAddress } from '../common/address.ts';
import { padToWidth, visibleWidth } from '../common/ansi.ts';
import { attach } from './attach.ts';
import { oneInput, type JsonMessage } from './json.ts';
import { openSession } from './open-session.ts';
import { commandLine, parentPid, shortTitle } from './process-info.ts';

/** The question: an input of code, or a diagnosis command (`.stack`, `.profile 5`). */
export type Question = { code: string } | { command: string };

export interface AllOptions {
  question: Question;
  /** One JSON line per process instead of a table. */
  json: boolean;
  /** Only processes whose command line matches. */
  title?: RegExp;
  /** Only children of this process. */
  ppid?: number;
  /** Start (and close again) the backdoors of processes that opted in without one listening. */
  start: boolean;
  /** The start signal to send with `start` (default SIGUSR1). */
  signal?: string;
  /** Each process's whole time: connecting, starting it, its answer. */
  timeoutMs: number;
  token: string | undefined;
}

/** One process's answer, as printed. */
export interface Answer {
  pid: number;
  title: string;
  ok: boolean;
  ms: number;
  /** The value as Node's REPL prints it, or the error it threw (`Uncaught ...`). */
  inspect?: string;
  /** The value as superjson's `{ json, meta }`, when it is small and plain enough. */
  val?: unknown;
  /** Console output of the input. */
  out?: string;
  /** A diagnosis's text, and its details. */
  text?: string;
  frames?: unknown[];
  idle?: boolean;
  file?: string;
  /** Why the process could not be asked, or did not answer in time. */
  error?: string;
}

/** The stop signal `--start` sends; a process that stops on another is not started. */
const STOP_SIGNAL = 'SIGUSR2';
/** How long a process started with `--start` is given to close again. */
const CLOSE_WAIT_MS = 2000;

interface Target {
  pid: number;
  title: string;
  /** Listening there; undefined for a process to start first. */
  address?: BackdoorAddress;
  ready?: Ready;
}

/** Asks every matching process and prints the answers by pid. Resolves with the exit code. */
export async function askAll(options: AllOptions, output: NodeJS.WritableStream, errors: NodeJS.WritableStream): Promise<number> {
  const rendezvous = readRendezvous();
  for (const problem of rendezvous.problems) errors.write(`backdoor: ${problem}\n`);
  const matches = (target: Target) => target.pid !== process.pid && (options.ppid === undefined || parentPid(target.pid) === options.ppid) && (options.title === undefined || options.title.test(target.title));
  const listening: Target[] = rendezvous.listening.map((entry) => ({ pid: entry.pid, title: commandLine(entry.pid) ?? entry.title, address: entry.address }));
  const optedIn: Target[] = rendezvous.optedIn.map((ready) => ({ pid: ready.pid, title: commandLine(ready.pid) ?? '', ready }));
  const targets = [...listening, ...(options.start ? optedIn : [])].filter(matches).sort((a, b) => a.pid - b.pid);
  const notStarted = options.start ? [] : optedIn.filter(matches);

  const answers = await Promise.all(targets.map((target) => ask(target, options)));
  if (options.json) {
    for (const answer of answers) output.write(`${JSON.stringify(answer)}\n`);
  } else if ('command' in options.question) {
    for (const answer of answers) output.write(`${diagnosisBlock(answer)}\n`);
  } else if (answers.length > 0) {
    output.write(table(answers));
  }
  if (notStarted.length > 0) {
    const pids = notStarted.map((target) => target.pid).join(', ');
    errors.write(
      `backdoor: ${notStarted.length === 1 ? 'process' : 'processes'} ${pids} opted in but ${notStarted.length === 1 ? 'has' : 'have'} no backdoor listening: --start asks ${notStarted.length === 1 ? 'it' : 'them'} too (and closes ${notStarted.length === 1 ? 'it' : 'them'} again)\n`,
    );
  }
  if (answers.length === 0) {
    errors.write(`backdoor: no backdoor of yours ${options.title || options.ppid !== undefined ? 'matches' : 'is listening on this machine'}\n`);
    return 1;
  }
  return answers.every((answer) => answer.ok) ? 0 : 1;
}

/** One process: started if need be, asked, closed again if it was started; within the timeout. */
async function ask(target: Target, options: AllOptions): Promise<Answer> {
  const started = performance.now();
  const deadline = Date.now() + options.timeoutMs;
  const answer: Answer = { pid: target.pid, title: target.title, ok: false, ms: 0 };
  let socket: Socket | undefined;
  let timedOut = false;
  let weStarted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    socket?.destroy();
  }, options.timeoutMs);
  try {
    let address = target.address;
    if (!address) {
      const { startSignal, stopSignal } = target.ready!;
      if (stopSignal !== STOP_SIGNAL) throw new Error(`it closes its backdoor on ${sanitize(stopSignal)}, not ${STOP_SIGNAL}: ask it alone (backdoor --signal ${sanitize(startSignal)} ${target.pid})`);
      weStarted = true;
      address = await attach(target.pid, sanitize(startSignal), options.signal, Math.max(1, deadline - Date.now()));
    }
    if (timedOut) throw new Error('timed out');
    const opened = await openSession(address, { token: async () => options.token, timeoutMs: Math.max(1, deadline - Date.now()) });
    if (!opened.ok) throw new Error(opened.reason);
    socket = opened.socket;
    if (timedOut) socket.destroy();
    const asked = oneInput(socket, options.question, (message) => record(answer, message));
    socket.resume();
    await asked;
    if (timedOut) throw new Error('timed out');
    if (answer.inspect === undefined && answer.text === undefined && answer.error === undefined) answer.error = 'the connection closed without an answer';
  } catch (error) {
    answer.ok = false;
    answer.error = timedOut ? `timed out after ${options.timeoutMs} ms` : (error as Error).message;
  } finally {
    clearTimeout(timer);
    socket?.destroy();
    if (weStarted) await closeAgain(target.pid, answer);
  }
  answer.ms = Math.round((performance.now() - started) * 10) / 10;
  return answer;
}

/** A message of the JSON mode, into the answer. */
function record(answer: Answer, message: JsonMessage): undefined {
  if (message.tag === 'err') answer.error = message.message ?? 'refused';
  else if (message.tag === 'out' && message.id === 1) answer.out = (answer.out ?? '') + (message.text ?? '');
  else if (message.tag === 'ret' && message.id === 1 && message.op === 'eval') {
    answer.ok = message.ok === true;
    answer.inspect = message.inspect;
    if (message.val !== undefined) answer.val = message.val;
  } else if (message.tag === 'ret' && message.id === 1) {
    // A diagnosis, or another op: its text, and its data.
    answer.ok = message.ok === true;
    answer.text = message.text;
    if (message.frames) answer.frames = message.frames;
    if (message.idle !== undefined) answer.idle = message.idle;
    if (message.file) answer.file = message.file;
  }
  return undefined;
}

/** A process `--start` started is closed again, and waited for; if it does not close, the answer says so. */
async function closeAgain(pid: number, answer: Answer): Promise<void> {
  try {
    process.kill(pid, STOP_SIGNAL);
  } catch {
    return; // gone
  }
  const until = Date.now() + CLOSE_WAIT_MS;
  while (readDiscovered(pid)) {
    if (Date.now() > until) {
      answer.ok = false;
      answer.error = `${answer.error ? `${answer.error}; ` : ''}its backdoor was still listening ${CLOSE_WAIT_MS / 1000} s after ${STOP_SIGNAL}`;
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const TITLE_WIDTH = 40;

/** PID, TITLE, MS, then the value or error (last: it may take several lines). */
function table(answers: Answer[]): string {
  const rows = answers.map((answer) => [String(answer.pid), shortTitle(sanitize(answer.title), TITLE_WIDTH), answer.ms.toFixed(1), answer.error !== undefined ? `error: ${answer.error}` : (answer.inspect ?? '')]);
  const widths = [3, 5, 2].map((min, column) => Math.max(min, ...rows.map((row) => visibleWidth(row[column]))));
  const indent = ' '.repeat(widths.reduce((sum, width) => sum + width + 2, 0));
  const line = (cells: string[]) => {
    const head = cells
      .slice(0, 3)
      .map((cell, i) => (i === 2 ? cell.padStart(widths[i]) : padToWidth(cell, widths[i])))
      .join('  ');
    return `${head}  ${cells[3].split('\n').join(`\n${indent}`)}`.trimEnd();
  };
  return `${[line(['PID', 'TITLE', 'MS', 'VALUE']), ...rows.map(line)].join('\n')}\n`;
}

/** A diagnosis, headed by its process. */
function diagnosisBlock(answer: Answer): string {
  const head = `== pid ${answer.pid}  ${shortTitle(sanitize(answer.title), 60)}  (${answer.ms.toFixed(1)} ms) ==`;
  return `${head}\n${answer.error !== undefined ? `error: ${answer.error}` : answer.text}\n`;
}
