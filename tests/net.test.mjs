// stack.net over two stacks on a MemoryLink and a virtual clock: Node's event order, errors
// built like Node's, backpressure both ways, half-close, reset, timeouts, server limits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { stackPair, once, collect } from './net-pair.mjs';

function record(emitter, events) {
  const log = [];
  for (const e of events) emitter.on(e, (...args) => log.push(e === 'close' ? `close:${args[0]}` : e === 'data' ? `data:${args[0].toString()}` : e));
  return log;
}

test('echo: connect, ready, data, end, close in order, with addresses and byte counts', async () => {
  const { server, client } = await stackPair();
  const srv = server.net.createServer((s) => s.pipe(s));
  const [listenCb] = [await new Promise((resolve) => srv.listen(7, () => resolve('called')))];
  assert.is(listenCb, 'called');
  assert.equal(srv.address(), { address: '0.0.0.0', family: 'IPv4', port: 7 });
  assert.ok(srv.listening);

  const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
  assert.ok(sock instanceof client.net.Socket);
  assert.is(sock.connecting, true);
  assert.is(sock.pending, true);
  assert.is(sock.readyState, 'opening');
  const log = record(sock, ['connect', 'ready', 'data', 'end', 'close']);
  await Promise.all([once(sock, 'connect'), once(srv, 'connection')]);
  assert.is(sock.connecting, false);
  assert.is(sock.pending, false);
  assert.is(sock.readyState, 'open');
  assert.equal([sock.remoteAddress, sock.remotePort, sock.remoteFamily, sock.localAddress], ['10.0.0.1', 7, 'IPv4', '10.0.0.2']);
  assert.ok(sock.localPort >= 49152 && sock.localPort <= 65535, `ephemeral port ${sock.localPort}`);
  assert.equal(sock.address(), { address: '10.0.0.2', family: 'IPv4', port: sock.localPort });
  const [count] = await new Promise((resolve) => srv.getConnections((err, n) => resolve([n, err])));
  assert.is(count, 1);

  sock.end('hello');
  await once(sock, 'close');
  assert.equal(log, ['connect', 'ready', 'data:hello', 'end', 'close:false']);
  assert.is(sock.bytesRead, 5);
  assert.is(sock.bytesWritten, 5);
  assert.is(sock.readyState, 'closed');
  await new Promise((resolve) => srv.close(resolve));
  assert.is(srv.address(), null);
  await Promise.all([server.close(), client.close()]);
});

test('ECONNREFUSED is built like Node: message, code, errno, syscall, address, port; then close(true)', async () => {
  const { server, client } = await stackPair();
  const sock = client.net.connect(9, '10.0.0.1');
  const log = record(sock, ['connect', 'error', 'close']);
  const [err] = await once(sock, 'error');
  assert.is(err.message, 'connect ECONNREFUSED 10.0.0.1:9');
  assert.is(err.code, 'ECONNREFUSED');
  assert.is(err.errno, -111);
  assert.is(err.syscall, 'connect');
  assert.is(err.address, '10.0.0.1');
  assert.is(err.port, 9);
  await once(sock, 'close');
  assert.equal(log, ['error', 'close:true']);
  assert.is(server.counters()['tcp.tx.rst'], 1, 'the server answered the SYN with one RST');
  assert.is(client.counters()['tcp.rx.rst'], 1);
  await Promise.all([server.close(), client.close()]);
});

test('listen on a taken port emits EADDRINUSE as Node does; listen(0) picks a free dynamic port', async () => {
  const { server, client } = await stackPair();
  const first = server.net.createServer().listen(8080);
  await once(first, 'listening');
  const second = server.net.createServer().listen({ port: 8080, host: '10.0.0.1' });
  const [err] = await once(second, 'error');
  assert.is(err.message, 'listen EADDRINUSE: address already in use 10.0.0.1:8080');
  assert.equal([err.code, err.errno, err.syscall, err.address, err.port], ['EADDRINUSE', -98, 'listen', '10.0.0.1', 8080]);
  assert.is(second.listening, false);
  const any = server.net.createServer().listen(0);
  await once(any, 'listening');
  const { port } = any.address();
  assert.ok(port >= 49152 && port <= 65535, `port ${port}`);
  assert.throws(() => server.net.createServer().listen(70000), (e) => e.code === 'ERR_SOCKET_BAD_PORT' && e instanceof RangeError);
  first.close(); any.close();
  await Promise.all([server.close(), client.close()]);
});

test('connect checks its arguments; host names need a lookup function', async () => {
  const { server, client } = await stackPair();
  assert.throws(() => client.net.connect({ port: 7 }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /no loopback/.test(e.message));
  assert.throws(() => client.net.connect({ host: '10.0.0.1', port: -1 }), (e) => e.code === 'ERR_SOCKET_BAD_PORT');
  assert.throws(() => client.net.connect({ path: '/tmp/sock' }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' || e.code === 'ERR_WASM_TCPIP_NO_IPC');
  const named = client.net.connect({ host: 'echo.example', port: 7 });
  const [err] = await once(named, 'error');
  assert.is(err.code, 'ERR_WASM_TCPIP_NO_DNS');
  assert.match(err.message, /cannot resolve 'echo\.example'.*pass an IPv4 address as host, or a lookup function/);

  const srv = server.net.createServer((s) => s.end('hi')).listen(7);
  await once(srv, 'listening');
  const asked = [];
  const lookup = (host, opts, cb) => { asked.push([host, opts.family]); cb(null, '10.0.0.1', 4); };
  const viaLookup = client.net.connect({ host: 'echo.example', port: 7, lookup });
  const log = record(viaLookup, ['lookup', 'connect', 'ready']);
  assert.is((await collect(viaLookup)).toString(), 'hi');
  assert.equal(asked, [['echo.example', 4]]);
  assert.equal(log, ['lookup', 'connect', 'ready']);

  const pinned = client.net.connect({ host: '10.0.0.1', port: 7, localAddress: '10.0.0.2', localPort: 40000 });
  assert.is((await collect(pinned)).toString(), 'hi');
  assert.equal([pinned.localAddress, pinned.localPort], ['10.0.0.2', 40000]);
  const foreign = client.net.connect({ host: '10.0.0.1', port: 7, localAddress: '10.0.0.9' });
  const [bad] = await once(foreign, 'error');
  assert.equal([bad.code, bad.syscall, bad.message], ['EADDRNOTAVAIL', 'connect', 'connect EADDRNOTAVAIL 10.0.0.1:7']);
  srv.close();
  await Promise.all([server.close(), client.close()]);
});

test('backpressure: a paused reader stops the writer at the rings, then everything arrives intact', async () => {
  const sendBuffer = 16 * 1024;
  const recvBuffer = 16 * 1024;
  const { server, client } = await stackPair({ server: { tcp: { recvBuffer, sendBuffer } }, client: { tcp: { recvBuffer, sendBuffer } } });
  let serverSide;
  const srv = server.net.createServer({ pauseOnConnect: true }, (s) => { serverSide = s; }).listen(9);
  await once(srv, 'listening');
  const sock = client.net.connect({ host: '10.0.0.1', port: 9 });
  await once(sock, 'connect');
  const total = 1024 * 1024;
  const data = Buffer.alloc(total);
  for (let i = 0; i < total; i++) data[i] = (i * 7 + (i >> 9)) & 255;
  const chunk = 4096;
  let offset = 0;
  let maxBuffered = 0;
  while (offset < total && sock.write(data.subarray(offset, offset + chunk))) {
    offset += chunk;
    maxBuffered = Math.max(maxBuffered, sock.writableLength);
  }
  offset += chunk;
  // The reader never read: the peer's receive ring and our send ring are full, the rest waits in the stream.
  const sentBeforeDrain = offset;
  assert.ok(sentBeforeDrain < total, `write() returned false after ${sentBeforeDrain} bytes`);
  assert.ok(sentBeforeDrain <= sendBuffer + recvBuffer + sock.writableHighWaterMark + chunk, `bounded: ${sentBeforeDrain}`);
  for (let turn = 0; turn < 200; turn++) await new Promise((r) => setImmediate(r));
  assert.is(serverSide.bytesRead, 0, 'nothing was pushed to the paused reader');
  assert.is(sock.bytesWritten, sentBeforeDrain, 'and the writer is held at the rings');

  const hash = createHash('sha256');
  let received = 0;
  const done = new Promise((resolve) => {
    serverSide.on('data', (d) => { hash.update(d); received += d.length; if (received === total) resolve(); });
  });
  serverSide.resume();
  const writeRest = async () => {
    while (offset < total) {
      if (!sock.write(data.subarray(offset, offset + chunk))) await once(sock, 'drain');
      offset += chunk;
      assert.ok(sock.writableLength <= sock.writableHighWaterMark + chunk, `stream buffer bounded: ${sock.writableLength}`);
    }
  };
  await Promise.all([done, writeRest()]);
  assert.is(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
  assert.is(sock.bytesWritten, total);
  sock.destroy(); serverSide.destroy(); srv.close();
  await Promise.all([server.close(), client.close()]);
});

test('allowHalfOpen: after the peer FIN the socket still writes; without it the socket ends too', async () => {
  const { server, client } = await stackPair();
  const srv = server.net.createServer({ allowHalfOpen: true }, (s) => {
    s.resume();
    s.on('end', () => { s.write('late reply'); s.end(); });
  }).listen(7);
  await once(srv, 'listening');
  const sock = client.net.connect({ host: '10.0.0.1', port: 7, allowHalfOpen: true });
  await once(sock, 'connect');
  sock.end();
  assert.is((await collect(sock)).toString(), 'late reply');

  const closer = server.net.createServer((s) => { s.resume(); }).listen(8);
  await once(closer, 'listening');
  const plain = client.net.connect({ host: '10.0.0.1', port: 8 });
  const log = record(plain, ['connect', 'end', 'finish', 'close']);
  plain.resume();
  await once(plain, 'connect');
  plain.end();
  await once(plain, 'close');
  assert.equal(log, ['connect', 'finish', 'end', 'close:false']);
  srv.close(); closer.close();
  await Promise.all([server.close(), client.close()]);
});

test('resetAndDestroy sends RST: the peer gets read ECONNRESET', async () => {
  const { server, client } = await stackPair();
  const srv = server.net.createServer((s) => { s.on('data', () => s.resetAndDestroy()); }).listen(7);
  await once(srv, 'listening');
  const sock = client.net.connect({ host: '10.0.0.1', port: 7 }, () => sock.write('x'));
  const [err] = await once(sock, 'error');
  assert.equal([err.message, err.code, err.errno, err.syscall], ['read ECONNRESET', 'ECONNRESET', -104, 'read']);
  const [hadError] = await once(sock, 'close');
  assert.is(hadError, true);
  srv.close();
  await Promise.all([server.close(), client.close()]);
});

test('setTimeout runs on the stack clock and is re-armed by activity', async () => {
  const { server, client, clock } = await stackPair();
  const srv = server.net.createServer((s) => s.pipe(s)).listen(7);
  await once(srv, 'listening');
  const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
  await once(sock, 'connect');
  const start = clock.nowUs();
  let fired = 0;
  sock.setTimeout(30_000, () => { fired++; });
  assert.is(sock.timeout, 30_000);
  await once(sock, 'timeout');
  assert.is(fired, 1);
  assert.is(clock.nowUs() - start, 30_000_000, 'fired exactly 30 s of virtual time later');
  sock.write('ping');
  await once(sock, 'data');
  const active = clock.nowUs();
  await once(sock, 'timeout');
  assert.is(clock.nowUs() - active, 30_000_000, 'activity re-armed it');
  sock.setTimeout(0);
  assert.is(sock.timeout, undefined);
  assert.is(sock.setNoDelay(true), sock);
  assert.is(sock.setKeepAlive(true, 1000), sock);
  sock.destroy(); srv.close();
  await Promise.all([server.close(), client.close()]);
});

test('maxConnections closes extra connections with a drop event; server close waits for its connections', async () => {
  const { server, client } = await stackPair();
  const accepted = [];
  const srv = server.net.createServer((s) => { accepted.push(s); s.resume(); }).listen(7);
  srv.maxConnections = 1;
  await once(srv, 'listening');
  const drops = [];
  srv.on('drop', (d) => drops.push(d));
  const a = client.net.connect({ host: '10.0.0.1', port: 7 });
  await once(srv, 'connection');
  const b = client.net.connect({ host: '10.0.0.1', port: 7 });
  b.resume();
  await once(b, 'close');
  assert.is(server.counters()['tcp.conn.passive_opens'], 2);
  assert.is(accepted.length, 1);
  assert.is(drops.length, 1);
  assert.equal([drops[0].remoteAddress, drops[0].remotePort, drops[0].localPort], ['10.0.0.2', b.localPort, 7]);
  let closed = false;
  srv.close(() => { closed = true; });
  assert.is(srv.listening, false);
  await new Promise((r) => setImmediate(r));
  assert.is(closed, false, "'close' waits for the open connection");
  a.end();
  await once(srv, 'close');
  assert.is(closed, true);
  await Promise.all([server.close(), client.close()]);
});

test('sockets made with new stack.net.Socket() connect later; writes before connect are kept', async () => {
  const { server, client } = await stackPair();
  const srv = server.net.createServer((s) => s.pipe(s)).listen(7);
  await once(srv, 'listening');
  const sock = new client.net.Socket();
  assert.is(sock.pending, true);
  sock.write('early ');
  sock.connect(7, '10.0.0.1');
  sock.end('bird');
  assert.is((await collect(sock)).toString(), 'early bird');
  srv.close();
  await Promise.all([server.close(), client.close()]);
});

test('keepalive: when the peer vanishes the probes go unanswered and the socket fails with read ETIMEDOUT', async () => {
  const { server, client, clock, links } = await stackPair();
  const srv = server.net.createServer((s) => s.resume()).listen(7);
  await once(srv, 'listening');
  const sock = client.net.connect({ host: '10.0.0.1', port: 7, keepAlive: true, keepAliveInitialDelay: 1000 });
  await once(sock, 'connect');
  await links[0].close(); // the server's end of the wire is cut
  const start = clock.nowUs();
  const [err] = await once(sock, 'error');
  assert.equal([err.message, err.code, err.errno, err.syscall], ['read ETIMEDOUT', 'ETIMEDOUT', -110, 'read']);
  // Idle 1 s, then 9 probes 75 s apart (the defaults, as Linux): the 9th unanswered interval ends it.
  assert.is(clock.nowUs() - start, 1_000_000 + 9 * 75_000_000);
  assert.is(client.counters()['tcp.timer.keepalive_probe'], 9);
  srv.close();
  await Promise.all([server.close({ timeoutMs: 0 }), client.close()]);
});

test('over an impaired link (loss, reordering, duplication, delay) 4 MiB arrive intact, and the run repeats exactly', async () => {
  const data = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < data.length; i++) data[i] = (i * 13 + (i >> 12)) & 255;
  const digest = createHash('sha256').update(data).digest('hex');
  async function run() {
    const { server, client, clock } = await stackPair({ link: { loss: 0.03, reorder: 0.03, duplicate: 0.01, delay: '1ms' } });
    const got = new Promise((resolve) => server.net.createServer((s) => collect(s).then((b) => { s.end(); resolve(b); })).listen(7));
    const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
    sock.end(data);
    sock.resume();
    const received = await got;
    await once(sock, 'close');
    const result = { sha256: createHash('sha256').update(received).digest('hex'), endUs: clock.nowUs(), client: client.counters(), server: server.counters() };
    await client.close();
    await server.close();
    return result;
  }
  const first = await run();
  assert.is(first.sha256, digest);
  assert.ok(first.client['tcp.tx.retransmits'] > 0, 'losses were repaired by retransmission');
  const second = await run();
  assert.equal(second, first, 'same seeds, same virtual times, same counters');
});

test('no neighbour answers: connect EHOSTUNREACH after ARP gives up; no route: connect ENETUNREACH at once', async () => {
  const { server, client, clock } = await stackPair();
  const start = clock.nowUs();
  const absent = client.net.connect({ host: '10.0.0.99', port: 7 });
  const [err] = await once(absent, 'error');
  assert.equal([err.message, err.code, err.errno, err.syscall, err.address, err.port],
    ['connect EHOSTUNREACH 10.0.0.99:7', 'EHOSTUNREACH', -113, 'connect', '10.0.0.99', 7]);
  assert.ok(clock.nowUs() > start, 'after the ARP retries, on the virtual clock');
  const offLink = client.net.connect({ host: '192.168.1.1', port: 7 });
  const noRoute = clock.nowUs();
  const [err2] = await once(offLink, 'error');
  assert.equal([err2.message, err2.code], ['connect ENETUNREACH 192.168.1.1:7', 'ENETUNREACH']);
  assert.is(clock.nowUs(), noRoute, 'no gateway: refused without waiting');
  await Promise.all([server.close(), client.close()]);
});

test('500 concurrent connections are echoed; afterwards every connection slot and slab byte is back', async () => {
  const tcp = { timeWaitMs: 1000, sendBuffer: 16384, recvBuffer: 16384 };
  const { server, client, clock } = await stackPair({ server: { tcp }, client: { tcp } });
  const slab = [server.instance.exports.tcpSlabFreeBytes(), client.instance.exports.tcpSlabFreeBytes()];
  const srv = server.net.createServer((s) => s.pipe(s)).listen(7);
  await once(srv, 'listening');
  const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => {
    const s = client.net.connect({ host: '10.0.0.1', port: 7 });
    s.end(`connection ${i}`);
    return collect(s).then((b) => b.toString());
  }));
  assert.equal(replies, Array.from({ length: 500 }, (_, i) => `connection ${i}`));
  assert.is(server.counters()['tcp.conn.passive_opens'], 500);
  // Past TIME-WAIT (1 s here) only the listener holds a slot.
  await new Promise((resolve) => clock.setTimer(clock.nowUs() + 2_000_000, resolve));
  assert.equal([server.instance.exports.tcpConnectionsInUse(), client.instance.exports.tcpConnectionsInUse()], [1, 0]);
  assert.equal([server.instance.exports.tcpSlabFreeBytes(), client.instance.exports.tcpSlabFreeBytes()], slab);
  srv.close();
  assert.is(server.instance.exports.tcpConnectionsInUse(), 0);
  await Promise.all([server.close(), client.close()]);
});

test('an exhausted buffer slab fails a connect with ENOBUFS naming the options to change', async () => {
  const { server, client } = await stackPair({ client: { tcp: { slabBytes: 1024 * 1024 } } });
  const srv = server.net.createServer((s) => s.resume()).listen(7);
  await once(srv, 'listening');
  const open = [];
  let err;
  for (let i = 0; i < 4 && !err; i++) {
    const s = client.net.connect({ host: '10.0.0.1', port: 7 });
    s.on('error', (e) => { err = e; });
    await Promise.race([once(s, 'connect'), once(s, 'error')]);
    open.push(s);
  }
  assert.ok(err, 'a connect failed once 1 MiB of 256 KiB + 256 KiB rings was used');
  assert.is(open.length, 3, 'two connections fit, the third failed');
  assert.equal([err.code, err.syscall], ['ENOBUFS', 'connect']);
  assert.match(err.message, /^connect ENOBUFS 10\.0\.0\.1:7 \(the stack's connection table or buffer slab is full: raise createStack's tcp\.maxConnections or tcp\.slabBytes, or use smaller tcp\.sendBuffer\/recvBuffer\)$/);
  for (const s of open) s.destroy();
  srv.close();
  await Promise.all([server.close(), client.close()]);
});

test.run();
