// CLOSED (no connection, no listener): RFC 9293 3.10.7.1 resets, and malformed segments
// dropped with named counters, never answered.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp, PEER_IP, PEER_MAC, STACK_IP } from '../dist/testing/frames.js';

function fresh() {
  const s = new TestStack();
  s.learnPeer(PEER_IP, PEER_MAC);
  return s;
}

test('a segment with ACK gets <SEQ=SEG.ACK><CTL=RST>', () => {
  const s = fresh();
  const out = s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'A', seq: 100, ack: 7777 })));
  assert.is(out.length, 1);
  const r = out[0];
  assert.is(r.ip.src, STACK_IP);
  assert.is(r.ip.dst, PEER_IP);
  assert.is(r.ip.df, true);
  assert.equal([r.tcp.sport, r.tcp.dport, r.tcp.flags, r.tcp.seq, r.tcp.ack, r.tcp.win], [81, 40000, 'R', 7777, 0, 0]);
  assert.equal(r.tcp.options, {});
  assert.is(r.tcp.payload.length, 0);
  assert.is(s.counter('drop.tcp.no_connection'), 1);
  assert.is(s.counter('tcp.tx.rst'), 1);
});

test('a SYN without ACK gets <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> (SYN and FIN count)', () => {
  const s = fresh();
  let out = s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'S', seq: 0xfffffff0 })));
  assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.ack], ['RA', 0, 0xfffffff1]);
  out = s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'SF', seq: 10, payload: 'abcde' })));
  assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.ack], ['RA', 0, 17]);
  out = s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'P', seq: 10, payload: 'abc' })));
  assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.ack], ['RA', 0, 13]);
});

test('an RST is never answered', () => {
  const s = fresh();
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'R', seq: 5 }))).length, 0);
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'RA', seq: 5, ack: 9 }))).length, 0);
  assert.is(s.counter('drop.tcp.rst_no_connection'), 2);
  assert.is(s.counter('tcp.tx.rst'), 0);
});

test('malformed segments are dropped and counted, not answered', () => {
  const s = fresh();
  // Data offset 4 words (< 5).
  const bad = tcp({ sport: 40000, dport: 81, flags: 'S', seq: 1 });
  bad.bytes[12] = 4 << 4;
  assert.is(s.input(ipv4(bad)).length, 0);
  assert.is(s.counter('drop.tcp.bad_offset'), 1);
  // Data offset beyond the segment.
  const beyond = tcp({ sport: 40000, dport: 81, flags: 'S', seq: 1 });
  beyond.bytes[12] = 15 << 4;
  assert.is(s.input(ipv4(beyond)).length, 0);
  assert.is(s.counter('drop.tcp.bad_offset'), 2);
  // An option whose length runs past the header.
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'S', seq: 1, rawOptions: [2, 8, 5, 180] }))).length, 0);
  // MSS with a wrong length.
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'S', seq: 1, rawOptions: [2, 3, 5, 0] }))).length, 0);
  assert.is(s.counter('drop.tcp.bad_options'), 2);
  // Port 0.
  assert.is(s.input(ipv4(tcp({ sport: 0, dport: 81, flags: 'S', seq: 1 }))).length, 0);
  assert.is(s.counter('drop.tcp.port_zero'), 1);
  // To a broadcast address (RFC 1122 4.2.3.10): IPv4 keeps it from TCP.
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'S', seq: 1 }), { dst: '10.0.0.255', dstMac: 'ff:ff:ff:ff:ff:ff' })).length, 0);
  assert.is(s.counter('drop.ipv4.tcp_to_broadcast'), 1);
  // A bad checksum never reaches TCP (IPv4 checks it).
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 81, flags: 'S', seq: 1 }), { badChecksum: true })).length, 0);
  assert.is(s.counter('tcp.rx.segments'), 5);
  assert.is(s.counter('drop.ipv4.tcp_bad_checksum'), 1);
  assert.is(s.counter('tcp.tx.rst'), 0);
});

test('truncated segments of every length are dropped without a trap', () => {
  const s = fresh();
  const full = tcp({ sport: 40000, dport: 81, flags: 'S', seq: 1, options: { mss: 1460, ts: [1, 0], wscale: 7, sackOk: true } });
  for (let n = 0; n < full.bytes.length; n++) {
    const out = s.input(ipv4({ proto: 6, bytes: full.bytes.slice(0, n) }), s.now, 4 /* L4 checksum good */);
    assert.is(out.length, 0, `length ${n}`);
  }
  assert.is(s.counter('drop.tcp.truncated') + s.counter('drop.tcp.bad_offset'), full.bytes.length);
});

test.run();
