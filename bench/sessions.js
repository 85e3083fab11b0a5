// @ts-check
// REPL clients in their own process (forked by bench/run.js, driven over IPC): `count`
// sessions that each send `command` back to back (the next as soon as the prompt is back),
// or stay connected and idle when there is no command.
import net from 'node:net';
import { createHistogram } from 'node:perf_hooks';
import { linkToParent } from './parent.js';
/** @import { SessionsReply, SessionsRequest } from './messages/sessions.ts' */

/**
 * A REPL session: `onPrompt` is called (once) when the next prompt has arrived.
 * @typedef {{ socket: net.Socket, buffer: string, onPrompt: (() => void) | undefined }} Session
 */

/** @type {Session[]} */
let sessions = [];
let histogram = createHistogram();
let commands = 0;
let running = false;
/** Sessions kept open between `count`s, by port. @type {Map<number, Session>} */
const keptSessions = new Map();

/**
 * Connects, and resolves at the first prompt.
 * @param {number} port
 * @returns {Promise<Session>}
 */
function open(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    /** @type {Session} */
    const session = { socket, buffer: '', onPrompt: undefined };
    socket.on('data', (chunk) => {
      session.buffer += chunk;
      if (session.buffer.endsWith('> ') && session.onPrompt) {
        session.buffer = '';
        const wake = session.onPrompt;
        session.onPrompt = undefined;
        wake();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`the REPL closed the connection: ${JSON.stringify(session.buffer)}`)));
    session.onPrompt = () => resolve(session);
  });
}

/**
 * Sends one line and resolves when the next prompt has come.
 * @param {Session} session
 * @param {string} line
 * @returns {Promise<void>}
 */
function send(session, line) {
  return new Promise((resolve) => {
    session.onPrompt = resolve;
    session.socket.write(`${line}\n`);
  });
}

/**
 * Sends `command` as soon as the prompt is back (and `gapMs` more), while `running`.
 * @param {Session} session
 * @param {string} command
 * @param {number} gapMs
 */
async function flood(session, command, gapMs) {
  while (running) {
    const start = process.hrtime.bigint();
    await send(session, command);
    if (!running) break;
    histogram.record(Math.max(1, Number(process.hrtime.bigint() - start)));
    commands++;
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
}

/** @type {(message: SessionsReply) => void} */
const reply = linkToParent(async (/** @type {SessionsRequest} */ message) => {
  if (message.cmd === 'start') {
    histogram = createHistogram();
    commands = 0;
    sessions = await Promise.all(Array.from({ length: message.count }, () => open(message.port)));
    // A first command in each (a session context exists from then on), answered before 'started'.
    const { first } = message;
    if (first !== undefined) {
      await Promise.all(sessions.map((s) => send(s, first)));
    }
    const { command } = message;
    running = command !== null;
    reply({ cmd: 'started', at: Date.now() });
    if (command !== null) for (const s of sessions) flood(s, command, message.gapMs ?? 0);
  } else if (message.cmd === 'reset') {
    histogram.reset();
    commands = 0;
    reply({ cmd: 'reset-done' });
  } else if (message.cmd === 'stop') {
    running = false;
    const result = {
      commands,
      rttP50Us: commands ? histogram.percentile(50) / 1000 : undefined,
      rttP99Us: commands ? histogram.percentile(99) / 1000 : undefined,
    };
    for (const s of sessions) s.socket.destroy();
    sessions = [];
    reply({ cmd: 'stopped', result });
  } else if (message.cmd === 'drop-kept') {
    for (const session of keptSessions.values()) session.socket.destroy();
    keptSessions.clear();
    reply({ cmd: 'dropped-kept' });
  } else if (message.cmd === 'alternate') {
    // One command on each port's kept session in turn, each sent once the one before has
    // answered: servers compared command by command, under the same conditions.
    const turns = [];
    for (const port of message.ports) {
      const session = keptSessions.get(port) ?? (await open(port));
      keptSessions.set(port, session);
      turns.push(session);
    }
    let done = 0;
    for (let i = 0; i < message.n; i++) {
      for (const session of turns) {
        await send(session, message.command);
        done++;
      }
    }
    reply({ cmd: 'alternated', commands: done });
  } else if (message.cmd === 'count') {
    // Run exactly `n` commands on one fresh session (micro figures), then report.
    histogram = createHistogram();
    commands = 0;
    const kept = message.keep ? keptSessions.get(message.port) : undefined;
    const session = kept ?? (await open(message.port));
    if (message.keep) keptSessions.set(message.port, session);
    running = true;
    const target = message.n;
    /** @type {Promise<void>} */
    let flooding = Promise.resolve();
    await /** @type {Promise<void>} */ (
      new Promise((resolve) => {
        const check = setInterval(() => {
          if (commands >= target) {
            running = false;
            clearInterval(check);
            // The command in flight is answered first: a kept session is then ready for the next.
            flooding.then(resolve);
          }
        }, 5);
        flooding = flood(session, message.command, message.gapMs ?? 0);
      })
    );
    if (!message.keep) session.socket.destroy();
    reply({ cmd: 'counted', result: { commands, rttP50Us: histogram.percentile(50) / 1000, rttP99Us: histogram.percentile(99) / 1000 } });
  }
});
