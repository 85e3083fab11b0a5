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
