import type { InspectorTally } from '../../common/inspector-tally.ts';
import net from 'node:net';
import type { AuditEvent } from '../../common/audit-event.ts';
import type { ListenReply, MainNotice, WorkerConfig } from '../../common/protocol.ts';
import { AuditSink, UNAUTHENTICATED_BURST, UNAUTHENTICATED_PER_SECOND } from '../audit-sink.ts';
import { DiagnosticsFiles } from '../diagnostics/diagnostics-file.ts';
import { Diagnostics } from '../diagnostics/diagnostics.ts';
import { MainThreadBudget } from '../ops/budget.ts';
import { Door } from '../ops/door.ts';
import type { MainLink } from '../ops/main-link.ts';
import { inspectorProbe, RunawayWatch } from '../ops/runaway-watch.ts';
import { RateLimit } from '../rate-limit.ts';
import type { ReplSession } from '../sessions/repl-session.ts';
import { Connection, type Server } from './connection.ts';
import { banner, closedNotice } from './texts.ts';
import { listenPrivately, removeSocketFile } from './unix-socket.ts';

/** How long closing waits for clients to take their last output before cutting them off. */
const CLOSE_GRACE_MS = 1000;
/**
 * Connections waiting to give the token at once; a newer one closes the oldest. Large enough
 * that a flood of connections from another local user must open this many within the round
 * trip the operator's client takes to answer `Token: ` to push it out.
 */
const MAX_UNAUTHENTICATED = 64;
/**
 * A session that typed this much: when it ends, V8's compilation cache (which keeps the source
 * of every script compiled, a whole paste with anything secret in it, until V8 clears it) is
 * emptied by a full collection on the main thread. Below it, the app is not paused for it.
 */
const FORGET_TYPED_BYTES = 256 * 1024;

/** The account the backdoor's own work on the main thread is charged to (the collection after a large session). */
const BACKDOOR_ACCOUNT = 'backdoor';

/** The listener and its sessions; lives in the worker thread. */
export class BackdoorServer implements Server {
  readonly door: Door;
  readonly banner: string;
  readonly config: WorkerConfig;
  readonly #audit: AuditSink;
  #lastSession = 0;
  readonly #server: net.Server;
  readonly #sessions = new Map<Connection, net.Socket>();
  readonly #contexts = new Map<number, ReplSession>();
  #lastContext = 0;
  #closing = false;
  #socketFile: { path: string; ino: number } | undefined;

  constructor(config: WorkerConfig, main: MainLink, tally?: InspectorTally) {
    this.config = config;
    const { runawayHook, evalTimeoutMs } = config;
    let lastRecover = 0;
    const runaways = runawayHook
      ? new RunawayWatch(evalTimeoutMs, {
          probe: inspectorProbe(runawayHook),
          recover: (id) =>
            main.request({ id: -++lastRecover, op: 'recover', args: { id } }).then(
              (reply) => reply.recovered,
              () => undefined,
            ),
        })
      : undefined;
    const diagnostics = new Diagnostics(new DiagnosticsFiles(config.diagnosticsDir, (path) => main.notify({ type: 'diagnostics-dir', path }), undefined, config.diagnosticsDirMade));
    this.door = new Door(main, diagnostics, new MainThreadBudget(config.mainThreadBudget, performance.now()), runaways, tally);
    this.#audit = new AuditSink(config.audit, (events) => main.notify({ type: 'audit', events }), new RateLimit(UNAUTHENTICATED_BURST, UNAUTHENTICATED_PER_SECOND, performance.now()));
    this.banner = banner(config.banner);
    // allowHalfOpen: a client that half-closes (`printf ... | nc`) still gets every pending result.
    this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#accept(socket));
  }

  async listen(): Promise<ListenReply> {
    const { host, port, path } = this.config;
    try {
      if (path !== undefined) {
        this.#socketFile = { path, ino: await listenPrivately(this.#server, path) };
      } else {
        await new Promise<void>((resolve, reject) => {
          this.#server.once('error', reject);
          this.#server.listen({ host, port }, () => {
            this.#server.off('error', reject);
            resolve();
          });
        });
      }
    } catch (error) {
      const { message, code, syscall } = error as NodeJS.ErrnoException;
      return { ok: false, message, code, syscall };
    }
    // Accept errors (EMFILE...) must not kill the worker; the listener goes on.
    this.#server.on('error', () => {});
    const address = this.#server.address();
    return {
      ok: true,
      address: path !== undefined || typeof address === 'string' || address === null ? { path: path ?? String(address) } : { host: address.address, port: address.port },
    };
  }

  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.door.close();
    for (const session of this.#sessions.keys()) session.close(closedNotice, 'backdoor closed');
    const grace = setTimeout(() => {
      for (const socket of this.#sessions.values()) socket.destroy();
    }, CLOSE_GRACE_MS);
    await closed;
    clearTimeout(grace);
    this.#audit.flush();
    if (this.#socketFile) removeSocketFile(this.#socketFile.path, this.#socketFile.ino);
  }

  newContext(session: ReplSession): number {
    const id = ++this.#lastContext;
    this.#contexts.set(id, session);
    return id;
  }

  ended(connection: Connection): void {
    this.#sessions.delete(connection);
    const session = connection.replSession;
    if (!session) return;
    // The main thread forgets the session's scripts with its context; V8's compilation cache
    // keeps their source until V8 clears it, which a large paste makes worth a collection: a
    // full one, paced and charged as the sessions' ops are.
    if (session.session.typedBytes >= FORGET_TYPED_BYTES) this.door.submit({ account: BACKDOOR_ACCOUNT, op: 'collect', args: {} }, { done: () => {} });
    for (const [id, owner] of this.#contexts) {
      if (owner === session) this.#contexts.delete(id);
    }
  }

  /** What the main thread tells the worker unasked: charged to the session whose context it is. */
  notified(notice: MainNotice): void {
    const owner = notice.type === 'settle' ? undefined : this.#contexts.get(notice.context);
    this.door.notice(notice, owner?.session ?? BACKDOOR_ACCOUNT);
    switch (notice.type) {
      case 'output':
        return owner?.guard(() => owner.mode.output(notice.text));
      case 'tap':
        return owner?.guard(() => owner.mode.tap(notice.value));
      case 'uncaught':
        return this.#uncaught(owner, notice.session, notice.text);
      default:
        return undefined;
    }
  }

  workerReport(): string {
    const { heapUsed, heapTotal } = process.memoryUsage();
    const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
    return `worker: ${this.#sessions.size} session(s), heap ${mb(heapUsed)} MB used of ${mb(heapTotal)} MB`;
  }

  /** In the session of the context, even one it replaced (`.clear`); audited once it has ended. */
  #uncaught(owner: ReplSession | undefined, session: number, text: string): void {
    if (owner) owner.guard(() => owner.mode.uncaught(text));
    else this.audit({ type: 'uncaught', time: new Date().toISOString(), session, message: text });
  }

  audit(event: AuditEvent, unauthenticated = false): void {
    this.#audit.record(event, unauthenticated);
  }

  admit(session: Connection): boolean {
    let authenticated = 0;
    for (const other of this.#sessions.keys()) if (other !== session && other.authenticated) authenticated++;
    return authenticated < this.config.maxSessions;
  }

  #accept(socket: net.Socket): void {
    socket.on('error', () => {});
    if (this.#closing) {
      socket.destroy();
      return;
    }
    // Once our side is done and flushed, the connection is over whatever the client does.
    socket.once('finish', () => socket.destroy());
    if (this.config.token === undefined) {
      if (this.#sessions.size >= this.config.maxSessions) {
        const reason = `too many sessions (the maxSessions option is ${this.config.maxSessions})`;
        this.audit({ type: 'refused', time: new Date().toISOString(), peer: socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'unix', reason }, true);
        socket.end(`backdoor: ${reason}\n`);
        return;
      }
    } else {
      // Connections that have not given the token have a small pool of their own: they can
      // never take the slots of sessions, and the newest pushes out the one that has waited
      // longest, so that a flood of silent connections cannot keep the operator out.
      const waiting = [...this.#sessions.keys()].filter((session) => !session.authenticated);
      if (waiting.length >= MAX_UNAUTHENTICATED) waiting[0].close('Too many connections are waiting to give the token: closing the one that waited longest.\n', 'evicted while waiting for the token');
    }
    this.#sessions.set(new Connection(++this.#lastSession, socket, this), socket);
  }
}
