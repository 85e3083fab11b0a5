/**
 * Where `.profile` and `.heap sample` leave their files: the directory the app named
 * (`diagnosticsDir`), or one made for this backdoor by mkdtemp (a fresh random name, mode 0700,
 * made atomically: no other user can have planted it or a link in it, nor read what is written
 * there: a profile names the app's files and functions), removed with what is in it when the
 * app exits. The worker writes the files (workers/diagnostics/diagnostics-file.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();
let hooked = false;

/** `named`, or a fresh private directory, removed when the app exits. */
export function diagnosticsDir(named: string | undefined): string {
  if (named !== undefined) return named;
  const dir = mkdtempSync(join(tmpdir(), 'backdoor-diagnostics-'));
  made.add(dir);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const each of made) rmSync(each, { recursive: true, force: true });
    });
  }
  return dir;
}
