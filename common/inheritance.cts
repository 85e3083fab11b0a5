/**
 * What the preload leaves to the app's child processes. (CommonJS, so that the CommonJS preload
 * can use it before any ES module of the library is loaded.) By default, nothing of its own: its
 * `BACKDOOR_*` settings (the token among them) and its flag in `NODE_OPTIONS` are removed from
 * `process.env` once read, so that a child the app spawns neither sees the token nor starts a
 * backdoor of its own. `BACKDOOR_INHERIT=1` keeps them. (A `fork()` or cluster worker still
 * inherits the parent's `execArgv`, so a preload given on the command line opts it in, with
 * the default settings; NODE_OPTIONS and the environment do not carry anything.)
 */

import path = require('node:path');
import url = require('node:url');

/** The preload as Node options name it: `backdoor/register`, or the file itself (a path or a file URL). */
const preloadName = /^(?:.*[\\/])?backdoor[\\/](?:register|dist[\\/]lib[\\/]register\.c?js)$/;
const preloadFiles = new Set(['register.cjs', 'register.js'].map((name) => path.join(__dirname, '..', 'lib', name)));

function isPreload(value: string): boolean {
  if (preloadName.test(value)) return true;
  try {
    return preloadFiles.has(value.startsWith('file:') ? url.fileURLToPath(value) : path.resolve(value));
  } catch {
    return false;
  }
}

/**
 * `NODE_OPTIONS` without the preload's `--import`/`--require`/`-r` (both `x y` and `x=y` forms).
 * Words are read as Node reads them (white space between, or double quotes with `\` escapes);
 * the ones kept are written back, quoted where they need it.
 */
function withoutPreload(nodeOptions: string): string {
  const words = [...nodeOptions.matchAll(/"((?:\\.|[^"\\])*)"|(\S+)/g)].map((match) => (match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : match[2]));
  const kept: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i];
    const joined = /^(--import|--require|-r)=(.*)$/.exec(word);
    if (joined && isPreload(joined[2])) continue;
    if (/^(--import|--require|-r)$/.test(word) && isPreload(words[i + 1] ?? '')) {
      i++;
      continue;
    }
    kept.push(word);
  }
  return kept.map((word) => (/[\s"\\]/.test(word) ? `"${word.replace(/["\\]/g, '\\$&')}"` : word)).join(' ');
}

/** Where the settings wait for the preload's ES module, once removed from the environment. */
const handOver = Symbol.for('backdoor.preload-settings');
type WithSettings = { [handOver]?: NodeJS.ProcessEnv };

/**
 * The preload's settings: those the CommonJS preload took out of the environment (handed over
 * once, then gone from the global object), or the environment itself. `peek` leaves them there.
 */
function peekPreloadSettings(): NodeJS.ProcessEnv {
  return (globalThis as WithSettings)[handOver] ?? process.env;
}

function preloadSettings(): NodeJS.ProcessEnv {
  const global = globalThis as WithSettings;
  const settings = global[handOver];
  delete global[handOver];
  return settings ?? process.env;
}

/**
 * Removes the preload's settings from `env` (unless `BACKDOOR_INHERIT=1`). With `handOver`,
 * they are kept for `preloadSettings()` (the CommonJS preload removes them before its ES
 * module, which reads them, is loaded: a child the app spawns in its first lines must not
 * see them either).
 */
function scrubEnvironment(env: NodeJS.ProcessEnv = process.env, keep = false): void {
  if (env.BACKDOOR_INHERIT === '1') return;
  const settings: NodeJS.ProcessEnv = {};
  for (const name of Object.keys(env)) {
    if (!name.startsWith('BACKDOOR_')) continue;
    settings[name] = env[name];
    delete env[name];
  }
  if (keep) (globalThis as WithSettings)[handOver] = settings;
  if (env.NODE_OPTIONS !== undefined) {
    const options = withoutPreload(env.NODE_OPTIONS);
    if (options === '') delete env.NODE_OPTIONS;
    else env.NODE_OPTIONS = options;
  }
}

export = { withoutPreload, peekPreloadSettings, preloadSettings, scrubEnvironment };
