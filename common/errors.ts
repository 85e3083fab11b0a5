/** Codes of the errors the backdoor itself raises. */
export type BackdoorErrorCode =
  | 'ERR_BACKDOOR_WORKER' // the worker thread failed to start or died
  | 'ERR_BACKDOOR_CLOSED' // the backdoor was closed while it was starting, or is not listening
  | 'ERR_BACKDOOR_UNSAFE_DIR' // the rendezvous directory is another user's, a link, or open to others (told on stderr: discovery is skipped)
  | 'ERR_BACKDOOR_SIGNALS_INSTALLED' // installSignalHandlers() while handlers are installed
  | 'ERR_BACKDOOR_SIGNALS_NOT_INSTALLED' // the preload's start-at-once without handlers (internal)
  | 'ERR_BACKDOOR_SIGNAL_BLOCKED' // the start or stop signal is blocked in the process (--disable-sigusr1)
  | 'ERR_BACKDOOR_LISTEN'; // listening failed with an error that has no system code

/** The system's codes for a listener that cannot listen, kept as `net` servers report them. */
export const listenErrorCodes = [
  'EADDRINUSE',
  'EADDRNOTAVAIL',
  'EACCES',
  'EPERM',
  'EINVAL',
  'EAFNOSUPPORT', // the address
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NONAME', // the host name
  'ENOENT',
  'ENOTDIR',
  'ENAMETOOLONG',
  'ELOOP',
  'EROFS',
  'EEXIST',
  'ENOSPC', // the socket path
  'EMFILE',
  'ENFILE',
  'ENOMEM', // the process or the system
] as const;
export type ListenErrorCode = (typeof listenErrorCodes)[number];

/** A listen error's code as BackdoorError carries it: the system's, or ERR_BACKDOOR_LISTEN. */
export function listenErrorCode(code: string | undefined): ListenErrorCode | 'ERR_BACKDOOR_LISTEN' {
  return (listenErrorCodes as readonly string[]).includes(code ?? '') ? (code as ListenErrorCode) : 'ERR_BACKDOOR_LISTEN';
}

/**
 * A failure of the backdoor itself (not of code typed into it): `code` tells which, `cause`
 * carries the underlying error when there is one. Listen errors keep their system `code`
 * (`EADDRINUSE`, `EACCES`) so that callers can test for them as for any `net` server.
 */
export class BackdoorError extends Error {
  readonly code: BackdoorErrorCode | ListenErrorCode;

  constructor(code: BackdoorErrorCode | ListenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BackdoorError';
    this.code = code;
  }
}
