/** The client with stdin not a terminal: lines in, results out, no banner, no prompts. */
import type { Socket } from 'node:net';
import { PipeFilter } from './output.ts';
import { readServerText } from './telnet-client.ts';

/** Resolves with the exit code once the server has closed the connection. */
export function runPiped(socket: Socket, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number> {
  const filter = new PipeFilter();
  const server = readServerText(socket, {}, (text) => output.write(filter.push(text)));
  // End of input half-closes: the server still answers what it received, then closes.
  input.pipe(socket);
  return new Promise((resolve) => {
    socket.on('close', () => {
      output.write(filter.push(server.rest()) + filter.end());
      resolve(0);
    });
  });
}
