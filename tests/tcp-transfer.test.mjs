// Two stacks over an impaired MemoryLink (5% loss, 5% reordering, 2% duplication, 1 ms
// delay), virtual clock: 64 MiB each way at the same time arrive byte-exact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createStack, MemoryLink, VirtualClock } from '../dist/index.js';
import { seededChunks, seededSha256 } from '../dist/util/seeded-bytes.js';

const BYTES = 64 * 1024 * 1024;

async function sendAll(sock, seed) {
  for (const chunk of seededChunks(seed, BYTES)) {
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  }
  sock.end();
}

function sink(sock) {
  const h = createHash('sha256');
  let n = 0;
  sock.on('data', (d) => { h.update(d); n += d.length; });
  return new Promise((resolve, reject) => {
    sock.on('end', () => resolve({ n, sha: h.digest('hex') }));
    sock.on('error', reject);
  });
}

test('64 MiB each way, simultaneously, over 5% loss / 5% reorder / 2% dup / 1 ms delay', async () => {
  const clock = new VirtualClock();
  const [a, b] = MemoryLink.pair({ seed: 7, loss: 0.05, reorder: 0.05, duplicate: 0.02, delay: '1ms' });
  const server = await createStack({ link: a, address: '10.0.0.1/24', seed: 1, clock });
  const client = await createStack({ link: b, address: '10.0.0.2/24', seed: 2, clock });
  let serverGot;
  server.net.createServer({ allowHalfOpen: true }, (s) => {
    serverGot = sink(s);
    sendAll(s, 102);
  }).listen(9000);
  const c = client.net.connect({ host: '10.0.0.1', port: 9000, allowHalfOpen: true });
  const clientGot = sink(c);
  await new Promise((r) => c.once('connect', r));
  await sendAll(c, 101);
  const [atClient, atServer] = await Promise.all([clientGot, new Promise((r) => { const t = setInterval(() => { if (serverGot) { clearInterval(t); r(serverGot); } }, 1); })]);
  assert.is(atServer.n, BYTES);
  assert.is(atServer.sha, seededSha256(101, BYTES), 'client-to-server stream intact');
  assert.is(atClient.n, BYTES);
  assert.is(atClient.sha, seededSha256(102, BYTES), 'server-to-client stream intact');
  const cs = client.counters();
  const ss = server.counters();
  assert.ok(cs['tcp.tx.retransmits'] > 0 && ss['tcp.tx.retransmits'] > 0, 'both sides repaired losses');
  const stats = a.stats;
  assert.ok(stats['dropped.loss'] > 0 && stats.duplicated > 0 && stats.reordered > 0, 'the link really impaired the traffic');
  await Promise.all([client.close({ timeoutMs: 10_000 }), server.close({ timeoutMs: 10_000 })]);
});

test.run();
