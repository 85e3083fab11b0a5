/** What sessions print that is not a command's output. */

/** The standard banner: Node version, platform, pid, then the hint. */
export function banner(extra: string): string {
  const title = process.title && process.title !== 'node' ? ` (${process.title})` : '';
  const lines = [
    `backdoor: Node.js ${process.version} on ${process.platform} ${process.arch}, pid ${process.pid}${title}`,
    'Type ".help" for more information.',
  ];
  if (extra !== '') lines.push(extra.replace(/\n$/, ''));
  return `${lines.join('\n')}\n`;
}

/** The REPL commands a session understands, for `.help`. */
export const replCommands: Record<string, string> = {
  break: 'Sometimes you get stuck, this gets you out',
  clear: "Break, and also forget this session's declarations and _",
  exit: 'End this session (the app keeps running)',
  help: 'Print this help message',
  inspect: 'List a value one level deep, numbering its parts $1, $2... to go deeper: .inspect <expr> [depth]',
  locals: 'The names the app provided, with a preview of each',
  mode: 'Switch to the JSON-lines protocol for tools: .mode json',
  stats: "The app's health: event-loop delay and use, memory, resources, and the backdoor's cost",
};

export function helpText(locals: readonly string[]): string {
  const width = Math.max(...Object.keys(replCommands).map((name) => name.length)) + 5;
  const lines = Object.entries(replCommands).map(([name, text]) => `.${name}`.padEnd(width) + text);
  lines.push('', 'Press Ctrl+C to abort the current expression, Ctrl+D to end the session.');
  if (locals.length > 0) lines.push(`Names from the app: ${locals.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

export const closedNotice = 'backdoor closed\n';
