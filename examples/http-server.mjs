// node:http served by a stack, and node:http requests from a second stack, over a MemoryLink.
//
//   node examples/http-server.mjs
//
// node:http needs no change: the stack's TCP server hands each connection to the HTTP
// server with `emit('connection', socket)`, and the client passes `createConnection`.
import http from 'node:http';
import { createStack, MemoryLink } from 'wasm-tcpip';

const [serverLink, clientLink] = MemoryLink.pair({ seed: 1, delay: '500us' });
const server = await createStack({ link: serverLink, address: '10.0.0.1/24' });
const client = await createStack({ link: clientLink, address: '10.0.0.2/24' });

const app = http.createServer((req, res) => {
  if (req.url === '/counters') {
    res.setHeader('content-type', 'application/json');
    const counters = server.counters();
    res.end(JSON.stringify({ segmentsIn: counters['tcp.rx.segments'], segmentsOut: counters['tcp.tx.segments'] }));
    return;
  }
  res.setHeader('content-type', 'text/plain');
  res.end(`hello ${req.socket.remoteAddress}, you asked for ${req.url}\n`);
});
const tcp = server.net.createServer((socket) => app.emit('connection', socket));
tcp.listen(80, () => console.log(`server: node:http listening on http://${server.address}/`));

function get(path) {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: '10.0.0.1',
      path,
      createConnection: () => client.net.connect({ host: '10.0.0.1', port: 80 }),
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => { body += chunk; });
      res.on('end', () => resolve({ status: res.statusCode, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
  });
}

for (const path of ['/', '/hello?name=wasm', '/counters']) {
  const { status, type, body } = await get(path);
  console.log(`client: GET ${path} -> ${status} ${type}: ${body.trim()}`);
}

app.close();
tcp.close();
// The client first: its kept-alive connection finishes while the server stack still answers.
const c = await client.close();
const s = await server.close();
console.log(`stacks closed: server ${JSON.stringify(s)}, client ${JSON.stringify(c)}`);
