import { formatAddress, type BackdoorAddress } from './address.ts';

/**
 * What the audit trail records (option `audit`). `session` numbers connections from 1; `peer`
 * is `host:port`, or `unix` for a unix socket; `time` is an ISO date.
 */
export type AuditEvent =
  | { type: 'start'; time: string; pid: number; address: BackdoorAddress }
  | { type: 'stop'; time: string; pid: number; address: BackdoorAddress }
  | { type: 'connect'; time: string; session: number; peer: string }
  | { type: 'refused'; time: string; peer: string; reason: string }
  | { type: 'auth-failure'; time: string; session: number; peer: string; attempt: number }
  | { type: 'command'; time: string; session: number; peer: string; code: string; durationMs: number; ok: boolean }
  | { type: 'disconnect'; time: string; session: number; peer: string; commands: number; reason: string }
  | { type: 'fault'; time: string; message: string }
  /**
   * Code of a session that has ended threw (or rejected) later, or (`exiting`) its listener of
   * the process's `exit` event threw as the app ended; the app was not told.
   */
  | { type: 'uncaught'; time: string; session: number; message: string; exiting?: true }
  /** A session ended the app on purpose (`.exit-app`), confirmed. */
  | { type: 'exit-app'; time: string; session: number; peer: string; code: number }
  /** Events of connections that never gave the token, not recorded (rate limit: 20 at once, 5/s). */
  | { type: 'dropped'; time: string; count: number };

/** The events the default audit writes to stderr (the others only with `audit: 'stderr'`). */
export const defaultAuditTypes: ReadonlySet<AuditEvent['type']> = new Set(['start', 'stop', 'connect', 'disconnect', 'refused', 'fault', 'uncaught', 'dropped', 'exit-app']);

/** One line of the audit trail on stderr, for a person to read. */
export function formatAuditEvent(event: AuditEvent): string {
  const who = 'peer' in event && 'session' in event ? `session ${event.session} (${event.peer})` : '';
  switch (event.type) {
    case 'start':
      return `backdoor: listening on ${formatAddress(event.address)} (pid ${event.pid})`;
    case 'stop':
      return `backdoor: closed ${formatAddress(event.address)} (pid ${event.pid})`;
    case 'connect':
      return `backdoor: ${who} connected`;
    case 'refused':
      return `backdoor: refused ${event.peer}: ${event.reason}`;
    case 'auth-failure':
      return `backdoor: ${who} gave a wrong token (attempt ${event.attempt})`;
    case 'command':
      return `backdoor: ${who} ran ${JSON.stringify(event.code.length > 200 ? `${event.code.slice(0, 200)}...` : event.code)} in ${event.durationMs.toFixed(1)} ms: ${event.ok ? 'ok' : 'error'}`;
    case 'disconnect':
      return `backdoor: ${who} disconnected after ${event.commands} command(s) (${event.reason})`;
    case 'fault':
      return `backdoor: ${event.message}`;
    case 'exit-app':
      return `backdoor: ${who} ended the app (.exit-app), exit code ${event.code} (pid ${process.pid})`;
    case 'dropped':
      return `backdoor: ${event.count} audit event(s) of connections that did not give the token were not recorded (rate limit)`;
    case 'uncaught':
      return event.exiting
        ? `backdoor: session ${event.session}'s 'exit' listener threw as the app ended (the app exits as it would have): ${event.message.replace(/\n/g, '\n  ')}`
        : `backdoor: session ${event.session} has ended; its code threw later (the app was not told): ${event.message.replace(/\n/g, '\n  ')}`;
  }
}
