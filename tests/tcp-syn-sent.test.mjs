// SYN-SENT: active open (RFC 9293 3.10.7.3): the SYN we send, SYN-ACK / RST / bad ACK /
// simultaneous open, SYN retransmission with exact backoff (RFC 6298 5.5) until ETIMEDOUT,
// and connect errors.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Errno, InfoFlag, State } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp, PEER_IP, PEER_MAC, ipAddress as ipToInt } from '../dist/testing/frames.js';

function connecting(opts = {}) {
  const s = new TestStack(opts);
  s.learnPeer(PEER_IP, PEER_MAC);
  const before = s.pools();
  const h = s.x.tcpConnect(ipToInt(PEER_IP), 80, opts.srcPort ?? 0, 0, 0);
  assert.ok(h >= 0);
  const out = s.poll(1000);
  assert.is(out.length, 1);
  return { s, h, syn: out[0].tcp, before };
}

const from = (syn, spec) => ipv4(tcp({ sport: 80, dport: syn.sport, ...spec }));

test('connect sends a SYN with MSS, SACK-permitted, timestamps and window scale in Linux order', () => {
  const { s, h, syn } = connecting();
  assert.is(syn.flags, 'S');
  assert.is(syn.dport, 80);
  assert.ok(syn.sport >= 49152 && syn.sport <= 65535);
  assert.is(syn.ack, 0);
  assert.is(syn.win, 65535);
  assert.equal(syn.options, { mss: 1460, sackOk: true, ts: [1, 0], wscale: 3 });
  assert.is(s.info(h).state, State.SYN_SENT);
  assert.is(s.info(h).flags, 0);
});

test('SYN-ACK: ACK sent, ESTABLISHED, host notified as connected', () => {
  const { s, h, syn } = connecting();
  const out = s.input(from(syn, { flags: 'SA', seq: 7000, ack: syn.seq + 1, win: 29200,
    options: { mss: 1400, ts: [900, 1], wscale: 2 } }), 3000);
  assert.is(out.length, 1);
  assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.ack, out[0].tcp.win], ['A', syn.seq + 1, 7001, 32768]);
  assert.equal(out[0].tcp.options, { ts: [3, 900] });
  assert.equal(s.notified(), [h]);
  const i = s.info(h);
  assert.is(i.state, State.ESTABLISHED);
  assert.is(i.flags, InfoFlag.CONNECTED);
  assert.is(i.mss, 1400 - 12); // peer's MSS, minus the timestamp option every segment carries
  assert.is(i.cwnd, 10 * 1388); // IW10 (RFC 6928)
  assert.is(i.srttUs, 2000); // TS echo: 3 ms - 1 ms
});

test('SYN-ACK without options: no scaling, no timestamps, MSS 536', () => {
  const { s, h, syn } = connecting();
  const out = s.input(from(syn, { flags: 'SA', seq: 7000, ack: syn.seq + 1, win: 8192 }), 2000);
  assert.equal(out[0].tcp.options, {});
  assert.is(out[0].tcp.win, 65535); // unscaled: min(buffer, 65535)
  assert.is(s.info(h).mss, 536);
});

test('an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST> and the connection stays in SYN-SENT', () => {
  const { s, h, syn } = connecting();
  for (const ack of [syn.seq, syn.seq + 2, syn.seq - 100]) {
    const out = s.input(from(syn, { flags: 'SA', seq: 7000, ack }));
    assert.equal([out[0].tcp.flags, out[0].tcp.seq], ['R', ack >>> 0]);
  }
  assert.is(s.info(h).state, State.SYN_SENT);
  assert.is(s.counter('drop.tcp.syn_sent_bad_ack'), 3);
});

test('RST with an acceptable ACK: ECONNREFUSED, CLOSED; tcpClose gives everything back', () => {
  const { s, h, syn, before } = connecting();
  assert.is(s.input(from(syn, { flags: 'RA', seq: 0, ack: syn.seq + 1 })).length, 0);
  const i = s.info(h);
  assert.is(i.error, Errno.ECONNREFUSED);
  assert.is(i.state, State.CLOSED);
  assert.is(i.flags, InfoFlag.CLOSED);
  assert.equal(s.notified(), [h]);
  assert.is(s.x.tcpWriteCommit(h, 0), -Errno.EPIPE);
  s.x.tcpClose(h);
  assert.equal(s.pools(), before);
});

test('RST without ACK, or a segment without SYN, is dropped', () => {
  const { s, h, syn } = connecting();
  assert.is(s.input(from(syn, { flags: 'R', seq: 0 })).length, 0);
  assert.is(s.input(from(syn, { flags: 'A', seq: 0, ack: syn.seq + 1 })).length, 0);
  assert.is(s.info(h).state, State.SYN_SENT);
  assert.is(s.counter('drop.tcp.syn_sent_no_syn'), 1);
});

test('simultaneous open: SYN in SYN-SENT gives SYN-ACK, the peer SYN-ACK completes it with an ACK', () => {
  const { s, h, syn } = connecting();
  let out = s.input(from(syn, { flags: 'S', seq: 9000, options: { mss: 1460 } }));
  assert.is(out.length, 1);
  assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.ack], ['SA', syn.seq, 9001]);
  assert.is(s.info(h).state, State.SYN_RECEIVED);
  out = s.input(from(syn, { flags: 'SA', seq: 9000, ack: syn.seq + 1 }));
  assert.equal(out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack]), [['A', syn.seq + 1, 9001]]);
  assert.is(s.info(h).state, State.ESTABLISHED);
  assert.equal(s.notified(), [h]);
});

test('SYN retransmissions back off 1, 2, 4, 8, 16, 32 s; then ETIMEDOUT at 127 s (6 retries, as Linux)', () => {
  const { s, h, syn } = connecting();
  const t0 = 1000;
  let at = t0;
  for (const gap of [1, 2, 4, 8, 16, 32]) {
    at += gap * 1e6;
    assert.is(s.tcpDeadline(), at);
    assert.is(s.poll(at - 1).length, 0);
    const out = s.poll(at);
    assert.is(out.length, 1);
    assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.sport], ['S', syn.seq, syn.sport]);
  }
  at += 64e6;
  assert.is(s.tcpDeadline(), at);
  assert.is(s.poll(at).length, 0);
  assert.is(s.info(h).error, Errno.ETIMEDOUT);
  assert.is(s.info(h).state, State.CLOSED);
  assert.is(s.counter('tcp.conn.timed_out'), 1);
  assert.is(s.info(h).retransmits, 6);
});

test('tcpSynRetries is configurable', () => {
  const { s, h } = connecting({ config: { tcpSynRetries: 1 } });
  assert.is(s.poll(1000 + 1e6).length, 1);
  assert.is(s.poll(1000 + 3e6).length, 0);
  assert.is(s.info(h).error, Errno.ETIMEDOUT);
});

test('data written in SYN-SENT waits for the handshake, then goes with the ACK', () => {
  const { s, h, syn } = connecting();
  assert.is(s.write(h, 'early'), 5);
  const out = s.input(from(syn, { flags: 'SA', seq: 7000, ack: syn.seq + 1, options: { mss: 1460 } }));
  assert.is(out.length, 1);
  assert.equal([out[0].tcp.flags, out[0].tcp.seq, out[0].tcp.ack], ['PA', syn.seq + 1, 7001]);
  assert.is(Buffer.from(out[0].tcp.payload).toString(), 'early');
});

test('connect errors: EINVAL, EADDRNOTAVAIL (tuple in use, ports exhausted), ENETUNREACH', () => {
  const s = new TestStack({ config: { ephemeralLow: 50000, ephemeralHigh: 50000 } });
  s.learnPeer(PEER_IP, PEER_MAC);
  assert.is(s.x.tcpConnect(ipToInt(PEER_IP), 0, 0, 0, 0), -Errno.EINVAL);
  assert.is(s.x.tcpConnect(0, 80, 0, 0, 0), -Errno.EINVAL);
  assert.ok(s.x.tcpConnect(ipToInt(PEER_IP), 80, 0, 0, 0) >= 0);
  assert.is(s.x.tcpConnect(ipToInt(PEER_IP), 80, 0, 0, 0), -Errno.EADDRNOTAVAIL);
  assert.is(s.counter('tcp.ports.exhausted'), 1);
  assert.ok(s.x.tcpConnect(ipToInt(PEER_IP), 80, 1234, 0, 0) >= 0);
  assert.is(s.x.tcpConnect(ipToInt(PEER_IP), 80, 1234, 0, 0), -Errno.EADDRNOTAVAIL);
  // Off-link without a gateway: the SYN cannot be routed; the connection fails.
  const h = s.x.tcpConnect(ipToInt('192.168.7.7'), 80, 2000, 0, 0);
  assert.ok(h >= 0);
  s.poll(5000);
  assert.is(s.info(h).error, Errno.ENETUNREACH);
  assert.is(s.info(h).state, State.CLOSED);
});

test('connect fails with ENOBUFS when the table is full', () => {
  const s = new TestStack({ config: { tcpMaxConnections: 1 } });
  assert.ok(s.x.tcpConnect(ipToInt(PEER_IP), 80, 0, 0, 0) >= 0);
  assert.is(s.x.tcpConnect(ipToInt(PEER_IP), 81, 0, 0, 0), -Errno.ENOBUFS);
  assert.is(s.x.tcpPortsInUse(), 1);
});

test('tcpAbort in SYN-SENT sends nothing and frees everything', () => {
  const { s, h, before } = connecting();
  s.x.tcpAbort(h);
  assert.is(s.poll(2000).length, 0);
  assert.equal(s.pools(), before);
  assert.is(s.tcpDeadline(), -1);
});

test.run();
