/**
 * The token, sent only to a server that asks for it (`Token: `, before anything else), and
 * never echoed nor kept in history when a person types it.
 */
import type { Socket } from 'node:net';

const QUESTION = 'Token: ';

/** What a server said first: the token question, our banner (or a refusal of ours), or anything else. */
export type Greeting = { kind: 'token' } | { kind: 'ours' } | { kind: 'other'; said: string; closed: boolean };

/** How long a server may take to say its first words: a backdoor's worker says them on accepting. */
export const GREETING_MS = 5000;

/**
 * Reads the server's first words: the token question, or our banner (`backdoor: `); anything
 * else (an HTTP server answers nothing until asked, an SSH server says its version) is not a
 * backdoor, and the client says so rather than print it. Telnet negotiation around them is
 * skipped; everything read is given back to the socket, for the session to read as it would have.
 */
export function serverGreets(socket: Socket, timeoutMs = GREETING_MS): Promise<Greeting> {
  let heard = '';
  return readUntil<Greeting | 'closed' | 'silent'>(
    socket,
    (text) => {
      heard = text;
      if (text === QUESTION) return { kind: 'token' };
      if (text.startsWith(OURS)) return { kind: 'ours' };
      if (QUESTION.startsWith(text) || OURS.startsWith(text)) return undefined;
      return { kind: 'other', said: text, closed: false };
    },
    'closed',
    timeoutMs,
    'silent',
  ).then((greeting) => (typeof greeting === 'object' ? greeting : { kind: 'other', said: heard, closed: greeting === 'closed' }));
}

/** How the banner, and the server's refusals before it, begin. */
const OURS = 'backdoor: ';

/**
 * After the token was sent: whether the server let the connection in (its banner or a prompt
 * follows), found it wrong and asks again, refused it (a wrong token for the last time, no free
 * session), or pushed it out first (too many connections waiting for the token, or the
 * connection closed). What is read is given back.
 */
export function serverAdmits(socket: Socket, timeoutMs = 5000): Promise<'in' | 'wrong' | 'refused' | 'pushed out'> {
  return readUntil<'in' | 'wrong' | 'refused' | 'pushed out'>(
    socket,
    (text) => {
      const after = text.startsWith(QUESTION) ? text.slice(QUESTION.length) : text;
      if (after.includes('Too many connections are waiting')) return 'pushed out';
      // A wrong token that may be given again: the server asks anew.
      if (/Wrong token\.\nToken: $/.test(after)) return 'wrong';
      if (/Wrong token|too many sessions/.test(after)) return 'refused';
      if (/backdoor: |> $/.test(after)) return 'in';
      return undefined;
    },
    'pushed out',
    timeoutMs,
    'in',
  );
}

/**
 * Reads until `decide` says something of the text so far (telnet commands taken out), then
 * gives everything read back to the socket, paused, for whoever reads it next.
 */
function readUntil<T>(socket: Socket, decide: (text: string) => T | undefined, onClose: T, timeoutMs: number, onTimeout: T = onClose): Promise<T> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (answer: T) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onEnd);
      socket.pause();
      if (chunks.length > 0) socket.unshift(Buffer.concat(chunks));
      resolve(answer);
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const answer = decide(withoutTelnet(Buffer.concat(chunks).toString('latin1')));
      if (answer !== undefined) finish(answer);
    };
    const onEnd = () => finish(onClose);
    const timer = setTimeout(() => finish(onTimeout), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onEnd);
    socket.resume();
  });
}

/**
 * The text of a stream with its telnet commands (IAC ...) taken out, and a command cut off at the
 * end (the rest in the next chunk) too.
 */
function withoutTelnet(data: string): string {
  return data.replace(/\xff\xfa[^]*?\xff\xf0|\xff[\xfb-\xfe][^]|\xff[\xf0-\xfa\xff]/g, (command) => (command === '\xff\xff' ? '\xff' : '')).replace(/\xff(\xfa[^]*|[\xfb-\xfe])?$/, '');
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
