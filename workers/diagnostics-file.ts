/**
 * Where `.profile` and `.heap sample` leave their full results: a directory made for this
 * worker by mkdtemp (a fresh random name, mode 0700, created atomically: no other user of the
 * machine can have planted it or a link in it, and none can read what is written there), and
 * files created new in it (`wx`) with mode 0600. A profile names the app's files and functions.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let directory: Promise<string> | undefined;
let written = 0;

/** Writes `data` to a new owner-only file named for `kind` (its extension), and returns its path. */
export async function writeDiagnosticsFile(kind: 'cpuprofile' | 'heapprofile', data: string): Promise<string> {
  directory ??= mkdtemp(join(tmpdir(), 'backdoor-diagnostics-'));
  let dir: string;
  try {
    dir = await directory;
  } catch (error) {
    directory = undefined; // try again next time (the disk may have been full)
    throw error;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const file = join(dir, `${kind === 'cpuprofile' ? 'profile' : 'heap'}-${process.pid}-${stamp}-${++written}.${kind}`);
  await writeFile(file, data, { mode: 0o600, flag: 'wx' });
  return file;
}
