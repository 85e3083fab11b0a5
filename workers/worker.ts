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
