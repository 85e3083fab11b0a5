import type { Socket } from 'node:net';

/** Output waiting for a client that does not read, past which its input is paused... */
const PAUSE_UNSENT_OUTPUT = 1024 * 1024;
/** ...and past which it is disconnected: its results would pile up without end. */
const MAX_UNSENT_OUTPUT = 16 * 1024 * 1024;

/**
 * What goes to one client: what one turn writes (a value, then the prompt) leaves in one system
 * call, and a client that does not read what it is sent is paused, then cut off.
 */
export class ClientOutput {
  readonly #socket: Socket;
  readonly #overflow: () => void;

  /** `overflow`: the client has left more than MAX_UNSENT_OUTPUT unread (it is then destroyed). */
  constructor(socket: Socket, overflow: () => void) {
    this.#socket = socket;
    this.#overflow = overflow;
  }

  /** Queues `data` for the client. */
  send(data: string | Buffer): void {
    const socket = this.#socket;
    if (!socket.writableCorked) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(data);
    this.check();
  }

  /** After anything written to the socket (here, or by the line editor). */
  check(): void {
    if (this.#socket.writableLength > MAX_UNSENT_OUTPUT) {
      // It does not read what it is sent: it cannot be told either.
      this.#overflow();
      this.#socket.destroy();
    }
  }

  /** Whether the client is so far behind in reading that its input should wait. */
  get behind(): boolean {
    return this.#socket.writableLength > PAUSE_UNSENT_OUTPUT;
  }
}
