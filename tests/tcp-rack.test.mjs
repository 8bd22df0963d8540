// RACK-TLP (RFC 8985), Cfg tcpRack 1, on a virtual clock: the tail loss probe (7) at the PTO
// instead of the RTO, with and without SACK; RACK (6.2) marking a segment lost once a
// later-sent one is SACKed and the reordering window has passed (the reordering timer, 6.3);
// reordering inside the window costing nothing; a lost retransmission found again; the TLP
// episode's congestion response (7.4.2) exactly once; tcpRack 0 keeping the RTO.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, PeerConn, InfoFlag } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp } from '../dist/testing/frames.js';

const PEER_IP = '10.0.0.2';
const PEER_MAC = '02:00:00:00:00:02';

/** SACK option bytes (NOP NOP SACK) for [left, right) blocks. */
function sackOption(blocks) {
  const out = [1, 1, 5, 2 + 8 * blocks.length];
  for (const [l, r] of blocks) {
    for (const v of [l, r]) out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  return out;
}

/**
 * A connection accepted by the stack with a 10 ms handshake round trip (SYN at 0, ACK at
 * 10 ms: SRTT 10 ms, RTO 200 ms), MSS 1000; returns [stack, conn, base] (base = first data seq).
 */
function open({ rack = 1, sack = true } = {}) {
  const s = new TestStack({ config: { tcpRack: rack } });
  s.learnPeer(PEER_IP, PEER_MAC);
  const l = s.x.tcpListen(0, 80, 0, 0, 0, 0);
  const options = sack ? { mss: 1000, sackOk: true } : { mss: 1000 };
  const synAck = s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'S', seq: 1000, options })), 0);
  const iss = synAck[0].tcp.seq;
  assert.equal(s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'A', seq: 1001, ack: iss + 1 })), 10_000), []);
  const h = s.x.tcpAccept(l);
  s.notified();
  const c = new PeerConn(s, { port: 80, peerPort: 40000, rcv: 1001, snd: iss + 1, h, l });
  assert.is(s.info(h).srttUs, 10_000);
  // tcpInfo: RACK runs with tcpRack and SACK; TLP alone otherwise.
  assert.is(s.info(h).flags & InfoFlag.RACK, rack && sack ? InfoFlag.RACK : 0);
  return [s, c, iss + 1];
}

const segs = (out) => out.filter((f) => f.tcp).map((f) => f.tcp);
/** [offset from base, payload length] of each segment out. */
const sent = (out, base) => segs(out).map((t) => [t.seq - base, t.payload.length]);
function ack(c, base, at, nowUs, blocks = []) {
  return c.send({ ack: base + at, rawOptions: blocks.length ? sackOption(blocks.map(([l, r]) => [base + l, base + r])) : undefined }, nowUs);
}
/** Writes `bytes` at `nowUs` and returns what went out. */
function write(s, h, bytes, nowUs) {
  s.write(h, new Uint8Array(bytes));
  return s.poll(nowUs);
}
const TEN = Array.from({ length: 10 }, (_, i) => [i * 1000, 1000]);

test('TLP: a lost tail is probed at the PTO (2*SRTT + 2 ms), RACK finds the hole from the probe\'s SACK, no RTO', () => {
  const [s, c, base] = open();
  assert.equal(sent(write(s, c.h, 10000, 10_000), base), TEN);
  // RFC 8985 7.2: the PTO, not the RTO, follows new data: 10 + 2*10 + 2 ms.
  assert.is(s.tcpDeadline(), 32_000);
  // 8000..10000 lost. The ACK (a 20 ms sample: SRTT 11.25 ms) re-arms the PTO: 30 + 22.5 + 2 ms.
  assert.equal(sent(ack(c, base, 8000, 30_000), base), []);
  assert.is(s.info(c.h).srttUs, 11_250);
  assert.is(s.tcpDeadline(), 54_500);
  // RFC 8985 7.3: no new data: the last segment again; the RTO (200 ms) behind it.
  assert.equal(sent(s.poll(54_500), base), [[9000, 1000]]);
  assert.is(s.counter('tcp.tlp.probes'), 1);
  assert.is(s.tcpDeadline(), 254_500);
  // The probe's SACK, one min RTT (20 ms) later: 8000..9000, sent before it, is lost at once
  // (RFC 8985 6.2: reordering window 0 before reordering was seen, with the whole wait passed).
  assert.equal(sent(ack(c, base, 8000, 74_500, [[9000, 10000]]), base), [[8000, 1000]]);
  assert.is(s.counter('tcp.rack.lost_marked'), 1);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 1);
  assert.equal(sent(ack(c, base, 10000, 94_500), base), []);
  assert.is(s.tcpDeadline(), -1);
  assert.is(s.counter('tcp.timer.rto'), 0);
  assert.is(s.info(c.h).retransmits, 2);
});

test('TLP without SACK: every ACK of a flight lost; the probe (last segment) gets the cumulative ACK, no RTO', () => {
  const [s, c, base] = open({ sack: false });
  assert.equal(sent(write(s, c.h, 10000, 10_000), base), TEN);
  assert.is(s.tcpDeadline(), 32_000);
  assert.equal(sent(s.poll(32_000), base), [[9000, 1000]]);
  assert.is(s.tcpDeadline(), 232_000);
  assert.equal(sent(ack(c, base, 10000, 52_000), base), []);
  assert.is(s.tcpDeadline(), -1);
  assert.is(s.counter('tcp.tlp.probes'), 1);
  assert.is(s.counter('tcp.timer.rto'), 0);
  // RFC 8985 7.4.2: SEG.ACK == TLP.end_seq: no verdict yet, cwnd untouched.
  assert.is(s.counter('tcp.tlp.recoveries'), 0);
  assert.is(s.info(c.h).cwnd, 12000);
});

test('tcpRack 0: the same tail waits for the RTO (200 ms), no probe', () => {
  const [s, c, base] = open({ rack: 0 });
  assert.equal(sent(write(s, c.h, 10000, 10_000), base), TEN);
  assert.is(s.tcpDeadline(), 210_000);
  assert.equal(sent(ack(c, base, 8000, 30_000), base), []);
  assert.is(s.tcpDeadline(), 230_000);
  assert.equal(sent(s.poll(230_000), base), [[8000, 1000]]);
  assert.is(s.counter('tcp.timer.rto'), 1);
  assert.is(s.counter('tcp.tlp.probes'), 0);
});

test('RACK: a later-sent segment SACKed marks the earlier one lost when the reordering timer fires', () => {
  const [s, c, base] = open();
  assert.equal(sent(write(s, c.h, 20000, 10_000), base), TEN);
  // 0..1000 missing, 1000..2000 SACKed at 30 ms (min RTT 20 ms): limited transmit (RFC 3042)
  // sends one new segment; no retransmission yet: the reordering window min RTT / 4 = 5 ms
  // has not passed (RFC 8985 6.2 step 5), the reordering timer is armed for it (6.3).
  assert.equal(sent(ack(c, base, 0, 30_000, [[1000, 2000]]), base), [[10000, 1000]]);
  assert.is(s.tcpDeadline(), 35_000);
  assert.is(s.counter('tcp.rack.lost_marked'), 0);
  assert.equal(sent(s.poll(35_000), base), [[0, 1000]]);
  assert.is(s.counter('tcp.rack.reo_timer_fired'), 1);
  assert.is(s.counter('tcp.rack.lost_marked'), 1);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 1);
  assert.is(s.counter('tcp.timer.rto'), 0);
});

test('RACK: reordering within the window (the missing segment arrives 3 ms later) retransmits nothing', () => {
  const [s, c, base] = open();
  assert.equal(sent(write(s, c.h, 10000, 10_000), base), TEN);
  assert.equal(sent(ack(c, base, 0, 30_000, [[1000, 2000]]), base), []);
  assert.is(s.tcpDeadline(), 35_000);
  // 0..1000 arrives at 33 ms: the reordering timer gives way to the PTO.
  assert.equal(sent(ack(c, base, 2000, 33_000), base), []);
  assert.is(s.tcpDeadline(), 58_250);
  assert.equal(sent(ack(c, base, 10000, 40_000), base), []);
  assert.is(s.tcpDeadline(), -1);
  assert.is(s.counter('tcp.rack.lost_marked'), 0);
  assert.is(s.counter('tcp.rack.reo_timer_fired'), 0);
  assert.is(s.counter('tcp.tx.retransmits'), 0);
});

test('RACK: a lost retransmission is sent again once data sent after it is SACKed (no RTO)', () => {
  const [s, c, base] = open();
  assert.equal(sent(write(s, c.h, 20000, 10_000), base), TEN);
  ack(c, base, 0, 30_000, [[1000, 2000]]);
  assert.equal(sent(s.poll(35_000), base), [[0, 1000]]); // reordering timer: retransmission at 35 ms
  // The retransmission is lost. SACKs of segments sent before it (at 10 and 30 ms) say nothing
  // about it; new data goes as pipe shrinks (RFC 6675 NextSeg rule 2).
  const out = [];
  for (const [hi, at] of [[3000, 36_000], [4000, 37_000], [5000, 38_000], [6000, 39_000], [7000, 40_000],
    [8000, 41_000], [9000, 42_000], [10000, 43_000], [11000, 56_000]]) {
    out.push(...sent(ack(c, base, 0, at, [[1000, hi]]), base));
  }
  assert.equal(out, [[11000, 1000], [12000, 1000], [13000, 1000], [14000, 1000]]);
  assert.is(s.counter('tcp.rack.lost_marked'), 1);
  // 11000..12000, sent at 41 ms (after the retransmission), SACKed at 57 ms: in recovery the
  // window is 0, and 35 + 16 (RACK.rtt) ms has passed: the retransmission is lost, sent again.
  assert.equal(sent(ack(c, base, 0, 57_000, [[1000, 12000]]), base), [[0, 1000], [15000, 1000]]);
  assert.is(s.counter('tcp.rack.lost_marked'), 2);
  // Recovery over at RecoveryPoint 16000 (NewReno's exit window): the rest of the data.
  assert.equal(sent(ack(c, base, 16000, 77_000), base), [[16000, 1000], [17000, 1000]]);
  assert.is(s.counter('tcp.timer.rto'), 0);
  assert.is(s.counter('tcp.sack.lost_retransmits'), 0); // RFC 6675's heuristic is not used with RACK
});

test('TLP episode: a probe that repaired a loss brings the congestion response at the first ACK above TLP.end_seq, once', () => {
  const [s, c, base] = open();
  write(s, c.h, 10000, 10_000);
  ack(c, base, 8000, 30_000); // the ACK of 8000..9000 is lost, and 9000..10000 itself
  assert.equal(sent(s.poll(54_500), base), [[9000, 1000]]);
  assert.is(s.info(c.h).cwnd, 12000);
  // ACK 10000 == TLP.end_seq: nothing decided (RFC 8985 7.4.2).
  assert.equal(sent(ack(c, base, 10000, 74_500), base), []);
  assert.is(s.counter('tcp.tlp.recoveries'), 0);
  // The episode is open: new data is covered by the RTO, not another probe (one per episode).
  assert.equal(sent(write(s, c.h, 1000, 74_500), base), [[10000, 1000]]);
  assert.is(s.tcpDeadline(), 274_500);
  // Above TLP.end_seq: the probe repaired a loss: fast recovery's response (NewReno, FlightSize
  // 1000: ssthresh 2 SMSS), at once over.
  assert.equal(sent(ack(c, base, 11000, 94_500), base), []);
  assert.is(s.counter('tcp.tlp.recoveries'), 1);
  assert.is(s.info(c.h).cwnd, 2000);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 0);
});

test('TLP episode: a D-SACK of the probe means nothing was lost: no congestion response', () => {
  const [s, c, base] = open();
  write(s, c.h, 10000, 10_000);
  ack(c, base, 8000, 30_000); // every later ACK lost
  assert.equal(sent(s.poll(54_500), base), [[9000, 1000]]);
  assert.equal(sent(ack(c, base, 10000, 74_500, [[9000, 10000]]), base), []);
  assert.is(s.counter('tcp.tlp.spurious'), 1);
  assert.is(s.counter('tcp.tlp.recoveries'), 0);
  assert.is(s.info(c.h).cwnd, 12000);
});

test('a flight larger than the record ring (128): the rest is sent untracked and counted; a hole is still repaired at once', () => {
  // MSS 100 so that slow start reaches 160 segments within a 64 KiB window in four rounds.
  const s = new TestStack({ config: { tcpRack: 1 } });
  s.learnPeer(PEER_IP, PEER_MAC);
  const l = s.x.tcpListen(0, 80, 0, 0, 0, 0);
  const synAck = s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'S', seq: 1000, options: { mss: 100, sackOk: true } })), 0);
  const base = synAck[0].tcp.seq + 1;
  s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'A', seq: 1001, ack: base })), 10_000);
  const h = s.x.tcpAccept(l);
  const c = new PeerConn(s, { port: 80, peerPort: 40000, rcv: 1001, snd: base, h, l });
  let out = segs(write(s, h, 60000, 10_000));
  let now = 10_000;
  const flights = [];
  for (let round = 0; round < 4; round++) {
    const ends = out.map((t) => t.seq + t.payload.length - base);
    now += 10_000;
    out = [];
    for (const end of ends) out.push(...segs(c.send({ ack: base + end }, now))); // one ACK per segment
    flights.push(out.length);
  }
  assert.equal(flights, [20, 40, 80, 160]);
  assert.is(s.counter('tcp.rack.untracked'), 32);
  // Segment 140 of the last flight lost, everything after it SACKed: repaired on this ACK.
  const hole = out[140].seq - base;
  const top = out[159].seq + 100 - base;
  const r = sent(ack(c, base, hole, now + 10_000, [[hole + 100, top]]), base);
  assert.equal(r[0], [hole, 100]);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 1);
  assert.is(s.counter('tcp.timer.rto'), 0);
});

test('createStack: tcp.rack must be a boolean', async () => {
  const { createStack, MemoryLink } = await import('../dist/index.js');
  const [a] = MemoryLink.pair();
  try {
    await createStack({ link: a, address: '10.0.0.1/24', tcp: { rack: 1 } });
    assert.unreachable('accepted a number');
  } catch (e) {
    assert.instance(e, TypeError);
    assert.is(e.message, 'options.tcp.rack must be a boolean, got 1');
  }
});

test('two stacks, 4 MiB over an impaired memory link (5% loss, reordering, duplicates): intact, TLP and RACK at work', async () => {
  const { perfMemory } = await import('../dist/cli/perf.js');
  const impair = { loss: 0.05, reorder: 0.05, duplicate: 0.02, delay: '1ms' };
  const r = await perfMemory({ bytes: 4 << 20, seed: 7, impair, clock: 'virtual', rack: true });
  assert.ok(r.intact);
  assert.ok(r.tlpProbes > 0 && r.rackLostMarked > 0, `probes ${r.tlpProbes}, lost marked ${r.rackLostMarked}`);
});

test.run();
