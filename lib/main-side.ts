import type { MessagePort } from 'node:worker_threads';
import type { AuditEvent } from '../common/audit-event.ts';
import type { WorkerNotice } from '../common/protocol.ts';
import { CodeRunner } from './code-runner.ts';
import { SessionContexts } from './contexts.ts';
import { MainAccount } from './main-account.ts';
import type { InspectorTally } from '../common/inspector-tally.ts';
import { MainEnd } from './main-end.ts';
import { NextTurn } from './next-turn.ts';
import { mainHandlers } from './op-handlers.ts';
import { OutcomeFormatter } from './outcome.ts';
import type { RunawayStop } from './runaway-stop.ts';

/** What the main thread's side is made from. */
export interface MainSideOptions {
  locals: Record<string, unknown>;
  evalTimeoutMs: number;
  mainThreadBudget: number;
  runawayStop?: RunawayStop;
  /** What the worker's inspector ops cost here. */
  tally?: InspectorTally;
}

/** Where it tells what is not an op's answer. */
export interface MainSideEvents {
  audit(event: AuditEvent): void;
  /** What the worker tells on its own that is not about contexts (audit batches, its heap). */
  notice(notice: WorkerNotice): void;
}

/** The main thread's side of a backdoor: its end of the channel, and what answers ops there. */
export interface MainSide {
  readonly end: MainEnd;
  readonly account: MainAccount;
  readonly code: CodeRunner;
  close(): void;
}

/**
 * Builds the main thread's side on `port`: the sessions' contexts, the code runner, the op
 * handlers, and the end of the channel they answer through. (startBackdoor's, and the unit
 * tests', which drive it from a port of their own.)
 */
export function mainSide(port: MessagePort, options: MainSideOptions, events: MainSideEvents): MainSide {
  const fault = (error: unknown) => events.audit({ type: 'fault', time: new Date().toISOString(), message: `main thread: ${String((error as Error)?.message ?? error)}` });
  const turn = new NextTurn(fault);
  const format = new OutcomeFormatter(options.evalTimeoutMs);
  let end: MainEnd | undefined;
  const account = new MainAccount(() => end?.busyMs ?? 0, options.tally);
  let code: CodeRunner | undefined;
  const contexts = new SessionContexts(options.locals, format, turn, {
    notify: (notice) => end?.notify(notice),
    audit: (event) => events.audit(event),
    stoppedContext: () => code?.stoppedContext,
  });
  code = new CodeRunner(contexts, format, turn, {
    evalTimeoutMs: options.evalTimeoutMs,
    runawayStop: options.runawayStop,
    settle: (id, out, result, cost) => end?.notify({ type: 'settle', id, out, result, cost }),
  });
  const runner = code;
  const { handlers, stop } = mainHandlers({ ...options, contexts, code, format, account, audit: (event) => events.audit(event) });
  end = new MainEnd(port, {
    handlers,
    code,
    account,
    turn,
    onNotice: (notice) => (notice.type === 'drop-context' ? contexts.dropLater(notice.context, (context) => runner.forget(context), notice.successor) : events.notice(notice)),
    onFault: (error) => events.audit({ type: 'fault', time: new Date().toISOString(), message: `a message from the worker failed: ${String(error)}` }),
  });
  return {
    end,
    account,
    code,
    close() {
      end!.close();
      stop();
      turn.close();
      contexts.close();
      runner.close();
    },
  };
}
