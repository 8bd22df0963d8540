// One worker per queue: N worker threads, each with its own stack on one queue of a
// SharedMemoryLink, the application module beside it; a client stack on the link's other side.
// Checked: echo over 32 connections spread by RSS over 4 workers (bytes intact, each worker
// accepted some, no hand-off needed, no ARP request from any worker: worker 0 learned the
// client's address and the others used the shared entry); the same with a steering the stacks
// cannot predict (frames land on the wrong worker and are handed to the owner, counted both
// ways); outgoing connections from every worker take RSS-matched ports, so their replies land
// on the opening worker; graceful close drains every worker; a crashing worker and a bad
// application module are reported with the worker's index, not hung.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createStack, SharedMemoryLink } from '../dist/index.js';
import { CONNECTIONS as CONNECT_APP_CONNECTIONS } from './workers-connect-app.mjs';
import { seededBytes } from './helpers/seeded.mjs';

const ECHO_APP = new URL('./workers-app.mjs', import.meta.url);

/** `length` seeded bytes, the seed spread by Knuth's multiplicative hash so nearby seeds differ. */
const payload = (seed, length) => Buffer.from(seededBytes(length, (seed * 2654435761) >>> 0).buffer);

/** Opens `count` connections to 10.0.0.1:7 from `client`, sends each `bytes`, resolves with what came back. */
function echoMany(client, count, bytes) {
  return Promise.all(Array.from({ length: count }, (_, i) => new Promise((resolve, reject) => {
    const data = payload(i + 1, bytes);
    const socket = client.net.connect({ host: '10.0.0.1', port: 7 });
    const chunks = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ sent: data, got: Buffer.concat(chunks), port: socket.localPort }));
    socket.end(data);
  })));
}

async function setup(linkOptions, workerOptions = {}) {
  const [port, b] = SharedMemoryLink.pair({ queues: 4, seed: 7, ...linkOptions });
  const workers = await createStack({ workers: 4, app: ECHO_APP, link: port, address: '10.0.0.1/24', seed: 11, ...workerOptions });
  const client = await createStack({ link: b, address: '10.0.0.2/24', seed: 12 });
  return { port, b, workers, client };
}

/** Resolves with the error `promise` rejects with, after checking its message against `re`. */
async function rejects(promise, re) {
  try { await promise; } catch (e) { assert.match(e.message, re); return e; }
  assert.unreachable(`expected a rejection matching ${re}`);
}

/**
 * Counters once the hand-off rings are empty: the last ACKs of a connection may still be on
 * their way to their owner when the client sees 'close', so read until every frame handed out
 * was received (and the numbers stopped moving).
 */
async function settledCounters(workers) {
  let last = null;
  for (let i = 0; i < 200; i++) {
    const c = await workers.counters();
    const key = `${c.total['handoff.out']}/${c.total['handoff.in']}/${c.total['link.rxFrames']}`;
    if (c.total['handoff.out'] === c.total['handoff.in'] && key === last) return c;
    last = key;
    await new Promise((r) => setTimeout(r, 10));
  }
  return workers.counters();
}

const sha = (b) => createHash('sha256').update(b).digest('hex');

test('32 connections spread by RSS over 4 workers echo intact; ARP learned once and shared', async () => {
  const { port, workers, client } = await setup({});
  const results = await echoMany(client, 32, 64 * 1024);
  for (const r of results) assert.is(sha(r.got), sha(r.sent), `connection from port ${r.port}`);
  const { total, workers: per } = await workers.counters();
  // Each connection was accepted by the worker RSS maps it to.
  const expected = [0, 0, 0, 0];
  for (const r of results) expected[port.rss.queueOfTuple(0x0a000002, 0x0a000001, r.port, 7)]++;
  assert.equal(per.map((c) => c['tcp.conn.passive_opens']), expected);
  assert.ok(expected.every((n) => n > 0), 'every worker got connections');
  assert.is(total['tcp.conn.passive_opens'], 32);
  assert.is(total['handoff.out'], 0, 'RSS put every frame on its owner');
  assert.is(total['handoff.in'], 0);
  // Worker 0 answered the client's ARP request; nobody asked, the others took the shared entry.
  assert.is(total['arp.tx.request'], 0);
  assert.is(per[0]['deliver.arp.request'], 1);
  assert.is(per[0]['arp.shared.out'], 1);
  for (let k = 1; k < 4; k++) assert.is(per[k]['arp.shared.in'], 1, `worker ${k} adopted the entry`);
  const closed = await workers.close({ timeoutMs: 5000 });
  assert.is(closed.reset, 0);
  assert.is(closed.workers.length, 4);
  assert.equal(closed.failed, []);
  await client.close();
});

test('frames steered to the wrong worker are handed to the owner and every connection completes', async () => {
  const { workers, client } = await setup({ steer: 'spread' });
  const results = await echoMany(client, 32, 16 * 1024);
  for (const r of results) assert.is(sha(r.got), sha(r.sent), `connection from port ${r.port}`);
  const { total, workers: per } = await settledCounters(workers);
  assert.ok(total['handoff.out'] > 0, `hand-offs happened (${total['handoff.out']})`);
  assert.is(total['handoff.in'], total['handoff.out'], 'every frame handed out was received');
  assert.is(total['handoff.ring_full'], 0);
  assert.is(total['tcp.conn.passive_opens'], 32);
  assert.is(total['drop.tcp.no_connection'], 0, 'no segment met a worker without its connection');
  assert.ok(per.every((c) => c['tcp.conn.passive_opens'] > 0));
  await workers.close({ timeoutMs: 5000 });
  await client.close();
});

async function peerEcho(linkOptions) {
  const [port, b] = SharedMemoryLink.pair({ queues: 4, seed: 3, ...linkOptions });
  const peer = await createStack({ link: b, address: '10.0.0.2/24', seed: 5 });
  peer.net.createServer((s) => s.pipe(s)).listen(9);
  const workers = await createStack({
    workers: 4, app: new URL('./workers-connect-app.mjs', import.meta.url), link: port, address: '10.0.0.1/24', seed: 9,
  });
  return { port, peer, workers };
}

test('outgoing connections take RSS-matched ports: replies land on the opening worker', async () => {
  const { workers, peer } = await peerEcho({});
  const { total, workers: per } = await workers.counters();
  for (let k = 0; k < 4; k++) {
    assert.is(per[k]['tcp.conn.active_opens'], CONNECT_APP_CONNECTIONS, `worker ${k} opened its connections`);
    assert.is(per[k]['tcp.conn.established'], CONNECT_APP_CONNECTIONS);
  }
  assert.is(total['handoff.out'], 0, 'no reply reached another worker');
  assert.is(total['tcp.ports.exhausted'], 0);
  assert.is(peer.counters()['tcp.conn.passive_opens'], 4 * CONNECT_APP_CONNECTIONS);
  await workers.close({ timeoutMs: 5000 });
  await peer.close();
});

test('replies of outgoing connections that land on another queue are handed to the opener', async () => {
  const { workers, peer } = await peerEcho({ steer: 'spread' });
  const { total, workers: per } = await settledCounters(workers);
  for (let k = 0; k < 4; k++) assert.is(per[k]['tcp.conn.established'], CONNECT_APP_CONNECTIONS);
  assert.ok(total['handoff.out'] > 0);
  assert.is(total['handoff.in'], total['handoff.out']);
  await workers.close({ timeoutMs: 5000 });
  await peer.close();
});

test('close drains the connections of every worker', async () => {
  const { workers, client } = await setup({});
  // Connections that stay open until the workers close: the client never ends them.
  const ended = [];
  const sockets = await Promise.all(Array.from({ length: 8 }, () => new Promise((resolve, reject) => {
    const s = client.net.connect({ host: '10.0.0.1', port: 7 }, () => resolve(s));
    s.on('error', reject);
    const got = [];
    s.on('data', (d) => got.push(d));
    ended.push(new Promise((r) => s.on('end', () => r(Buffer.concat(got)))));
  })));
  const data = payload(99, 100_000);
  for (const s of sockets) s.write(data);
  // Every echo arrived before the workers are told to close.
  await new Promise((resolve) => {
    let got = 0;
    for (const s of sockets) {
      let n = 0;
      s.on('data', (d) => { n += d.length; if (n === data.length && ++got === sockets.length) resolve(); });
    }
  });
  const result = await workers.close({ timeoutMs: 5000 });
  assert.is(result.drained, 8);
  assert.is(result.reset, 0);
  for (const e of await Promise.all(ended)) assert.is(e.length, data.length);
  await client.close();
});

test('a worker that crashes is reported with its index; pending requests reject', async () => {
  const [port, b] = SharedMemoryLink.pair({ queues: 4 });
  const workers = await createStack({ workers: 4, app: new URL('./workers-crash-app.mjs', import.meta.url), link: port, address: '10.0.0.1/24' });
  const client = await createStack({ link: b, address: '10.0.0.2/24' });
  const errored = new Promise((resolve) => workers.once('error', resolve));
  const socket = client.net.connect({ host: '10.0.0.1', port: 7 }, () => socket.write('boom'));
  socket.on('error', () => {});
  const error = await errored;
  const owner = port.rss.queueOfTuple(0x0a000002, 0x0a000001, socket.localPort, 7);
  assert.is(error.code, 'ERR_WASM_TCPIP_WORKER');
  assert.is(error.worker, owner);
  assert.is(error.message, `worker ${owner}: application failure in worker ${owner}`);
  await rejects(workers.counters(), new RegExp(`worker ${owner}`));
  // Closing still drains the others and stops every thread.
  const closed = await workers.close({ timeoutMs: 1000 });
  assert.equal(closed.failed, [owner]);
  assert.is(closed.workers[owner], null);
  assert.is(closed.workers.filter(Boolean).length, 3);
  socket.destroy();
  await client.close({ timeoutMs: 0 });
});

test('terminate stops every worker at once; later requests reject', async () => {
  const [port] = SharedMemoryLink.pair({ queues: 2 });
  const workers = await createStack({ workers: 2, app: ECHO_APP, link: port, address: '10.0.0.1/24' });
  let errors = 0;
  workers.on('error', () => { errors++; });
  await workers.terminate();
  const e = await rejects(workers.counters(), /worker 0: the worker has failed or exited/);
  assert.is(e.code, 'ERR_WASM_TCPIP_WORKER');
  assert.is(errors, 0, 'a terminate asked for is not an error');
});

test('an application module without a start function fails createStack with the worker index', async () => {
  const [port] = SharedMemoryLink.pair({ queues: 2 });
  try {
    await createStack({ workers: 2, app: new URL('./workers-bad-app.mjs', import.meta.url), link: port, address: '10.0.0.1/24' });
    assert.unreachable('createStack should reject');
  } catch (e) {
    assert.is(e.code, 'ERR_WASM_TCPIP_WORKER');
    assert.ok(e.worker === 0 || e.worker === 1);
    assert.match(e.message, /must export a default function \(or `start`\)/);
  }
});

test('worker options are validated before any thread starts', async () => {
  const [port] = SharedMemoryLink.pair({ queues: 2 });
  const mismatch = await rejects(createStack({ workers: 3, app: ECHO_APP, link: port, address: '10.0.0.1/24' }), /2 queues but options.workers is 3/);
  assert.is(mismatch.code, 'ERR_OUT_OF_RANGE');
  await rejects(createStack({ workers: 0, app: ECHO_APP, link: port, address: '10.0.0.1/24' }), /options.workers must be an integer from 1 to 64/);
  await rejects(createStack({ workers: 2, link: port, address: '10.0.0.1/24' }), /options.app must be the application module/);
  await rejects(createStack({ workers: 2, app: ECHO_APP, link: {}, address: '10.0.0.1/24' }), /options.link must be a multi-queue link/);
  await rejects(createStack({ workers: 2, app: ECHO_APP, link: port, address: '10.0.0.1/24', clock: {} }), /'real' with workers/);
  const bad = await rejects(createStack({ workers: 2, app: ECHO_APP, link: port, address: '10.0.0.1/24', tcp: { sendBufer: 1 } }), /options.tcp.sendBufer is not an option/);
  assert.instance(bad, TypeError);
  await rejects(createStack({ workers: 2, app: ECHO_APP, link: port, address: '10.0.0.1' }), /options.address must be an IPv4 address with a prefix/);
});

test.run();
