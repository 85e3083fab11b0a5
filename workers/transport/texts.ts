/** What sessions print that is not a command's output. */

/** The standard banner: Node version, platform, pid, then the hint. */
export function banner(extra: string): string {
  const title = process.title && process.title !== 'node' ? ` (${process.title})` : '';
  const lines = [`backdoor: Node.js ${process.version} on ${process.platform} ${process.arch}, pid ${process.pid}${title}`, 'Type ".help" for more information.'];
  if (extra !== '') lines.push(extra.replace(/\n$/, ''));
  return `${lines.join('\n')}\n`;
}

export const closedNotice = 'backdoor closed\n';

/** An internal error for the audit trail: its first three lines, on one. */
export function describeFault(error: unknown): string {
  return String((error as Error)?.stack ?? error)
    .split('\n')
    .slice(0, 3)
    .join(' | ');
}
