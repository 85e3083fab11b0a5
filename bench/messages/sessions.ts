// What bench/sessions.js, the REPL clients, is asked over IPC and answers (types only: see
// bench/messages/ipc.ts).

export type SessionsRequest =
  /** Open `count` sessions; each sends `command` back to back (`gapMs` apart), or stays idle when it is null. */
  | { cmd: 'start'; port: number; count: number; command: string | null; gapMs?: number; first?: string }
  /** Forget what was counted so far (after the warm-up). */
  | { cmd: 'reset' }
  /** Close the sessions and report. */
  | { cmd: 'stop' }
  /**
   * Run exactly `n` commands (or a few more) on one fresh session, and report; with `keep`, on
   * the session kept from an earlier `count` with `keep` to the same port (one is opened if there
   * is none), left open for the next.
   */
  | { cmd: 'count'; port: number; command: string; n: number; gapMs?: number; keep?: boolean }
  /** `n` rounds of `command` on each port's kept session in turn, each after the one before has answered. */
  | { cmd: 'alternate'; ports: number[]; command: string; n: number }
  /** Close the sessions kept by `count`. */
  | { cmd: 'drop-kept' };

export type SessionsReply = { cmd: 'started'; at: number } | { cmd: 'reset-done' } | { cmd: 'dropped-kept' } | { cmd: 'stopped'; result: FloodResult } | { cmd: 'counted'; result: CountResult } | { cmd: 'alternated'; commands: number };

/** Commands completed since start or reset, and their round trips in us (none without commands). */
export interface FloodResult {
  commands: number;
  rttP50Us?: number;
  rttP99Us?: number;
}

export interface CountResult {
  commands: number;
  rttP50Us: number;
  rttP99Us: number;
}
