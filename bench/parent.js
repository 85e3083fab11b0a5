// @ts-check
// A helper's link to bench/run.js, which forks it (app.js, load.js, sessions.js; and
// stall-app.js, forked by bench/stalls.js): its requests in, its replies out, typed
// (bench/messages/); and an exit when its parent is gone, however it went, so that no helper is
// left behind serving or sending load. That holds from the moment a helper imports this module,
// before it starts anything.
/** @import { Message } from './messages/ipc.ts' */

process.on('disconnect', () => process.exit(0));
if (process.send && !process.connected) process.exit(0);

/**
 * Calls `onMessage` with each request from run.js; returns what sends it a reply.
 * @template {Message} Request
 * @template {Message} Reply
 * @param {(message: Request) => void} onMessage
 * @returns {(message: Reply) => void}
 */
export function linkToParent(onMessage) {
  const send = process.send?.bind(process);
  if (!send) throw new Error(`${process.argv[1]} is a helper that bench/run.js forks, not a program to run`);
  process.on('message', (message) => onMessage(/** @type {Request} */ (message)));
  return (message) => {
    send(message);
  };
}
