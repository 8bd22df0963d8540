// LISTEN: passive open (RFC 9293 3.10.7.2), the SYN-ACK we send, option negotiation
// (RFC 6691 MSS, RFC 7323 window scale and timestamps), the SYN and accept queues, and
// listener errors.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Errno, InfoFlag, State } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp, PEER_IP, PEER_MAC, ipAddress as ipToInt } from '../dist/testing/frames.js';

function listening(opts = {}) {
  const s = new TestStack(opts);
  s.learnPeer(PEER_IP, PEER_MAC);
  const l = s.x.tcpListen(0, 80, opts.backlog ?? 0, opts.synBacklog ?? 0, opts.sndBuf ?? 0, opts.rcvBuf ?? 0);
  assert.ok(l >= 0);
  return { s, l };
}

const syn = (o = {}) => ipv4(tcp({ sport: o.sport ?? 40000, dport: 80, flags: 'S', seq: o.seq ?? 1000, win: o.win ?? 64240, options: o.options }));

test('a SYN with MSS, SACK-permitted, timestamps and window scale gets a SYN-ACK echoing what we support', () => {
  const { s } = listening();
  const out = s.input(syn({ options: { mss: 1460, sackOk: true, ts: [12345, 0], wscale: 7 } }), 5000);
  assert.is(out.length, 1);
  const t = out[0].tcp;
  assert.is(t.flags, 'SA');
  assert.is(t.ack, 1001);
  assert.is(t.win, 65535); // RFC 7323 2.2: never scaled in a SYN; 256 KiB buffer capped
  // MTU 1500 - 40 (RFC 6691); wscale 3 = smallest shift that fits 256 KiB; SACK-permitted
  // echoed (RFC 2018 2); TSval is the ms clock (5 ms), TSecr echoes the peer.
  assert.equal(t.options, { mss: 1460, sackOk: true, ts: [5, 12345], wscale: 3 });
  assert.is(s.counter('tcp.conn.passive_opens'), 1);
});

test('a SYN without options gets a SYN-ACK with MSS only', () => {
  const { s } = listening();
  const out = s.input(syn());
  assert.equal(out[0].tcp.options, { mss: 1460 });
});

test('the handshake ACK completes the connection into the accept queue and notifies the listener', () => {
  const { s, l } = listening();
  const sa = s.input(syn())[0].tcp;
  assert.is(s.x.tcpAccept(l), -Errno.EAGAIN);
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'A', seq: 1001, ack: sa.seq + 1 }))).length, 0);
  assert.equal(s.notified(), [l]);
  const li = s.info(l);
  assert.is(li.state, State.LISTEN);
  assert.is(li.flags, InfoFlag.LISTENER | InfoFlag.CAN_ACCEPT);
  assert.is(li.acceptQueue, 1);
  const h = s.x.tcpAccept(l);
  assert.ok(h >= 0 && h !== l);
  const i = s.info(h);
  assert.is(i.state, State.ESTABLISHED);
  assert.is(i.flags, InfoFlag.CONNECTED);
  assert.is(i.remoteAddr, ipToInt(PEER_IP));
  // The SYN had no MSS option: the send MSS is the RFC 9293 3.7.1 default, 536.
  assert.equal([i.localPort, i.remotePort, i.mss], [80, 40000, 536]);
  assert.is(s.x.tcpAccept(l), -Errno.EAGAIN);
});

test('RST to a listener is ignored; an ACK gets <SEQ=SEG.ACK><CTL=RST>; other segments are dropped', () => {
  const { s } = listening();
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'R', seq: 1 }))).length, 0);
  const out = s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'A', seq: 1, ack: 4242 })));
  assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.ack], ['R', 4242, 0]);
  assert.is(s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'F', seq: 1 }))).length, 0);
  assert.is(s.counter('drop.tcp.listen_not_syn'), 2);
  assert.is(s.counter('tcp.conn.passive_opens'), 0);
});

test('with SYN cookies off, a full SYN queue drops further SYNs (counted); established connections are untouched', () => {
  const { s, l } = listening({ synBacklog: 2, config: { tcpSynCookies: 0 } });
  const a = s.input(syn({ sport: 1001 }))[0].tcp;
  s.input(ipv4(tcp({ sport: 1001, dport: 80, flags: 'A', seq: 1001, ack: a.seq + 1 })));
  const h = s.x.tcpAccept(l);
  assert.is(s.input(syn({ sport: 1002 })).length, 1);
  assert.is(s.input(syn({ sport: 1003 })).length, 1);
  assert.is(s.input(syn({ sport: 1004 })).length, 0);
  assert.is(s.counter('drop.tcp.syn_queue_full'), 1);
  assert.is(s.info(h).state, State.ESTABLISHED);
  assert.is(s.x.tcpConnectionsInUse(), 4); // listener, established, two half-open
});

test('a full accept queue drops SYNs and keeps a completing child in SYN-RECEIVED (as Linux)', () => {
  const { s, l } = listening({ backlog: 1 });
  const a = s.input(syn({ sport: 1001 }))[0].tcp;
  const b = s.input(syn({ sport: 1002 }))[0].tcp;
  s.input(ipv4(tcp({ sport: 1001, dport: 80, flags: 'A', seq: 1001, ack: a.seq + 1 })));
  assert.is(s.info(l).acceptQueue, 1);
  assert.is(s.input(ipv4(tcp({ sport: 1002, dport: 80, flags: 'A', seq: 1001, ack: b.seq + 1 }))).length, 0);
  assert.is(s.counter('drop.tcp.accept_queue_full'), 1);
  assert.is(s.input(syn({ sport: 1003 })).length, 0);
  assert.is(s.counter('drop.tcp.accept_queue_full'), 2);
  // Once accepted, the retransmitted ACK of the second completes it.
  assert.ok(s.x.tcpAccept(l) >= 0);
  s.input(ipv4(tcp({ sport: 1002, dport: 80, flags: 'A', seq: 1001, ack: b.seq + 1 })));
  assert.is(s.info(l).acceptQueue, 1);
});

test('listen errors: EADDRINUSE, EINVAL, EADDRNOTAVAIL, EBADF', () => {
  const { s, l } = listening();
  assert.is(s.x.tcpListen(0, 80, 0, 0, 0, 0), -Errno.EADDRINUSE);
  assert.is(s.x.tcpListen(0, 0, 0, 0, 0, 0), -Errno.EINVAL);
  assert.is(s.x.tcpListen(0, 70000, 0, 0, 0, 0), -Errno.EINVAL);
  assert.is(s.x.tcpListen(ipToInt('10.9.9.9'), 81, 0, 0, 0, 0), -Errno.EADDRNOTAVAIL);
  assert.is(s.x.tcpAccept(77), -Errno.EBADF);
  assert.is(s.x.tcpClose(l), 0);
  assert.is(s.x.tcpAccept(l), -Errno.EBADF);
  assert.ok(s.x.tcpListen(0, 80, 0, 0, 0, 0) >= 0);
});

test('no connection record left: SYN dropped and counted, no answer', () => {
  const { s } = listening({ config: { tcpMaxConnections: 2 } });
  assert.is(s.input(syn({ sport: 1 })).length, 1);
  assert.is(s.input(syn({ sport: 2 })).length, 0);
  assert.is(s.counter('drop.tcp.no_tcb'), 1);
});

test('slab exhausted: SYN dropped and counted (drop.tcp.no_buffers)', () => {
  const { s } = listening({ config: { tcpSlabBytes: 1024 * 1024 }, sndBuf: 256 * 1024, rcvBuf: 256 * 1024 });
  assert.is(s.input(syn({ sport: 1 })).length, 1);
  assert.is(s.input(syn({ sport: 2 })).length, 1);
  assert.is(s.input(syn({ sport: 3 })).length, 0);
  assert.is(s.counter('drop.tcp.no_buffers'), 1);
});

test('closing a listener resets its queued children and frees everything', () => {
  const { s, l } = listening();
  const before = s.pools();
  const a = s.input(syn({ sport: 1001 }))[0].tcp;
  s.input(ipv4(tcp({ sport: 1001, dport: 80, flags: 'A', seq: 1001, ack: a.seq + 1 })));
  s.input(syn({ sport: 1002 }));
  s.x.tcpClose(l);
  const out = s.poll();
  assert.equal(out.map((f) => [f.tcp.dport, f.tcp.flags]).sort(), [[1001, 'R'], [1002, 'R']]);
  assert.equal(s.pools(), { connections: 0, slabFree: before.slabFree, ports: 0 });
});

test.run();
