/**
 * The per-user rendezvous directory, as tmux (`/tmp/tmux-<uid>`) and Java's attach mechanism
 * have one: where a process's discovery files and its default unix socket live, and where the
 * client looks. Nobody else may be able to make it, replace it or write in it.
 *
 * Which one: `$BACKDOOR_DIR` when set, alone. Otherwise the user's runtime directory,
 * `$XDG_RUNTIME_DIR/backdoor`, when `$XDG_RUNTIME_DIR` is the private directory the login
 * manager makes for the user before any of their processes start (owned by the user, 0700):
 * another user cannot have made it first. Then `<tmpdir>/backdoor-<uid>`, where another user
 * can (the name is predictable in a directory every user writes): it is used only while it is
 * this user's (see `unsafeDirReason`). The client reads both, as the app and the client need
 * not have the same environment (a service has no `XDG_RUNTIME_DIR`, a login shell has).
 */
import { lstatSync, readFileSync, type Stats, statSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import inheritance from './inheritance.cts';

const uid = process.getuid?.() ?? -1;
/** As the process started: the preload removes BACKDOOR_* from the environment once read. */
const atStart = { BACKDOOR_DIR: inheritance.peekPreloadSettings().BACKDOOR_DIR, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };

/** `$XDG_RUNTIME_DIR` when it is this user's private runtime directory, else undefined. */
function runtimeDir(value: string | undefined): string | undefined {
  if (!value || !isAbsolute(value)) return undefined;
  try {
    const stats = lstatSync(value);
    return stats.isDirectory() && (uid < 0 || stats.uid === uid) && (stats.mode & 0o077) === 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The rendezvous directories of this user, the one a process writes in first (see above), from
 * `env` or as the process started. Not checked beyond `$XDG_RUNTIME_DIR` itself.
 */
export function rendezvousDirs(env?: NodeJS.ProcessEnv): string[] {
  const settings = env ?? atStart;
  if (settings.BACKDOOR_DIR) return [resolve(settings.BACKDOOR_DIR)];
  const runtime = runtimeDir(settings.XDG_RUNTIME_DIR);
  const shared = join(tmpdir(), `backdoor-${uid >= 0 ? uid : userInfo().username}`);
  return runtime ? [join(runtime, 'backdoor'), shared] : [shared];
}

/** The rendezvous directory a process of this user writes in (the first of `rendezvousDirs`). */
export function rendezvousDir(env?: NodeJS.ProcessEnv): string {
  return rendezvousDirs(env)[0];
}

/** Why `dir` is not a private directory of this user, or undefined when it is. */
export function unsafeDirReason(dir: string): string | undefined {
  let stats: Stats;
  try {
    stats = lstatSync(dir);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : (error as Error).message;
  }
  if (stats.isSymbolicLink()) return 'is a symbolic link';
  if (!stats.isDirectory()) return 'is not a directory';
  if (uid >= 0 && stats.uid !== uid) return `belongs to ${userName(stats.uid)}, not to this user (uid ${uid})`;
  if ((stats.mode & 0o077) !== 0) return `is open to other users (mode ${(stats.mode & 0o777).toString(8)})`;
  // In a parent that every user may write without the sticky bit, another user can rename the
  // directory away between a check and a use, and put a link of theirs in its place.
  const parent = dirname(dir);
  try {
    const above = statSync(parent);
    if ((above.mode & 0o002) !== 0 && (above.mode & 0o1000) === 0) {
      return `is in ${parent}, which every user may write without the sticky bit (mode ${(above.mode & 0o7777).toString(8)})`;
    }
    // The owner of the parent may rename anything in it, sticky bit or not.
    if (uid >= 0 && above.uid !== uid && above.uid !== 0) return `is in ${parent}, which belongs to ${userName(above.uid)}, not to this user (uid ${uid}) nor root`;
  } catch (error) {
    return `is in ${parent}, which cannot be checked: ${(error as Error).message}`;
  }
  return undefined;
}

/**
 * What is wrong with `dir` and what to do, in a sentence, for a person: undefined when it is
 * safe to use or does not exist (yet).
 */
export function dirProblem(dir: string): string | undefined {
  const reason = unsafeDirReason(dir);
  if (reason === undefined || reason === 'does not exist') return undefined;
  const fix = reason.startsWith('belongs to ')
    ? `another user may have made it first: have it removed (as root: rm -r ${dir}), or set BACKDOOR_DIR to a directory of your own`
    : reason.startsWith('is open to ')
      ? `make it private (chmod 700 ${dir}), or set BACKDOOR_DIR to a directory of your own`
      : 'set BACKDOOR_DIR to a directory of your own (mode 0700)';
  return `${dir} ${reason}: ${fix}`;
}

/** `uid N (name)`, the name from /etc/passwd when it has one. */
export function userName(owner: number): string {
  try {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((entry) => entry.split(':')[2] === String(owner));
    const name = line?.split(':')[0];
    return name ? `uid ${owner} (${name})` : `uid ${owner}`;
  } catch {
    return `uid ${owner}`;
  }
}
