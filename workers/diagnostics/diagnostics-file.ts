/**
 * Where `.profile` and `.heap sample` leave their full results: the directory the main thread
 * made for this backdoor (lib/diagnostics-dir.ts: mkdtemp, 0700, removed when the app exits)
 * or the one the app named; files created new in it (`wx`) with mode 0600: a profile names the
 * app's files and functions. Bounded: at most MAX_FILES files and MAX_BYTES bytes, the oldest
 * removed first, so that a loop of `.profile 0.01` cannot fill the disk.
 */
import { readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MAX_FILES = 16;
export const MAX_BYTES = 256 * 1024 * 1024;

export class DiagnosticsFiles {
  readonly #dir: string;
  #written = 0;

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Writes `data` to a new owner-only file named for `kind` (its extension), and returns its path. */
  async write(kind: 'cpuprofile' | 'heapprofile', data: string): Promise<string> {
    await this.#makeRoom(Buffer.byteLength(data));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = join(this.#dir, `${kind === 'cpuprofile' ? 'profile' : 'heap'}-${process.pid}-${stamp}-${++this.#written}.${kind}`);
    await writeFile(file, data, { mode: 0o600, flag: 'wx' });
    return file;
  }

  /** Removes the oldest of our files until one of `bytes` more fits the quota. */
  async #makeRoom(bytes: number): Promise<void> {
    const names = (await readdir(this.#dir)).filter((name) => /^(profile|heap)-\d+-.*\.(cpuprofile|heapprofile)$/.test(name));
    const files = await Promise.all(names.map(async (name) => {
      const path = join(this.#dir, name);
      try {
        const stats = await stat(path);
        return { path, size: stats.size, at: stats.mtimeMs };
      } catch {
        return undefined; // gone meanwhile
      }
    }));
    const kept = files.filter((file) => file !== undefined).sort((a, b) => a.at - b.at);
    let total = kept.reduce((sum, file) => sum + file.size, 0) + bytes;
    while (kept.length > 0 && (kept.length >= MAX_FILES || total > MAX_BYTES)) {
      const oldest = kept.shift()!;
      total -= oldest.size;
      await unlink(oldest.path).catch(() => {});
    }
  }
}
