/** What the client shows and filters processes by: their parent, and their command line. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { lastColumns, visibleWidth } from '../common/ansi.ts';

/** Node options whose value is the next word of the command line. */
const OPTIONS_WITH_VALUE = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--env-file', '--conditions', '-C', '--inspect-port', '--title']);

/** The parent of process `pid`, or undefined when it cannot be read (gone, or not allowed). */
export function parentPid(pid: number): number | undefined {
  try {
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return fromPs(pid, 'ppid=', (text) => (/^\d+$/.test(text) ? Number(text) : undefined));
  }
}

/**
 * The command line of process `pid` as `ps` shows it (`process.title = ...` changes it), or
 * undefined when it cannot be read.
 */
export function commandLine(pid: number): string | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replaceAll('\0', ' ').trim();
    return text === '' ? undefined : text;
  } catch {
    return fromPs(pid, 'args=', (text) => text || undefined);
  }
}

function fromPs<T>(pid: number, field: string, read: (text: string) => T | undefined): T | undefined {
  if (process.platform === 'linux') return undefined; // /proc answered: the process is gone
  try {
    return read(execFileSync('ps', ['-o', field, '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 2000 }).trim());
  } catch {
    return undefined;
  }
}

/**
 * A command line as a short title: the program's name and what follows Node's own options
 * (`node /srv/app/server.js --port 80` for `/usr/bin/node --import backdoor/register
 * /srv/app/server.js --port 80`), cut in the middle to `width` columns (a wide character takes 2).
 */
export function shortTitle(line: string, width: number): string {
  const words = line.split(' ');
  let at = 1;
  while (at < words.length && words[at].startsWith('-')) at += OPTIONS_WITH_VALUE.has(words[at]) ? 2 : 1;
  const title = [basename(words[0]), ...words.slice(at)].join(' ');
  if (visibleWidth(title) <= width) return title;
  const head = title.slice(0, title.indexOf(' ') + 1); // `node `
  if (head === '' || visibleWidth(head) > width / 2) return `…${lastColumns(title, width - 1)}`;
  return `${head}…${lastColumns(title, width - visibleWidth(head) - 1)}`;
}
