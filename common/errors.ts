/** Codes of the errors the backdoor's lifecycle can raise. */
export type BackdoorErrorCode =
  | 'ERR_BACKDOOR_WORKER' // the worker thread failed to start or died
  | 'ERR_BACKDOOR_CLOSED' // the backdoor was closed while it was starting
  | 'ERR_BACKDOOR_UNSAFE_DIR'; // the rendezvous directory is another user's, a link, or open to others

/**
 * A failure of the backdoor itself (not of code typed into it): `code` tells which, `cause`
 * carries the underlying error when there is one. Listen errors keep their system `code`
 * (`EADDRINUSE`, `EACCES`) so that callers can test for them as for any `net` server.
 */
export class BackdoorError extends Error {
  readonly code: string;

  constructor(code: BackdoorErrorCode | string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackdoorError';
    this.code = code;
  }
}
