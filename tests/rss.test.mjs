// Software RSS: the Toeplitz hash against the Microsoft RSS verification suite (as printed in
// Intel's 82599 datasheet 7.1.2.8.3 and DPDK's app/test/test_thash.c), symmetry under the 0x6d5a
// key, the stack's own copy (assembly/frame/rss.ts) agreeing bit for bit, the redirection
// table, frame classification, and the stack's RSS-matching ephemeral ports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  toeplitzHash, ToeplitzIpv4, RssSteering, MICROSOFT_RSS_KEY, SYMMETRIC_RSS_KEY,
} from '../dist/rss/toeplitz.js';
import { StackInstance } from '../dist/wasm/instance.js';
import { parseIpv4 } from '../dist/net/ipv4.js';

// [source ip, source port, destination ip, destination port, IPv4-only hash, IPv4+TCP hash]
const SUITE = [
  ['66.9.149.187', 2794, '161.142.100.80', 1766, 0x323e8fc2, 0x51ccc178],
  ['199.92.111.2', 14230, '65.69.140.83', 4739, 0xd718262a, 0xc626b0ea],
  ['24.19.198.95', 12898, '12.22.207.184', 38024, 0xd2d0a5de, 0x5c2b394a],
  ['38.27.205.30', 48228, '209.142.163.6', 2217, 0x82989176, 0xafc7327f],
  ['153.39.163.191', 44251, '202.188.127.2', 1303, 0x5d1809c5, 0x10e828a2],
];

function tupleBytes(src, dst, sp, dp) {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  v.setUint32(0, src); v.setUint32(4, dst); v.setUint16(8, sp); v.setUint16(10, dp);
  return b;
}

test('bitwise Toeplitz reproduces the Microsoft verification suite', () => {
  for (const [s, sp, d, dp, l3, l4] of SUITE) {
    const bytes = tupleBytes(parseIpv4(s), parseIpv4(d), sp, dp);
    assert.is(toeplitzHash(MICROSOFT_RSS_KEY, bytes.subarray(0, 8)), l3, `${s} -> ${d} (IPv4)`);
    assert.is(toeplitzHash(MICROSOFT_RSS_KEY, bytes), l4, `${s}:${sp} -> ${d}:${dp} (TCP)`);
  }
});

test('table-driven Toeplitz matches the suite and the bitwise function', () => {
  const t = new ToeplitzIpv4(MICROSOFT_RSS_KEY);
  for (const [s, sp, d, dp, l3, l4] of SUITE) {
    assert.is(t.pair(parseIpv4(s), parseIpv4(d)), l3);
    assert.is(t.tuple(parseIpv4(s), parseIpv4(d), sp, dp), l4);
  }
  const sym = new ToeplitzIpv4(SYMMETRIC_RSS_KEY);
  for (let i = 0; i < 200; i++) {
    const src = (i * 0x9e3779b1) >>> 0, dst = (i * 0x85ebca6b + 7) >>> 0, sp = (i * 7919) & 0xffff, dp = (i * 104729) & 0xffff;
    assert.is(sym.tuple(src, dst, sp, dp), toeplitzHash(SYMMETRIC_RSS_KEY, tupleBytes(src, dst, sp, dp)));
  }
});

test('the 0x6d5a key is symmetric and the Microsoft key is not', () => {
  const sym = new ToeplitzIpv4(SYMMETRIC_RSS_KEY);
  const ms = new ToeplitzIpv4(MICROSOFT_RSS_KEY);
  let asymmetric = 0;
  for (const [s, sp, d, dp] of SUITE) {
    const a = parseIpv4(s), b = parseIpv4(d);
    assert.is(sym.tuple(a, b, sp, dp), sym.tuple(b, a, dp, sp), `${s}:${sp} <-> ${d}:${dp}`);
    assert.is(sym.pair(a, b), sym.pair(b, a));
    if (ms.tuple(a, b, sp, dp) !== ms.tuple(b, a, dp, sp)) asymmetric++;
  }
  assert.is(asymmetric, SUITE.length);
});

test('the stack computes the same hash and queue as the host', () => {
  const s = new StackInstance();
  s.init();
  const ex = s.exports;
  const reta = Uint8Array.from({ length: 128 }, (_, i) => (i * 5) % 4);
  s.refreshViews();
  s.u8.set(MICROSOFT_RSS_KEY, ex.rssKeyPtr());
  s.u8.set(reta, ex.rssRetaPtr());
  assert.is(ex.rssConfigure(1, 4, 128), 0);
  for (const [src, sp, dst, dp, , l4] of SUITE) {
    assert.is(ex.rssHashIpv4(parseIpv4(src), parseIpv4(dst), sp, dp) >>> 0, l4);
  }
  const steering = new RssSteering({ queues: 4, key: MICROSOFT_RSS_KEY, reta });
  for (let i = 0; i < 500; i++) {
    const src = (0x0a000000 + i * 13) >>> 0, dst = 0x0a000001, sp = 1024 + i * 31, dp = 80;
    assert.is(ex.rssQueueOf(src, dst, sp, dp), steering.queueOfTuple(src, dst, sp, dp));
  }
});

test('rssConfigure rejects tables and queue numbers it cannot use', () => {
  const s = new StackInstance();
  s.init();
  const ex = s.exports;
  s.refreshViews();
  s.u8.set(SYMMETRIC_RSS_KEY, ex.rssKeyPtr());
  s.u8.set(Uint8Array.from({ length: 128 }, (_, i) => i % 4), ex.rssRetaPtr());
  assert.is(ex.rssConfigure(4, 4, 128), -1, 'queue beyond the count');
  assert.is(ex.rssConfigure(0, 0, 128), -1, 'no queues');
  assert.is(ex.rssConfigure(0, 4, 100), -1, 'table size not a power of two');
  assert.is(ex.rssConfigure(0, 2, 128), -1, 'table names queue 3 of 2');
  assert.is(ex.rssConfigure(0, 4, 1024), -1, 'table too large');
  assert.is(ex.rssConfigure(3, 4, 128), 0);
});

test('RETA maps hashes to queues, default entry i is queue i mod N', () => {
  const r = new RssSteering({ queues: 3 });
  assert.is(r.reta.length, 128);
  assert.equal([...r.reta.subarray(0, 7)], [0, 1, 2, 0, 1, 2, 0]);
  assert.is(r.queueOfHash(0x12345680), r.reta[0x12345680 & 127]);
  assert.throws(() => new RssSteering({ queues: 0 }), /from 1 to 256/);
  assert.throws(() => new RssSteering({ queues: 2, reta: Uint8Array.of(0, 1, 2, 0) }), /names queue 2/);
  assert.throws(() => new RssSteering({ queues: 2, reta: new Uint8Array(3) }), /power of two/);
  assert.throws(() => new ToeplitzIpv4(new Uint8Array(16)), /40 bytes/);
});

test('frames are classified like a NIC: TCP/UDP by 4-tuple, other IPv4 by addresses, the rest to queue 0', () => {
  const r = new RssSteering({ queues: 4, key: MICROSOFT_RSS_KEY });
  const [src, sp, dst, dp, l3, l4] = SUITE[0];
  const frame = new Uint8Array(14 + 20 + 20);
  const v = new DataView(frame.buffer);
  v.setUint16(12, 0x0800);
  frame[14] = 0x45; frame[14 + 9] = 6;
  v.setUint32(14 + 12, parseIpv4(src)); v.setUint32(14 + 16, parseIpv4(dst));
  v.setUint16(34, sp); v.setUint16(36, dp);
  assert.is(r.frameHash(frame, 0, frame.length), l4);
  assert.is(r.queueOfFrame(frame, 0, frame.length), r.reta[l4 & 127]);
  frame[14 + 9] = 1; // ICMP: addresses only
  assert.is(r.frameHash(frame, 0, frame.length), l3);
  frame[14 + 9] = 6; frame[14 + 6] = 0x20; // first fragment of several: addresses only
  assert.is(r.frameHash(frame, 0, frame.length), l3);
  v.setUint16(12, 0x0806); // ARP
  assert.is(r.frameHash(frame, 0, frame.length), -1);
  assert.is(r.queueOfFrame(frame, 0, frame.length), 0);
  assert.is(r.frameHash(frame, 0, 20), -1, 'truncated');
});

test('with four queues every ephemeral port a stack picks hashes back to its own queue', () => {
  const steering = new RssSteering({ queues: 4 });
  const local = parseIpv4('10.0.0.1'), remote = parseIpv4('10.0.0.2');
  for (let q = 0; q < 4; q++) {
    const s = new StackInstance();
    s.setConfig('ipv4Addr', local);
    s.setConfig('ipv4Prefix', 24);
    s.init();
    const ex = s.exports;
    s.refreshViews();
    s.u8.set(steering.hash.key, ex.rssKeyPtr());
    s.u8.set(steering.reta, ex.rssRetaPtr());
    assert.is(ex.rssConfigure(q, 4, steering.reta.length), 0);
    for (let i = 0; i < 16; i++) {
      const h = ex.tcpConnect(remote, 7000 + i, 0, 0, 0);
      assert.ok(h >= 0, `connect ${i} on queue ${q}: ${h}`);
      const info = ex.tcpInfoPtr(h);
      s.refreshViews();
      const port = s.dv.getUint16(info + 28, true);
      assert.is(s.dv.getUint32(info + 20, true), local);
      // The reply (remote -> local:port) lands on queue q.
      assert.is(steering.queueOfTuple(remote, local, 7000 + i, port), q, `port ${port} on queue ${q}`);
    }
    assert.is(s.counters()['tcp.ports.exhausted'], 0);
  }
});

test.run();
