import { formatDuration } from '../common/duration.ts';
import type { EvalOutcome } from '../common/protocol.ts';
import { ECHO_ON } from '../common/telnet.ts';
import type { Line } from './line-splitter.ts';
import type { Mode, ModeHost } from './mode.ts';
import { TextRepl } from './text-repl.ts';
import { tokenMatches } from './token.ts';

/** Wrong tokens before the connection is closed, and the pause after each. */
const MAX_TOKEN_ATTEMPTS = 3;
const WRONG_TOKEN_DELAY_MS = 1000;

/**
 * The first mode of a connection when the backdoor has a token: nothing of the REPL before
 * the token is given, a few seconds to give it, a pause after each wrong one and three
 * strikes. Given, the connection takes a session slot (maxSessions) and becomes a text REPL.
 */
export class TokenGate implements Mode {
  readonly name = 'token';
  readonly #host: ModeHost;
  #failures = 0;
  #checking = false;
  readonly #deadline: NodeJS.Timeout;

  constructor(host: ModeHost) {
    this.#host = host;
    // The offer (WILL ECHO first) also stops a telnet client from echoing the token as it is typed.
    host.send(host.negotiation.offer());
    host.write('Token: ');
    const { authTimeoutMs } = host.config;
    this.#deadline = setTimeout(() => host.guard(() => {
      host.write(`\nNo token within ${formatDuration(authTimeoutMs)} (the authTimeoutMs option).\n`);
      host.end('no token in time');
    }), authTimeoutMs);
  }

  /** While a wrong token's pause lasts, the next try is not read. */
  get busy(): boolean {
    return this.#checking;
  }

  line(line: Line): void {
    const host = this.#host;
    if (!line.overflowed && tokenMatches(host.config.token!, line.text.replace(/\r$/, ''))) return this.#admit();
    this.#failures++;
    host.audit({ type: 'auth-failure', time: new Date().toISOString(), session: host.id, peer: host.peer, attempt: this.#failures });
    // Wrong: wait before saying so (and before reading the next try), three strikes and out.
    this.#checking = true;
    host.flowControl();
    setTimeout(() => host.guard(() => {
      this.#checking = false;
      if (this.#failures >= MAX_TOKEN_ATTEMPTS) {
        host.write('\nWrong token. Too many attempts.\n');
        return host.end('wrong token');
      }
      host.write('\nWrong token.\nToken: ');
      host.drain();
    }), WRONG_TOKEN_DELAY_MS);
  }

  #admit(): void {
    const host = this.#host;
    clearTimeout(this.#deadline);
    // Those who gave the token have slots of their own (maxSessions).
    if (!host.admit()) {
      host.write(`\nbackdoor: too many sessions (the maxSessions option is ${host.config.maxSessions})\n`);
      return host.end('too many sessions');
    }
    const repl = new TextRepl(host);
    host.use(repl);
    host.audit({ type: 'connect', time: new Date().toISOString(), session: host.id, peer: host.peer });
    if (host.negotiation.characterMode) {
      host.write(`\n${host.banner}`);
      host.maybeCharacterMode(); // the line editor shows the prompt
    } else {
      // Not a telnet client in character mode: it echoes its own input again.
      if (host.negotiation.echo) host.send(ECHO_ON);
      host.write('\n');
      repl.greet();
    }
  }

  close(): void {
    clearTimeout(this.#deadline);
  }

  // Nothing of the REPL reaches a connection before the token.
  interrupt(): void {}
  output(): void {}
  uncaught(): void {}
  tap(_outcome: EvalOutcome): void {}
  commandOutput(): void {}
  commandPending(): void {}
  commandWaiting(): void {}
  commandDone(): void {}
}
