// ESTABLISHED: every kind of segment in and out of window (RFC 9293 3.10.7.4, RFC 5961),
// receiving (delayed ACK, out-of-order, window updates), sending (Nagle, IW10, windows), and
// the timers of a live connection (RTO backoff, fast retransmit, persist, keepalive, user
// timeout), all on a virtual clock with exact segments.
//
// The peer offers MSS 1460 and no other option, so segments carry no options and windows are
// unscaled: every field below is exact.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Errno, InfoFlag, State, Opt, openPassive } from './helpers/tcp-stack.mjs';

const T0 = 1_000_000;

function established(opts = {}) {
  const s = new TestStack({ config: opts.config ?? {} });
  s.now = T0;
  const before = s.pools();
  const c = openPassive(s, { rcvBuf: opts.rcvBuf ?? 0, sndBuf: opts.sndBuf ?? 0, win: opts.win ?? 65535 });
  return { s, c, h: c.h, before };
}

const fields = (out) => out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack, f.tcp.win, f.tcp.payload.length]);
const bytes = (n, v = 0x61) => new Uint8Array(n).fill(v);

test('in-order data: readable, notified, ACK delayed 40 ms (receiver SWS keeps the right edge)', () => {
  const { s, c, h } = established();
  assert.is(c.send({ flags: 'PA', payload: bytes(100) }, T0 + 10).length, 0);
  assert.equal(s.notified(), [h]);
  assert.is(s.info(h).readable, 100);
  assert.is(s.tcpDeadline(), T0 + 10 + 40000);
  assert.is(s.poll(T0 + 10 + 39999).length, 0);
  // The window may only grow by an MSS or half the buffer at a time: the edge stays put.
  assert.equal(fields(s.poll(T0 + 10 + 40000)), [['A', c.snd, c.rcv + 100, 65435, 0]]);
  assert.is(s.counter('tcp.timer.delack'), 1);
});

test('two full-sized segments are ACKed at once (RFC 5681 4.2)', () => {
  const { s, c } = established();
  assert.is(c.send({ flags: 'A', payload: bytes(1460) }).length, 0);
  const out = c.send({ flags: 'A', seq: c.rcv + 1460, payload: bytes(1460) });
  // The edge moved by more than an MSS: the full (unscaled, 64 KiB) window is offered again.
  assert.equal(fields(out), [['A', c.snd, c.rcv + 2920, 65535, 0]]);
});

test('out-of-order data is ACKed at once with RCV.NXT; filling the hole ACKs everything', () => {
  const { s, c, h } = established();
  let out = c.send({ flags: 'A', seq: c.rcv + 100, payload: bytes(50, 0x62) });
  assert.equal(fields(out), [['A', c.snd, c.rcv, 65535, 0]]);
  assert.is(s.info(h).readable, 0);
  assert.is(s.counter('tcp.rx.out_of_order'), 1);
  out = c.send({ flags: 'A', payload: bytes(100, 0x61) });
  assert.equal(fields(out), [['A', c.snd, c.rcv + 150, 65535 - 150, 0]]);
  const data = s.read(h);
  assert.equal([...data], [...bytes(100, 0x61), ...bytes(50, 0x62)]);
});

test('segments outside the window are answered with <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and dropped', () => {
  const { s, c, h } = established();
  // Beyond the right edge.
  assert.equal(fields(c.send({ flags: 'A', seq: c.rcv + 70000, payload: bytes(10) })), [['A', c.snd, c.rcv, 65535, 0]]);
  // An old duplicate.
  assert.equal(fields(c.send({ flags: 'A', seq: c.rcv - 10, payload: bytes(10) })), [['A', c.snd, c.rcv, 65535, 0]]);
  // A partly old segment: the new part is kept.
  c.send({ flags: 'A', seq: c.rcv - 5, payload: bytes(10) });
  assert.is(s.info(h).readable, 5);
  assert.is(s.counter('drop.tcp.out_of_window'), 2);
});

test('RST at RCV.NXT: ECONNRESET, CLOSED, host notified, nothing sent', () => {
  const { s, c, h, before } = established();
  assert.is(c.send({ flags: 'R' }).length, 0);
  const i = s.info(h);
  assert.equal([i.state, i.error, i.flags], [State.CLOSED, Errno.ECONNRESET, InfoFlag.CLOSED]);
  assert.equal(s.notified(), [h]);
  s.x.tcpClose(h);
  s.x.tcpClose(c.l);
  assert.equal(s.pools(), before);
});

test('RST in the window but not at RCV.NXT gets a challenge ACK (RFC 5961 3.2); outside, nothing', () => {
  const { s, c, h } = established();
  assert.equal(fields(c.send({ flags: 'R', seq: c.rcv + 1 })), [['A', c.snd, c.rcv, 65535, 0]]);
  assert.is(c.send({ flags: 'R', seq: c.rcv + 100000 }).length, 0);
  assert.is(s.info(h).state, State.ESTABLISHED);
  assert.is(s.counter('drop.tcp.rst_challenged'), 1);
});

test('a SYN gets a challenge ACK (RFC 5961 4.2), rate-limited per second', () => {
  const { s, c, h } = established({ config: { tcpChallengeAcksPerSec: 2 } });
  const syn = { flags: 'S', seq: 123456 };
  assert.is(c.send(syn, T0 + 1).length, 1);
  assert.is(c.send(syn, T0 + 2).length, 1);
  assert.is(c.send(syn, T0 + 3).length, 0);
  assert.is(s.counter('tcp.challenge_ack.rate_limited'), 1);
  assert.equal(fields(c.send(syn, T0 + 1_000_001)), [['A', c.snd, c.rcv, 65535, 0]]);
  assert.is(s.info(h).state, State.ESTABLISHED);
});

test('an ACK of data never sent is answered with an ACK and its data dropped', () => {
  const { s, c, h } = established();
  assert.equal(fields(c.send({ flags: 'PA', ack: c.snd + 10, payload: bytes(5) })), [['A', c.snd, c.rcv, 65535, 0]]);
  assert.is(s.info(h).readable, 0);
  assert.is(s.counter('drop.tcp.ack_unsent'), 1);
});

test('a segment without ACK is dropped', () => {
  const { s, c, h } = established();
  assert.is(c.send({ flags: 'P', payload: bytes(5) }).length, 0);
  assert.is(s.info(h).readable, 0);
  assert.is(s.counter('drop.tcp.no_ack_flag'), 1);
});

test('sending: one segment, Nagle holds the second small write until the ACK', () => {
  const { s, c, h } = established();
  s.write(h, bytes(100));
  assert.equal(fields(s.poll()), [['PA', c.snd, c.rcv, 65535, 100]]);
  s.write(h, bytes(100));
  assert.is(s.poll().length, 0);
  assert.equal(fields(c.send({ flags: 'A', ack: c.snd + 100 })), [['PA', c.snd + 100, c.rcv, 65535, 100]]);
  assert.is(s.info(h).bytesOut, 100);
});

test('TCP_NODELAY sends small writes at once', () => {
  const { s, c, h } = established();
  assert.is(s.x.tcpSetOption(h, Opt.NODELAY, 1, 0, 0), 0);
  s.write(h, bytes(100));
  s.poll();
  s.write(h, bytes(100));
  assert.equal(fields(s.poll()), [['PA', c.snd + 100, c.rcv, 65535, 100]]);
});

test('initial window: 10 segments (RFC 6928), then one more per ACK of a full segment in slow start', () => {
  const { s, c, h } = established();
  s.write(h, bytes(30 * 1460));
  const out = s.poll();
  assert.is(out.length, 10);
  out.forEach((f, i) => assert.equal([f.tcp.seq, f.tcp.payload.length], [c.snd + i * 1460, 1460]));
  assert.is(s.info(h).cwnd, 14600);
  const more = c.send({ flags: 'A', ack: c.snd + 1460 });
  assert.is(more.length, 2); // cwnd 16060: 1460 left the window, 1460 grew it
  assert.is(s.info(h).cwnd, 16060);
});

test("the peer's window limits what is sent", () => {
  const { s, c, h } = established({ win: 3000 });
  s.write(h, bytes(10 * 1460));
  const out = s.poll();
  assert.equal(out.map((f) => f.tcp.payload.length), [1460, 1460]);
});

test('retransmission timeout backs off: 200, 400, 800, 1600 ms (min RTO 200 ms, RFC 6298 5.5)', () => {
  const { s, c, h } = established();
  s.write(h, bytes(100));
  s.poll(T0);
  let at = T0;
  for (const gap of [200, 400, 800, 1600]) {
    at += gap * 1000;
    assert.is(s.tcpDeadline(), at);
    assert.is(s.poll(at - 1).length, 0);
    assert.equal(fields(s.poll(at)), [['PA', c.snd, c.rcv, 65535, 100]]);
  }
  assert.is(s.info(h).retransmits, 4);
  assert.is(s.info(h).cwnd, 1460); // RFC 5681 3.1: loss window after an RTO
  // The ACK ends the backoff: the timer stops.
  c.send({ flags: 'A', ack: c.snd + 100 }, at + 10);
  assert.is(s.tcpDeadline(), -1);
});

test('three duplicate ACKs: fast retransmit of the first segment, then recovery (RFC 5681 3.2, RFC 6582)', () => {
  const { s, c, h } = established();
  s.write(h, bytes(5 * 1460));
  assert.is(s.poll().length, 5);
  const dup = { flags: 'A', ack: c.snd };
  // Dup ACKs 1 and 2: limited transmit has no new data to send.
  assert.is(c.send(dup).length, 0);
  assert.is(c.send(dup).length, 0);
  assert.equal(fields(c.send(dup)), [['A', c.snd, c.rcv, 65535, 1460]]);
  assert.is(s.counter('tcp.fast_retransmit'), 1);
  assert.is(s.info(h).cwnd, 3650 + 3 * 1460); // ssthresh = FlightSize/2 = 3650
  // A partial ACK retransmits the next segment.
  assert.equal(fields(c.send({ flags: 'A', ack: c.snd + 1460 })), [['A', c.snd + 1460, c.rcv, 65535, 1460]]);
  // The full ACK ends recovery: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (RFC 6582 3.2 step 3).
  c.send({ flags: 'A', ack: c.snd + 5 * 1460 });
  assert.is(s.info(h).cwnd, 2920);
});

test('limited transmit (RFC 3042): dup ACKs 1 and 2 each let one new segment out', () => {
  const { s, c, h } = established();
  s.write(h, bytes(12 * 1460));
  assert.is(s.poll().length, 10);
  const dup = { flags: 'A', ack: c.snd };
  assert.equal(fields(c.send(dup)).map((f) => f[1]), [c.snd + 10 * 1460]);
  assert.equal(fields(c.send(dup)).map((f) => f[1]), [c.snd + 11 * 1460]);
});

test('zero window: persist probes <SEQ=SND.UNA-1> with backoff until the window opens', () => {
  // Without RACK-TLP (tcpRack 0): no tail loss probe before the first persist probe.
  const { s, c, h } = established({ config: { tcpRack: 0 } });
  c.send({ flags: 'A', win: 0 });
  s.write(h, bytes(100));
  assert.is(s.poll(T0).length, 0);
  let at = T0;
  for (const gap of [200, 400, 800]) {
    at += gap * 1000;
    assert.is(s.tcpDeadline(), at);
    assert.equal(fields(s.poll(at)), [['A', c.snd - 1, c.rcv, 65535, 0]]);
  }
  assert.is(s.counter('tcp.timer.persist'), 3);
  // The window opens: the data goes, the persist timer becomes the retransmission timer.
  assert.equal(fields(c.send({ flags: 'A', win: 1000 }, at + 5)), [['PA', c.snd, c.rcv, 65535, 100]]);
  assert.is(s.tcpDeadline(), at + 5 + 1600000);
});

test('keepalive: probes after the idle time, every interval, then RST and ETIMEDOUT', () => {
  const { s, c, h } = established();
  assert.is(s.x.tcpSetOption(h, Opt.KEEPALIVE, 1, 1000, 500), 0);
  assert.is(s.x.tcpSetOption(h, Opt.KEEPCNT, 2, 0, 0), 0);
  assert.is(s.tcpDeadline(), T0 + 1_000_000);
  assert.equal(fields(s.poll(T0 + 1_000_000)), [['A', c.snd - 1, c.rcv, 65535, 0]]);
  // An answer resets the count and the idle period.
  c.send({ flags: 'A' }, T0 + 1_200_000);
  assert.is(s.poll(T0 + 1_500_000).length, 0);
  assert.equal(fields(s.poll(T0 + 2_200_000)), [['A', c.snd - 1, c.rcv, 65535, 0]]);
  assert.equal(fields(s.poll(T0 + 2_700_000)), [['A', c.snd - 1, c.rcv, 65535, 0]]);
  assert.equal(fields(s.poll(T0 + 3_200_000)), [['R', c.snd, 0, 0, 0]]);
  assert.equal([s.info(h).state, s.info(h).error], [State.CLOSED, Errno.ETIMEDOUT]);
  assert.is(s.counter('tcp.timer.keepalive_probe'), 3);
});

test('user timeout: unacknowledged data fails the connection with ETIMEDOUT exactly when it expires', () => {
  const { s, h } = established();
  s.x.tcpSetOption(h, Opt.USER_TIMEOUT, 1000, 0, 0);
  s.write(h, bytes(10));
  s.poll(T0);
  // RTOs at +0.2 and +0.6 s; the next (+1.4 s) is clamped to the user timeout (as Linux).
  assert.is(s.poll(T0 + 200000).length, 1);
  assert.is(s.poll(T0 + 600000).length, 1);
  assert.is(s.tcpDeadline(), T0 + 1_000_000);
  assert.is(s.info(h).state, State.ESTABLISHED);
  assert.is(s.poll(T0 + 1_000_000).length, 0);
  assert.equal([s.info(h).state, s.info(h).error], [State.CLOSED, Errno.ETIMEDOUT]);
});

test('FIN: ACKed at once, CLOSE-WAIT, peer FIN flag, notified; data before it stays readable', () => {
  const { s, c, h } = established();
  const out = c.send({ flags: 'FPA', payload: 'bye' });
  // The FIN takes a sequence number too; the right edge stays (receiver SWS).
  assert.equal(fields(out), [['A', c.snd, c.rcv + 4, 65535 - 4, 0]]);
  const i = s.info(h);
  assert.equal([i.state, i.flags, i.readable], [State.CLOSE_WAIT, InfoFlag.CONNECTED | InfoFlag.PEER_FIN, 3]);
  assert.equal(s.notified(), [h]);
  assert.is(s.read(h).toString(), 'bye');
});

test('a FIN beyond a hole: duplicate ACK now; when the hole fills, one ACK covers data and FIN', () => {
  const { s, c, h } = established();
  assert.equal(fields(c.send({ flags: 'FA', seq: c.rcv + 10 })), [['A', c.snd, c.rcv, 65535, 0]]);
  assert.is(s.info(h).state, State.ESTABLISHED);
  assert.is(s.counter('tcp.rx.fin_out_of_order'), 1);
  assert.equal(fields(c.send({ flags: 'PA', payload: bytes(10) })), [['A', c.snd, c.rcv + 11, 65535 - 11, 0]]);
  assert.is(s.info(h).state, State.CLOSE_WAIT);
  assert.is(s.read(h).length, 10);
});

test('a full receive ring advertises a zero window; reading sends a window update at once', () => {
  const { s, c, h } = established({ rcvBuf: 4096 });
  c.send({ flags: 'A', payload: bytes(1460) });
  c.send({ flags: 'A', seq: c.rcv + 1460, payload: bytes(1460) });
  const out = c.send({ flags: 'A', seq: c.rcv + 2920, payload: bytes(1176) });
  assert.is(s.poll(T0 + 40000).at(-1)?.tcp.win ?? out.at(-1).tcp.win, 0);
  // A segment beyond the zero window is not taken.
  assert.equal(fields(c.send({ flags: 'A', seq: c.rcv + 4096, payload: bytes(10) })), [['A', c.snd, c.rcv + 4096, 0, 0]]);
  assert.is(s.read(h).length, 4096);
  assert.equal(fields(s.poll()), [['A', c.snd, c.rcv + 4096, 4096, 0]]);
});

test('API errors: EINVAL for oversized commits and consumes, EBADF for a bad handle', () => {
  const { s, h } = established();
  assert.is(s.x.tcpWriteCommit(h, s.x.tcpWriteRoom(h) + 1), -Errno.EINVAL);
  assert.is(s.x.tcpReadConsume(h, 1), -Errno.EINVAL);
  assert.is(s.x.tcpWriteCommit(999, 1), -Errno.EBADF);
  assert.is(s.x.tcpSetOption(h, 99, 0, 0, 0), -Errno.EINVAL);
  assert.is(s.x.tcpInfoPtr(999), 0);
});

test('tcpAbort: <SEQ=SND.NXT><CTL=RST> at the next poll, and every resource back', () => {
  const { s, c, h, before } = established();
  s.x.tcpAbort(h);
  assert.equal(fields(s.poll()), [['R', c.snd, 0, 0, 0]]);
  s.x.tcpClose(c.l);
  assert.equal(s.pools(), before);
  assert.is(s.x.tcpWriteRoom(h), 0);
});

test('tcpClose with unread data resets the connection (RFC 1122 4.2.2.13, as Linux)', () => {
  const { s, c, h } = established();
  c.send({ flags: 'PA', payload: 'unread' });
  s.x.tcpClose(h);
  assert.equal(fields(s.poll()), [['R', c.snd, 0, 0, 0]]);
  assert.is(s.counter('tcp.conn.reset_unread_data'), 1);
});

test.run();
