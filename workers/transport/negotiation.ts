/**
 * Telnet option negotiation for a session (RFC 854/857/858/1073/1091): the server offers to
 * echo and to suppress go-ahead (character at a time) and asks for the window size and the
 * terminal type; a real telnet client agrees, nc and scripts never answer. Pure: it returns the
 * bytes to send and what the client agreed to.
 */
import { DO, DONT, IAC, Option, refuseNegotiation, SB, SE, WILL, WONT, type NegotiationVerb } from '../../common/telnet.ts';

const TTYPE_IS = 0;
const TTYPE_SEND = 1;

export class Negotiation {
  /** What the client agreed to, and what it told. */
  echo = false;
  suppressGoAhead = false;
  columns: number | undefined;
  rows: number | undefined;
  terminalType: string | undefined;
  /** The client asks for completions in subnegotiations (the backdoor client does), and was told it may. */
  completion = false;
  /** Completion may be agreed to: the connection is a session (it gave the token, or none was needed). */
  completionAllowed = false;
  /** The client offered completion before it was allowed: told it may once it is. */
  #completionAsked = false;
  #offered = false;
  /** Options already refused, by the side they concern: a request repeated is not answered again (RFC 1143). */
  readonly #refused = new Set<number>();
  #terminalTypeAsked = false;

  /** The offer: WILL ECHO, WILL SUPPRESS-GO-AHEAD, DO NAWS, DO TERMINAL-TYPE. */
  offer(): Buffer {
    this.#offered = true;
    return Buffer.from([IAC, WILL, Option.ECHO, IAC, WILL, Option.SUPPRESS_GO_AHEAD, IAC, DO, Option.NAWS, IAC, DO, Option.TERMINAL_TYPE]);
  }

  get offered(): boolean {
    return this.#offered;
  }

  /** Whether the client agreed to character-at-a-time mode. */
  get characterMode(): boolean {
    return this.echo && this.suppressGoAhead;
  }

  /**
   * The client has negotiated: it speaks telnet, whose line end is CR LF (RFC 854); a telnet
   * client in character mode would otherwise print each line further right.
   */
  telnet = false;

  /** A negotiation from the client: what to answer (if anything). */
  negotiate(verb: NegotiationVerb, option: number): Buffer | undefined {
    this.telnet = true;
    // The backdoor client's completion: agreed once, never answered again (no loops). Before
    // the token nothing is agreed (nor answered: the client offers it as it connects): asked
    // for then, it is agreed to once the token is given (grantCompletion).
    if (option === Option.BACKDOOR_COMPLETION && (verb === WILL || verb === WONT)) {
      const agreed = verb === WILL;
      if (!this.completionAllowed) {
        this.#completionAsked = agreed;
        return undefined;
      }
      if (agreed === this.completion) return undefined;
      this.completion = agreed;
      return agreed ? Buffer.from([IAC, DO, option]) : undefined;
    }
    // The terminal type is asked for once (RFC 1143: a repeated WILL is not answered again),
    // so that a flood of offers is not a flood of questions.
    if (option === Option.TERMINAL_TYPE && verb === WILL) {
      if (this.#terminalTypeAsked) return undefined;
      this.#terminalTypeAsked = true;
      // A client may offer it first (the backdoor client does): welcome.
      if (!this.#offered) return Buffer.from([IAC, DO, option, IAC, SB, option, TTYPE_SEND, IAC, SE]);
    }
    if (this.#offered) {
      // Answers to our offer are agreements or refusals, never to be answered again.
      if (option === Option.ECHO && (verb === DO || verb === DONT)) {
        this.echo = verb === DO;
        return undefined;
      }
      if (option === Option.SUPPRESS_GO_AHEAD && (verb === DO || verb === DONT)) {
        this.suppressGoAhead = verb === DO;
        return undefined;
      }
      if (option === Option.NAWS && (verb === WILL || verb === WONT)) return undefined;
      if (option === Option.TERMINAL_TYPE && (verb === WILL || verb === WONT)) {
        return verb === WILL ? Buffer.from([IAC, SB, Option.TERMINAL_TYPE, TTYPE_SEND, IAC, SE]) : undefined;
      }
    }
    const side = (verb === WILL || verb === WONT ? 0 : 256) + option;
    if (this.#refused.has(side)) return undefined;
    this.#refused.add(side);
    return refuseNegotiation(verb, option);
  }

  /** The token was given: a completion the client asked for before is agreed to now (the bytes to send), if it was. */
  grantCompletion(): Buffer | undefined {
    this.completionAllowed = true;
    if (!this.#completionAsked || this.completion) return undefined;
    this.completion = true;
    return Buffer.from([IAC, DO, Option.BACKDOOR_COMPLETION]);
  }

  /** A subnegotiation from the client: the window size, or the terminal type. */
  subnegotiate(option: number, data: Buffer): void {
    this.telnet = true;
    if (option === Option.NAWS && data.length >= 4) {
      this.columns = data.readUInt16BE(0) || undefined;
      this.rows = data.readUInt16BE(2) || undefined;
    } else if (option === Option.TERMINAL_TYPE && data[0] === TTYPE_IS) {
      this.terminalType = data
        .subarray(1)
        .toString('latin1')
        .replace(/[^\x20-\x7e]/g, '')
        .slice(0, 40)
        .toLowerCase();
    }
  }

  /** Whether the terminal the client named shows ANSI colours. */
  get colors(): boolean {
    const term = this.terminalType;
    return term !== undefined && !/dumb|vt100|unknown/.test(term) && /color|xterm|screen|tmux|rxvt|linux|ansi|kitty|alacritty|vt2\d\d/.test(term);
  }
}
