/** The client's JSON modes: `--json` (a JSON-lines pipe for tools) and `--eval` (one expression). */
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { readServerText } from './telnet-client.ts';

/** Lines the server sends from its `mode` line on (earlier output, the banner, is skipped). */
function jsonLines(socket: Socket, onLine: (line: string) => void): void {
  let started = false;
  let buffer = '';
  readServerText(socket, {}, (text) => {
    buffer += text;
    for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (!started) {
        const at = line.indexOf('{"tag":"mode"');
        if (at === -1) continue;
        started = true;
        onLine(line.slice(at));
      } else {
        onLine(line);
      }
    }
  });
  socket.write('.mode json\n');
}

/** `--json`: stdin's lines go to the server as they are, the server's JSON lines to stdout. */
export function runJson(socket: Socket, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number> {
  jsonLines(socket, (line) => output.write(`${line}\n`));
  const lines = createInterface({ input, crlfDelay: Infinity });
  lines.on('line', (line) => socket.write(`${line}\n`));
  lines.on('close', () => socket.end());
  return new Promise((resolve) => socket.on('close', () => resolve(0)));
}

/** A message of the JSON mode, as the one-shots read it. */
export interface JsonMessage {
  tag?: string;
  id?: unknown;
  op?: string;
  status?: string;
  code?: string;
  ok?: boolean;
  text?: string;
  inspect?: string;
  message?: string;
  reason?: string;
  val?: unknown;
  ms?: number;
  idle?: boolean;
  frames?: unknown[];
  file?: string;
}

/**
 * Sends one input of the JSON mode (`input`, with id 1); `onMessage` reads what comes back
 * (`err` messages too) and returns the exit code it means, if it decides one. The connection
 * is closed once the input is answered (not half-closed before: a session whose client closed
 * its side stops a profile it runs). Resolves, once closed, with the last code decided (1 if
 * none: nothing answered).
 */
export function oneInput(socket: Socket, input: object, onMessage: (message: JsonMessage) => number | undefined): Promise<number> {
  return new Promise((resolve) => {
    let code = 1;
    jsonLines(socket, (line) => {
      let message: JsonMessage;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      if (message.tag === 'mode') return void socket.write(`${JSON.stringify({ id: 1, ...input })}\n`);
      code = onMessage(message) ?? code;
      if ((message.tag === 'ret' || message.tag === 'err') && message.id === 1) socket.end();
    });
    socket.on('close', () => resolve(code));
  });
}

/**
 * `--stack`, `--profile <seconds>`: runs one diagnosis (a `command` of the JSON mode), prints
 * its text, and exits 0, or 1 when it could not run.
 */
export function runDiagnosis(socket: Socket, command: string, output: NodeJS.WritableStream, errors: NodeJS.WritableStream): Promise<number> {
  return oneInput(socket, { command }, (message) => {
    if (message.tag === 'err') return void errors.write(`backdoor: ${message.message}\n`);
    if (message.tag === 'wait') return void errors.write(`(waiting ${((message.ms ?? 0) / 1000).toFixed(1)} s: ${message.reason})\n`);
    if (message.tag !== 'ret' || message.id !== 1 || typeof message.text !== 'string') return undefined;
    (message.ok ? output : errors).write(`${message.text}\n`);
    return message.ok ? 0 : 1;
  });
}

/**
 * `--eval <code>`: runs one input, prints its console output and its value as Node's REPL
 * prints it, and exits 0, or 1 when it threw (the error on stderr) or could not run.
 */
export function runEval(socket: Socket, code: string, output: NodeJS.WritableStream, errors: NodeJS.WritableStream): Promise<number> {
  return oneInput(socket, { code }, (message) => {
    if (message.tag === 'err') return void errors.write(`backdoor: ${message.message}\n`);
    if (message.tag === 'wait') return void errors.write(`(waiting ${((message.ms ?? 0) / 1000).toFixed(1)} s: ${message.reason})\n`);
    if (message.tag === 'out') output.write(message.text ?? '');
    if (message.tag !== 'ret') return undefined;
    (message.ok ? output : errors).write(`${message.inspect}\n`);
    return message.ok ? 0 : 1;
  });
}
