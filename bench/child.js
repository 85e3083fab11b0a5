// @ts-check
// bench/run.js's helper processes (app.js, load.js, sessions.js; and bench/stalls.js's
// stall-app.js), forked and asked things over IPC; and small helpers the bench's modules share.
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
/** @import { AppMode, AppOptions, AppReady, AppReply, AppRequest } from './messages/app.ts' */
/** @import { Message } from './messages/ipc.ts' */
/** @import { LoadReply, LoadRequest } from './messages/load.ts' */
/** @import { SessionsReply, SessionsRequest } from './messages/sessions.ts' */

const here = dirname(fileURLToPath(import.meta.url));

/**
 * A forked helper process, asked things over IPC (`Request`s, answered by `Reply`s); stopped by
 * its pid when done. A question fails when the helper exits first.
 * @template {Message} Request
 * @template {Message} Reply
 */
export class Child {
  /** @type {Set<Child<any, any>>} */
  static all = new Set();

  /**
   * @param {string} script
   * @param {string[]} argv
   */
  constructor(script, argv = []) {
    this.process = fork(join(here, script), argv, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    /** @type {number} */
    this.pid = required(this.process.pid, `the pid of ${script}`);
    /** @type {{ cmd: string, resolve: (message: Reply) => void, reject: (error: Error) => void }[]} */
    this.waiters = [];
    this.process.on('message', (raw) => {
      const message = /** @type {Reply} */ (raw);
      const index = this.waiters.findIndex((w) => w.cmd === message.cmd);
      if (index !== -1) this.waiters.splice(index, 1)[0].resolve(message);
    });
    /** @type {Promise<void>} */
    this.exited = new Promise((resolve) =>
      this.process.once('exit', (code, signal) => {
        for (const waiter of this.waiters.splice(0)) waiter.reject(new Error(`${script} (pid ${this.pid}) exited (${signal ?? code}) before its ${waiter.cmd}`));
        resolve();
      }),
    );
    Child.all.add(this);
  }

  /**
   * Waits for a message `cmd`, after sending `message` if given.
   * @template {Reply['cmd']} C
   * @param {Request | undefined} message
   * @param {C} cmd
   * @returns {Promise<Extract<Reply, { cmd: C }>>}
   */
  ask(message, cmd, timeoutMs = 120_000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${cmd} from pid ${this.pid} timed out`)), timeoutMs);
      this.waiters.push({
        cmd,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(/** @type {Extract<Reply, { cmd: C }>} */ (m));
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      if (message) this.process.send(message);
    });
  }

  /** SIGTERM, and SIGKILL when it has not exited `timeoutMs` later (its main thread may be held). */
  async stop(timeoutMs = 30_000) {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      process.kill(this.pid, 'SIGTERM');
      /** @type {NodeJS.Timeout | undefined} */
      let timer;
      const late = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs, 'late')));
      if ((await Promise.race([this.exited, late])) === 'late') process.kill(this.pid, 'SIGKILL');
      clearTimeout(timer);
      await this.exited;
    }
    Child.all.delete(this);
  }
}
process.on('exit', () => {
  for (const child of Child.all) if (child.process.exitCode === null && child.process.signalCode === null) process.kill(child.pid, 'SIGKILL');
});

/** @typedef {Child<AppRequest, AppReply> & { ready: AppReady }} App */
/** @typedef {Child<LoadRequest, LoadReply>} Load */
/** @typedef {Child<SessionsRequest, SessionsReply>} Clients */

export const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `value`, which the bench cannot do without.
 * @template T
 * @param {T | undefined} value
 * @param {string} what
 * @returns {T}
 */
export function required(value, what) {
  if (value === undefined) throw new Error(`${what} is missing`);
  return value;
}

/**
 * Forks an app and waits until it serves, `settleMs` after its backdoor or REPL has started.
 * @param {AppMode} mode
 * @param {AppOptions} options
 * @param {number} settleMs
 * @returns {Promise<App>}
 */
export async function startApp(mode, options, settleMs) {
  /** @type {Child<AppRequest, AppReply>} */
  const app = new Child('app.js', [mode, JSON.stringify(options), String(settleMs)]);
  const ready = await app.ask(undefined, 'ready');
  return Object.assign(app, { ready });
}

/**
 * The port of the app's REPL (the backdoor's, or Node's).
 * @param {App} app
 */
export const replPort = (app) => required(app.ready.replPort, `the REPL port of an app (pid ${app.pid})`);
