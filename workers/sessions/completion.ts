import { OPS } from '../../common/ops.ts';
import type { Completions, ModeSession } from './mode.ts';

/** Characters at the end of a line that completion looks at (a name chain is shorter). */
const MAX_COMPLETED_CHARS = 1024;

/** What tab completion asks the main thread for the end of a typed line. */
export interface CompletionTarget {
  /** `a.b.` of `a.b.c`: kept in front of every completion. */
  chain: string;
  /** The names to walk from the session's globals: `['a', 'b']`. */
  path: string[];
  /** The start of the name being typed: `c`. */
  prefix: string;
}

/**
 * The identifier chain at the end of `line` (`foo.bar.ba`), or undefined when there is nothing
 * to complete there (a bare global needs at least its first character).
 */
export function completionTarget(whole: string): CompletionTarget | undefined {
  // The regular expression is tried from every position: only the line's end is looked at.
  const line = whole.length > MAX_COMPLETED_CHARS ? whole.slice(-MAX_COMPLETED_CHARS) : whole;
  const match = /((?:[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*\.)*)([\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*)?$/u.exec(line);
  const chain = match?.[1] ?? '';
  const prefix = match?.[2] ?? '';
  const path = chain === '' ? [] : chain.slice(0, -1).split('.');
  if (path.length === 0 && prefix === '') return undefined;
  return { chain, path, prefix };
}

/**
 * Tab completion in the text REPL: dot-commands, names of the session (declared, or globals),
 * or properties, asked of the main thread.
 */
export function completeLine(session: ModeSession, line: string): Promise<Completions> {
  if (/^\s*\.[\w-]*$/.test(line)) {
    const typed = line.trim();
    const names = OPS.flatMap((op) => (op.command ? [`.${op.command.name.split(' ')[0]}`] : []));
    return Promise.resolve([[...new Set(names)].filter((name) => name.startsWith(typed)), typed]);
  }
  const target = completionTarget(line);
  if (!target) return Promise.resolve([[], line]);
  return new Promise((resolve) => {
    session.run(
      'complete',
      { line: line.slice(-1024) },
      { typed: line, target: { path: target.path, prefix: target.prefix } },
      {
        done: (result) => {
          const names = (result.value.names ?? []).map((name) => target.chain + name);
          resolve(result.code === 'budget-held' ? [names, target.chain + target.prefix, result.value.text] : [names, target.chain + target.prefix]);
        },
      },
    );
  });
}
