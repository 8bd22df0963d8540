// stack.dgram over two stacks on a MemoryLink and a virtual clock: bind, send, 'message' with
// rinfo, implicit bind, errors built like Node's (EADDRINUSE, EMSGSIZE), close.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stackPair, once } from './net-pair.mjs';

test('a datagram goes out, the peer answers, both arrive with their source', async () => {
  const { server, client } = await stackPair();
  const echo = server.dgram.createSocket('udp4', (msg, rinfo) => echo.send([Buffer.from('re:'), msg], rinfo.port, rinfo.address));
  echo.bind(5353);
  await once(echo, 'listening');
  assert.equal(echo.address(), { address: '0.0.0.0', family: 'IPv4', port: 5353 });

  const sock = client.dgram.createSocket({ type: 'udp4' });
  const events = [];
  sock.on('listening', () => events.push('listening'));
  const sent = await new Promise((resolve) => sock.send('hello', 5353, '10.0.0.1', (err, bytes) => resolve([err, bytes])));
  assert.equal(sent, [null, 5]);
  assert.equal(events, ['listening'], 'send bound the socket first, as Node does');
  const port = sock.address().port;
  assert.ok(port >= 49152 && port <= 65535, `ephemeral port ${port}`);
  const [msg, rinfo] = await once(sock, 'message');
  assert.is(msg.toString(), 're:hello');
  assert.equal(rinfo, { address: '10.0.0.1', family: 'IPv4', port: 5353, size: 8 });

  sock.send(Buffer.from('xxabcxx'), 2, 3, 5353, '10.0.0.1');
  const [part] = await once(sock, 'message');
  assert.is(part.toString(), 're:abc');
  const c = server.counters();
  assert.is(c['deliver.udp'], 2);
  assert.is(client.counters()['udp.tx.datagrams'], 2);
  await new Promise((resolve) => sock.close(resolve));
  assert.throws(() => sock.address(), (e) => e.code === 'ERR_SOCKET_DGRAM_NOT_RUNNING');
  echo.close();
  await Promise.all([server.close(), client.close()]);
});

test('errors: EADDRINUSE on bind, EMSGSIZE to the send callback, bad arguments thrown', async () => {
  const { server, client } = await stackPair();
  const a = server.dgram.createSocket('udp4').bind(9000);
  await once(a, 'listening');
  const b = server.dgram.createSocket('udp4').bind({ port: 9000, address: '10.0.0.1' });
  const [err] = await once(b, 'error');
  assert.equal([err.message, err.code, err.errno, err.syscall, err.address, err.port],
    ['bind EADDRINUSE 10.0.0.1:9000', 'EADDRINUSE', -98, 'bind', '10.0.0.1', 9000]);
  const [big] = await new Promise((resolve) => a.send(Buffer.alloc(1500 - 27), 9, '10.0.0.2', (e) => resolve([e])));
  assert.equal([big.code, big.syscall, big.message], ['EMSGSIZE', 'send', 'send EMSGSIZE 10.0.0.2:9']);
  assert.throws(() => a.send('x', 0, '10.0.0.2'), (e) => e.code === 'ERR_SOCKET_BAD_PORT');
  assert.throws(() => a.send('x', 9, 'peer.example'), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /no resolver/.test(e.message));
  assert.throws(() => server.dgram.createSocket('udp6'), (e) => e.code === 'ERR_SOCKET_BAD_TYPE');
  assert.throws(() => a.bind(1), (e) => e.code === 'ERR_SOCKET_ALREADY_BOUND');
  a.close(); b.close();
  await Promise.all([server.close(), client.close()]);
});

test('datagrams to a closed port are answered with ICMP port unreachable and not delivered', async () => {
  const { server, client } = await stackPair();
  const sock = client.dgram.createSocket('udp4');
  let messages = 0;
  sock.on('message', () => messages++);
  await new Promise((resolve) => sock.send('anyone?', 4444, '10.0.0.1', resolve));
  for (let turn = 0; turn < 50; turn++) await new Promise((r) => setImmediate(r));
  assert.is(messages, 0);
  assert.is(server.counters()['drop.udp.port_closed'], 1);
  assert.is(server.counters()['icmp.tx.unreachable'], 1);
  assert.is(client.counters()['deliver.icmp.error'], 1);
  sock.close();
  await Promise.all([server.close(), client.close()]);
});

test('a burst larger than the stack queue waits in order; past the waiting limit sends fail with ENOBUFS', async () => {
  const { server, client } = await stackPair();
  const rx = server.dgram.createSocket('udp4').bind(9);
  await once(rx, 'listening');
  const seen = [];
  rx.on('message', (msg) => seen.push(msg.readUInt32BE(0)));
  const tx = client.dgram.createSocket('udp4');
  // One datagram first, so the neighbour is resolved before the burst.
  await new Promise((resolve) => tx.send(Buffer.alloc(4), 9, '10.0.0.1', resolve));
  for (let turn = 0; turn < 1000 && seen.length < 1; turn++) await new Promise((r) => setImmediate(r));
  seen.length = 0;
  const outcomes = await Promise.all(Array.from({ length: 3000 }, (_, i) => new Promise((resolve) => {
    const msg = Buffer.alloc(512);
    msg.writeUInt32BE(i, 0);
    tx.send(msg, 9, '10.0.0.1', (err, bytes) => resolve(err ? err.code : bytes));
  })));
  const sent = outcomes.filter((o) => o === 512).length;
  const refused = outcomes.filter((o) => o === 'ENOBUFS').length;
  assert.is(sent + refused, 3000, `only sent or ENOBUFS: ${[...new Set(outcomes)]}`);
  assert.ok(sent >= 1024 && refused > 0, `sent ${sent}, refused ${refused}`);
  assert.is(outcomes.indexOf('ENOBUFS'), sent, 'the first ones went, the last ones were refused');
  for (let turn = 0; turn < 10_000 && seen.length < sent; turn++) await new Promise((r) => setImmediate(r));
  assert.equal(seen, Array.from({ length: sent }, (_, i) => i), 'delivered in order, none lost');
  rx.close(); tx.close();
  await Promise.all([server.close(), client.close()]);
});

test.run();
