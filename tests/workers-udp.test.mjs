// UDP over several queues (4 workers on a SharedMemoryLink): client sockets in every worker
// exchange datagrams with a peer's echo. Checked: the port a socket takes at its first send
// is one whose replies hash to its own worker's queue (by the RSS key and table the port
// programs); with RSS steering no reply needs a hand-off; with a steering the stacks cannot
// predict ('spread'), replies that land on another worker are handed to the socket's worker,
// counted on both sides, and none is lost, dropped as for a closed port, or answered with
// ICMP port unreachable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createStack, SharedMemoryLink } from '../dist/index.js';
import { SOCKETS, ROUNDS } from './workers-udp-app.mjs';

const WORKERS = 4;
const PEER = 0x0a000002;
const WORKERS_ADDRESS = 0x0a000001;

/** Peer with a UDP echo on port 7 that records, per client port, the workers its datagrams name. */
async function setup(linkOptions) {
  const [port, b] = SharedMemoryLink.pair({ queues: WORKERS, seed: 11, ...linkOptions });
  const peer = await createStack({ link: b, address: '10.0.0.2/24', seed: 12 });
  const workerOfPort = new Map();
  let echoed = 0;
  const echo = peer.dgram.createSocket('udp4');
  echo.on('message', (msg, rinfo) => {
    const worker = Number(/^worker (\d+) /.exec(String(msg))[1]);
    if (!workerOfPort.has(rinfo.port)) workerOfPort.set(rinfo.port, new Set());
    workerOfPort.get(rinfo.port).add(worker);
    echoed++;
    echo.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise((resolve) => echo.bind(7, resolve));
  const workers = await createStack({
    workers: WORKERS, app: new URL('./workers-udp-app.mjs', import.meta.url), link: port, address: '10.0.0.1/24', seed: 13,
  });
  return { port, peer, workers, workerOfPort, echoed: () => echoed };
}

function checkPorts(port, workerOfPort) {
  assert.is(workerOfPort.size, WORKERS * SOCKETS, 'one port per socket');
  for (const [clientPort, workers] of workerOfPort) {
    assert.equal(workers.size, 1, `port ${clientPort} is used by one worker`);
    const [worker] = workers;
    assert.ok(clientPort >= 49152, `ephemeral port ${clientPort}`);
    assert.is(port.rss.queueOfTuple(PEER, WORKERS_ADDRESS, 7, clientPort), worker, `replies to port ${clientPort} hash to worker ${worker}`);
  }
}

function checkDelivery(total, per) {
  for (let k = 0; k < WORKERS; k++) assert.is(per[k]['deliver.udp'], SOCKETS * ROUNDS, `worker ${k} received every reply`);
  assert.is(total['drop.udp.port_closed'], 0, 'no datagram met a worker without its socket');
  assert.is(total['icmp.tx.unreachable'], 0, 'no port unreachable sent');
  assert.is(total['drop.udp.recv_queue_full'], 0);
  assert.is(total['handoff.ring_full'], 0);
}

test('implicitly bound UDP sockets take ports whose replies land on their own worker', async () => {
  const { port, peer, workers, workerOfPort, echoed } = await setup({});
  const { total, workers: per } = await workers.counters();
  assert.is(echoed(), WORKERS * SOCKETS * ROUNDS);
  checkPorts(port, workerOfPort);
  checkDelivery(total, per);
  assert.is(total['udp.rx.handed_off'], 0, 'RSS put every reply on its socket\'s worker');
  assert.is(total['handoff.out'], 0);
  assert.is(peer.counters()['deliver.icmp.error'], 0);
  await workers.close({ timeoutMs: 2000 });
  await peer.close();
});

test("with 'spread' steering, replies landing on another worker are handed to the socket's worker", async () => {
  const { port, peer, workers, workerOfPort, echoed } = await setup({ steer: 'spread' });
  const { total, workers: per } = await workers.counters();
  assert.is(echoed(), WORKERS * SOCKETS * ROUNDS);
  checkPorts(port, workerOfPort);
  checkDelivery(total, per);
  assert.ok(total['udp.rx.handed_off'] > 0, `replies were handed off (${total['udp.rx.handed_off']})`);
  assert.is(total['handoff.out'], total['udp.rx.handed_off'], 'only UDP frames were handed off');
  assert.is(total['handoff.in'], total['handoff.out'], 'every frame handed out was received');
  assert.is(peer.counters()['deliver.icmp.error'], 0, 'the peer got no ICMP error');
  await workers.close({ timeoutMs: 2000 });
  await peer.close();
});

test.run();
