/**
 * Unix socket files: owner-only from the first instant, never stolen from a live backdoor, and
 * cleaned up when stale.
 */
import { chmodSync, linkSync, lstatSync, mkdtempSync, rmSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname, join } from 'node:path';

function inUse(path: string, why: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`listen EADDRINUSE: address already in use ${path} (${why})`), {
    code: 'EADDRINUSE',
    syscall: 'listen',
  });
}

/**
 * A socket file left by a dead process (nothing accepts on it) is removed; a live one, or a
 * file that is not a socket, makes listening fail with EADDRINUSE.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) throw inUse(path, 'a file that is not a socket is there');
  const answer = await new Promise<string>((resolve) => {
    const probe = net.connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve('live');
    });
    probe.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  if (answer === 'ECONNREFUSED') unlinkSync(path);
  else if (answer !== 'ENOENT') throw inUse(path, answer === 'live' ? 'another backdoor listens there' : answer);
}

/**
 * Listens on `path` with mode 0600 and no window in which others could connect: binds in a
 * fresh private directory (0700), restricts the socket, then links it into place (a link,
 * unlike a rename, fails rather than replace a socket someone created meanwhile). Returns the
 * socket's inode, to remove the file on close only if it is still ours.
 */
export async function listenPrivately(server: net.Server, path: string): Promise<number> {
  await clearStaleSocket(path);
  const directory = mkdtempSync(join(dirname(path), '.backdoor-'));
  const bound = join(directory, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path: bound }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(bound, 0o600);
    try {
      linkSync(bound, path);
    } catch (error) {
      server.close();
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw inUse(path, 'created by another process meanwhile');
      throw error;
    }
    return statSync(path).ino;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

/** Removes the socket file at `path` if it is still the one with inode `ino`. */
export function removeSocketFile(path: string, ino: number): void {
  try {
    if (statSync(path).ino === ino) unlinkSync(path);
  } catch {
    // already gone
  }
}
