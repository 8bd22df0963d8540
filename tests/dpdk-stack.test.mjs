// Two stacks in one process joined by a crossed net_ring pair: every frame between them goes
// through the real DPDK path (rte_eth_tx_burst into a ring, rte_eth_rx_burst out of it), with
// each side's mbufs from its own zero-copy pool. A TCP transfer must arrive intact, and a UDP datagram both ways.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';

import { dpdkOrSkip } from './support/dpdk.mjs';
import { seededBytes as bytes } from './helpers/seeded.mjs';

const dpdk = dpdkOrSkip('tests/dpdk-stack.test.mjs');
const { startEal, openPort } = await import('../dist/dpdk/index.js');
const { DpdkLink } = await import('../dist/links/dpdk.js');
const { createStack } = await import('../dist/index.js');

const sha = (b) => createHash('sha256').update(b).digest('hex');

let serial = 0;
async function stackPair() {
  const n = serial++;
  const [a, b] = dpdk.ringPorts.createPair(`sa${n}`, `sb${n}`, { ringSize: 4096 });
  openPort(a);
  openPort(b);
  const linkA = new DpdkLink({ port: a });
  const linkB = new DpdkLink({ port: b });
  const sa = await createStack({ link: linkA, address: '10.77.0.1/24', seed: 1 });
  const sb = await createStack({ link: linkB, address: '10.77.0.2/24', seed: 2 });
  return { sa, sb, linkA, linkB, ports: [a, b] };
}

/** Runs `body` on a fresh pair and closes both stacks and ports whatever happens. */
async function withPair(body) {
  const pair = await stackPair();
  try {
    await body(pair);
  } finally {
    await pair.sa.close({ timeoutMs: 1000 });
    await pair.sb.close({ timeoutMs: 1000 });
    for (const id of pair.ports) new dpdk.Port(id).close();
  }
}

if (dpdk) {
  startEal({ hugepages: false });

  test('TCP: 4 MiB from one stack to the other arrive intact over net_ring', () => withPair(async (pair) => {
    const payload = bytes(4 << 20, 7);
    const received = [];
    const done = new Promise((resolve, reject) => {
      const server = pair.sb.net.createServer((sock) => {
        sock.on('data', (d) => received.push(d));
        sock.on('end', () => { sock.end(); resolve(); });
        sock.on('error', reject);
      });
      server.listen(9000, () => {
        const c = pair.sa.net.connect({ host: '10.77.0.2', port: 9000 }, () => c.end(payload));
        c.on('error', reject);
        c.resume();
      });
    });
    await done;
    const got = Buffer.concat(received);
    assert.is(got.length, payload.length);
    assert.is(sha(got), sha(payload));
    const st = pair.linkB.stats();
    // B's frames come in A's mbufs, whose data live in A's memory: B copies them.
    assert.is(st.zeroCopy, true);
    assert.is(st.rxCopied, st.rxFrames);
    assert.is(st.rxDropOversize + st.txDropQueueFull + st.txDropNoMbuf + st.txDropBadDescriptor, 0, 'nothing dropped on the way');
  }));

  test('UDP: a datagram each way', () => withPair(async (pair) => {
    const ua = pair.sa.dgram.createSocket('udp4');
    const ub = pair.sb.dgram.createSocket('udp4');
    await new Promise((r) => ua.bind(5000, r));
    await new Promise((r) => ub.bind(5001, r));
    const atB = new Promise((r) => ub.once('message', (m, rinfo) => r([m, rinfo])));
    ua.send(Buffer.from('ping over dpdk'), 5001, '10.77.0.2');
    const [m, rinfo] = await atB;
    assert.is(m.toString(), 'ping over dpdk');
    assert.is(rinfo.address, '10.77.0.1');
    assert.is(rinfo.port, 5000);
    const atA = new Promise((r) => ua.once('message', (msg) => r(msg)));
    ub.send(Buffer.from('pong'), 5000, '10.77.0.1');
    assert.is((await atA).toString(), 'pong');
  }));
}

test.run();
