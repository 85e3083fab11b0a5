/**
 * The worker thread's entry: joins the channel to the main thread and starts nothing else
 * until the main thread asks it to listen.
 */
import { expose, wrap } from 'comlink';
import { workerData } from 'node:worker_threads';
import { Channel } from '../common/channel.ts';
import type { MainApi, MainNotification, WorkerApi, WorkerData, WorkerNotification } from '../common/protocol.ts';
import { BackdoorServer } from './server.ts';
import { collectHeap } from './collect-heap.ts';
import { describeFault } from './texts.ts';

const { config, port } = workerData as WorkerData;

// The last line of defence: every session's handling is guarded (an error there ends that
// session), so anything that gets here is a fault of the worker's own; it is reported and the
// worker, with the other sessions, goes on rather than dying with all of them.
const fault = (error: unknown) =>
  server.audit({ type: 'fault', time: new Date().toISOString(), message: `the worker caught an error of its own and goes on: ${describeFault(error)}` });

const channel = new Channel<WorkerNotification, MainNotification>(port, (message) => server.notified(message), fault);
const main = wrap<MainApi>(channel.endpoint);
// The methods are read from comlink's proxy at each call, as comlink is used everywhere. Read once
// and kept, the one proxy function called for every command crashed Node 20's V8 now and then
// (`Check failed: trampoline_pc >= 0` in its deoptimizer, taking the app with it; test/hardening.ts
// under tap's coverage, about one run in two on a loaded machine; none in nine read at each call).
const server = new BackdoorServer(config, {
  evaluate: (request) => main.evaluate(request),
  notify: (message) => channel.notify(message),
  recover: (id) => main.recover(id),
  load: () => main.load(),
});

const api: WorkerApi = {
  listen: async () => {
    const reply = await server.listen();
    // Once the answer has left (startBackdoor() does not wait for it): the worker's first full
    // collection, after which V8's memory reducer can no longer be armed in it (lib/quiet-heap.ts).
    if (reply.ok) setImmediate(() => collectHeap().then(() => channel.notify({ type: 'heap-collected' })));
    return reply;
  },
  close: () => server.close(),
};
expose(api, channel.endpoint);

process.on('uncaughtException', fault);
