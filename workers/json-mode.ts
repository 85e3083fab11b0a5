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
 * - `{"tag":"err","id":...,"message":"..."}` when an input is not one (bad JSON, incomplete code).
 */
import type { EvalOutcome } from '../lib/protocol.ts';

export type JsonInput = { ok: true; id: unknown; code: string } | { ok: false; id: unknown; message: string };

/** Reads one input line of the JSON mode. */
export function parseJsonInput(line: string): JsonInput {
  let message: unknown;
  try {
    message = JSON.parse(line);
  } catch (error) {
    return { ok: false, id: null, message: `not JSON: ${(error as Error).message}` };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    return { ok: false, id: null, message: 'an input is an object: {"id": ..., "code": "..."}' };
  }
  const { id = null, code } = message as { id?: unknown; code?: unknown };
  if (typeof code !== 'string') return { ok: false, id, message: '"code" must be a string' };
  return { ok: true, id, code };
}

export const modeLine = (): string => `${JSON.stringify({ tag: 'mode', mode: 'json', version: 1 })}\n`;

export function retLine(id: unknown, outcome: EvalOutcome, ms: number): string {
  const line: Record<string, unknown> = { tag: 'ret', id, ok: outcome.ok, inspect: outcome.text, ms: Math.round(ms * 1000) / 1000 };
  if (outcome.value) line.val = outcome.value;
  return `${JSON.stringify(line)}\n`;
}

export const outLine = (id: unknown, text: string): string => `${JSON.stringify({ tag: 'out', id, text })}\n`;

export const uncaughtLine = (text: string): string => `${JSON.stringify({ tag: 'uncaught', text })}\n`;

export const errLine = (id: unknown, message: string): string => `${JSON.stringify({ tag: 'err', id, message })}\n`;

export function tapLine(outcome: EvalOutcome): string {
  const line: Record<string, unknown> = { tag: 'tap', inspect: outcome.text };
  if (outcome.value) line.val = outcome.value;
  return `${JSON.stringify(line)}\n`;
}
