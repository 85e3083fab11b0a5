/**
 * Top-level `await` for the REPL, as a pure string-to-string rewrite (the approach of Node's
 * own `lib/internal/repl/await.js`, which is internal, on current acorn).
 *
 * `const y = await f(); y + 1` becomes
 * `let y; (async () => { void (y = await f()); return { value: (y + 1) }; })()`:
 * the body runs in an async function, and the top-level declarations are hoisted out of it as
 * assignments so that they outlive the command (the next line can use `y`). `const` becomes
 * `let`, as in Node. The last expression's value is returned wrapped in `{ value }`, so that a
 * thenable result is printed as what it is rather than awaited.
 */
import { Parser, type Node, type Pattern, type Position, type Program, type Statement, type VariableDeclaration } from 'acorn';
import * as walk from 'acorn-walk';

/** A change to the source, in positions of the original text. */
export interface Edit {
  at: number;
  /** Characters removed from `at` on. */
  remove: number;
  text: string;
}

interface State {
  edits: Edit[];
  hoisted: string[];
  hasAwait: boolean;
  /** Statements directly at the top level: their `let`, `const` and `class` are hoisted. */
  topLevel: Set<Node>;
  /** `var` declarations that head a for-in/for-of loop, already rewritten by the loop. */
  loopHeads: Set<Node>;
}

const skip = () => {};

// Walk the program without entering functions: their `await` and declarations are their own.
const visitors: walk.RecursiveVisitors<State> = {
  FunctionExpression: skip,
  ArrowFunctionExpression: skip,
  MethodDefinition: skip,
  PropertyDefinition: skip,
  StaticBlock: skip,
  FunctionDeclaration(node, state) {
    // `function f() {}` -> `f=function f() {};` with `var f;` hoisted.
    const name = node.id!.name;
    state.hoisted.push(`var ${name}; `);
    state.edits.push({ at: node.start, remove: 0, text: `${name}=` }, { at: node.end, remove: 0, text: ';' });
  },
  ClassDeclaration(node, state, c) {
    if (state.topLevel.has(node)) {
      const name = node.id!.name;
      state.hoisted.push(`let ${name}; `);
      state.edits.push({ at: node.start, remove: 0, text: `${name}=` }, { at: node.end, remove: 0, text: ';' });
    }
    walk.base.ClassDeclaration!(node, state, c);
  },
  AwaitExpression(node, state, c) {
    state.hasAwait = true;
    walk.base.AwaitExpression!(node, state, c);
  },
  ForOfStatement(node, state, c) {
    if (node.await) state.hasAwait = true;
    loopHead(node.left, state);
    walk.base.ForOfStatement!(node, state, c);
  },
  ForInStatement(node, state, c) {
    loopHead(node.left, state);
    walk.base.ForInStatement!(node, state, c);
  },
  VariableDeclaration(node, state, c) {
    // `var` anywhere outside functions, `let`/`const` at the top level: hoist, then assign.
    if (!state.loopHeads.has(node) && (node.kind === 'var' || state.topLevel.has(node))) {
      hoist(node, state);
      const several = node.declarations.length > 1;
      state.edits.push({ at: node.start, remove: node.kind.length, text: several ? 'void (' : 'void' });
      for (const declarator of node.declarations) {
        state.edits.push({ at: declarator.start, remove: 0, text: '(' });
        state.edits.push({ at: declarator.end, remove: 0, text: declarator.init ? ')' : '=undefined)' });
      }
      if (several) state.edits.push({ at: node.declarations.at(-1)!.end, remove: 0, text: ')' });
    }
    walk.base.VariableDeclaration!(node, state, c);
  },
};

// `for (var x of y)`: drop the `var`, the hoisted one is the loop's binding.
function loopHead(left: Node, state: State): void {
  if (left.type !== 'VariableDeclaration') return;
  const declaration = left as VariableDeclaration;
  if (declaration.kind !== 'var') return;
  hoist(declaration, state);
  state.loopHeads.add(declaration);
  state.edits.push({ at: declaration.start, remove: declaration.declarations[0].start - declaration.start, text: '' });
}

function hoist(node: VariableDeclaration, state: State): void {
  const names: string[] = [];
  for (const declarator of node.declarations) collectNames(declarator.id, names);
  if (names.length > 0) state.hoisted.push(`${node.kind === 'var' ? 'var' : 'let'} ${names.join(', ')}; `);
}

/** The names a declaration pattern binds (`{ a, b: [c, ...d], e = 1 }` binds a, c, d, e). */
export function collectNames(pattern: Pattern | null, names: string[]): void {
  if (!pattern) return;
  switch (pattern.type) {
    case 'Identifier':
      names.push(pattern.name);
      break;
    case 'ObjectPattern':
      for (const property of pattern.properties) {
        collectNames(property.type === 'RestElement' ? property.argument : property.value, names);
      }
      break;
    case 'ArrayPattern':
      for (const element of pattern.elements) collectNames(element, names);
      break;
    case 'RestElement':
      collectNames(pattern.argument, names);
      break;
    case 'AssignmentPattern':
      collectNames(pattern.left, names);
      break;
    default:
      break; // member expression targets declare nothing
  }
}

/**
 * Rewrites `source` (whose acorn AST, parsed with `allowAwaitOutsideFunction`, is `program`,
 * so it has no top-level `return`) if it uses `await` at the top level; returns undefined when
 * it does not. `otherEdits` are applied in the same pass.
 */
export function rewriteTopLevelAwait(source: string, program: Program, otherEdits: Edit[] = []): string | undefined {
  const state: State = {
    edits: [...otherEdits],
    hoisted: [],
    hasAwait: false,
    topLevel: new Set(program.body),
    loopHeads: new Set(),
  };
  for (const statement of program.body) walk.recursive(statement, state, visitors);
  if (!state.hasAwait) return undefined;

  const last = program.body.at(-1) as Statement | undefined;
  if (last?.type === 'ExpressionStatement') {
    // Close before the statement's own semicolon; between the expression and it there can
    // only be closing parentheses and comments.
    const end = source[last.end - 1] === ';' ? last.end - 1 : last.end;
    state.edits.push({ at: last.start, remove: 0, text: 'return { value: (' }, { at: end, remove: 0, text: ') }' });
  }
  return `${state.hoisted.join('')}(async () => { ${applyEdits(source, state.edits)}\n})()`;
}

/** Applies insertions and removals given in positions of the original text. */
export function applyEdits(source: string, edits: Edit[]): string {
  // Stable by position: edits at one position apply in the order they were made.
  const sorted = edits.map((edit, order) => ({ ...edit, order })).sort((a, b) => a.at - b.at || a.order - b.order);
  let out = '';
  let from = 0;
  for (const edit of sorted) {
    if (edit.at < from) continue; // inside a removed range
    out += source.slice(from, edit.at) + edit.text;
    from = edit.at + edit.remove;
  }
  return out + source.slice(from);
}

const WRAP = '(async () => { ';

/**
 * Node's REPL's own error for an input with `await` that does not parse (its
 * `processTopLevelAwait`): the input is parsed as the body of an async function, and an error
 * at or after its first `await` is reported as acorn words it, with the source line and a caret,
 * rather than V8's error for the input as a script (`await is only valid in async functions`
 * when the real error is `await Promise..resolve()`'s `..`). Returns the SyntaxError's message,
 * as Node's REPL makes it (from a newline on), `incomplete` for an unterminated template,
 * comment or string, or undefined when V8's error for the input is the one Node's REPL reports.
 */
export function awaitSyntaxError(source: string): string | 'incomplete' | undefined {
  const src = `${source}\n`; // as Node's REPL has it
  try {
    Parser.parse(`${WRAP}${src} })()`, { ecmaVersion: 'latest' });
    return undefined;
  } catch (error) {
    const { message, pos, loc } = error as SyntaxError & { pos?: number; loc?: Position };
    // Not a syntax error of acorn's (a stack overflow on an input nested too deep): V8's own.
    if (typeof pos !== 'number' || loc === undefined) return undefined;
    if (message.startsWith('Unterminated ')) return 'incomplete';
    const awaitPos = src.indexOf('await');
    const errPos = pos - WRAP.length;
    // Before the first `await`, or `await` itself not a keyword here: V8's error.
    if (awaitPos > errPos) return undefined;
    if (errPos === awaitPos + 6 && message.includes('Expecting Unicode escape sequence')) return undefined;
    if (errPos === awaitPos + 7 && message.includes('Unexpected token')) return undefined;
    const column = loc.line === 1 ? loc.column - WRAP.length : loc.column;
    let text = `\n${src.split('\n', loc.line)[loc.line - 1]}\n${' '.repeat(column)}^\n\n${message.replace(/ \([^)]+\)/, '')}`;
    // As V8 words it, with the token (after the input, the input's last character).
    if (text.endsWith('Unexpected token')) text += ` '${src[errPos] ?? src[src.length - 1]}'`;
    return text;
  }
}
