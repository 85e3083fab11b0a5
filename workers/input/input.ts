/**
 * Decides, without running anything, whether what a person typed so far is a complete input,
 * needs more lines, or cannot be valid; and prepares complete inputs for the main thread.
 */
import { Parser, type Options, type Program } from 'acorn';
import * as walk from 'acorn-walk';
import vm from 'node:vm';
import { importFunctionName, type PreparedInput } from '../../common/protocol.ts';
import { applyEdits, awaitSyntaxError, collectNames, rewriteTopLevelAwait, type Edit } from './await-transform.ts';
import { isRecoverable } from './recoverable.ts';

export type InputVerdict =
  /** Ready to run: `code` is what the main thread should evaluate; `declared`, the names it declares at the top level. */
  | { kind: 'complete'; code: string; awaited: boolean; declared: string[] }
  /**
   * Valid so far but unfinished: wait for another line. `until`: it cannot end before this
   * text appears (the backtick of an unterminated template, the end of a block comment).
   */
  | { kind: 'incomplete'; until?: string }
  /**
   * Never valid, whatever follows: `message` is the error as V8 words it; `source`, what to
   * compile to get V8's error; `importHint`, its static imports as `await import()`; `thrown`,
   * the message of the SyntaxError to throw instead, where Node's REPL makes its own.
   */
  | { kind: 'error'; message: string; source: string; importHint?: string; thrown?: string }
  /** Only white space and comments. */
  | { kind: 'empty' }
  /** Not to be compiled anywhere: `message` says why (nested too deeply). */
  | { kind: 'refused'; message: string };

/**
 * Brackets nested deeper than this are refused before any parser sees them: V8 compiling a
 * destructuring pattern 10,000 deep in a worker thread crashes the whole process on Node 22
 * and 24 (a segmentation fault, not a RangeError), and nothing real is nested this deep.
 */
export const MAX_NESTING = 1000;

export const parseOptions: Options = {
  ecmaVersion: 'latest',
  sourceType: 'script',
  allowAwaitOutsideFunction: true,
  allowHashBang: false,
};

/**
 * Classifies `source`, which may span several lines. Never throws: an input nested so deeply
 * that a pass over it would overflow the stack (`1+1+...`, `a.b.b...`, `f()()...`, `[[[...]]]`
 * tens of thousands deep) is left to V8 to compile or refuse on the main thread, unrewritten.
 */
export function classifyInput(source: string): InputVerdict {
  // An input typed again (a person polling `stats.requests`, a script, a paste) is not parsed
  // again: a parse costs the worker ~25 us, most of it acorn's set-up per parse.
  const cached = verdicts.get(source);
  if (cached) {
    verdicts.delete(source); // most recently used last
    verdicts.set(source, cached);
    return cached;
  }
  const verdict = classifyUncached(source);
  if (source.length <= MAX_CACHED_INPUT) {
    verdicts.set(source, verdict);
    if (verdicts.size > MAX_CACHED_VERDICTS) verdicts.delete(verdicts.keys().next().value!);
  }
  return verdict;
}

/** Verdicts of recent short inputs, by their text (bounded: 256 of up to 1,000 characters). */
const verdicts = new Map<string, InputVerdict>();
const MAX_CACHED_VERDICTS = 256;
const MAX_CACHED_INPUT = 1000;

function classifyUncached(source: string): InputVerdict {
  if (nestingDepth(source) > MAX_NESTING) {
    return { kind: 'refused', message: `RangeError: Maximum call stack size exceeded (brackets nested more than ${MAX_NESTING} deep are not compiled)` };
  }
  try {
    return classify(source);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return { kind: 'error', message: 'RangeError: the input is nested too deeply to analyse', source };
  }
}

/**
 * How deep `(`, `[` and `{` could nest in `source`: every bracket counts, in strings, templates,
 * regular expressions and comments too. Telling those apart takes a parser (a `"` inside `/"/`
 * is no string), and a guard that a parser's blind spot can bypass guards nothing; the price is
 * that a string of more than a thousand unclosed brackets is refused too. One pass, no recursion.
 */
export function nestingDepth(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const code = source.charCodeAt(i);
    if (code === 40 || code === 91 || code === 123) {
      if (++depth > deepest) deepest = depth;
    } else if ((code === 41 || code === 93 || code === 125) && depth > 0) {
      depth--;
    }
  }
  return deepest;
}

function classify(source: string): InputVerdict {
  if (source.trim() === '') return { kind: 'empty' };

  // As in Node's REPL, `{ a: 1 }` is an object, not a block with a label, and an unfinished
  // one (a pasted JSON object, line by line) waits for its end.
  const objectLike = /^\s*\{/.test(source) && !/;\s*$/.test(source);
  if (objectLike) {
    const wrapped = `(${source}\n)`;
    const program = tryParse(wrapped);
    if (program) return complete(wrapped, program);
  }

  let program: Program;
  try {
    program = Parser.parse(source, parseOptions);
  } catch (error) {
    if (isRecoverable(source)) {
      const message = (error as SyntaxError).message;
      return /^Unterminated template/.test(message) ? { kind: 'incomplete', until: '`' } : /^Unterminated comment/.test(message) ? { kind: 'incomplete', until: '*/' } : { kind: 'incomplete' };
    }
    return source.includes('await') ? awaitError(source) : syntaxError(source);
  }
  if (program.body.length === 0) return { kind: 'empty' };
  return complete(source, program);
}

function complete(source: string, program: Program): InputVerdict {
  const imports = dynamicImports(program);
  const rewritten = rewriteTopLevelAwait(source, program, imports);
  return {
    kind: 'complete',
    code: rewritten ?? (imports.length > 0 ? applyEdits(source, imports) : source),
    awaited: rewritten !== undefined,
    declared: declaredNames(program),
  };
}

function tryParse(source: string): Program | undefined {
  try {
    return Parser.parse(source, parseOptions);
  } catch {
    return undefined;
  }
}

/**
 * Node's REPL's own error for an input with `await` that does not parse (awaitSyntaxError), or
 * V8's. As there, the input waits for more lines when it could be completed without its `await`s.
 */
function awaitError(source: string): InputVerdict {
  const thrown = awaitSyntaxError(source);
  if (thrown === undefined) return syntaxError(source);
  const fallback = `${source.replace(/\bawait\b/g, '')}\n`;
  if (thrown === 'incomplete' || (!compiles(fallback) && isRecoverable(fallback))) return { kind: 'incomplete' };
  return { kind: 'error', message: `SyntaxError: ${thrown}`, source, thrown };
}

function compiles(source: string): boolean {
  try {
    new vm.Script(source, { filename: 'REPL' });
    return true;
  } catch {
    return false;
  }
}

/**
 * The error V8 gives for the input, compiled in this thread (never run). acorn is stricter than
 * V8 here and there (`var await = 1` in a script, newer syntax): if V8 compiles it, it runs.
 */
function syntaxError(source: string): InputVerdict {
  try {
    new vm.Script(source, { filename: 'REPL' });
  } catch (error) {
    return { kind: 'error', message: `${(error as Error).name}: ${(error as Error).message}`, source, importHint: dynamicImportHint(source) };
  }
  return { kind: 'complete', code: source, awaited: false, declared: [] };
}

/**
 * Node's REPL hint for a static import: the last line's import declarations as
 * `const { a, b: c } = await import("m");`, or undefined when it has none.
 */
export function dynamicImportHint(source: string): string | undefined {
  const lastLine = source.slice(source.lastIndexOf('\n') + 1);
  let program: Program;
  try {
    program = Parser.parse(lastLine, { ecmaVersion: 'latest', sourceType: 'module' });
  } catch {
    return undefined;
  }
  let hint = '';
  for (const node of program.body) {
    if (node.type !== 'ImportDeclaration') continue;
    const load = `await import(${JSON.stringify(node.source.value)});`;
    const [first] = node.specifiers;
    if (!first) hint += load;
    else if (node.specifiers.length === 1 && first.type === 'ImportNamespaceSpecifier') hint += `const ${first.local.name} = ${load}`;
    else {
      const names = node.specifiers.map((specifier) => {
        const imported = specifier.type === 'ImportSpecifier' ? specifier.imported : undefined;
        const importedName = imported && 'name' in imported ? imported.name : imported ? String(imported.value) : 'default';
        return specifier.local.name === importedName ? specifier.local.name : `${importedName}: ${specifier.local.name}`;
      });
      hint += `const { ${names.join(', ')} } = ${load}`;
    }
  }
  return hint === '' ? undefined : hint;
}

/** Names declared at the top level (for completing them later: they are not properties of the global). */
function declaredNames(program: Program): string[] {
  const names: string[] = [];
  for (const statement of program.body) {
    if (statement.type === 'VariableDeclaration') {
      for (const declarator of statement.declarations) collectNames(declarator.id, names);
    } else if ((statement.type === 'FunctionDeclaration' || statement.type === 'ClassDeclaration') && statement.id) {
      names.push(statement.id.name);
    }
  }
  return names;
}

/** Edits that turn every `import(...)` into a call of `importFunctionName` (see common/protocol.ts). */
function dynamicImports(program: Program): Edit[] {
  const edits: Edit[] = [];
  walk.simple(program, {
    ImportExpression(node) {
      edits.push({ at: node.start, remove: 'import'.length, text: importFunctionName });
    },
  });
  return edits;
}

/**
 * The request for an input that is complete, empty (white space or comments: it runs, and
 * prints `undefined`) or a syntax error (compiled on the main thread, so that V8's own message,
 * source line and caret are printed and the error becomes `_error`, as in Node's REPL).
 */
export function prepareInput(verdict: Exclude<InputVerdict, { kind: 'incomplete' | 'refused' }>, typed: string, line: number): PreparedInput {
  if (verdict.kind === 'complete') return { code: verdict.code, awaited: verdict.awaited, declared: verdict.declared, line };
  if (verdict.kind === 'empty') return { code: typed, awaited: false, declared: [], line };
  return { code: verdict.source, awaited: false, declared: [], importHint: verdict.importHint, ...(verdict.thrown !== undefined && { syntaxError: verdict.thrown }), line };
}
