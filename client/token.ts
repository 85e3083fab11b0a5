/**
 * The token, sent only to a server that asks for it (`Token: `, before anything else), and
 * never echoed nor kept in history when a person types it.
 */
import type { Socket } from 'node:net';

const QUESTION = 'Token: ';

/**
 * Reads the server's first words and tells whether they are the token question. Telnet
 * negotiation around them is skipped; everything read is given back to the socket, for the
 * session to read as it would have. False when the server says anything else first, or nothing
 * within `timeoutMs`.
 */
export function serverAsksToken(socket: Socket, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (asks: boolean) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (chunks.length > 0) socket.unshift(Buffer.concat(chunks));
      resolve(asks);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const text = withoutTelnet(Buffer.concat(chunks).toString('latin1'));
      if (text === QUESTION) finish(true);
      else if (text !== '' && !QUESTION.startsWith(text)) finish(false);
    };
    const onClose = () => finish(false);
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** The text of a stream with its telnet commands (IAC ...) taken out. */
function withoutTelnet(data: string): string {
  return data.replace(/\xff\xfa[^]*?\xff\xf0|\xff[\xfb-\xfe][^]|\xff[\xf0-\xfa\xff]/g, (command) => (command === '\xff\xff' ? '\xff' : ''));
}

/** Asks a person at a terminal for the token without echoing it. Rejects on Ctrl-C or Ctrl-D. */
export function readTokenHidden(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stdout): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(QUESTION);
    let typed = '';
    const done = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return done();
        if (char === '\u0003' || char === '\u0004') return done(new Error('no token given'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else if (char >= ' ') typed += char;
      }
    };
    input.setRawMode(true);
    input.on('data', onData);
    input.resume();
  });
}
