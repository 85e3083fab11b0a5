/**
 * The directories the worker made for `.profile` and `.heap sample` files (when the app named
 * none: workers/diagnostics/diagnostics-file.ts), removed with what is in them when the app
 * exits (a process killed by a signal it does not handle runs no code, and leaves them).
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const made = new Set<string>();
let hooked = false;
let last: string | undefined;

/** The directory the last backdoor of this process made, for the next one to write into. */
export function lastMade(): string | undefined {
  return last;
}

/** `dir`, which the worker made under the temporary directory, goes when the app exits. */
export function removeAtExit(dir: string): void {
  // Only a directory of ours: the path comes over the channel, and is removed recursively.
  if (!dir.startsWith(`${tmpdir()}/backdoor-diagnostics-`) || dir.includes('/../')) return;
  made.add(dir);
  last = dir;
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const each of made) {
      try {
        rmSync(each, { recursive: true, force: true });
      } catch {
        // the app is exiting: nothing to tell, nobody to tell it to
      }
    }
  });
}
