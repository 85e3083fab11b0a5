/** The client with stdin not a terminal: lines in, results out, no banner, no prompts. */
import type { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { PipeFilter } from './output.ts';
import { ClientTelnet } from './telnet-client.ts';

/** Resolves with the exit code once the server has closed the connection. */
export function runPiped(socket: Socket, input: NodeJS.ReadableStream, output: NodeJS.WritableStream): Promise<number> {
  const decoder = new StringDecoder('utf8');
  const filter = new PipeFilter();
  const telnet = new ClientTelnet(undefined);
  socket.on('data', (chunk: Buffer) => {
    const { data, answer } = telnet.push(chunk);
    if (answer.length > 0 && !socket.writableEnded) socket.write(answer); // (after our end, no answer is needed)
    output.write(filter.push(decoder.write(data)));
  });
  // End of input half-closes: the server still answers what it received, then closes.
  input.pipe(socket);
  return new Promise((resolve) => {
    socket.on('close', () => {
      output.write(filter.push(decoder.end()) + filter.end());
      resolve(0);
    });
  });
}
