/**
 * Which signals may start or stop a backdoor. (CommonJS, so that the CommonJS preload can use
 * it before any ES module of the library is loaded.)
 */
import os = require('node:os');

/** Signals a process cannot catch, or that mean something else to a terminal or to Node. */
const unusable = new Set(['SIGKILL', 'SIGSTOP', 'SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGTSTP', 'SIGCHLD', 'SIGSEGV', 'SIGBUS', 'SIGFPE', 'SIGILL', 'SIGPIPE', 'SIGABRT']);

/**
 * Why `name` cannot start or stop a backdoor, or undefined when it can: a signal the process
 * cannot catch, or one that would end or stop it, is never sent nor listened for.
 */
function unusableSignalReason(name: unknown): string | undefined {
  if (typeof name !== 'string' || !(name in os.constants.signals)) return 'is not a signal name such as SIGUSR2';
  if (unusable.has(name)) return `cannot be ${name}`;
  return undefined;
}

export = { unusableSignalReason };
