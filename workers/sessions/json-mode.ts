/**
 * The structured mode for tools, in the manner of nREPL and Clojure's prepl: after the line
 * `.mode json`, each input is one JSON object on a line, and each output one JSON object on a
 * line, tagged. Every op of the op table (common/ops.ts) can be asked for:
 *
 * - `{"id": 1, "op": "stack"}`, `{"id": 2, "op": "profile", "args": {"seconds": 2}}`: an op and
 *   its arguments (`{"id": 3, "op": "describe"}` lists them all, with theirs);
 * - `{"id": 4, "code": "1 + 1"}`: the same as `{"op": "eval", "args": {"code": ...}}`;
 * - `{"id": 5, "command": ".heap sample 3"}`: a dot-command as the text mode takes it;
 * - `{"interrupt": 4}`: abandon the running (or queued) input with that id.
 *
 * Outputs:
 * - `{"tag":"mode","mode":"json","version":2}` once, when the mode starts;
 * - `{"tag":"ret","id":1,"op":"eval","status":"done","ok":true,"text":"2","ms":0.4,...}` per
 *   input: `status` `done` or `error`, and for an error its `code` (common/protocol.ts:
 *   `thrown`, `syntax`, `incomplete`, `interrupted`, `timeout`, `inspector-busy`, `refused`,
 *   `bad-args`, `unknown-op`, `internal`); `text` as the text mode prints it, and the op's data
 *   beside it: for `eval`, `inspect` (the same text) and `val` (superjson's `{ json, meta }`,
 *   when small and plain); for `stack`, `idle` and `frames`; for `profile` and `heap-sample`,
 *   `file`; for `complete`, `names` and `completed`; for `describe`, `ops`;
 * - `{"tag":"out","id":...,"text":"..."}` for console output (`id` null between inputs);
 * - `{"tag":"tap","val":...,"text":"..."}` for values the code passes to `tap(value)`;
 * - `{"tag":"uncaught","text":"Uncaught Error: ..."}` when code of the session throws (or
 *   rejects) after its input has returned;
 * - `{"tag":"wait","id":...,"ms":1000,"code":"budget-held","reason":"..."}` once, when an input
 *   has waited a second for the main thread (`budget-held`, `main-busy`, `queued`);
 * - `{"tag":"started","id":...,"op":"profile"}` when a diagnosis the worker runs starts (after
 *   any wait for the budget);
 * - `{"tag":"err","id":...,"code":"bad-args","message":"..."}` for a line that is not an input.
 */
import type { OpResult, OpValue } from '../../common/protocol.ts';
import type { WaitCode } from '../ops/door.ts';

/** An input's id: echoed in what answers it. */
export type JsonId = string | number | null;

export type JsonInput =
  | { ok: true; id: JsonId; op: string; args: unknown }
  /** `{"id": ..., "command": ".stack"}`: a dot-command. */
  | { ok: true; id: JsonId; command: string }
  /** `{"interrupt": id}`: abandon the input with that id. */
  | { ok: true; interrupt: JsonId }
  | { ok: false; id: JsonId; message: string };

/** Longest string id, and command, in characters. */
const MAX_ID_LENGTH = 1000;

export const JSON_VERSION = 2;

/**
 * Reads one input line of the JSON mode. An id is a string, a finite number or null: it is
 * written back into every answer, so it must be small and flat (a deeply nested one would
 * overflow the stack of whatever serialises it).
 */
export function parseJsonInput(line: string): JsonInput {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch (error) {
    return { ok: false, id: null, message: `not JSON: ${(error as Error).message}` };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { ok: false, id: null, message: 'an input is an object: {"id": ..., "op": "...", "args": {...}}, {"id": ..., "code": "..."} or {"interrupt": id}' };
  }
  const fields = message as { id?: unknown; code?: unknown; interrupt?: unknown; command?: unknown; op?: unknown; args?: unknown };
  if ('interrupt' in fields) {
    return isId(fields.interrupt) ? { ok: true, interrupt: fields.interrupt } : { ok: false, id: null, message: badId('"interrupt"') };
  }
  const id = fields.id ?? null;
  if (!isId(id)) return { ok: false, id: null, message: badId('"id"') };
  if ('op' in fields) {
    return typeof fields.op === 'string' && fields.op.length <= MAX_ID_LENGTH ? { ok: true, id, op: fields.op, args: fields.args } : { ok: false, id, message: '"op" must be the name of an op (see {"op": "describe"})' };
  }
  if ('command' in fields) {
    return typeof fields.command === 'string' && fields.command.length <= MAX_ID_LENGTH ? { ok: true, id, command: fields.command } : { ok: false, id, message: '"command" must be a string: a dot-command such as ".stack"' };
  }
  if (typeof fields.code !== 'string') return { ok: false, id, message: 'an input has "op", "code" or "command"' };
  return { ok: true, id, op: 'eval', args: { code: fields.code } };
}

function isId(value: unknown): value is JsonId {
  return value === null || (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value.length <= MAX_ID_LENGTH);
}

const badId = (field: string) => `${field} must be a string (at most ${MAX_ID_LENGTH} characters), a number or null`;

export const modeLine = (): string => `${JSON.stringify({ tag: 'mode', mode: 'json', version: JSON_VERSION })}\n`;

/** The answer to an input: its op, how it ended, its text and its data. */
export function retLine(id: unknown, op: string, result: OpResult, ms: number): string {
  const { text, json, ...data } = result.value;
  const line: Record<string, unknown> = { tag: 'ret', id, op, status: result.status };
  if (result.code) line.code = result.code;
  line.ok = result.status === 'done';
  line.text = text;
  if (op === 'eval' || op === 'inspect') line.inspect = text;
  if (json) line.val = json;
  Object.assign(line, data);
  line.ms = Math.round(ms * 1000) / 1000;
  return `${JSON.stringify(line)}\n`;
}

export const outLine = (id: unknown, text: string): string => `${JSON.stringify({ tag: 'out', id, text })}\n`;

export const uncaughtLine = (text: string): string => `${JSON.stringify({ tag: 'uncaught', text })}\n`;

export const waitLine = (id: unknown, ms: number, code: WaitCode, reason: string): string => `${JSON.stringify({ tag: 'wait', id, ms: Math.round(ms), code, reason })}\n`;

export const startedLine = (id: unknown, op: string): string => `${JSON.stringify({ tag: 'started', id, op })}\n`;

export const errLine = (id: unknown, code: string, message: string): string => `${JSON.stringify({ tag: 'err', id, code, message })}\n`;

export function tapLine(value: OpValue): string {
  const line: Record<string, unknown> = { tag: 'tap', text: value.text, inspect: value.text };
  if (value.json) line.val = value.json;
  return `${JSON.stringify(line)}\n`;
}
