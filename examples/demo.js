// The demo app: a small HTTP server with a backdoor on loopback.
//   npm start                 then   telnet 127.0.0.1 3000
//   PORT=8081 BACKDOOR_PORT=3001 npm start
import http from 'node:http';
import { startBackdoor } from 'backdoor';

const port = Number(process.env.PORT ?? 8080);
const backdoorPort = Number(process.env.BACKDOOR_PORT ?? 3000);

const stats = { requests: 0, lastPath: undefined, startedAt: new Date() };
const app = {
  greeting: 'hello',
  handle(request, response) {
    stats.requests++;
    stats.lastPath = request.url;
    response.setHeader('content-type', 'text/plain');
    response.end(`${app.greeting}, request #${stats.requests}\n`);
  },
};
const server = http.createServer((request, response) => app.handle(request, response));

server.listen(port, '127.0.0.1', async () => {
  const backdoor = await startBackdoor({ port: backdoorPort, locals: { app, server, stats } });
  const address = backdoor.address();
  console.log(`demo app on http://127.0.0.1:${port}/; its backdoor: telnet ${address.host} ${address.port} (try stats.requests)`);

  process.once('SIGINT', async () => {
    await backdoor.close();
    server.close();
    server.closeAllConnections();
  });
});
