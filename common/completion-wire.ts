/**
 * How the `backdoor` client asks a session for tab completions without touching the session's
 * text: in telnet subnegotiations of the backdoor's own option (Option.BACKDOOR_COMPLETION),
 * which every telnet parser takes out of the data, after the client said WILL and the server
 * answered DO. An older server refuses the option, and the client then completes nothing.
 *
 * - request, client to server: `IAC SB 200 <id> <the line up to the cursor, UTF-8> IAC SE`,
 *   of at most MAX_COMPLETION_LINE bytes of the line's end;
 * - answer, server to client: `IAC SB 200 <id> <JSON [names, completed]> IAC SE`, as Node's
 *   readline completer answers: the candidates, and the part of the line they replace; with a
 *   third element, a note, when there are none for a reason the user should hear (the budget).
 *
 * `id` is one byte, counting round, so that a late answer is not taken for a newer request's.
 */
import { Option, subnegotiation } from './telnet.ts';

/** Bytes of a line's end sent for completion (the name being typed is in its last few). */
export const MAX_COMPLETION_LINE = 1024;
/** Bytes of an answer, at most: the server leaves candidates out past it. */
export const MAX_COMPLETION_ANSWER = 64 * 1024;

export interface CompletionRequest {
  id: number;
  line: string;
}

export interface CompletionAnswer {
  id: number;
  names: string[];
  completed: string;
  /** Why there are no names, when there is a reason to tell (the budget holds completions now). */
  note?: string;
}

/** The request for `line` (its end, cut at a character boundary, when it is long). */
export function completionRequest(id: number, line: string): Buffer {
  let bytes = Buffer.from(line, 'utf8');
  if (bytes.length > MAX_COMPLETION_LINE) {
    let start = bytes.length - MAX_COMPLETION_LINE;
    while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++; // not inside a character
    bytes = bytes.subarray(start);
  }
  return subnegotiation(Option.BACKDOOR_COMPLETION, Buffer.concat([Buffer.from([id & 0xff]), bytes]));
}

/** A request's content (after the option byte), or undefined when there is none. */
export function parseCompletionRequest(data: Buffer): CompletionRequest | undefined {
  if (data.length === 0) return undefined;
  return { id: data[0], line: data.subarray(1, 1 + MAX_COMPLETION_LINE).toString('utf8') };
}

/** The answer: as many of `names` as fit in MAX_COMPLETION_ANSWER (and a note, which older clients ignore). */
export function completionAnswer(id: number, names: readonly string[], completed: string, note?: string): Buffer {
  const kept: string[] = [];
  let size = Buffer.byteLength(completed) + 16;
  for (const name of names) {
    size += Buffer.byteLength(name) + 4;
    if (size > MAX_COMPLETION_ANSWER) break;
    kept.push(name);
  }
  return subnegotiation(Option.BACKDOOR_COMPLETION, Buffer.concat([Buffer.from([id & 0xff]), Buffer.from(JSON.stringify(note === undefined ? [kept, completed] : [kept, completed, note.slice(0, 1000)]), 'utf8')]));
}

/** An answer's content (after the option byte), or undefined when it is not one. */
export function parseCompletionAnswer(data: Buffer): CompletionAnswer | undefined {
  if (data.length === 0) return undefined;
  try {
    const [names, completed, note] = JSON.parse(data.subarray(1).toString('utf8')) as unknown[];
    if (!Array.isArray(names) || !names.every((name) => typeof name === 'string') || typeof completed !== 'string') return undefined;
    return { id: data[0], names, completed, ...(typeof note === 'string' && { note }) };
  } catch {
    return undefined;
  }
}
