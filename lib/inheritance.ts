/**
 * What the preload leaves to the app's child processes. By default, nothing of its own: its
 * `BACKDOOR_*` settings (the token among them) and its flag in `NODE_OPTIONS` are removed from
 * `process.env` once read, so that a child the app spawns neither sees the token nor starts a
 * backdoor of its own. `BACKDOOR_INHERIT=1` keeps them. (A `fork()` or cluster worker still
 * inherits the parent's `execArgv`, so a preload given on the command line opts it in, with
 * the default settings; NODE_OPTIONS and the environment do not carry anything.)
 */

/** The preload as Node options name it: `backdoor/register`, or the file itself. */
const preload = /^(?:.*[\\/])?backdoor[\\/](?:register|dist[\\/]lib[\\/]register\.js)$/;

/**
 * `NODE_OPTIONS` without the preload's `--import`/`--require`/`-r` (both `x y` and `x=y` forms).
 * Words are read as Node reads them (white space between, or double quotes with `\` escapes);
 * the ones kept are written back, quoted where they need it.
 */
export function withoutPreload(nodeOptions: string): string {
  const words = [...nodeOptions.matchAll(/"((?:\\.|[^"\\])*)"|(\S+)/g)].map((match) => (match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]));
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const joined = /^(--import|--require|-r)=(.*)$/.exec(word);
    if (joined && preload.test(joined[2])) continue;
    if (/^(--import|--require|-r)$/.test(word) && preload.test(words[i + 1] ?? '')) {
      i++;
      continue;
    }
    kept.push(word);
  }
  return kept.map((word) => (/[\s"\\]/.test(word) ? `"${word.replace(/["\\]/g, '\\$&')}"` : word)).join(' ');
}

/** Removes the preload's settings from `env` (unless `BACKDOOR_INHERIT=1`). */
export function scrubEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  if (env.BACKDOOR_INHERIT === '1') return;
  for (const name of Object.keys(env)) if (name.startsWith('BACKDOOR_')) delete env[name];
  if (env.NODE_OPTIONS !== undefined) {
    const options = withoutPreload(env.NODE_OPTIONS);
    if (options === '') delete env.NODE_OPTIONS;
    else env.NODE_OPTIONS = options;
  }
}
