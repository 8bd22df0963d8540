// ECN between two stacks over a MemoryLink that marks CE on 2% of ECN-capable frames
// (src/links/impair.ts `ce`), virtual clock: the stream arrives intact, the receiver echoes,
// the sender reduces its window, and no segment is retransmitted because of a mark.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createStack, MemoryLink, VirtualClock } from '../dist/index.js';
import { seededChunks, seededSha256 } from '../dist/util/seeded-bytes.js';
import { FramePath, parseImpairment, parseImpairmentSpec } from '../dist/links/impair.js';
import { buildEthernet, buildIpv4, internetChecksum, ipAddress } from '../dist/testing/frames.js';

test('impairment ce: ECT(0) and ECT(1) frames become CE with a right header checksum; Not-ECT and CE pass as they are', () => {
  assert.equal(parseImpairmentSpec('ce=0.02,delay=1ms'), { ce: 0.02, delay: '1ms' });
  const path = new FramePath(parseImpairment({ ce: 1 }, 'test'), 8, 2048, 1, 0);
  const frame = (tos) => buildEthernet([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], 0x0800,
    buildIpv4(ipAddress('10.0.0.1'), ipAddress('10.0.0.2'), 17, new Uint8Array(8), { tos }));
  const out = [];
  for (const tos of [0xb8 | 2, 0x01, 0x00, 0x03]) {
    const f = frame(tos);
    path.push(f, 0, f.length, 0, 0, 0, 0);
    const slot = path.peek(0);
    out.push(path.data.slice(slot * 2048, slot * 2048 + f.length));
    path.shift();
  }
  assert.equal(out.map((f) => f[15]), [0xb8 | 3, 0x03, 0x00, 0x03]);
  for (const f of out) assert.is(internetChecksum(f.subarray(14, 34)), 0, 'header checksum right');
  assert.is(path.stats.ceMarked, 2);
  try {
    parseImpairment({ ce: 1.5 }, 'options.ce');
    assert.unreachable('ce 1.5 accepted');
  } catch (e) {
    assert.is(e.code, 'ERR_OUT_OF_RANGE');
  }
});

const BYTES = 8 * 1024 * 1024;

test('8 MiB over 2% CE marking and 1 ms delay: intact, cwnd reduced on CE, no retransmissions', async () => {
  const clock = new VirtualClock();
  const [a, b] = MemoryLink.pair({ seed: 11, ce: 0.02, delay: '1ms' });
  const server = await createStack({ link: a, address: '10.0.0.1/24', seed: 1, clock });
  const client = await createStack({ link: b, address: '10.0.0.2/24', seed: 2, clock, tcp: { ecn: 1 } });
  const got = new Promise((resolve, reject) => {
    server.net.createServer((s) => {
      const h = createHash('sha256');
      let n = 0;
      s.on('data', (d) => { h.update(d); n += d.length; });
      s.on('end', () => resolve({ n, sha: h.digest('hex') }));
      s.on('error', reject);
    }).listen(9000);
  });
  const c = client.net.connect({ host: '10.0.0.1', port: 9000 });
  await new Promise((r) => c.once('connect', r));
  for (const chunk of seededChunks(5, BYTES)) {
    if (!c.write(chunk)) await new Promise((r) => c.once('drain', r));
  }
  c.end();
  const { n, sha } = await got;
  assert.is(n, BYTES);
  assert.is(sha, seededSha256(5, BYTES), 'the stream is intact');
  const cs = client.counters();
  const ss = server.counters();
  assert.is(cs['tcp.ecn.negotiated'], 1);
  assert.is(ss['tcp.ecn.negotiated'], 1);
  assert.ok(a.stats.ceMarked + b.stats.ceMarked > 0, 'the link marked frames');
  assert.ok(ss['tcp.ecn.ce_received'] > 0, 'the receiver saw CE');
  assert.ok(cs['tcp.ecn.ece_received'] > 0, 'the sender saw ECE');
  assert.ok(cs['tcp.ecn.cwnd_reductions'] > 0, 'the sender reduced its window');
  assert.is(cs['tcp.ecn.cwr_sent'], cs['tcp.ecn.cwnd_reductions'], 'one CWR per reduction');
  assert.is(cs['tcp.tx.retransmits'], 0, 'marks cause no retransmission');
  assert.is(ss['tcp.tx.retransmits'], 0);
  assert.is(cs['tcp.ecn.ce_received'], 0, 'pure ACKs are not ECT, so never marked');
  await Promise.all([client.close({ timeoutMs: 10_000 }), server.close({ timeoutMs: 10_000 })]);
});

test.run();
