// @ts-check
// The stall bench's app (forked by bench/stalls.js, driven over IPC): a backdoor from the build
// in argv[2] (a dist directory: this one's, or another build's for before/after figures), and a
// heartbeat that watches its own main thread, depending on argv[3] (bench/messages/stalls.ts):
//   busy  a 3 ms chunk of work every 10 ms (about 30% load), and big values for TAB in locals:
//         `arr` (a 3e6-element Array), `u8` (a 3e6 Uint8Array), `big` (an object of 3e5 keys)
//   idle  a 50 ms timer, nothing else
// The backdoor's options come as JSON in argv[4]. Only what every build has is used:
// `startBackdoor({ port, locals, ... })` and `address()`.
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { linkToParent } from './parent.js';
/** @import { StallAppMode, StallAppReply, StallAppRequest, StallBackdoorOptions } from './messages/stalls.ts' */

const [dist = '', mode = 'idle', optionsJson = '{}'] = process.argv.slice(2);
/** @type {StallBackdoorOptions} */
const options = JSON.parse(optionsJson);
// The other build's module has the same shape, as far as this app uses it.
const { startBackdoor } = /** @type {typeof import('../dist/lib/index.js')} */ (await import(pathToFileURL(join(resolve(dist), 'lib', 'index.js')).href));

/** @type {Record<string, unknown>} */
const locals = {};
if (/** @type {StallAppMode} */ (mode) === 'busy') {
  /** @type {Record<string, number>} */
  const big = {};
  for (let i = 0; i < 3e5; i++) big[`k${i}`] = i;
  Object.assign(locals, { arr: new Array(3e6).fill(0), u8: new Uint8Array(3e6), big });
}
const backdoor = await startBackdoor({ port: 0, host: '127.0.0.1', locals, ...options });

let since = performance.now();
let last = since;
let worst = 0;
let runs = 0;
const chunkMs = mode === 'busy' ? 3 : 0;
setInterval(
  () => {
    const now = performance.now();
    worst = Math.max(worst, now - last);
    last = now;
    runs++;
    // The app's own work, in a chunk that holds its main thread as a handler would.
    for (const end = now + chunkMs; performance.now() < end; );
  },
  mode === 'busy' ? 10 : 50,
);

/** @type {(message: StallAppReply) => void} */
const send = linkToParent(
  /** @param {StallAppRequest} message */ (message) => {
    if (message.cmd === 'reset') {
      since = last = performance.now();
      worst = 0;
      runs = 0;
      send({ cmd: 'reset-done' });
    } else if (message.cmd === 'read') {
      // A stall still going on when the window ends (this message waited for it) counts too.
      const now = performance.now();
      send({ cmd: 'heartbeat', worstGapMs: Math.max(worst, now - last), runs, ms: now - since });
    }
  },
);

const address = backdoor.address();
if (!('port' in address)) throw new Error(`the backdoor listens on ${JSON.stringify(address)}, not on TCP`);
send({ cmd: 'ready', port: address.port });
