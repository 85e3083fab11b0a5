import type { AuditEvent } from '../../common/audit-event.ts';
import { formatDuration } from '../../common/duration.ts';
import type { Line } from '../transport/line-splitter.ts';
import { tokenMatches } from '../transport/token.ts';
import type { Mode } from './mode.ts';

/** Wrong tokens before the connection is closed, and the pause after each. */
const MAX_TOKEN_ATTEMPTS = 3;
const WRONG_TOKEN_DELAY_MS = 1000;

/** What the gate may use of its connection: not a session yet. */
export interface GateHost {
  readonly id: number;
  readonly peer: string;
  write(text: string): void;
  end(reason?: string): void;
  audit(event: AuditEvent): void;
  /** Runs a timer's callback; an error in it ends the connection only. */
  guard(step: () => void): void;
  /** The pause after a wrong token is over: lines that waited may be read. */
  drain(): void;
}

/** The gate's own: the token, and what to do at its start and end. */
export interface GateOptions {
  readonly token: string;
  readonly authTimeoutMs: number;
  /** Sends the telnet offer (WILL ECHO first: a telnet client stops echoing the token). */
  offer(): void;
  /** The token was given: the connection becomes a session (if a slot is free). */
  admitted(): void;
}

/**
 * The first mode of a connection when the backdoor has a token: nothing of the REPL before the
 * token is given, a few seconds to give it, a pause after each wrong one and three strikes.
 */
export class TokenGate implements Mode {
  readonly #host: GateHost;
  readonly #options: GateOptions;
  #failures = 0;
  #checking = false;
  readonly #deadline: NodeJS.Timeout;

  constructor(host: GateHost, options: GateOptions) {
    this.#host = host;
    this.#options = options;
    options.offer();
    host.write('Token: ');
    const { authTimeoutMs } = options;
    this.#deadline = setTimeout(
      () =>
        host.guard(() => {
          host.write(`\nNo token within ${formatDuration(authTimeoutMs)} (the authTimeoutMs option).\n`);
          host.end('no token in time');
        }),
      authTimeoutMs,
    );
  }

  /** While a wrong token's pause lasts, the next try is not read. */
  get busy(): boolean {
    return this.#checking;
  }

  line(line: Line): void {
    const host = this.#host;
    if (!line.overflowed && tokenMatches(this.#options.token, line.text.replace(/\r$/, ''))) {
      clearTimeout(this.#deadline);
      return this.#options.admitted();
    }
    this.#failures++;
    host.audit({ type: 'auth-failure', time: new Date().toISOString(), session: host.id, peer: host.peer, attempt: this.#failures });
    // Wrong: wait before saying so (and before reading the next try), three strikes and out.
    this.#checking = true;
    setTimeout(
      () =>
        host.guard(() => {
          this.#checking = false;
          if (this.#failures >= MAX_TOKEN_ATTEMPTS) {
            host.write('\nWrong token. Too many attempts.\n');
            return host.end('wrong token');
          }
          host.write('\nWrong token.\nToken: ');
          host.drain();
        }),
      WRONG_TOKEN_DELAY_MS,
    );
  }

  close(): void {
    clearTimeout(this.#deadline);
  }

  // Nothing of the REPL reaches a connection before the token.
  interrupt(): void {}
  output(): void {}
  uncaught(): void {}
  tap(): void {}
}
