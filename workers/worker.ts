/**
 * The worker thread's entry: joins the channel to the main thread and starts nothing else
 * until the main thread asks it to listen.
 */
import { InspectorTally } from '../common/inspector-tally.ts';
import { expose } from 'comlink';
import { workerData } from 'node:worker_threads';
import type { WorkerApi, WorkerData } from '../common/protocol.ts';
import { collectHeap } from './collect-heap.ts';
import { WorkerEnd } from './ops/main-link.ts';
import { BackdoorServer } from './transport/server.ts';
import { describeFault } from './transport/texts.ts';

const { config, port, tally } = workerData as WorkerData;

// The last line of defence: every session's handling is guarded (an error there ends that
// session), so anything that gets here is a fault of the worker's own; it is reported and the
// worker, with the other sessions, goes on rather than dying with all of them.
const fault = (error: unknown) => server.audit({ type: 'fault', time: new Date().toISOString(), message: `the worker caught an error of its own and goes on: ${describeFault(error)}` });

const main = new WorkerEnd(port, (notice) => server.notified(notice), fault);
const server = new BackdoorServer(config, main, new InspectorTally(tally));

const api: WorkerApi = {
  listen: async () => {
    const reply = await server.listen();
    // Once the answer has left (startBackdoor() does not wait for it): the worker's first full
    // collection, after which V8's memory reducer can no longer be armed in it (lib/quiet-heap.ts).
    if (reply.ok) setImmediate(() => collectHeap().then(() => main.notify({ type: 'heap-collected' })));
    return reply;
  },
  close: async () => {
    await server.close();
    main.close();
  },
};
expose(api, main.endpoint);

process.on('uncaughtException', fault);
