/**
 * Where `.profile` and `.heap sample` leave their full results: the directory the app named,
 * or one made for this backdoor when the first file is written (mkdtemp: a fresh random name,
 * mode 0700, made atomically, so no other user can have planted it or a link in it, nor read
 * what is written there; the main thread removes it when the app exits: lib/diagnostics-dir.ts).
 * Files are created new (`wx`) with mode 0600: a profile names the app's files and functions.
 * Bounded per app: at most MAX_FILES files and MAX_BYTES bytes of this process's, the oldest
 * removed first, so that a loop of `.profile 0.01` cannot fill the disk; a backdoor started
 * again in the same process writes into the directory the last one made (if it is still ours),
 * so that closing and starting it again does not make room for more.
 */
import { lstat, mkdtemp, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const MAX_FILES = 16;
export const MAX_BYTES = 256 * 1024 * 1024;

/** The quota: files and bytes of this process's at most. */
export interface Quota {
  files: number;
  bytes: number;
}

export class DiagnosticsFiles {
  #dir: Promise<string> | undefined;
  readonly #made: (dir: string) => void;
  readonly #quota: Quota;
  #written = 0;

  /**
   * @param named the app's directory (`diagnosticsDir`), or undefined for one of our own
   * @param made the directory of our own has been made (to be removed when the app exits)
   * @param earlier the directory of our own an earlier backdoor of this process made, if any
   */
  constructor(named: string | undefined, made: (dir: string) => void, quota: Quota = { files: MAX_FILES, bytes: MAX_BYTES }, earlier?: string) {
    this.#dir = named === undefined ? undefined : Promise.resolve(named);
    this.#made = made;
    this.#quota = quota;
    this.#earlier = earlier;
  }

  readonly #earlier: string | undefined;

  /** The earlier directory, if it is still a directory of this user's that only it can enter. */
  async #reusable(): Promise<string | undefined> {
    if (this.#earlier === undefined) return undefined;
    try {
      const stats = await lstat(this.#earlier);
      return stats.isDirectory() && stats.uid === process.getuid?.() && (stats.mode & 0o077) === 0 ? this.#earlier : undefined;
    } catch {
      return undefined;
    }
  }

  /** Writes `data` to a new owner-only file named for `kind` (its extension), and returns its path. */
  async write(kind: 'cpuprofile' | 'heapprofile', data: string): Promise<string> {
    this.#dir ??= this.#reusable().then(
      async (earlier) =>
        earlier ??
        mkdtemp(join(tmpdir(), 'backdoor-diagnostics-')).then((dir) => {
          this.#made(dir);
          return dir;
        }),
    );
    const dir = await this.#dir.catch((error: unknown) => {
      this.#dir = undefined; // tried again next time
      throw error;
    });
    await this.#makeRoom(dir, Buffer.byteLength(data));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = join(dir, `${kind === 'cpuprofile' ? 'profile' : 'heap'}-${process.pid}-${stamp}-${++this.#written}.${kind}`);
    await writeFile(file, data, { mode: 0o600, flag: 'wx' });
    return file;
  }

  /** Removes the oldest of this process's files until one of `bytes` more fits the quota (a named directory may be shared). */
  async #makeRoom(dir: string, bytes: number): Promise<void> {
    const ours = new RegExp(`^(profile|heap)-${process.pid}-.*\\.(cpuprofile|heapprofile)$`);
    const names = (await readdir(dir)).filter((name) => ours.test(name));
    const files = await Promise.all(
      names.map(async (name) => {
        const path = join(dir, name);
        try {
          const stats = await stat(path);
          return { path, size: stats.size, at: stats.mtimeMs };
        } catch {
          return undefined; // gone meanwhile
        }
      }),
    );
    const kept = files.filter((file) => file !== undefined).sort((a, b) => a.at - b.at);
    let total = kept.reduce((sum, file) => sum + file.size, 0) + bytes;
    while (kept.length > 0 && (kept.length >= this.#quota.files || total > this.#quota.bytes)) {
      const oldest = kept.shift()!;
      total -= oldest.size;
      await unlink(oldest.path).catch(() => {});
    }
  }
}
