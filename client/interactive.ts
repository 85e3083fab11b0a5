/**
 * The client at a terminal: local line editing and history (Node's readline), Ctrl-C and
 * Ctrl-D as in Node's own REPL, the server's output passed through, its prompts shown as the
 * editor's prompt.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { clearScreenDown, createInterface, cursorTo, moveCursor } from 'node:readline';
import { CompletionRequests } from './completion.ts';
import { splitOutput } from './output.ts';
import { readServerText } from './telnet-client.ts';

const IAC_IP = Buffer.from([255, 244]);
const HISTORY_SIZE = 1000;

export interface InteractiveOptions {
  /** Where history is kept (mode 0600); undefined for none. */
  historyFile: string | undefined;
  /** The token was sent on connecting: the server's `Token: ` question needs no showing. */
  tokenSent: boolean;
}

/**
 * Resolves with the exit code once the server has closed the connection. When the terminal
 * hangs up (SIGHUP; or its input ends, or reading or writing it fails, as under `npx` when the
 * window closes: npm catches the SIGHUP meant for its group), the session ends there: the
 * connection is closed, the history kept, and the client ends as a hangup ends it (SIGHUP).
 */
export function runInteractive(socket: Socket, options: InteractiveOptions): Promise<number> {
  const { stdin, stdout } = process;
  const history = loadHistory(options.historyFile);
  let pending = '';
  let prompted = false; // the editor shows the server's prompt (and maybe a half-typed line)
  let serverPrompt = '';
  // Output since its last newline: the line being edited starts after it (as a prompt does).
  let tail = '';
  // Lines sent that the server has not answered with a prompt yet: typed ahead, or pasted.
  let ahead = 0;
  let atLineStart = true;
  let closed = false;
  let hungUp = false;

  let skipToken = options.tokenSent;
  // At a colour terminal, tell the server (telnet TERMINAL-TYPE): results come in colour.
  const term = process.env.TERM;
  const colourTerm = term && term !== 'dumb' && !process.env.NO_COLOR && stdout.hasColors?.() ? term : undefined;
  const completions = new CompletionRequests(
    (request) => socket.write(request),
    (text) => print(`${text}\n`),
  );
  const server = readServerText(socket, { term: colourTerm, onCompletion: (answer) => completions.answered(answer) }, (arrived) => {
    let received = pending + arrived;
    if (skipToken && received.length >= 'Token: \n'.length) {
      skipToken = false;
      received = received.replace(/^Token: \n/, '');
    }
    const split = splitOutput(received, ahead, atLineStart, prompted);
    pending = split.held;
    atLineStart = split.atLineStart;
    for (const part of split.parts) {
      if ('text' in part) print(part.text);
      else showPrompt(part.prompt);
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
  const edited = editor as unknown as { line: string; cursor: number; prevRows: number };

  /**
   * Output, above the line being edited (the server's prompt, or what is typed ahead while a
   * command runs): that line is cleared, the output printed, the line drawn again after it, as
   * readline draws it. A last line without its newline stays before the edited line.
   */
  function print(text: string): void {
    if (text === '' || hungUp) return;
    const cut = text.lastIndexOf('\n') + 1;
    const editing = prompted || edited.line !== '';
    if (editing) {
      moveCursor(stdout, 0, -edited.prevRows);
      cursorTo(stdout, 0);
      clearScreenDown(stdout);
      if (cut > 0) stdout.write(tail + text.slice(0, cut));
    } else {
      stdout.write(text);
    }
    tail = cut > 0 ? text.slice(cut) : tail + text;
    editor.setPrompt(tail + (prompted ? serverPrompt : ''));
    if (editing) {
      edited.prevRows = 0;
      editor.prompt(true);
    } else {
      edited.prevRows = editor.getCursorPos().rows;
    }
  }

  /** A prompt: the one that answers the last line sent is the editor's. */
  function showPrompt(prompt: string): void {
    ahead = Math.max(0, ahead - 1);
    // The lines typed or pasted ahead are on the screen already, as typed.
    if (ahead > 0 || closed || hungUp) return;
    prompted = true;
    serverPrompt = prompt;
    editor.setPrompt(tail + prompt);
    editor.prompt(true);
  }

  editor.on('line', (line) => {
    prompted = false;
    tail = '';
    editor.setPrompt('');
    ahead++;
    // The lines of a paste go together (readline hands them over one by one, at once).
    if (!socket.writableCorked) {
      socket.cork();
      process.nextTick(() => socket.uncork());
    }
    socket.write(`${line}\n`);
    saveHistorySoon();
  });
  editor.on('SIGINT', () => {
    if (edited.line !== '') {
      // As in Node's REPL: Ctrl-C on a half-typed line clears it.
      stdout.write('\n');
      edited.line = '';
      edited.cursor = 0;
      edited.prevRows = 0;
      tail = '';
      editor.setPrompt(prompted ? serverPrompt : '');
      editor.prompt();
    } else {
      // Otherwise the server decides: abandon a running command (and the lines behind it), or
      // tell how to leave.
      ahead = 0;
      socket.write(IAC_IP);
    }
  });
  editor.on('close', () => {
    // Ctrl-D on an empty line: the server answers what is pending, then closes.
    if (!closed && !hungUp) socket.end();
  });

  // The terminal is gone: its input ended, it cannot be read or written, or it hung up.
  function hangUp(): void {
    if (closed || hungUp) return;
    hungUp = true;
    socket.destroy();
  }
  stdin.prependListener('end', hangUp);
  stdin.on('error', hangUp);
  stdout.on('error', hangUp);
  // readline passes its input's errors on (setRawMode fails with EIO on a terminal gone).
  editor.on('error', hangUp);
  process.on('SIGHUP', hangUp);

  let saveTimer: NodeJS.Timeout | undefined;
  function saveHistorySoon(): void {
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => saveHistory(options.historyFile, (editor as unknown as { history: string[] }).history), 500);
  }

  return new Promise((resolve) => {
    socket.on('close', () => {
      closed = true;
      process.off('SIGHUP', hangUp);
      clearTimeout(saveTimer);
      completions.close();
      if (!hungUp) {
        const unread = pending + server.rest();
        if (unread !== '') stdout.write(unread);
        if (prompted || edited.line !== '') stdout.write('\n');
      }
      saveHistory(options.historyFile, (editor as unknown as { history: string[] }).history);
      editor.close();
      // Not an exit: Node would restore the terminal's settings as it exits, and (Node 20)
      // abort when it cannot.
      if (!hungUp) return resolve(0);
      try {
        process.kill(process.pid, 'SIGHUP');
      } catch {
        process.exit(129); // no SIGHUP to send (Windows)
      }
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
