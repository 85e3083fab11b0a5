/**
 * The client at a terminal: local line editing and history (Node's readline), Ctrl-C and
 * Ctrl-D as in Node's own REPL, the server's output passed through, its prompts shown as the
 * editor's prompt.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { clearLine, createInterface, cursorTo } from 'node:readline';
import { CompletionRequests } from './completion.ts';
import { splitPrompt } from './output.ts';
import { readServerText } from './telnet-client.ts';

const IAC_IP = Buffer.from([255, 244]);
const HISTORY_SIZE = 1000;

export interface InteractiveOptions {
  /** Where history is kept (mode 0600); undefined for none. */
  historyFile: string | undefined;
  /** The token was sent on connecting: the server's `Token: ` question needs no showing. */
  tokenSent: boolean;
}

/** Resolves with the exit code once the server has closed the connection. */
export function runInteractive(socket: Socket, options: InteractiveOptions): Promise<number> {
  const { stdin, stdout } = process;
  const history = loadHistory(options.historyFile);
  let pending = '';
  let prompted = false; // the editor shows a prompt (and maybe a half-typed line)
  let closed = false;

  let skipToken = options.tokenSent;
  // At a colour terminal, tell the server (telnet TERMINAL-TYPE): results come in colour.
  const term = process.env.TERM;
  const colourTerm = term && term !== 'dumb' && !process.env.NO_COLOR && stdout.hasColors?.() ? term : undefined;
  const completions = new CompletionRequests((request) => socket.write(request), showAbove);
  const server = readServerText(socket, { term: colourTerm, onCompletion: (answer) => completions.answered(answer) }, (arrived) => {
    let received = pending + arrived;
    if (skipToken && received.length >= 'Token: \n'.length) {
      skipToken = false;
      received = received.replace(/^Token: \n/, '');
    }
    const { text, prompt, held } = splitPrompt(received, prompted);
    pending = held;
    if (text !== '') {
      if (prompted) {
        // Output that arrives while a line is being typed goes above it.
        clearLine(stdout, 0);
        cursorTo(stdout, 0);
      }
      stdout.write(text);
    }
    if (prompt !== undefined) editor.setPrompt(prompt);
    if (prompt !== undefined || (prompted && text !== '')) {
      prompted = true;
      editor.prompt(true);
    }
  });
  // TAB asks the session (Node's readline then shows the common prefix, and on a second TAB
  // the candidates), if the server answers completions.
  const editor = createInterface({
    input: stdin,
    output: stdout,
    terminal: true,
    history,
    historySize: HISTORY_SIZE,
    removeHistoryDuplicates: true,
    prompt: '',
    completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
      if (!server.completion || closed) return callback(null, [[], line]);
      completions.ask(line, (names, completed) => callback(null, [names, completed]));
    },
  });

  /** A notice of the client's own, above the line being typed. */
  function showAbove(text: string): void {
    if (closed) return;
    if (prompted) {
      clearLine(stdout, 0);
      cursorTo(stdout, 0);
    }
    stdout.write(`${text}\n`);
    if (prompted) editor.prompt(true);
  }

  editor.on('line', (line) => {
    prompted = false;
    socket.write(`${line}\n`);
    saveHistorySoon();
  });
  editor.on('SIGINT', () => {
    if (editor.line !== '') {
      // As in Node's REPL: Ctrl-C on a half-typed line clears it.
      stdout.write('\n');
      (editor as unknown as { line: string; cursor: number }).line = '';
      (editor as unknown as { cursor: number }).cursor = 0;
      editor.prompt();
    } else {
      // Otherwise the server decides: abandon a running command, or tell how to leave.
      socket.write(IAC_IP);
    }
  });
  editor.on('close', () => {
    // Ctrl-D on an empty line: the server answers what is pending, then closes.
    if (!closed) socket.end();
  });

  let saveTimer: NodeJS.Timeout | undefined;
  function saveHistorySoon(): void {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => saveHistory(options.historyFile, (editor as unknown as { history: string[] }).history), 500);
  }

  return new Promise((resolve) => {
    socket.on('close', () => {
      closed = true;
      clearTimeout(saveTimer);
      completions.close();
      const unread = pending + server.rest();
      if (unread !== '') stdout.write(unread);
      if (prompted) stdout.write('\n');
      saveHistory(options.historyFile, (editor as unknown as { history: string[] }).history);
      editor.close();
      resolve(0);
    });
  });
}

function loadHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    // The file lists the oldest first; readline wants the newest first.
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, HISTORY_SIZE);
  } catch {
    return [];
  }
}

function saveHistory(file: string | undefined, history: string[]): void {
  if (!file) return;
  try {
    writeFileSync(file, `${[...history].reverse().join('\n')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600); // also when it existed with other permissions
  } catch {
    // a history that cannot be saved is not worth failing for
  }
}
