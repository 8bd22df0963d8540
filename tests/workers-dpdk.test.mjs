// Workers on DPDK queues: two stacks of two workers each, joined by a crossed pair of
// two-queue net_ring ports (queue i of one port feeds queue i of the other), every frame
// through the real DPDK path. The client workers' connections take RSS-matched local ports,
// so each flow stays on one queue index end to end: every echo completes intact, no frame is
// handed off, and the port's RSS key and table (or the software ones) reach the stacks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { dpdkOrSkip } from './support/dpdk.mjs';
import { CONNECTIONS } from './workers-dpdk-app.mjs';

const dpdk = dpdkOrSkip('tests/workers-dpdk.test.mjs');
const APP = new URL('./workers-dpdk-app.mjs', import.meta.url);

if (dpdk) {
  const { startEal, openPort } = await import('../dist/dpdk/index.js');
  const { createStack } = await import('../dist/index.js');
  startEal({ hugepages: false });

  test('two workers per side on net_ring queues: echoes intact, no hand-off', async () => {
    const [a, b] = dpdk.ringPorts.createPair('wka', 'wkb', { queues: 2, ringSize: 4096 });
    openPort(a, { queues: 2 });
    openPort(b, { queues: 2 });
    const server = await createStack({ workers: 2, app: APP, link: { dpdk: { port: a } }, address: '10.0.0.1/24', seed: 1 });
    const client = await createStack({ workers: 2, app: APP, link: { dpdk: { port: b } }, address: '10.0.0.2/24', seed: 2 });
    const s = await server.counters();
    const c = await client.counters();
    assert.equal(c.workers.map((w) => w['tcp.conn.established']), [CONNECTIONS, CONNECTIONS]);
    assert.is(s.total['tcp.conn.passive_opens'], 2 * CONNECTIONS);
    assert.is(s.total['handoff.out'] + c.total['handoff.out'], 0);
    assert.is(c.total['tcp.ports.exhausted'], 0);
    await client.close({ timeoutMs: 2000 });
    await server.close({ timeoutMs: 2000 });
    new dpdk.Port(a).close();
    new dpdk.Port(b).close();
  });

  test('a DPDK port whose queue count differs from the workers is refused with the fix', async () => {
    const [a, b] = dpdk.ringPorts.createPair('wkc', 'wkd', { queues: 2 });
    openPort(a, { queues: 2 });
    try {
      await createStack({ workers: 3, app: APP, link: { dpdk: { port: a } }, address: '10.0.0.1/24' });
      assert.unreachable();
    } catch (e) {
      assert.is(e.code, 'ERR_WASM_TCPIP_DPDK_QUEUES');
      assert.match(e.message, /has 2 queues but options.workers is 3/);
    }
    try {
      await createStack({ workers: 2, app: APP, link: { dpdk: { port: b } }, address: '10.0.0.1/24' });
      assert.unreachable();
    } catch (e) {
      assert.is(e.code, 'ERR_WASM_TCPIP_DPDK_STATE');
      assert.match(e.message, /openPort\(device, \{ queues: 2 \}\)/);
    }
    new dpdk.Port(a).close();
  });
}

test.run();
