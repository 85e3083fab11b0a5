// A node:cluster app whose workers opt in to the backdoor with the preload: nothing listens
// until asked, and one question reaches every worker.
//   node examples/cluster.js                       (PORT, default 8080; WORKERS, default 2)
//   npx backdoor --all --start --eval 'stats.requests'
import cluster from 'node:cluster';
import http from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const workers = Number(process.env.WORKERS ?? 2);

if (cluster.isPrimary) {
  // Each worker starts with the preload: signal handlers and a ready file, no listener.
  cluster.setupPrimary({ execArgv: [...process.execArgv, '--import', import.meta.resolve('backdoor/register')] });
  for (let i = 0; i < workers; i++) cluster.fork();
  let announced = false;
  cluster.on('listening', (_worker, address) => {
    if (announced) return;
    announced = true;
    console.log(`cluster primary ${process.pid}: ${workers} workers on http://127.0.0.1:${address.port}/; ask them all: npx backdoor --all --start --eval 'stats.requests'`);
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} else {
  // A preloaded process has no `locals`: what the backdoor should see is reachable from global.
  const stats = { worker: cluster.worker.id, requests: 0 };
  globalThis.stats = stats;
  http
    .createServer((_request, response) => {
      stats.requests++;
      response.end(`worker ${stats.worker}, request #${stats.requests}\n`);
    })
    .listen(port, '127.0.0.1');
}
