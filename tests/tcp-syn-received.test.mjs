// SYN-RECEIVED (passive): the half-open child of a listener (RFC 9293 3.10.7.4 with
// RFC 5961): duplicate SYN, RST, bad ACK, SYN-ACK retransmission backoff and give-up.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, State } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp, PEER_IP, PEER_MAC } from '../dist/testing/frames.js';

function halfOpen(config = {}) {
  const s = new TestStack({ config });
  s.learnPeer(PEER_IP, PEER_MAC);
  const before = s.pools();
  const l = s.x.tcpListen(0, 80, 0, 0, 0, 0);
  const out = s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'S', seq: 1000, options: { mss: 1460 } })), 1000);
  return { s, l, sa: out[0].tcp, before };
}

const seg = (spec) => ipv4(tcp({ sport: 40000, dport: 80, ...spec }));

test('a duplicate SYN gets the same SYN-ACK again', () => {
  const { s, sa } = halfOpen();
  const out = s.input(seg({ flags: 'S', seq: 1000, options: { mss: 1460 } }));
  assert.is(out.length, 1);
  assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.ack], ['SA', sa.seq, 1001]);
});

test('an ACK outside (SND.UNA, SND.NXT] gets <SEQ=SEG.ACK><CTL=RST>; the child stays', () => {
  const { s, l, sa } = halfOpen();
  const out = s.input(seg({ flags: 'A', seq: 1001, ack: sa.seq + 5 }));
  assert.equal([out[0].tcp.flags, out[0].tcp.seq], ['R', sa.seq + 5]);
  assert.is(s.counter('drop.tcp.syn_received_bad_ack'), 1);
  s.input(seg({ flags: 'A', seq: 1001, ack: sa.seq + 1 }));
  assert.ok(s.x.tcpAccept(l) >= 0);
});

test('RST at RCV.NXT removes the child; the listener stays; an inexact RST gets a challenge ACK', () => {
  const { s, l, sa, before } = halfOpen();
  let out = s.input(seg({ flags: 'R', seq: 1005 }));
  assert.equal(out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack]), [['A', sa.seq + 1, 1001]]);
  assert.is(s.counter('tcp.tx.challenge_ack'), 1);
  out = s.input(seg({ flags: 'R', seq: 1001 }));
  assert.is(out.length, 0);
  assert.is(s.x.tcpConnectionsInUse(), 1);
  assert.is(s.info(l).state, State.LISTEN);
  // The port still listens.
  assert.is(s.input(seg({ flags: 'S', seq: 50, sport: 40001 }))[0].tcp.flags, 'SA');
  assert.is(before.connections, 0);
});

test('SYN-ACK retransmissions back off 1, 2, 4, 8, 16 s; after 5 (as Linux) the child is dropped', () => {
  const { s, sa } = halfOpen();
  let at = 1000;
  for (const gap of [1, 2, 4, 8, 16]) {
    at += gap * 1e6;
    assert.is(s.tcpDeadline(), at);
    const out = s.poll(at);
    assert.equal(out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack]), [['SA', sa.seq, 1001]]);
  }
  at += 32e6;
  assert.is(s.tcpDeadline(), at);
  assert.is(s.poll(at).length, 0);
  assert.is(s.x.tcpConnectionsInUse(), 1); // only the listener
  assert.is(s.counter('tcp.conn.timed_out'), 1);
});

test('data on the handshake ACK is delivered on accept', () => {
  const { s, l, sa } = halfOpen();
  s.input(seg({ flags: 'PA', seq: 1001, ack: sa.seq + 1, payload: 'hi' }));
  const h = s.x.tcpAccept(l);
  assert.is(s.read(h).toString(), 'hi');
  assert.is(s.info(h).bytesIn, 2);
});

test('a FIN on the handshake ACK: accepted in CLOSE-WAIT with the peer FIN flag', () => {
  const { s, l, sa } = halfOpen();
  const out = s.input(seg({ flags: 'FA', seq: 1001, ack: sa.seq + 1 }));
  assert.equal(out.map((f) => [f.tcp.flags, f.tcp.ack]), [['A', 1002]]);
  const h = s.x.tcpAccept(l);
  assert.is(s.info(h).state, State.CLOSE_WAIT);
});

test.run();
