// node:http on top of stack sockets: a node:http server fed with emit('connection', socket),
// node:http client requests made through createConnection, keep-alive reuse, and a 64 MiB
// streamed response that arrives intact with backpressure honoured end to end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { stackPair, once } from './net-pair.mjs';

/** A node:http server answering on `stack` port 80 through stack sockets. */
function serveHttp(stack, handler) {
  const httpServer = http.createServer(handler);
  const tcp = stack.net.createServer((socket) => httpServer.emit('connection', socket)).listen(80);
  return { httpServer, tcp };
}

function request(options, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(options, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => resolve({ res, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Deterministic bytes: block i of 64 KiB is a function of i only. */
function block(i, size) {
  const b = Buffer.alloc(size);
  let x = (i * 2654435761) >>> 0;
  for (let k = 0; k < size; k += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b.writeUInt32LE(x, k);
  }
  return b;
}

test('GET and POST through createConnection: status, headers, bodies', async () => {
  const { server, client } = await stackPair();
  const { httpServer, tcp } = serveHttp(server, (req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      res.setHeader('x-method', req.method);
      res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()} from ${req.socket.remoteAddress}`);
    });
  });
  await once(tcp, 'listening');
  const createConnection = () => client.net.connect({ host: '10.0.0.1', port: 80 });
  const get = await request({ host: '10.0.0.1', port: 80, path: '/hello', createConnection });
  assert.is(get.res.statusCode, 200);
  assert.is(get.res.headers['x-method'], 'GET');
  assert.is(get.body, 'GET /hello  from 10.0.0.2');
  const post = await request({ host: '10.0.0.1', port: 80, method: 'POST', path: '/echo', createConnection }, 'payload');
  assert.is(post.body, 'POST /echo payload from 10.0.0.2');
  httpServer.close(); tcp.close();
  await Promise.all([server.close(), client.close()]);
});

test('a keep-alive agent reuses one stack connection for sequential requests', async () => {
  const { server, client } = await stackPair();
  const { httpServer, tcp } = serveHttp(server, (req, res) => res.end(`n=${req.url.slice(1)}`));
  await once(tcp, 'listening');
  let opened = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  agent.createConnection = (options) => { opened++; return client.net.connect({ host: options.host, port: options.port }); };
  const bodies = [];
  for (let i = 0; i < 5; i++) bodies.push((await request({ host: '10.0.0.1', port: 80, path: `/${i}`, agent })).body);
  assert.equal(bodies, ['n=0', 'n=1', 'n=2', 'n=3', 'n=4']);
  assert.is(opened, 1);
  assert.is(server.counters()['tcp.conn.passive_opens'], 1);
  agent.destroy(); httpServer.close(); tcp.close();
  await Promise.all([server.close(), client.close()]);
});

test('64 MiB streamed response: intact, with the sender held back while the receiver pauses', async () => {
  const BLOCK = 64 * 1024;
  const BLOCKS = 1024; // 64 MiB
  const sendBuffer = 256 * 1024;
  const { server, client } = await stackPair({ server: { tcp: { sendBuffer } } });
  const expected = createHash('sha256');
  for (let i = 0; i < BLOCKS; i++) expected.update(block(i, BLOCK));
  const expectedHex = expected.digest('hex');

  let serverSocket;
  let maxAhead = 0;
  let drains = 0;
  let received = 0;
  const { httpServer, tcp } = serveHttp(server, (req, res) => {
    serverSocket = req.socket;
    res.writeHead(200, { 'content-length': String(BLOCK * BLOCKS) });
    let i = 0;
    const body = new Readable({
      highWaterMark: BLOCK,
      read() {
        maxAhead = Math.max(maxAhead, i * BLOCK - received);
        this.push(i < BLOCKS ? block(i++, BLOCK) : null);
      },
    });
    res.on('drain', () => drains++);
    body.pipe(res);
  });
  await once(tcp, 'listening');
  const got = createHash('sha256');
  let pauses = 0;
  const res = await new Promise((resolve, reject) => {
    http.get({ host: '10.0.0.1', port: 80, path: '/big', createConnection: () => client.net.connect({ host: '10.0.0.1', port: 80 }) }, resolve).on('error', reject);
  });
  await new Promise((resolve, reject) => {
    res.on('data', (d) => {
      got.update(d);
      received += d.length;
      // Every 4 MiB the receiver stops reading for a while: the window closes, the sender waits.
      if (received % (4 * 1024 * 1024) < d.length) {
        pauses++;
        res.pause();
        let turns = 0;
        const later = () => (++turns < 100 ? setImmediate(later) : res.resume());
        setImmediate(later);
      }
    });
    res.on('end', resolve);
    res.on('error', reject);
  });
  assert.is(received, BLOCK * BLOCKS);
  assert.is(got.digest('hex'), expectedHex);
  assert.ok(pauses >= 16, `the receiver paused ${pauses} times`);
  assert.ok(drains > 0, 'write() returned false and the sender waited for drain');
  // Bytes produced but not yet consumed: the sender's ring, the receiver's ring, and a few
  // blocks of stream buffers on the way; nothing grows with the body's size.
  const recvBuffer = client.instance.getConfig('tcpRecvBuffer');
  assert.ok(maxAhead <= sendBuffer + recvBuffer + 4 * BLOCK, `at most ${sendBuffer + recvBuffer + 4 * BLOCK} bytes ahead, measured ${maxAhead}`);
  httpServer.close(); tcp.close();
  await Promise.all([server.close(), client.close()]);
});

test.run();
