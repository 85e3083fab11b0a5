/**
 * The structured mode for tools, in the manner of Clojure's prepl: after the line `.mode json`
 * each input is one JSON object `{"id": ..., "code": "..."}` on a line, and each output one
 * JSON object on a line, tagged:
 *
 * - `{"tag":"mode","mode":"json","version":1}` once, when the mode starts;
 * - `{"tag":"ret","id":...,"ok":true,"inspect":"2","val":{"json":2},"ms":0.4}` per input: its
 *   value as Node's REPL prints it, and (when it is small and plain enough) as superjson's
 *   `{ json, meta }`, which keeps Date, Map, Set, BigInt, undefined, RegExp and Error;
 *   `ok: false` when it threw or is a syntax error;
 * - `{"tag":"out","id":...,"text":"..."}` for console output (`id` null when printed between
 *   inputs, by timers);
 * - `{"tag":"tap","val":...,"inspect":"..."}` for values the code passes to `tap(value)`;
 * - `{"tag":"uncaught","text":"Uncaught Error: ..."}` when code of the session throws (or rejects)
 *   after its input has returned: a timer's, a callback's;
 * - `{"tag":"err","id":...,"message":"..."}` when an input is not one (bad JSON, incomplete code);
 * - `{"tag":"wait","id":...,"ms":1000,"reason":"..."}` once, when an input has waited a second
 *   for the main thread (the budget holds it, or the app keeps the main thread busy);
 * - `{"tag":"stack"|"profile"|"heap","id":...,"ok":true,"text":"...",...}` for a diagnosis,
 *   asked for as `{"id": ..., "command": ".stack"}` (`.profile [seconds]`, `.heap sample
 *   [seconds]`): its text as the text mode prints it, and `file` (the whole profile), or for a
 *   stack `idle` and `frames` (`functionName`, `location`), top first.
 *
 * `{"interrupt": id}` abandons the running input with that id: it is answered at once with
 * `ok: false` and `inspect` saying so (its code goes on running on the main thread if it is
 * synchronous, within `evalTimeoutMs`; an await is simply no longer waited for).
 */
import type { EvalOutcome } from '../common/protocol.ts';

/** An input's id: echoed in what answers it. */
export type JsonId = string | number | null;

export type JsonInput =
  | { ok: true; id: JsonId; code: string }
  /** `{"id": ..., "command": ".stack"}`: a diagnosis (see json-repl.ts); `.exit-app` needs `"confirm": true`. */
  | { ok: true; id: JsonId; command: string; confirm: boolean }
  /** `{"interrupt": id}`: abandon the running input with that id. */
  | { ok: true; interrupt: JsonId }
  | { ok: false; id: JsonId; message: string };

/** Longest string id, in characters. */
const MAX_ID_LENGTH = 1000;

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
    return { ok: false, id: null, message: 'an input is an object: {"id": ..., "code": "..."} or {"interrupt": id}' };
  }
  const fields = message as { id?: unknown; code?: unknown; interrupt?: unknown; command?: unknown; confirm?: unknown };
  if ('interrupt' in fields) {
    return isId(fields.interrupt) ? { ok: true, interrupt: fields.interrupt } : { ok: false, id: null, message: badId('"interrupt"') };
  }
  const id = fields.id ?? null;
  if (!isId(id)) return { ok: false, id: null, message: badId('"id"') };
  if ('command' in fields) {
    return typeof fields.command === 'string' && fields.command.length <= MAX_ID_LENGTH ? { ok: true, id, command: fields.command, confirm: fields.confirm === true } : { ok: false, id, message: '"command" must be a string: ".stack", ".profile [seconds]" or ".heap sample [seconds]"' };
  }
  if (typeof fields.code !== 'string') return { ok: false, id, message: '"code" must be a string' };
  return { ok: true, id, code: fields.code };
}

function isId(value: unknown): value is JsonId {
  return value === null || (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value.length <= MAX_ID_LENGTH);
}

const badId = (field: string) => `${field} must be a string (at most ${MAX_ID_LENGTH} characters), a number or null`;

export const modeLine = (): string => `${JSON.stringify({ tag: 'mode', mode: 'json', version: 1 })}\n`;

export function retLine(id: unknown, outcome: EvalOutcome, ms: number): string {
  const line: Record<string, unknown> = { tag: 'ret', id, ok: outcome.ok, inspect: outcome.text, ms: Math.round(ms * 1000) / 1000 };
  if (outcome.value) line.val = outcome.value;
  return `${JSON.stringify(line)}\n`;
}

export const outLine = (id: unknown, text: string): string => `${JSON.stringify({ tag: 'out', id, text })}\n`;

export const uncaughtLine = (text: string): string => `${JSON.stringify({ tag: 'uncaught', text })}\n`;

export const waitLine = (id: unknown, ms: number, reason: string): string => `${JSON.stringify({ tag: 'wait', id, ms: Math.round(ms), reason })}\n`;

/** A diagnosis's answer, tagged with the command's name. */
export function diagnosisLine(tag: string, id: unknown, ok: boolean, diagnosis: { text: string; file?: string; idle?: boolean; frames?: unknown[] }): string {
  return `${JSON.stringify({ tag, id, ok, ...diagnosis })}\n`;
}

export const errLine = (id: unknown, message: string): string => `${JSON.stringify({ tag: 'err', id, message })}\n`;

export function tapLine(outcome: EvalOutcome): string {
  const line: Record<string, unknown> = { tag: 'tap', inspect: outcome.text };
  if (outcome.value) line.val = outcome.value;
  return `${JSON.stringify(line)}\n`;
}
