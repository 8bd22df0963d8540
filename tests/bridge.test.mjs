// The main-thread bridge: servers and connections opened from the main thread on worker
// stacks, their bytes through shared rings. Checked: a main-thread echo server listening on
// every worker serves connections of a peer stack intact (several MiB, both directions, with
// backpressure); main-thread connections to the peer complete intact with Node's events and
// addresses; a refused connection errors with ECONNREFUSED; closing the server stops accepting;
// every Buffer a main-thread reader received keeps its bytes after far more than the bridge's
// window has flowed behind it (the worker moves memory to the main thread, never reuses it).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createStack, SharedMemoryLink } from '../dist/index.js';
import { seededBytes } from './helpers/seeded.mjs';
import { exchange } from './helpers/sockets.mjs';

const IDLE_APP = new URL('./workers-app.mjs', import.meta.url);
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** `length` seeded bytes, the seed spread by Knuth's multiplicative hash so nearby seeds differ. */
const payload = (seed, length) => Buffer.from(seededBytes(length, (seed * 2654435761) >>> 0).buffer);

async function setup() {
  const [port, b] = SharedMemoryLink.pair({ queues: 2, seed: 1 });
  const workers = await createStack({ workers: 2, app: IDLE_APP, link: port, address: '10.0.0.1/24', seed: 2 });
  const peer = await createStack({ link: b, address: '10.0.0.2/24', seed: 3 });
  return { port, workers, peer };
}

test('a main-thread server listens on every worker and echoes peer connections intact', async () => {
  const { workers, peer } = await setup();
  const accepted = [];
  const server = workers.net.createServer((socket) => { accepted.push(socket); socket.pipe(socket); });
  server.listen(8000);
  await once(server, 'listening');
  assert.equal(server.address(), { address: '0.0.0.0', family: 'IPv4', port: 8000 });
  const sizes = [1, 70_000, 3 * 1024 * 1024, 5, 200_000, 1024 * 1024];
  const results = await Promise.all(sizes.map((n, i) => exchange(peer.net.connect({ host: '10.0.0.1', port: 8000 }), payload(i + 1, n))));
  results.forEach((got, i) => assert.is(sha(got), sha(payload(i + 1, sizes[i])), `connection ${i} (${sizes[i]} bytes)`));
  assert.is(accepted.length, sizes.length);
  for (const s of accepted) {
    assert.is(s.remoteAddress, '10.0.0.2');
    assert.is(s.localPort, 8000);
    assert.ok(s.worker === 0 || s.worker === 1);
  }
  assert.ok(new Set(accepted.map((s) => s.worker)).size === 2, 'both workers accepted');
  const bytes = accepted.reduce((n, s) => n + s.bytesRead, 0);
  assert.is(bytes, sizes.reduce((a, b) => a + b, 0));
  await new Promise((resolve) => server.close(resolve));
  const refused = await new Promise((resolve) => peer.net.connect({ host: '10.0.0.1', port: 8000 }).on('error', resolve));
  assert.is(refused.code, 'ECONNREFUSED');
  await workers.close({ timeoutMs: 2000 });
  await peer.close();
});

test('main-thread connections through the workers reach the peer intact', async () => {
  const { workers, peer } = await setup();
  peer.net.createServer((s) => s.pipe(s)).listen(9);
  const sockets = Array.from({ length: 4 }, () => workers.net.connect({ host: '10.0.0.2', port: 9 }));
  await Promise.all(sockets.map((s) => once(s, 'connect')));
  for (const s of sockets) {
    assert.is(s.remoteAddress, '10.0.0.2');
    assert.is(s.remotePort, 9);
    assert.is(s.localAddress, '10.0.0.1');
    assert.ok(s.localPort >= 49152);
    assert.is(s.connecting, false);
  }
  assert.equal(sockets.map((s) => s.worker), [0, 1, 0, 1], 'round robin over the workers');
  const data = sockets.map((_, i) => payload(100 + i, 2 * 1024 * 1024 + i));
  const got = await Promise.all(sockets.map((s, i) => exchange(s, data[i])));
  got.forEach((g, i) => assert.is(sha(g), sha(data[i])));
  assert.is(sockets[0].bytesWritten, data[0].length);
  const { total } = await workers.counters();
  assert.is(total['handoff.out'], 0, 'replies came back on the opening worker');
  await workers.close({ timeoutMs: 2000 });
  await peer.close();
});

test('socket options reach the worker; an idle main-thread socket times out', async () => {
  const { workers, peer } = await setup();
  peer.net.createServer((s) => s.pipe(s)).listen(9);
  const socket = workers.net.connect({ host: '10.0.0.2', port: 9 });
  await once(socket, 'connect');
  assert.is(socket.setNoDelay(true), socket);
  assert.is(socket.setKeepAlive(true, 1000), socket);
  // A round trip after the options: they were applied in order on the worker's socket.
  socket.write('ping');
  const [echo] = await once(socket, 'data');
  assert.is(String(echo), 'ping');
  const timedOut = new Promise((resolve) => socket.setTimeout(50, resolve));
  await timedOut;
  assert.is(socket.destroyed, false, 'a timeout does not close the socket');
  assert.throws(() => socket.setTimeout(-1), /non-negative/);
  socket.setTimeout(0);
  const got = await exchange(socket, 'bye');
  assert.is(String(got), 'bye');
  await workers.close({ timeoutMs: 2000 });
  await peer.close();
});

test('received Buffers keep their bytes while many more flow behind them (no reuse under the reader)', async () => {
  const { workers, peer } = await setup();
  const total = 16 * 1024 * 1024; // 64 times the worker -> main window
  const data = payload(77, total);
  peer.net.createServer((s) => { s.end(data); s.resume(); }).listen(9);
  const socket = workers.net.connect({ host: '10.0.0.2', port: 9 });
  const kept = [];
  const snapshots = [];
  socket.on('data', (d) => { kept.push(d); snapshots.push(Buffer.from(d)); });
  socket.end();
  await once(socket, 'close');
  assert.is(socket.bytesRead, total);
  assert.ok(kept.length > 64, `many chunks flowed (${kept.length})`);
  kept.forEach((d, i) => assert.ok(d.equals(snapshots[i]), `chunk ${i} (${d.length} bytes) unchanged after the rest flowed`));
  assert.is(sha(Buffer.concat(kept)), sha(data));
  assert.ok(kept[0].equals(data.subarray(0, kept[0].length)), 'the first chunk still holds the first bytes');
  assert.ok(kept.every((d) => d.byteOffset === 0 && d.buffer.byteLength === d.length), 'each chunk is a whole ArrayBuffer moved from the worker');
  await workers.close({ timeoutMs: 2000 });
  await peer.close();
});

test('a refused main-thread connection errors with ECONNREFUSED', async () => {
  const { workers, peer } = await setup();
  const socket = workers.net.connect(4444, '10.0.0.2');
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const [error] = await once(socket, 'error');
  assert.is(error.code, 'ECONNREFUSED');
  await closed;
  assert.throws(() => workers.net.connect({ host: '10.0.0.2', port: 0 }), /port must be an integer from 1 to 65535/);
  assert.throws(() => workers.net.createServer().listen(70000), /port must be an integer from 1 to 65535/);
  await workers.close({ timeoutMs: 2000 });
  await peer.close();
});

test.run();
