// Interop with the Linux kernel across net_tap (root; CI runs it), two queues: two workers
// serve one address on the two queues of tap wtap5. net_tap does no RSS: the kernel's tun
// queue selection picks the queue of each frame, so a flow's frames may reach the worker that
// does not own it, which hands them to the owner. 32 concurrent kernel connections (16 `curl`
// downloads of 4 MiB from the demo HTTP service, 16 echo exchanges of 1 MiB on the kernel's
// TCP) all complete intact, both workers accept some, every frame handed out is taken in,
// and tshark finds no malformed frame and no bad checksum in a capture of the run. The
// per-worker counters (connections, hand-offs in and out) are printed. Where the port has TSO,
// both workers use it (within net_tap's limits, passed on by each worker's link).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-queues.test.mjs';
const TAP = 5;
const DOWNLOADS = 16;
const DOWNLOAD_BYTES = 4 * 1024 * 1024;
const ECHOES = 16;
const ECHO_BYTES = 1024 * 1024;

/** Sends `data` over a kernel TCP connection to host:7, ends it; resolves with what came back. */
function echo(host, data) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: 7 });
    const chunks = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
    socket.end(data);
  });
}

/** Counters once every frame handed out was taken in by its owner (some may be in flight). */
async function settledCounters(stack) {
  for (let i = 0; i < 200; i++) {
    const c = await stack.counters();
    if (c.total['handoff.out'] === c.total['handoff.in']) return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  return stack.counters();
}

if (tapOrSkip(FILE, ['curl', 'tcpdump', 'tshark'])) {
  const { createStack } = await import('../dist/index.js');
  const { seededChunks, seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-queues-'));
  const { plan, port, portId } = await openTap(TAP, { queues: 2, link: false });
  const stack = await createStack({
    workers: 2, app: new URL('./interop-queues-app.mjs', import.meta.url), link: { dpdk: { port: portId } },
    address: `${plan.stack}/${plan.prefix}`, seed: 15, poll: 'busy',
  });

  test.after(async () => {
    await stack.close({ timeoutMs: 1000 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('two queues, 32 concurrent kernel connections: all intact, strays handed to their owner', async () => {
    const pcap = join(dir, 'queues.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const downloads = Array.from({ length: DOWNLOADS }, (_, k) =>
      run('curl', ['-sS', '--max-time', '60', `http://${plan.stack}:8080/bytes/${DOWNLOAD_BYTES}?seed=${100 + k}`], { hashStdout: true }));
    const payloads = Array.from({ length: ECHOES }, (_, k) => Buffer.concat([...seededChunks(200 + k, ECHO_BYTES)]));
    const echoes = payloads.map((p) => echo(plan.stack, p));
    const [got, back] = await Promise.all([Promise.all(downloads), Promise.all(echoes)]);
    const { total, workers } = await settledCounters(stack);
    const { dropped } = await capture.stop();
    got.forEach((r, k) => {
      assert.is(r.code, 0, `download ${k}: ${r.err}`);
      assert.is(r.length, DOWNLOAD_BYTES, `download ${k}`);
      assert.is(r.sha, seededSha256(100 + k, DOWNLOAD_BYTES), `download ${k}`);
    });
    const sha = (b) => createHash('sha256').update(b).digest('hex');
    back.forEach((b, k) => assert.is(sha(b), sha(payloads[k]), `echo ${k}`));
    assert.is(total['tcp.conn.passive_opens'], DOWNLOADS + ECHOES);
    const perWorker = workers.map((w) => w['tcp.conn.passive_opens']);
    assert.ok(perWorker.every((n) => n > 0), `both workers accept connections: ${perWorker.join(' / ')}`);
    assert.is(total['handoff.in'], total['handoff.out'], 'every frame handed out was taken in');
    assert.is(total['drop.tcp.no_connection'] ?? 0, 0, 'no segment met a worker without its connection');
    console.log(`note: per worker: connections ${perWorker.join(' / ')}; hand-offs out ${workers.map((w) => w['handoff.out']).join(' / ')}, ` +
      `in ${workers.map((w) => w['handoff.in']).join(' / ')}; frames in ${workers.map((w) => w['eth.rx.frames']).join(' / ')}`);
    // net_tap has TSO: every worker's link passes the port's limits on, so the workers send
    // multi-segment frames the port accepts (without the limits they would stall).
    if (port.state().offloads & 8) {
      assert.ok(workers.every((w) => w['tcp.tx.tso_frames'] > 0), `both workers send TSO frames: ${workers.map((w) => w['tcp.tx.tso_frames']).join(' / ')}`);
      console.log(`note: TSO: ${total['tcp.tx.tso_frames']} frames for ${total['tcp.tx.tso_segments']} segments`);
    }
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
    assert.ok(seen.fromStack + dropped >= DOWNLOADS * Math.ceil(DOWNLOAD_BYTES / 1448), `frames from the stack: ${seen.fromStack}, dropped: ${dropped}`);
  });
}

test.run();
