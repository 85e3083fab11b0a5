/**
 * The worker thread's entry: joins the channel to the main thread and starts nothing else
 * until the main thread asks it to listen.
 */
import { expose, wrap } from 'comlink';
import { workerData } from 'node:worker_threads';
import { portEndpoint, type MainApi, type WorkerApi, type WorkerData } from '../lib/protocol.ts';
import { BackdoorServer } from './server.ts';

const { config, port } = workerData as WorkerData;
const server = new BackdoorServer(config, wrap<MainApi>(portEndpoint(port)));

const api: WorkerApi = {
  listen: () => server.listen(),
  close: () => server.close(),
  settle: (id, out, outcome, cost) => server.settle(id, out, outcome, cost),
  output: (context, text) => server.output(context, text),
  tap: (context, outcome) => server.tap(context, outcome),
  uncaught: (context, session, text) => server.uncaught(context, session, text),
};
expose(api, portEndpoint(port));

// The last line of defence: every session's handling is guarded (an error there ends that
// session), so anything that gets here is a fault of the worker's own; it is reported and the
// worker, with the other sessions, goes on rather than dying with all of them.
process.on('uncaughtException', (error) => {
  server.audit({ type: 'fault', time: new Date().toISOString(), message: `the worker caught an error of its own and goes on: ${String((error as Error)?.stack ?? error).split('\n').slice(0, 3).join(' | ')}` });
});
