// SACK (RFC 2018) and SACK-based loss recovery (RFC 6675): negotiation, the blocks our ACKs
// carry, the sender's scoreboard, NextSeg order, recovery entry and exit, the RTO clearing the
// scoreboard, and malformed or random blocks being ignored without a trap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, openPassive, openActive, InfoFlag } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp } from '../dist/testing/frames.js';

const SACK_FLAG = 64;

/** Raw option bytes of a SACK option (NOP NOP SACK) with `blocks` [left, right). */
function sackOption(blocks) {
  const out = [1, 1, 5, 2 + 8 * blocks.length];
  for (const [l, r] of blocks) {
    for (const v of [l, r]) out.push((v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
  }
  return out;
}

/** Option bytes of a parsed frame. */
function optionBytes(f) {
  const raw = f.raw;
  const t = 14 + 20;
  const hl = (raw[t + 12] >> 4) * 4;
  return Array.from(raw.slice(t + 20, t + hl));
}

function segs(out) { return out.filter((f) => f.tcp).map((f) => f.tcp); }

test('negotiation: SACK-permitted echoed only when the SYN offers it; tcpSack=0 never offers or echoes', () => {
  const s = new TestStack();
  const with_ = openPassive(s, { port: 80, peerPort: 40000, options: { mss: 1000, sackOk: true } });
  assert.is(s.info(with_.h).flags & SACK_FLAG, SACK_FLAG);
  const without = openPassive(s, { port: 80, peerPort: 40001, options: { mss: 1000 } });
  assert.is(s.info(without.h).flags & SACK_FLAG, 0);

  // SYN-ACK bytes: MSS, NOP NOP SACK-permitted, no window scale (the SYN had none).
  const s2 = new TestStack();
  s2.learnPeer('10.0.0.2', '02:00:00:00:00:02');
  s2.x.tcpListen(0, 80, 0, 0, 0, 0);
  const out = s2.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'S', seq: 1000, options: { mss: 1000, sackOk: true } })));
  assert.equal(optionBytes(out[0]), [2, 4, 0x05, 0xb4, 1, 1, 4, 2]);

  const off = new TestStack({ config: { tcpSack: 0 } });
  const c = openPassive(off, { options: { mss: 1000, sackOk: true, ts: [100, 0], wscale: 2 } });
  assert.is(off.info(c.h).flags & SACK_FLAG, 0);
  const h = off.x.tcpConnect(0x0a000002, 81, 0, 0, 0);
  const syn = off.poll();
  assert.ok(h >= 0);
  assert.is(syn[0].tcp.options.sackOk, undefined);
});

test('negotiation, active side: SYN offers SACK; used only when the SYN-ACK carries it', () => {
  const s = new TestStack();
  const a = openActive(s, { port: 80, options: { mss: 1000, sackOk: true } });
  assert.is(s.info(a.h).flags, InfoFlag.CONNECTED | SACK_FLAG | InfoFlag.RACK, 'RACK runs where SACK does (tcpRack defaults to 1)');
  const b = openActive(s, { port: 81, options: { mss: 1000 } });
  assert.is(s.info(b.h).flags, InfoFlag.CONNECTED);
});

test('receiver: ACKs of out-of-order data carry SACK blocks, most recent first, 4 without timestamps', () => {
  const s = new TestStack();
  const c = openPassive(s, { options: { mss: 1000, sackOk: true } });
  const base = c.rcv;
  const data = new Uint8Array(100);
  const ranges = [[1000, 1100], [3000, 3100], [5000, 5100], [7000, 7100], [9000, 9100]];
  const expected = [];
  for (let i = 0; i < ranges.length; i++) {
    const [l, r] = ranges[i];
    const out = c.send({ seq: base + l, payload: data });
    assert.is(out.length, 1);
    assert.is(out[0].tcp.ack, base);
    expected.unshift([base + l, base + r]);
    assert.equal(optionBytes(out[0]), sackOption(expected.slice(0, 4)));
  }
  assert.is(s.counter('tcp.sack.blocks_sent'), 1 + 2 + 3 + 4 + 4);
  // A duplicate of held data: a D-SACK block naming it, then the range holding it (RFC 2883
  // 4.1.2), then the others most recent first.
  const out = segs(c.send({ seq: base + 1000, payload: data }));
  assert.equal(out[0].options.sack, [[base + 1000, base + 1100], [base + 1000, base + 1100],
    [base + 9000, base + 9100], [base + 7000, base + 7100]]);
  assert.is(s.counter('tcp.sack.dsack_sent'), 1);
  // Filling the first hole: the ACK moves and reports what is still held.
  const fill = segs(c.send({ seq: base, payload: new Uint8Array(1000) }));
  assert.is(fill[0].ack, base + 1100);
  assert.equal(fill[0].options.sack, [[base + 9000, base + 9100], [base + 7000, base + 7100],
    [base + 5000, base + 5100], [base + 3000, base + 3100]]);
});

test('receiver: D-SACK (RFC 2883) for a segment received before, whole or in part, once', () => {
  const s = new TestStack();
  const c = openPassive(s, { options: { mss: 1000, sackOk: true } });
  const base = c.rcv;
  assert.equal(segs(c.send({ seq: base, payload: new Uint8Array(1000) })), []); // delayed ACK
  // The same segment again: below rcv.nxt, answered at once with a D-SACK block.
  const dup = segs(c.send({ seq: base, payload: new Uint8Array(1000) }));
  assert.is(dup[0].ack, base + 1000);
  assert.equal(dup[0].options.sack, [[base, base + 1000]]);
  // Half old, half new: the old half is the duplicate.
  const half = segs(c.send({ seq: base + 500, payload: new Uint8Array(1000) }));
  assert.equal(half.map((t) => [t.ack - base, t.options.sack]), [[1500, [[base + 500, base + 1000]]]]);
  // Reported once: the next ACK (delayed: in order, one segment) has none.
  assert.equal(segs(c.send({ seq: base + 1500, payload: new Uint8Array(1000) })), []);
  const next = segs(s.poll(s.tcpDeadline()));
  assert.equal(next.map((t) => [t.ack - base, t.options.sack]), [[2500, undefined]]);
  assert.is(s.counter('tcp.sack.dsack_sent'), 2);
  // Without SACK negotiated: no D-SACK.
  const n = new TestStack();
  const d = openPassive(n, { options: { mss: 1000 } });
  d.send({ seq: d.rcv, payload: new Uint8Array(1000) });
  const plain = segs(d.send({ seq: d.rcv, payload: new Uint8Array(1000) }));
  assert.is(plain[0].options.sack, undefined);
});

test('receiver: 3 blocks beside timestamps; none when SACK was not negotiated', () => {
  const s = new TestStack();
  const c = openPassive(s, { options: { mss: 1000, sackOk: true, ts: [100, 0] } });
  const base = c.rcv;
  let out;
  for (const l of [1000, 3000, 5000, 7000]) {
    out = c.send({ seq: base + l, payload: new Uint8Array(10), options: { ts: [200, 0] } });
  }
  const bytes = optionBytes(out[0]);
  assert.equal(bytes.slice(0, 2), [1, 1]);
  assert.equal(bytes.slice(12), sackOption([[base + 7000, base + 7010], [base + 5000, base + 5010], [base + 3000, base + 3010]]));

  const n = new TestStack();
  const d = openPassive(n, { options: { mss: 1000 } });
  const o2 = d.send({ seq: d.rcv + 1000, payload: new Uint8Array(10) });
  assert.equal(optionBytes(o2[0]), []);
  assert.is(n.counter('tcp.sack.blocks_sent'), 0);
});

/** A SACK connection that has sent 10 segments of 1000 bytes; returns [stack, conn, base]. */
function sending(opts = {}) {
  // Without RACK-TLP unless asked (tcpRack 0): RFC 6675 recovery on its own, as these tests
  // check it (tests/tcp-rack.test.mjs covers RACK-TLP on top of it).
  const s = new TestStack({ ...opts, config: { tcpRack: 0, ...opts.config } });
  const c = openPassive(s, { options: { mss: 1000, sackOk: true } });
  const base = c.snd;
  s.write(c.h, new Uint8Array(10000));
  const out = segs(s.poll());
  assert.equal(out.map((t) => [t.seq - base, t.payload.length]), Array.from({ length: 10 }, (_, i) => [i * 1000, 1000]));
  return [s, c, base];
}

function ackWith(c, base, ack, blocks) {
  return segs(c.send({ ack: base + ack, rawOptions: blocks.length ? sackOption(blocks.map(([l, r]) => [base + l, base + r])) : undefined }));
}

test('sender: recovery once IsLost(snd.una) retransmits the hole only; NextSeg rules 1 then 4; exit at RecoveryPoint', () => {
  const [s, c, base] = sending();
  // Segments 2 (1000..2000) and 5 (4000..5000) lost.
  assert.equal(ackWith(c, base, 1000, [[2000, 3000]]), []);
  assert.equal(ackWith(c, base, 1000, [[2000, 4000]]), []);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 0);
  // Second duplicate: 3000 SACKed bytes above snd.una (> 2 SMSS): IsLost(snd.una), recovery.
  const r1 = ackWith(c, base, 1000, [[5000, 6000], [2000, 4000]]);
  // RFC 6675 5 step 4.3: the first hole at once, and only it.
  assert.equal(r1.map((t) => [t.seq - base, t.payload.length]), [[1000, 1000]]);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 1);
  assert.is(s.counter('tcp.fast_retransmit'), 1);
  // ssthresh = FlightSize 9000 / 2 = 4500. The second hole has 3000 SACKed bytes above it
  // (> 2 SMSS): lost, rule 1. pipe is 1000 (retransmitted first hole) + 2000 (8000..10000)
  // = 3000: room for one segment, then 4000 (500 left: less than 1 SMSS, stop).
  const r2 = ackWith(c, base, 1000, [[5000, 8000], [2000, 4000]]);
  assert.equal(r2.map((t) => [t.seq - base, t.payload.length]), [[4000, 1000]]);
  // Partial ACK: pipe 3000 again (4000..5000 retransmitted, lost; tail 2000): room 1500, no lost
  // hole left (rule 1), no new data (rule 2), none unSACKed above HighRxt (rule 3): the rescue
  // retransmission (rule 4) of the highest unSACKed segment, once.
  const r3 = ackWith(c, base, 4000, [[5000, 8000]]);
  assert.equal(r3.map((t) => [t.seq - base, t.payload.length]), [[9000, 1000]]);
  assert.is(s.counter('tcp.sack.retransmits'), 2);
  assert.is(s.counter('tcp.sack.rescue_retransmits'), 1);
  assert.equal(ackWith(c, base, 5000, [[5000, 8000]]), []);
  assert.is(s.info(c.h).cwnd, 7500); // NewReno's entry value (ssthresh + 3 SMSS), left alone
  // Full ACK at RecoveryPoint: recovery ends (RFC 6675 5 step A), cwnd from the exit hook.
  assert.equal(ackWith(c, base, 10000, []), []);
  assert.is(s.info(c.h).cwnd, 2000);
  assert.is(s.info(c.h).retransmits, 3);
});

test('sender: IsLost(snd.una) starts recovery before three duplicate ACKs', () => {
  const [s, c, base] = sending();
  // One ACK SACKing 3 discontiguous ranges above 0..1000: DupThresh ranges above it.
  const out = ackWith(c, base, 0, [[7000, 8000], [5000, 6000], [3000, 4000]]);
  assert.equal(out.map((t) => [t.seq - base, t.payload.length])[0], [0, 1000]);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 1);
  assert.is(s.counter('tcp.rx.dup_ack'), 1);
});

test('sender: NextSeg order is lost holes lowest first, then unSACKed holes not yet lost (rule 3)', () => {
  const [s, c, base] = sending();
  // Holes: 0..1000, 2000..3000, 4000..5000, 8000..10000 (tail); SACKed 1000..2000, 3000..4000, 5000..8000.
  const r = ackWith(c, base, 0, [[5000, 8000], [3000, 4000], [1000, 2000]]);
  // ssthresh = 5000; pipe before: tail 2000 (holes lost: 3+ ranges above 0..1000 and
  // 2000..3000; 4000..5000 has 3000 bytes above: lost) -> 3 SMSS of room: the three holes.
  assert.equal(r.map((t) => [t.seq - base, t.payload.length]), [[0, 1000], [2000, 1000], [4000, 1000]]);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 1);
});

test('sender: an RTO clears the scoreboard (RFC 6675 5.1): everything after snd.una goes again', () => {
  const [s, c, base] = sending();
  ackWith(c, base, 1000, [[2000, 3000]]);
  ackWith(c, base, 1000, [[2000, 4000]]);
  const at = s.tcpDeadline();
  const rto = segs(s.poll(at));
  assert.equal(rto.map((t) => [t.seq - base, t.payload.length]), [[1000, 1000]]);
  // Slow start from 1 SMSS: the next ACK lets two out, and 2000..3000 (SACKed before the RTO)
  // is among them: the scoreboard was cleared.
  const next = ackWith(c, base, 2000, []);
  assert.equal(next.map((t) => [t.seq - base, t.payload.length]), [[2000, 1000], [3000, 1000]]);
  // After the RTO, ranges SACKed again are skipped on the way back (cwnd 3000, the skipped
  // range still counts as in flight: 4000..5000 only, then 7000.. once the ACK moves).
  const skip = ackWith(c, base, 3000, [[5000, 7000]]);
  assert.equal(skip.map((t) => [t.seq - base, t.payload.length]), [[4000, 1000]]);
  const after = ackWith(c, base, 5000, [[5000, 7000]]);
  assert.equal(after.map((t) => [t.seq - base, t.payload.length]), [[7000, 1000], [8000, 1000], [9000, 1000]]);
});

test('receiver: each out-of-order segment of one burst gets its own ACK naming it first', () => {
  const s = new TestStack();
  const c = openPassive(s, { options: { mss: 1000, sackOk: true } });
  const base = c.rcv;
  const frames = [1000, 3000, 2000].map((l) => c.seg({ seq: base + l, payload: new Uint8Array(1000) }));
  const out = segs(s.input(frames));
  assert.equal(out.map((t) => [t.ack - base, t.options.sack.map(([l, r]) => [l - base, r - base])]), [
    [0, [[1000, 2000]]],
    [0, [[3000, 4000], [1000, 2000]]],
    [0, [[1000, 4000]]],
  ]);
  // Without SACK the burst's duplicate ACKs are one (the ACK goes at the end of the burst).
  const n = new TestStack();
  const d = openPassive(n, { options: { mss: 1000 } });
  const plain = segs(n.input([1000, 3000].map((l) => d.seg({ seq: d.rcv + l, payload: new Uint8Array(1000) }))));
  assert.is(plain.length, 1);
});

test('sender: a lost retransmission is sent again once data sent after it is SACKed beyond 2 SMSS', () => {
  const [s, c, base] = sending();
  ackWith(c, base, 1000, [[2000, 3000]]);
  ackWith(c, base, 1000, [[2000, 4000]]);
  assert.equal(ackWith(c, base, 1000, [[2000, 4000], [5000, 6000]]).map((t) => t.seq - base), [1000]);
  s.write(c.h, new Uint8Array(10000));
  assert.equal(ackWith(c, base, 1000, [[2000, 4000], [5000, 7000]]), []);
  // 4000..5000 lost (rule 1), then new data (rule 2) as SACKs shrink pipe.
  assert.equal(ackWith(c, base, 1000, [[2000, 4000], [5000, 8000]]).map((t) => t.seq - base), [4000]);
  for (const [end, next] of [[9000, 10000], [10000, 11000], [11000, 12000], [12000, 13000]]) {
    assert.equal(ackWith(c, base, 1000, [[2000, 4000], [5000, end]]).map((t) => t.seq - base), [next]);
  }
  assert.is(s.counter('tcp.sack.lost_retransmits'), 0);
  // 3000 bytes sent after the last retransmission (at snd.max 10000) are SACKed: both
  // retransmitted holes are lost again and go at once, then new data.
  const again = ackWith(c, base, 1000, [[2000, 4000], [5000, 13000]]);
  assert.equal(again.map((t) => [t.seq - base, t.payload.length]), [[1000, 1000], [4000, 1000], [14000, 1000]]);
  assert.is(s.counter('tcp.sack.lost_retransmits'), 1);
  assert.is(s.counter('tcp.timer.rto'), 0);
});

test('malformed, inverted, beyond-snd.max and old blocks are ignored and counted', () => {
  const [s, c, base] = sending();
  assert.equal(ackWith(c, base, 1000, []), []);                      // new ACK, then duplicates
  assert.equal(ackWith(c, base, 1000, [[3000, 2000]]), []);          // inverted
  assert.equal(ackWith(c, base, 1000, [[2000, 2000], [0, 1000]]), []); // empty; below snd.una (D-SACK)
  assert.is(s.counter('drop.tcp.bad_sack'), 2);
  // Beyond snd.max: ignored too. The ACKs are still classic duplicates (RFC 5681 2), so the
  // third starts recovery with snd.una's segment and nothing else (the scoreboard is empty).
  const third = ackWith(c, base, 1000, [[9000, 20000]]);
  assert.equal(third.map((t) => [t.seq - base, t.payload.length]), [[1000, 1000]]);
  assert.is(s.counter('drop.tcp.bad_sack'), 3);
  assert.is(s.counter('tcp.sack.blocks_received'), 4);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 1);
});

test('without SACK negotiated, SACK blocks from the peer are not read', () => {
  const s = new TestStack();
  const c = openPassive(s, { options: { mss: 1000 } });
  const base = c.snd;
  s.write(c.h, new Uint8Array(10000));
  s.poll();
  ackWith(c, base, 0, [[7000, 8000], [5000, 6000], [3000, 4000]]);
  assert.is(s.counter('tcp.sack.blocks_received'), 0);
  assert.is(s.counter('tcp.sack.recovery_episodes'), 0);
});

test('fuzz: thousands of random SACK blocks never trap and the transfer still completes', () => {
  const [s, c, base] = sending();
  let seed = 12345;
  const rnd = () => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed; };
  const pick = () => {
    const r = rnd() % 4;
    if (r === 0) return rnd();                       // anywhere in sequence space
    if (r === 1) return base + (rnd() % 12000) - 1000; // near the window
    if (r === 2) return base + (rnd() % 11) * 1000;    // on segment edges
    return base + 10000;                               // snd.max
  };
  for (let i = 0; i < 3000; i++) {
    const n = 1 + (rnd() % 4);
    const blocks = Array.from({ length: n }, () => [pick(), pick()]);
    const ack = base + (i < 2500 ? 0 : (rnd() % 11) * 1000);
    c.send({ ack, rawOptions: sackOption(blocks) }, s.now + 10);
  }
  assert.is(s.counter('tcp.sack.blocks_received') > 3000, true);
  assert.is(s.counter('drop.tcp.bad_sack') > 0, true);
  c.send({ ack: base + 10000 }, s.now + 10);
  assert.is(s.info(c.h).unsent, 0);
});

test.run();
