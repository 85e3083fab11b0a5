import type { AuditEvent } from '../../common/audit-event.ts';
import { describeOps, helpText, type Args } from '../../common/ops.ts';
import type { OpResult, WorkerConfig } from '../../common/protocol.ts';
import type { Door } from '../ops/door.ts';
import { JsonRepl } from './json-repl.ts';
import type { Mode, ModeSession, SessionFacts } from './mode.ts';
import { Session, type RunEvents, type RunHow, type Running, type SessionOwner } from './session.ts';
import { TextRepl } from './text-repl.ts';

/** What a session needs of its connection: the client's screen and line source. */
export interface Wire {
  readonly characterMode: boolean;
  readonly colors: boolean;
  readonly columns: number | undefined;
  /** The mode that reads the lines now. */
  readonly mode: Mode;
  write(text: string): void;
  prompt(prompt: string): void;
  end(reason?: string): void;
  /** Runs `step`; an error in it ends the connection only. */
  guard(step: () => void): void;
  /** Lines that waited may be taken. */
  drain(): void;
  /** The mode that reads the lines from now on. */
  use(mode: Mode): void;
  /** Leave character mode (the JSON mode reads plain lines), or offer it (back in text). */
  leaveCharacterMode(): void;
  maybeCharacterMode(): void;
}

/** What a session needs of the server. */
export interface Backdoor {
  readonly door: Door;
  readonly config: WorkerConfig;
  readonly banner: string;
  /** A fresh main-side context id, for this session (for output routing). */
  newContext(session: ReplSession): number;
  audit(event: AuditEvent): void;
  workerReport(): string;
}

const text = (value: string): OpResult => ({ status: 'done', value: { text: value } });

/**
 * A connection's session, once it may have one: its ops (session.ts), the mode that reads its
 * lines (text or JSON), and the ops that are the session's own (`.help`, `.clear`, `.mode`...).
 * It is what its modes see of it (`ModeSession`): ops to run, and the client's screen.
 */
export class ReplSession implements ModeSession, SessionOwner {
  readonly id: number;
  readonly peer: string;
  readonly facts: SessionFacts;
  readonly #wire: Wire;
  readonly #backdoor: Backdoor;
  readonly session: Session;
  readonly #timers = new Set<NodeJS.Timeout>();
  /** Called whenever an op ends: idleTimeoutMs counts from there. */
  readonly #active: () => void;

  constructor(id: number, peer: string, wire: Wire, backdoor: Backdoor, active: () => void) {
    this.id = id;
    this.peer = peer;
    this.#wire = wire;
    this.#backdoor = backdoor;
    this.#active = active;
    this.session = new Session(this);
    const session = this.session;
    const { banner, config } = backdoor;
    this.facts = {
      banner,
      locals: config.locals,
      maxInputBytes: config.maxInputBytes,
      evalTimeoutMs: config.evalTimeoutMs,
      get characterMode() {
        return wire.characterMode;
      },
      get colors() {
        return wire.colors;
      },
      get columns() {
        return wire.columns;
      },
      get usedContext() {
        return session.usedContext;
      },
      get lines() {
        return session.lines;
      },
      countLine: () => session.countLine(),
      workerReport: () => backdoor.workerReport(),
    };
  }

  /** The mode that reads the session's lines now: what its context tells goes there. */
  get mode(): Mode {
    return this.#wire.mode;
  }

  /** Starts the text REPL: the banner and the first prompt. */
  start(): TextRepl {
    const repl = new TextRepl(this);
    this.#wire.use(repl);
    return repl;
  }

  // ModeSession: what the modes use.

  run(op: string, args: Args, how: RunHow, events: RunEvents): Running {
    return this.session.run(op, args, how, events);
  }

  abandon(running: Running, stopped?: () => void): boolean {
    return this.session.abandon(running, stopped);
  }

  background(running: Running): number {
    return this.session.background(running);
  }

  mainSilentMs(running: Running): number | undefined {
    return this.session.mainSilentMs(running);
  }

  write(text: string): void {
    this.#wire.write(text);
  }

  prompt(prompt: string): void {
    this.#wire.prompt(prompt);
  }

  end(reason?: string): void {
    this.#wire.end(reason);
  }

  after(ms: number, step: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#wire.guard(step);
    }, ms);
    this.#timers.add(timer);
  }

  // SessionOwner: what its ops need.

  get door(): Door {
    return this.#backdoor.door;
  }

  newContext(): number {
    return this.#backdoor.newContext(this);
  }

  audit(event: AuditEvent): void {
    this.#backdoor.audit(event);
  }

  active(): void {
    this.#active();
  }

  guard(step: () => void): void {
    this.#wire.guard(step);
  }

  drain(): void {
    this.#wire.drain();
  }

  /** The session's own ops (common/ops.ts: `runs: 'session'`). */
  sessionOp(op: string, args: Args): OpResult {
    switch (op) {
      case 'help':
        return text(helpText(this.facts.locals));
      case 'versions': // the worker's process.versions are the app's: nothing for the main thread to do
        return {
          status: 'done',
          value: {
            text: Object.entries(process.versions)
              .map(([name, version]) => `${name} ${version}`)
              .join('\n'),
            versions: { ...process.versions },
          },
        };
      case 'describe': {
        const described = describeOps();
        return { status: 'done', value: { text: described.ops.map((each) => `${each.name}${each.args.length ? ` (${each.args.map((arg) => arg.name).join(', ')})` : ''}: ${each.doc}`).join('\n'), ops: described.ops } };
      }
      case 'clear':
        this.session.newContext();
        return text('Clearing context...');
      case 'exit':
        this.#wire.end();
        return text('');
      case 'mode':
        if (args.mode === 'json') {
          this.#wire.leaveCharacterMode();
          this.#wire.use(new JsonRepl(this));
        } else {
          this.start().greet();
          this.#wire.maybeCharacterMode();
        }
        return text('');
      default: // break: the mode drops what was half typed
        return text('');
    }
  }

  /** The session has ended: its ops end with it. */
  close(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.session.close();
  }
}
