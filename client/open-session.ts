/** Connecting to a backdoor and giving it the token if it asks: for every client mode. */
import net from 'node:net';
import { formatAddress, type BackdoorAddress } from '../common/address.ts';
import { sanitize } from '../common/discovery.ts';
import { GREETING_MS, serverAdmits, serverGreets } from './token.ts';

/** Connections made, at most, when the server pushes one out before it has given the token. */
const MAX_ATTEMPTS = 5;

export type Opened =
  /** Connected (and past the token, if one was asked for); the socket is paused. */
  | { ok: true; socket: net.Socket; tokenSent: boolean }
  /** `reason` in a sentence; `connectError` when not even the connection was made. */
  | { ok: false; reason: string; connectError?: boolean };

export interface OpenOptions {
  /** The token, asked for only when the server asks for one (undefined: none to give). */
  token: () => Promise<string | undefined>;
  /** Another try after a wrong token (at a terminal: asked without echo); none: give up. */
  askAgain?: () => Promise<string | undefined>;
  /** How long to wait for the server's first words, and for its verdict on the token. */
  timeoutMs?: number;
}

/**
 * Connects to `address`. The token goes only to a server that asks for it: never to one that
 * would run it as code, nor to one that merely greets. A connection pushed out while it was
 * giving the token (a flood of connections that never give one fills the server's pool) is
 * made again, a few times. What was read meanwhile waits in the paused socket.
 */
export async function openSession(address: BackdoorAddress, options: OpenOptions): Promise<Opened> {
  let token: string | undefined;
  for (let attempt = 1; ; attempt++) {
    let socket: net.Socket;
    try {
      socket = await connect(address);
    } catch (error) {
      return { ok: false, reason: `cannot connect to ${formatAddress(address)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, connectError: true };
    }
    socket.on('error', () => {}); // a reset is seen as the close that follows
    const greetingMs = options.timeoutMs ?? GREETING_MS;
    const greeting = await serverGreets(socket, greetingMs);
    if (greeting.kind === 'other') {
      socket.destroy();
      return { ok: false, reason: `${formatAddress(address)} is not a backdoor (${describeGreeting(greeting.said, greeting.closed, greetingMs)})` };
    }
    if (greeting.kind === 'ours') return { ok: true, socket, tokenSent: false };
    try {
      token ??= await options.token();
    } catch (error) {
      socket.destroy();
      return { ok: false, reason: (error as Error).message };
    }
    if (!token) {
      socket.destroy();
      return { ok: false, reason: 'the backdoor asks for a token: set BACKDOOR_TOKEN' };
    }
    socket.write(`${token}\n`);
    let verdict = await serverAdmits(socket, options.timeoutMs);
    // A wrong token: what the server said is dropped here, never shown as the session's text,
    // and another try is asked for without echo (the server's own question would echo it,
    // and the line would go to history), or the client gives up.
    while (verdict === 'wrong') {
      socket.read();
      const again = options.askAgain ? await options.askAgain().catch(() => undefined) : undefined;
      if (!again) {
        socket.destroy();
        return { ok: false, reason: 'the backdoor refused the token' };
      }
      socket.write(`${again}\n`);
      verdict = await serverAdmits(socket, options.timeoutMs);
    }
    if (verdict === 'refused') {
      const said = String(socket.read() ?? '')
        .replace(/^Token: /, '')
        .trim();
      socket.destroy();
      return { ok: false, reason: said.replace(/^backdoor: /, '').replace(/\s+/g, ' ') || 'the backdoor refused the connection' };
    }
    if (verdict !== 'pushed out' || attempt === MAX_ATTEMPTS) return { ok: true, socket, tokenSent: true };
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}

/** What a server that is not ours said first, on one line, shortened and made safe to print. */
function describeGreeting(said: string, closed: boolean, waitedMs: number): string {
  const first = said.trim().split(/\r?\n/)[0] ?? '';
  if (first === '') return closed ? 'it closed the connection without a word; or it is a backdoor that is closing' : `it said nothing in ${waitedMs / 1000} s`;
  const shown = first.length > 60 ? `${first.slice(0, 60)}...` : first;
  return `it answered "${sanitize(shown)}"`;
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
