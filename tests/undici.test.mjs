// undici over stack sockets: an Agent whose `connect` opens stack connections carries
// undici's `request` to a node:http server running on another stack.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { stackPair, once } from './net-pair.mjs';

// undici and node:http keep their own timers on the real clock (keep-alive timeouts), so
// these stacks run on the real clock too.
const realClock = () => stackPair({ clock: 'real' });

/** An undici Agent that opens every connection on `stack`. */
function stackAgent(stack, opened) {
  return new Agent({
    connect(options, callback) {
      opened.push(`${options.hostname}:${options.port}`);
      const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
      const socket = stack.net.connect({ host: options.hostname, port });
      socket.once('connect', () => callback(null, socket));
      socket.once('error', (err) => callback(err, null));
    },
  });
}

test('request() GET and POST through an Agent whose connect opens stack sockets', async () => {
  const { server, client } = await realClock();
  const httpServer = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }));
    });
  });
  const tcp = server.net.createServer((s) => httpServer.emit('connection', s)).listen(8080);
  await once(tcp, 'listening');
  const opened = [];
  const dispatcher = stackAgent(client, opened);

  const get = await request('http://10.0.0.1:8080/items?id=7', { dispatcher });
  assert.is(get.statusCode, 200);
  assert.is(get.headers['content-type'], 'application/json');
  assert.equal(await get.body.json(), { method: 'GET', url: '/items?id=7', body: '' });

  const post = await request('http://10.0.0.1:8080/items', { dispatcher, method: 'POST', body: 'name=wasm' });
  assert.equal(await post.body.json(), { method: 'POST', url: '/items', body: 'name=wasm' });
  assert.ok(opened.length >= 1 && opened.every((o) => o === '10.0.0.1:8080'), `connections opened by the Agent: ${opened}`);
  assert.is(server.counters()['tcp.conn.passive_opens'], opened.length, 'every connection undici asked for was a stack connection');

  await dispatcher.close();
  httpServer.close(); tcp.close();
  await Promise.all([server.close(), client.close()]);
});

test('a 16 MiB upload and download through undici arrive intact', async () => {
  const { server, client } = await realClock();
  const size = 16 * 1024 * 1024;
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i++) data[i] = (i * 2654435761 >>> 24) ^ (i >> 10);
  const digest = createHash('sha256').update(data).digest('hex');
  const httpServer = http.createServer((req, res) => {
    if (req.method === 'PUT') {
      const hash = createHash('sha256');
      let n = 0;
      req.on('data', (d) => { hash.update(d); n += d.length; });
      req.on('end', () => res.end(JSON.stringify({ n, sha256: hash.digest('hex') })));
    } else {
      res.end(data);
    }
  });
  const tcp = server.net.createServer((s) => httpServer.emit('connection', s)).listen(80);
  await once(tcp, 'listening');
  const dispatcher = stackAgent(client, []);

  const up = await request('http://10.0.0.1/blob', { dispatcher, method: 'PUT', body: data });
  assert.equal(await up.body.json(), { n: size, sha256: digest });

  const down = await request('http://10.0.0.1/blob', { dispatcher });
  const hash = createHash('sha256');
  let n = 0;
  for await (const chunk of down.body) { hash.update(chunk); n += chunk.length; }
  assert.is(n, size);
  assert.is(hash.digest('hex'), digest);

  await dispatcher.close();
  httpServer.close(); tcp.close();
  await Promise.all([server.close(), client.close()]);
});

test('a refused connection rejects the request with ECONNREFUSED', async () => {
  const { server, client } = await realClock();
  const dispatcher = stackAgent(client, []);
  try {
    await request('http://10.0.0.1:81/', { dispatcher });
    assert.unreachable('the request resolved');
  } catch (err) {
    assert.is(err.code, 'ECONNREFUSED');
    assert.is(err.message, 'connect ECONNREFUSED 10.0.0.1:81');
  }
  await dispatcher.close();
  await Promise.all([server.close(), client.close()]);
});

test.run();
