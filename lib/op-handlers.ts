/**
 * The main thread's handlers of the ops that run there (common/ops.ts), by the same names:
 * each runs in a turn of the event loop of its own (main-end.ts), and answers what the op
 * found. A fault of the backdoor's own becomes the op's `internal` error, never an exception.
 */
import type { MainOp, OpReply, OpRequest } from '../common/protocol.ts';
import type { AuditEvent } from '../common/audit-event.ts';
import { padToWidth, visibleWidth } from '../common/ansi.ts';
import { CodeRunner } from './code-runner.ts';
import { completeNames } from './completion.ts';
import type { SessionContexts } from './contexts.ts';
import { heapReport } from './heap-report.ts';
import { HealthMonitor, preview } from './inspector.ts';
import type { MainAccount } from './main-account.ts';
import type { OutcomeFormatter } from './outcome.ts';
import { exitApp } from './process-guard.ts';

export type HandlerReply = Omit<OpReply, 'id' | 'cost'>;
export type Handler = (request: OpRequest, start: number) => HandlerReply;

export interface HandlerDeps {
  locals: Record<string, unknown>;
  evalTimeoutMs: number;
  mainThreadBudget: number;
  contexts: SessionContexts;
  code: CodeRunner;
  format: OutcomeFormatter;
  account: MainAccount;
  audit(event: AuditEvent): void;
}

const text = (value: string): HandlerReply => ({ status: 'done', value: { text: value }, out: '' });

/** The handlers; `stop` ends what they hold (the `.stats` histogram). */
export function mainHandlers(deps: HandlerDeps): { handlers: Record<Exclude<MainOp, 'load' | 'recover'>, Handler>; stop(): void } {
  const health = new HealthMonitor();
  const code: Handler = (request, start) => deps.code.run(CodeRunner.request(request, request.view ?? { colors: false, json: false }), start);
  return {
    stop: () => health.stop(),
    handlers: {
      eval: code,
      inspect: code,
      complete(request) {
        const { context, session } = request.session!;
        const target = request.target ?? { path: [], prefix: '' };
        const names = completeNames(deps.contexts.get(context, session), target.path, target.prefix, deps.evalTimeoutMs);
        return { status: 'done', value: { text: names.join(' '), names }, out: '' };
      },
      stats: (request) => text(health.report(deps.account.stats(), deps.mainThreadBudget, request.note ?? '')),
      heap: () => text(heapReport()),
      locals(request) {
        const colors = request.view?.colors ?? false;
        const listing = deps.format.bounded('the locals', () => listLocals(deps.locals, colors));
        return { status: listing.status, ...(listing.code && { code: listing.code }), value: listing.value, out: '' };
      },
      'exit-app'(request) {
        if (request.args.confirm !== true) return { status: 'error', code: 'refused', value: { text: '.exit-app ends the app: it needs confirm: true' }, out: '' };
        const exitCode = Number(request.args.code ?? 0);
        const { session, peer } = request.session!;
        // Told before it happens: nothing of the backdoor's runs after process.exit.
        deps.audit({ type: 'exit-app', time: new Date().toISOString(), session, peer, code: exitCode });
        return exitApp(exitCode);
      },
    },
  };
}

function listLocals(locals: Record<string, unknown>, colors: boolean): string {
  const names = Object.keys(locals);
  if (names.length === 0) return 'The app provided no locals.';
  // Padded in columns: a wide character's name lines up too.
  const width = Math.max(...names.map((name) => visibleWidth(name)));
  return names.map((name) => `${padToWidth(name, width)}  ${preview(locals[name], 100, colors)}`).join('\n');
}
