// stack.close({ timeoutMs }): stops accepting, delivers everything written with a FIN (also
// for sockets the application already let go of), resets what cannot finish in time, and
// reports { drained, reset }.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { stackPair, once, collect } from './net-pair.mjs';

function pattern(n, salt) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + salt + (i >> 11)) & 255;
  return b;
}
const sha = (b) => createHash('sha256').update(b).digest('hex');

test('1 MiB written, then the stack closed: the peer gets every byte and a FIN', async () => {
  const { server, client } = await stackPair();
  const received = new Promise((resolve) => {
    server.net.createServer((s) => collect(s).then(resolve)).listen(7);
  });
  const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
  await once(sock, 'connect');
  const data = pattern(1024 * 1024, 1);
  sock.write(data);
  const closing = client.close({ timeoutMs: 60_000 });
  const got = await received;
  assert.is(got.length, data.length);
  assert.is(sha(got), sha(data));
  assert.equal(await closing, { drained: 1, reset: 0 });
  assert.is(sock.destroyed, true);
  await server.close();
});

test('a socket the application destroyed still delivers what it wrote before the stack closes', async () => {
  const { server, client } = await stackPair();
  const received = new Promise((resolve) => {
    server.net.createServer((s) => collect(s).then(resolve)).listen(7);
  });
  const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
  await once(sock, 'connect');
  const data = pattern(512 * 1024, 2);
  // As node:http does for a last response: end, then destroy as soon as it finished.
  sock.end(data);
  sock.destroySoon();
  await once(sock, 'close');
  const result = await client.close({ timeoutMs: 60_000 });
  const got = await received;
  assert.is(sha(got), sha(data));
  assert.equal(result, { drained: 1, reset: 0 }, 'the connection was still delivering when close began');
  await server.close();
});

test('connections that cannot finish before the timeout are reset and counted', async () => {
  const recvBuffer = 16 * 1024;
  const { server, client, clock } = await stackPair({ server: { tcp: { recvBuffer } }, client: { tcp: { sendBuffer: 16 * 1024 } } });
  let peer;
  const accepted = new Promise((resolve) => {
    server.net.createServer({ pauseOnConnect: true }, (s) => { peer = s; resolve(); }).listen(7);
  });
  const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
  await Promise.all([once(sock, 'connect'), accepted]);
  sock.write(pattern(256 * 1024, 3));
  const before = clock.nowUs();
  const errors = [];
  sock.on('error', (e) => errors.push(e.code));
  const result = await client.close({ timeoutMs: 2_000 });
  assert.equal(result, { drained: 0, reset: 1 });
  assert.is(clock.nowUs() - before, 2_000_000, 'reset exactly when the timeout passed (virtual clock)');
  const [err] = await once(peer, 'error');
  assert.is(err.code, 'ECONNRESET');
  assert.equal(errors, []);
  await server.close();
});

test('a closing stack accepts no new listeners, connections or UDP sockets; its servers stop listening; its UDP sockets close', async () => {
  const { server, client } = await stackPair();
  const srv = server.net.createServer().listen(7);
  await once(srv, 'listening');
  const udp = server.dgram.createSocket('udp4');
  let udpClosed = false;
  udp.on('close', () => { udpClosed = true; });
  const closing = server.close();
  assert.is(srv.listening, false);
  const late = server.net.createServer().listen(8);
  const [err] = await once(late, 'error');
  assert.is(err.code, 'ERR_WASM_TCPIP_STACK_CLOSING');
  const out = server.net.connect({ host: '10.0.0.2', port: 7 });
  const [err2] = await once(out, 'error');
  assert.is(err2.code, 'ERR_WASM_TCPIP_STACK_CLOSING');
  assert.throws(() => server.dgram.createSocket('udp4'), (e) => e.code === 'ERR_WASM_TCPIP_STACK_CLOSING');
  assert.equal(await closing, { drained: 0, reset: 0 });
  assert.is(udpClosed, true);
  await client.close();
});

test('a peer that keeps its half open gets every byte and our FIN, then a reset at the timeout', async () => {
  const { server, client } = await stackPair();
  let peer;
  const received = new Promise((resolve) => {
    server.net.createServer({ allowHalfOpen: true }, (s) => { peer = s; collect(s).then(resolve); }).listen(7);
  });
  const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
  await once(sock, 'connect');
  const data = pattern(64 * 1024, 4);
  sock.write(data);
  const result = await client.close({ timeoutMs: 5_000 });
  assert.is(sha(await received), sha(data), 'all data and the FIN arrived');
  assert.equal(result, { drained: 0, reset: 1 }, 'the handshake never finished: the peer did not close');
  const [err] = await once(peer, 'error');
  assert.is(err.code, 'ECONNRESET');
  await server.close();
});

test('data reaching a socket the application destroyed turns its close into an RST (as Linux)', async () => {
  const { server, client } = await stackPair({ server: { tcp: { sendBuffer: 64 * 1024 } } });
  server.net.createServer((s) => {
    s.write(pattern(64 * 1024, 5));
    s.destroy(); // let go with unsent data: the stack keeps delivering it
  }).listen(7);
  const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
  await once(sock, 'connect');
  sock.pause(); // read nothing yet: the server's data waits in our receive ring
  sock.write('still talking');
  const [err] = await once(sock, 'error');
  assert.equal([err.code, err.syscall], ['ECONNRESET', 'read']);
  assert.is(server.counters()['tcp.conn.aborted'], 1);
  await Promise.all([server.close(), client.close()]);
});

test('300 connections ended, destroyed or reset at random by either side over a lossy link: every one closes, every slot and slab byte comes back', async () => {
  let state = 12345;
  const random = () => { state = (state * 1103515245 + 12345) >>> 0; return state / 2 ** 32; };
  const tcp = { timeWaitMs: 1000, sendBuffer: 16384, recvBuffer: 16384 };
  const { server, client, clock } = await stackPair({ server: { tcp }, client: { tcp }, link: { loss: 0.01, seed: 3 } });
  const slab = [server.instance.exports.tcpSlabFreeBytes(), client.instance.exports.tcpSlabFreeBytes()];
  const codes = new Set();
  const srv = server.net.createServer((s) => {
    s.on('error', (e) => codes.add(e.code));
    const r = random();
    if (r < 0.2) s.destroy();
    else if (r < 0.3) s.resetAndDestroy();
    else if (r < 0.5) { s.write(Buffer.alloc(50_000)); s.end(); s.resume(); }
    else s.pipe(s);
  }).listen(7);
  await once(srv, 'listening');
  await Promise.all(Array.from({ length: 300 }, () => new Promise((resolve) => {
    const c = client.net.connect({ host: '10.0.0.1', port: 7 });
    c.on('error', (e) => codes.add(e.code));
    c.on('close', resolve);
    const r = random();
    c.write(Buffer.alloc(Math.floor(random() * 40_000)));
    if (r < 0.2) setImmediate(() => c.destroy());
    else if (r < 0.3) c.once('connect', () => c.resetAndDestroy());
    else if (r < 0.4) {
      // A slow reader: paused for a while, then reading again.
      c.pause();
      let turns = 0;
      const later = () => (++turns < 50 ? setImmediate(later) : c.resume());
      setImmediate(later);
    } else c.resume();
    c.end();
  })));
  assert.ok([...codes].every((c) => c === 'ECONNRESET' || c === 'EPIPE'), `only resets surfaced as errors: ${[...codes]}`);
  await new Promise((resolve) => clock.setTimer(clock.nowUs() + 5_000_000, resolve));
  assert.equal([server.instance.exports.tcpConnectionsInUse(), client.instance.exports.tcpConnectionsInUse()], [1, 0], 'only the listener is left');
  assert.equal([server.instance.exports.tcpSlabFreeBytes(), client.instance.exports.tcpSlabFreeBytes()], slab);
  srv.close();
  assert.equal(await client.close(), { drained: 0, reset: 0 });
  assert.equal(await server.close(), { drained: 0, reset: 0 });
});

test('each connection is counted closed once (also when the host lets go after CLOSED); a listener is not a connection', async () => {
  const { server, client } = await stackPair();
  const listener = server.net.createServer((s) => { s.resume(); s.on('end', () => s.end()); });
  listener.listen(7);
  for (let i = 0; i < 3; i++) {
    const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
    sock.resume();
    await once(sock, 'connect');
    sock.end('x');
    await once(sock, 'close');
  }
  await client.close({ timeoutMs: 1000 });
  await server.close({ timeoutMs: 1000 });
  const c = server.counters();
  assert.is(c['tcp.conn.passive_opens'], 3);
  assert.is(c['tcp.conn.closed'], 3, 'three connections, the listener not among them');
});

test.run();
