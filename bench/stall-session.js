// @ts-check
// A session of the stall bench (bench/stalls.js), on a raw socket as a telnet client would
// have it: lines and their prompts, and TAB through the backdoor's completion option (200;
// common/completion-wire.ts): `IAC WILL 200`, answered `IAC DO 200`; then each request
// `IAC SB 200 <id> <line> IAC SE`, answered `IAC SB 200 <id> <JSON> IAC SE`. Every wait has a
// bound, and ends when the session closes: a window's end abandons what still waits by closing
// its session.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const WILL = 0xfb;
const COMPLETION = 200;

export class StallSession {
  /**
   * Connects, and resolves at the first prompt (rejects after `timeoutMs`).
   * @param {number} port
   * @param {number} timeoutMs
   * @returns {Promise<StallSession>}
   */
  static async open(port, timeoutMs) {
    const session = new StallSession(net.connect(port, '127.0.0.1'));
    if ((await session.#waitFor(/> $/, timeoutMs)) === undefined) {
      session.close();
      throw new Error(`no prompt from port ${port} within ${timeoutMs} ms: ${JSON.stringify(session.#text.slice(-300))}`);
    }
    return session;
  }

  /** What came and was not yet waited for, a byte a character (latin1). */
  #text = '';
  #closed = false;
  /** Called on each chunk and on close: the wait in progress, if any. */
  #check = () => {};
  #nextId = 0;

  /** @param {net.Socket} socket */
  constructor(socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk) => {
      this.#text += chunk.toString('latin1');
      this.#check();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.#closed = true;
      this.#check();
    });
  }

  /**
   * Waits until `pattern` matches what came, and takes what came up to the match's end; undefined
   * after `timeoutMs`, or when the session has closed.
   * @param {RegExp} pattern
   * @param {number} timeoutMs
   * @returns {Promise<string | undefined>}
   */
  #waitFor(pattern, timeoutMs) {
    return new Promise((resolve) => {
      const done = (/** @type {string | undefined} */ value) => {
        clearTimeout(timer);
        this.#check = () => {};
        resolve(value);
      };
      const timer = setTimeout(() => done(undefined), Math.max(0, timeoutMs));
      this.#check = () => {
        const match = pattern.exec(this.#text);
        if (match) {
          this.#text = this.#text.slice(match.index + match[0].length);
          done(match[0]);
        } else if (this.#closed) done(undefined);
      };
      this.#check();
    });
  }

  /**
   * Sends `line`; the ms until the prompt after its answer (a notice that it waits comes before
   * it), or undefined when none came within `timeoutMs`.
   * @param {string} line
   * @param {number} timeoutMs
   * @returns {Promise<number | undefined>}
   */
  async command(line, timeoutMs) {
    const start = performance.now();
    this.socket.write(`${line}\n`);
    return (await this.#waitFor(/\n> $/, timeoutMs)) === undefined ? undefined : performance.now() - start;
  }

  /**
   * Offers the completion option; throws when the backdoor does not take it within `timeoutMs`.
   * @param {number} timeoutMs
   */
  async offerCompletion(timeoutMs) {
    this.socket.write(Buffer.from([IAC, WILL, COMPLETION]));
    if ((await this.#waitFor(/\xff\xfd\xc8/, timeoutMs)) === undefined) throw new Error(`the backdoor did not take the completion option within ${timeoutMs} ms`);
  }

  /**
   * TAB after `line`: the ms until its answer, or undefined when none came within `timeoutMs`.
   * @param {string} line
   * @param {number} timeoutMs
   * @returns {Promise<number | undefined>}
   */
  async complete(line, timeoutMs) {
    // One byte, counting round; never IAC, which would have to be doubled.
    const id = (this.#nextId++ % 200) + 1;
    const start = performance.now();
    this.socket.write(Buffer.concat([Buffer.from([IAC, SB, COMPLETION, id]), Buffer.from(line, 'latin1'), Buffer.from([IAC, SE])]));
    const answer = new RegExp(`\\xff\\xfa\\xc8\\x${id.toString(16).padStart(2, '0')}[^]*?\\xff\\xf0`);
    return (await this.#waitFor(answer, timeoutMs)) === undefined ? undefined : performance.now() - start;
  }

  close() {
    this.socket.destroy();
  }
}
