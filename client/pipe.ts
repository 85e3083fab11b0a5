/** The client with stdin not a terminal: lines in, results out, no banner, no prompts. */
import type { Socket } from 'node:net';
import { PipeFilter } from './output.ts';
import { readServerText } from './telnet-client.ts';

/**
 * Resolves with the exit code once the server has closed the connection. The end of input
 * half-closes only once every line sent has been answered with its prompt: a half-close while
 * a profile runs would stop it (a client that closes its side has left). What only says why a
 * command waits goes to `notices` (stderr).
 */
export function runPiped(socket: Socket, input: NodeJS.ReadableStream, output: NodeJS.WritableStream, notices: NodeJS.WritableStream = process.stderr): Promise<number> {
  const filter = new PipeFilter((line) => notices.write(line));
  let lines = 0;
  let lastChunk = '';
  let inputEnded = false;
  const maybeEnd = () => {
    // The banner's prompt, and one for each line.
    if (inputEnded && filter.prompts >= lines + 1 && !socket.writableEnded) socket.end();
  };
  const server = readServerText(socket, {}, (text) => {
    output.write(filter.push(text));
    maybeEnd();
  });
  input.on('data', (chunk: Buffer | string) => {
    const text = String(chunk);
    lines += text.split('\n').length - 1;
    lastChunk = text;
    if (!socket.write(chunk)) input.pause();
  });
  socket.on('drain', () => input.resume());
  input.on('end', () => {
    inputEnded = true;
    // A last line without its newline is a line: sent whole, so that it is answered.
    if (lastChunk !== '' && !lastChunk.endsWith('\n')) {
      socket.write('\n');
      lines++;
    }
    maybeEnd();
  });
  return new Promise((resolve) => {
    socket.on('close', () => {
      output.write(filter.push(server.rest()) + filter.end());
      resolve(0);
    });
  });
}
