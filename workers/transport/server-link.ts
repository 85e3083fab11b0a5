import type { AuditEvent } from '../../common/audit-event.ts';
import type { Backdoor } from '../sessions/repl-session.ts';
import type { Connection } from './connection.ts';

/** What a connection needs from the server it belongs to. */
export interface Server extends Backdoor {
  /** The connection has ended. */
  ended(connection: Connection): void;
  /** The connection gave the token: whether a slot (maxSessions) is free for it. */
  admit(connection: Connection): boolean;
  /** Records an audit event; those of unauthenticated connections are rate limited. */
  audit(event: AuditEvent, unauthenticated?: boolean): void;
}
