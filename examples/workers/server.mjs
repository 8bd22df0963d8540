// A worker-per-queue server: 4 worker threads, each with its own stack on one queue of a
// shared-memory link (the way each would own one DPDK queue), running ./app.mjs beside it.
// A client stack on the link's other side sends 12 HTTP requests, each on a new connection;
// the link spreads them over the queues like a NIC's RSS. Then a main-thread server is opened
// through the bridge, and the workers are closed gracefully.
//
//   node examples/workers/server.mjs
import http from 'node:http';
import { createStack, SharedMemoryLink } from 'wasm-tcpip';

const WORKERS = 4;
const [port, clientLink] = SharedMemoryLink.pair({ queues: WORKERS, seed: 1 });
const server = await createStack({
  workers: WORKERS,
  app: new URL('./app.mjs', import.meta.url),
  link: port,
  address: '10.0.0.1/24',
});
server.on('error', (e) => console.error(`server: ${e.message}`));
console.log(`server: ${server.workers.length} workers on ${server.address} (threads ${server.workers.map((w) => w.threadId).join(', ')})`);
const client = await createStack({ link: clientLink, address: '10.0.0.2/24' });

function get(path, portNumber = 8080) {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: '10.0.0.1', path, headers: { connection: 'close' },
      createConnection: () => client.net.connect({ host: '10.0.0.1', port: portNumber }),
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('error', reject);
  });
}

for (const body of await Promise.all(Array.from({ length: 12 }, (_, i) => get(`/request-${i}`)))) {
  console.log(`client: ${body}`);
}

// Main-thread code can serve too: this server listens on every worker and its connections'
// bytes reach the main thread through shared rings.
const bridged = http.createServer((req, res) => res.end(`main thread served ${req.url} (via worker ${req.socket.worker})\n`));
const tcp = server.net.createServer((socket) => bridged.emit('connection', socket));
await new Promise((resolve) => tcp.listen(8081, resolve));
console.log(`client: ${await get('/from-the-main-thread', 8081)}`);

const { total, workers } = await server.counters();
console.log(`counters: connections accepted per worker ${workers.map((c) => c['tcp.conn.passive_opens']).join(' / ')}, ` +
  `hand-offs ${total['handoff.out']}, ARP requests sent by the workers ${total['arp.tx.request']}`);
tcp.close();
await client.close();
const closed = await server.close({ timeoutMs: 2000 });
console.log(`server closed: ${closed.drained} connections drained, ${closed.reset} reset`);
