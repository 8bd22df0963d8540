// One queue per worker thread: a two-queue ring port configured on the main thread, each
// worker registers with EAL (its own lcore id), attaches its queue to its own stack instance
// and moves frames on it. Frames sent on queue k come back on queue k only, byte for byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';

import { dpdkOrSkip } from './support/dpdk.mjs';

const dpdk = dpdkOrSkip('tests/dpdk-workers.test.mjs');
const { startEal, openPort } = await import('../dist/dpdk/index.js');

const WORKER = `
import { parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import { loadDpdk } from '${new URL('../dist/dpdk/addon.js', import.meta.url)}';
import { ringsOf, putTx, rxAll } from '${new URL('./support/dpdk.mjs', import.meta.url)}';
import { stackInstance } from '${new URL('./support/wasm-stack.mjs', import.meta.url)}';
import { seededBytes as bytes } from '${new URL('./helpers/seeded.mjs', import.meta.url)}';
const dpdk = loadDpdk();
const lcore = dpdk.eal.registerThread();
const s = stackInstance();
const rings = ringsOf(s);
const plan = dpdk.Queue.plan(workerData.port, rings);
const region = s.exports.extbufReserve(plan.zeroCopyBytes, plan.zeroCopyAlign);
const q = new dpdk.Queue(workerData.port, workerData.queue, s.exports.memory.buffer, rings, { zeroCopyOffset: region, zeroCopyBytes: plan.zeroCopyBytes });
parentPort.postMessage({ lcore, attached: true });
parentPort.once('message', (what) => {
  if (what === 'exit') process.exit(0); // leaves without closing the queue: the thread's cleanup hook releases it

  const frames = Array.from({ length: 20 }, (_, i) => {
    const f = bytes(64 + i * 50, workerData.queue * 1000 + i);
    f[12] = 0x88; f[13] = 0xb5;
    return f;
  });
  putTx(s, frames);
  const sent = q.tx(frames.length);
  const got = rxAll(q, s, frames.length);
  const same = got.length === frames.length && got.every((g, i) => Buffer.compare(Buffer.from(g.bytes), Buffer.from(frames[i])) === 0);
  const st = q.stats();
  q.close();
  parentPort.postMessage({ sent, received: got.length, same, zeroCopy: st.rxZeroCopy, lcoreAfter: dpdk.eal.registerThread() });
});
`;

if (dpdk) {
  startEal({ hugepages: false });

  test('two workers, two queues: each its own lcore, its own frames back', async () => {
    const id = dpdk.ringPorts.createLoopback('workers', { queues: 2 });
    const { port } = openPort(id, { queues: 2 });
    const workers = [0, 1].map((queue) => new Worker(WORKER, { eval: true, workerData: { port: id, queue } }));
    const first = (w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    const attached = await Promise.all(workers.map(first));
    assert.ok(attached.every((m) => m.attached));
    const mainLcore = dpdk.eal.registerThread();
    const lcores = new Set([mainLcore, ...attached.map((m) => m.lcore)]);
    assert.is(lcores.size, 3, `main and both workers have distinct lcore ids: ${[...lcores]}`);
    assert.is(port.startIfReady(), true, 'both queues attached from the workers');
    const results = workers.map(first);
    workers.forEach((w) => w.postMessage('go'));
    const done = await Promise.all(results);
    done.forEach((r, k) => {
      assert.is(r.sent, 20, `queue ${k} sent`);
      assert.is(r.received, 20, `queue ${k} received its own frames only`);
      assert.ok(r.same, `queue ${k} byte for byte`);
      assert.is(r.zeroCopy, 20);
      assert.is(r.lcoreAfter, attached[k].lcore, 'registration is once per thread');
    });
    await Promise.all(workers.map((w) => w.terminate()));
    port.close();
  });

  test('a worker that exits without closing its queue releases it', async () => {
    const id = dpdk.ringPorts.createLoopback('leaver');
    const { port } = openPort(id);
    const w = new Worker(WORKER, { eval: true, workerData: { port: id, queue: 0 } });
    await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    assert.equal(port.state().queuesAttached, [true]);
    port.start();
    const exited = new Promise((r) => w.once('exit', r));
    w.postMessage('exit');
    await exited;
    assert.equal(port.state().queuesAttached, [false], 'the queue was released by the thread cleanup');
    port.close();
  });
}

test.run();
