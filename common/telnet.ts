/**
 * Telnet on the wire (RFC 854/855): separates a client's bytes into data and telnet commands,
 * so that commands never reach the line editor or the parser. Pure: no sockets, no timers.
 */

export const IAC = 255;
export const DONT = 254;
export const DO = 253;
export const WONT = 252;
export const WILL = 251;
export const SB = 250;
export const SE = 240;
/** Interrupt Process: what a telnet client sends for Ctrl-C. */
export const IP = 244;
/** Abort Output, Break, Abort: treated like Ctrl-C. */
export const AO = 245;
export const BRK = 243;
export const ABORT = 238;
/** End of file (RFC 1184), sent by some clients for Ctrl-D. */
export const XEOF = 236;

export const Option = {
  ECHO: 1,
  SUPPRESS_GO_AHEAD: 3,
  TIMING_MARK: 6,
  TERMINAL_TYPE: 24,
  NAWS: 31,
  /**
   * The backdoor's own option (unassigned by IANA): a client that says WILL, and is answered
   * DO, asks for tab completions in subnegotiations, apart from the session's text (see
   * completion-wire.ts). Other telnet clients never offer it.
   */
  BACKDOOR_COMPLETION: 200,
} as const;

export type NegotiationVerb = typeof DO | typeof DONT | typeof WILL | typeof WONT;

/** What a chunk from the client holds, in order. */
export type TelnetPart =
  | { type: 'data'; data: Buffer }
  | { type: 'interrupt' }
  | { type: 'eof' }
  | { type: 'negotiate'; verb: NegotiationVerb; option: number }
  | { type: 'subnegotiation'; option: number; data: Buffer }
  | { type: 'command'; code: number };

/** Subnegotiations longer than this are cut, by default: window sizes and terminal types are short. */
const MAX_SUBNEGOTIATION = 256;

/** Where the parser is in the stream. */
const State = { Data: 0, Iac: 1, Verb: 2, Sub: 3, SubIac: 4 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Incremental parser: feed it chunks as they arrive, sequences may be split anywhere.
 * Line ends are folded to `\n` (CR LF, CR NUL and a lone CR all end one line), and `IAC IAC`
 * becomes one 0xFF data byte.
 */
export class TelnetParser {
  /** A CR was seen in the data: the client ends lines as telnet does (nc sends a bare LF). */
  sawCarriageReturn = false;
  /** The client sent a telnet command: it speaks telnet. */
  sawCommand = false;
  #state: State = State.Data;
  #verb: NegotiationVerb = DO;
  #sub: number[] = [];
  #afterCr = false;
  readonly #maxSubnegotiation: number;

  /** `maxSubnegotiation`: bytes of a subnegotiation kept; the rest is dropped. */
  constructor(maxSubnegotiation = MAX_SUBNEGOTIATION) {
    this.#maxSubnegotiation = maxSubnegotiation;
  }

  push(chunk: Buffer): TelnetPart[] {
    // The usual chunk has no IAC and no CR: hand it on as it is.
    if (this.#state === State.Data && !this.#afterCr && chunk.indexOf(IAC) === -1 && chunk.indexOf(13) === -1) {
      return chunk.length > 0 ? [{ type: 'data', data: chunk }] : [];
    }
    const parts: TelnetPart[] = [];
    let data: number[] = [];
    const flush = () => {
      if (data.length > 0) parts.push({ type: 'data', data: Buffer.from(data) });
      data = [];
    };
    for (const byte of chunk) {
      switch (this.#state) {
        case State.Data:
          if (byte === IAC) {
            this.#state = State.Iac;
            break;
          }
          if (this.#afterCr) {
            this.#afterCr = false;
            if (byte === 10 || byte === 0) break; // second half of CR LF / CR NUL
          }
          if (byte === 13) {
            this.sawCarriageReturn = true;
            this.#afterCr = true;
            data.push(10);
          } else {
            data.push(byte);
          }
          break;
        case State.Iac:
          this.#state = State.Data;
          if (byte !== IAC) this.sawCommand = true;
          if (byte === IAC) {
            data.push(IAC);
          } else if (byte === DO || byte === DONT || byte === WILL || byte === WONT) {
            this.#verb = byte;
            this.#state = State.Verb;
          } else if (byte === SB) {
            this.#sub = [];
            this.#state = State.Sub;
          } else {
            flush();
            parts.push(commandPart(byte));
          }
          break;
        case State.Verb:
          flush();
          parts.push({ type: 'negotiate', verb: this.#verb, option: byte });
          this.#state = State.Data;
          break;
        case State.Sub:
          if (byte === IAC) this.#state = State.SubIac;
          else if (this.#sub.length < this.#maxSubnegotiation) this.#sub.push(byte);
          break;
        case State.SubIac:
          if (byte === SE) {
            flush();
            const [option = 0, ...rest] = this.#sub;
            parts.push({ type: 'subnegotiation', option, data: Buffer.from(rest) });
            this.#sub = [];
            this.#state = State.Data;
          } else {
            // IAC IAC inside a subnegotiation is a 255 byte; anything else is a broken sequence.
            if (byte === IAC && this.#sub.length < this.#maxSubnegotiation) this.#sub.push(IAC);
            this.#state = State.Sub;
          }
          break;
      }
    }
    flush();
    return parts;
  }
}

function commandPart(code: number): TelnetPart {
  if (code === IP || code === BRK || code === ABORT || code === AO) return { type: 'interrupt' };
  if (code === XEOF) return { type: 'eof' };
  return { type: 'command', code };
}

/** `IAC SB option data IAC SE`, with every 255 byte of `data` doubled. */
export function subnegotiation(option: number, data: Uint8Array): Buffer {
  const bytes = [IAC, SB, option];
  for (const byte of data) {
    bytes.push(byte);
    if (byte === IAC) bytes.push(IAC);
  }
  bytes.push(IAC, SE);
  return Buffer.from(bytes);
}

/** `IAC WONT ECHO`: the client echoes again. */
export const ECHO_ON = Buffer.from([IAC, WONT, Option.ECHO]);

/**
 * The answer of a server that supports no options to a client's negotiation: refuse what it
 * offers or asks (RFC 854's default), never answer a refusal (which is what keeps two peers
 * from looping). The one exception is TIMING-MARK: a client that sent Ctrl-C discards our
 * output until we answer its `DO TIMING-MARK`, so it is always answered.
 */
export function refuseNegotiation(verb: NegotiationVerb, option: number): Buffer | undefined {
  if (verb === DO) return Buffer.from([IAC, option === Option.TIMING_MARK ? WILL : WONT, option]);
  if (verb === WILL) return Buffer.from([IAC, DONT, option]);
  return undefined;
}
