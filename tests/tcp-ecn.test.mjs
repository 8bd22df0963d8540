// ECN for TCP (RFC 3168 6.1; assembly/tcp/ecn.ts): negotiation for each tcpEcn value, the
// exact control bits and IP ECN field of each segment, the receiver's ECE latch until CWR,
// and the sender's once-per-window reduction. Frames go through the real ABI, virtual clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, PeerConn, InfoFlag } from './helpers/tcp-stack.mjs';
import { ipv4Frame, tcpSegment, ipAddress, PEER_IP, PEER_MAC } from '../dist/testing/frames.js';
import { resolveOptions } from '../dist/stack/options.js';
import { MemoryLink } from '../dist/index.js';
import { Offload } from './support/wasm-stack.mjs';
import { descAt, writeRx } from './helpers/descriptors.mjs';

const MSS = 1460;
const NOT_ECT = 0;
const ECT0 = 2;
const CE = 3;
const PORT = 80;
const PEER_PORT = 40000;
const PEER_ISN = 1000;

/** The TOS byte of an Ethernet + IPv4 frame. */
const tosOf = (f) => f.raw[15];

/** `frame` with TOS byte `tos` and its IPv4 header checksum made right again. */
function withTos(frame, tos) {
  const f = Uint8Array.from(frame);
  f[15] = tos;
  f[24] = 0; f[25] = 0;
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const c = ~sum & 0xffff;
  f[24] = c >>> 8; f[25] = c & 0xff;
  return f;
}

const bytes = (n) => new Uint8Array(n).map((_, i) => i & 0xff);

function stack(tcpEcn) {
  // Without RACK-TLP (tcpRack 0): retransmissions come from the RTO at the times these tests
  // expect (tests/tcp-rack.test.mjs covers RACK-TLP).
  const s = new TestStack({ config: tcpEcn === undefined ? { tcpRack: 0 } : { tcpEcn, tcpRack: 0 } });
  s.learnPeer(PEER_IP, PEER_MAC);
  return s;
}

/** A listener gets a SYN with `synFlags`; returns the stack's answer and, after the ACK, the connection. */
function passive(s, synFlags) {
  const l = s.x.tcpListen(0, PORT, 0, 0, 0, 0);
  const syn = tcpSegment({ sport: PEER_PORT, dport: PORT, flags: synFlags, seq: PEER_ISN, win: 65535, options: { mss: MSS } });
  const out = s.input(ipv4Frame(syn));
  assert.is(out.length, 1);
  const synAck = out[0];
  const iss = synAck.tcp.seq;
  s.input(ipv4Frame(tcpSegment({ sport: PEER_PORT, dport: PORT, flags: 'A', seq: PEER_ISN + 1, ack: iss + 1, win: 65535 })));
  const h = s.x.tcpAccept(l);
  assert.ok(h >= 0);
  s.notified();
  return { synAck, c: new PeerConn(s, { port: PORT, peerPort: PEER_PORT, rcv: PEER_ISN + 1, snd: iss + 1, h, l }) };
}

/** Connects from the stack; the peer answers the SYN with `synAckFlags`. */
function active(s, synAckFlags) {
  const h = s.x.tcpConnect(ipAddress(PEER_IP), PORT, 0, 0, 0);
  const [syn] = s.poll();
  const iss = syn.tcp.seq;
  const out = s.input(ipv4Frame(tcpSegment({ sport: PORT, dport: syn.tcp.sport, flags: synAckFlags, seq: PEER_ISN, ack: iss + 1, win: 65535, options: { mss: MSS } })));
  assert.equal(out.map((f) => f.tcp.flags), ['A']);
  s.notified();
  return { syn, c: new PeerConn(s, { port: syn.tcp.sport, peerPort: PORT, rcv: PEER_ISN + 1, snd: iss + 1, h }) };
}

const ecnOn = (s, h) => (s.info(h).flags & InfoFlag.ECN) !== 0;

test('listener: ECN-setup SYN-ACK (ECE, no CWR, Not-ECT) only for an ECN-setup SYN and tcpEcn 1 or 2', () => {
  const cases = [
    // [tcpEcn, SYN flags, SYN-ACK flags, ECN in use]
    [0, 'SEC', 'SA', false],
    [1, 'SEC', 'SAE', true],
    [2, 'SEC', 'SAE', true],
    [2, 'S', 'SA', false],
    [2, 'SE', 'SA', false], // ECE alone is not an ECN-setup SYN (6.1.1)
    [2, 'SC', 'SA', false],
  ];
  for (const [tcpEcn, synFlags, synAckFlags, on] of cases) {
    const s = stack(tcpEcn);
    const { synAck, c } = passive(s, synFlags);
    assert.is(synAck.tcp.flags, synAckFlags, `tcpEcn ${tcpEcn}, SYN ${synFlags}`);
    assert.is(tosOf(synAck), NOT_ECT);
    assert.is(ecnOn(s, c.h), on);
    assert.is(s.counter('tcp.ecn.negotiated'), on ? 1 : 0);
  }
});

test('the default is tcpEcn 2: accept, never request', () => {
  const s = stack();
  const { syn } = active(s, 'SA');
  assert.is(syn.tcp.flags, 'S');
  const s2 = stack();
  assert.is(passive(s2, 'SEC').synAck.tcp.flags, 'SAE');
});

test('active open with tcpEcn 1: ECN-setup SYN; used only after a SYN-ACK with ECE and without CWR', () => {
  for (const [synAckFlags, on] of [['SAE', true], ['SAEC', false], ['SA', false], ['SAC', false]]) {
    const s = stack(1);
    const { syn, c } = active(s, synAckFlags);
    assert.is(syn.tcp.flags, 'SEC');
    assert.is(tosOf(syn), NOT_ECT);
    assert.is(ecnOn(s, c.h), on, `SYN-ACK ${synAckFlags}`);
  }
  const s = stack(2);
  const { syn, c } = active(s, 'SAE');
  assert.is(syn.tcp.flags, 'S');
  assert.is(ecnOn(s, c.h), false, 'a SYN-ACK with ECE answering a plain SYN does not turn ECN on');
});

test('SYN retransmissions drop ECE and CWR (RFC 3168 6.1.1.1, as Linux); the SYN-ACK keeps ECE', () => {
  const s = stack(1);
  s.x.tcpConnect(ipAddress(PEER_IP), PORT, 0, 0, 0);
  const [first] = s.poll(0);
  assert.is(first.tcp.flags, 'SEC');
  const [again] = s.poll(s.tcpDeadline());
  assert.is(again.tcp.flags, 'S');
  assert.is(again.tcp.seq, first.tcp.seq);

  const p = stack(1);
  p.x.tcpListen(0, PORT, 0, 0, 0, 0);
  const [synAck] = p.input(ipv4Frame(tcpSegment({ sport: PEER_PORT, dport: PORT, flags: 'SEC', seq: PEER_ISN, options: { mss: MSS } })), 0);
  assert.is(synAck.tcp.flags, 'SAE');
  const [rexmt] = p.poll(p.tcpDeadline());
  assert.is(rexmt.tcp.flags, 'SAE');
});

test('new data goes ECT(0); pure ACKs, retransmissions and probes go Not-ECT', () => {
  const s = stack(2);
  const { c } = passive(s, 'SEC');
  s.write(c.h, bytes(3 * MSS));
  const data = s.poll();
  assert.equal(data.map((f) => [f.tcp.payload.length, tosOf(f)]), [[MSS, ECT0], [MSS, ECT0], [MSS, ECT0]]);
  // Retransmission after the timeout: Not-ECT (6.1.5).
  const [rexmt] = s.poll(s.tcpDeadline());
  assert.equal([rexmt.tcp.seq, rexmt.tcp.payload.length, tosOf(rexmt)], [c.snd, MSS, NOT_ECT]);
  // Everything ACKed; the peer sends data; our pure ACK is Not-ECT (6.1.4).
  c.send({ flags: 'A', ack: c.snd + 3 * MSS });
  const acks = c.send({ flags: 'PA', ack: c.snd + 3 * MSS, payload: bytes(MSS) });
  const acks2 = c.send({ flags: 'PA', seq: c.rcv + MSS, ack: c.snd + 3 * MSS, payload: bytes(MSS) });
  const ack = [...acks, ...acks2].find((f) => f.tcp.payload.length === 0);
  assert.equal([ack.tcp.flags, tosOf(ack)], ['A', NOT_ECT]);
  // Zero-window probe: Not-ECT (6.1.6).
  c.send({ flags: 'A', seq: c.rcv + 2 * MSS, ack: c.snd + 3 * MSS, win: 0 });
  s.write(c.h, bytes(100));
  assert.is(s.poll().length, 0);
  const [probe] = s.poll(s.tcpDeadline());
  assert.is(probe.tcp.payload.length, 0);
  assert.is(tosOf(probe), NOT_ECT);
});

test('without ECN: data is Not-ECT, CE and ECE are ignored', () => {
  const s = stack(2);
  const { c } = passive(s, 'S');
  s.write(c.h, bytes(2 * MSS));
  assert.equal(s.poll().map(tosOf), [NOT_ECT, NOT_ECT]);
  const out = s.input(withTos(c.seg({ flags: 'PAE', ack: c.snd + MSS, payload: bytes(MSS) }), CE));
  assert.ok(out.every((f) => !f.tcp.flags.includes('E')));
  assert.is(s.counter('tcp.ecn.ce_received'), 0);
  assert.is(s.counter('tcp.ecn.ece_received'), 0);
  assert.is(s.info(c.h).cwnd, 14600, 'no reduction (and no growth: the flight did not use cwnd)');
});

test('receiver: CE sets ECE on every ACK until a segment with CWR arrives (6.1.3); the CE segment is ACKed at once', () => {
  const s = stack(2);
  const { c } = passive(s, 'SEC');
  let seq = c.rcv;
  const send = (flags, tos) => {
    const out = s.input(withTos(c.seg({ flags, seq, payload: bytes(100) }), tos));
    seq += 100;
    return out;
  };
  const first = send('PA', CE);
  assert.equal(first.map((f) => [f.tcp.flags, f.tcp.ack, tosOf(f)]), [['AE', seq, NOT_ECT]]);
  assert.is(s.counter('tcp.ecn.ce_received'), 1);
  // ECT(0) data afterwards: the delayed ACK still echoes.
  assert.is(send('PA', ECT0).length, 0);
  const [delayed] = s.poll(s.tcpDeadline());
  assert.equal([delayed.tcp.flags, delayed.tcp.ack], ['AE', seq]);
  // Our own data carries ECE too.
  s.write(c.h, bytes(10));
  const [data] = s.poll();
  assert.equal([data.tcp.flags, tosOf(data)], ['PAE', ECT0]);
  // CWR ends the echo.
  assert.is(send('PAC', ECT0).length, 0);
  assert.is(s.counter('tcp.ecn.cwr_received'), 1);
  const [after] = s.poll(s.tcpDeadline());
  assert.equal([after.tcp.flags, after.tcp.ack], ['A', seq]);
  // CE on the CWR segment itself keeps it going.
  const again = send('PAC', CE);
  assert.equal(again.map((f) => f.tcp.flags), ['AE']);
});

test('sender: ECE reduces cwnd once per window (6.1.2), CWR on the next new data segment only', () => {
  const s = stack(2);
  const { c } = passive(s, 'SEC');
  s.write(c.h, bytes(40 * MSS));
  const burst = s.poll();
  assert.is(burst.length, 10);
  assert.ok(burst.every((f) => f.tcp.flags === 'A' && tosOf(f) === ECT0));
  // ACK of the first segment with ECE: ssthresh = max(FlightSize / 2, 2 SMSS) with FlightSize
  // 13140 after the ACK -> 6570 = cwnd (NewReno, RFC 3168 6.1.2).
  const out1 = c.send({ flags: 'AE', ack: c.snd + MSS });
  assert.is(s.info(c.h).cwnd, 6570);
  assert.is(s.counter('tcp.ecn.ece_received'), 1);
  assert.is(s.counter('tcp.ecn.cwnd_reductions'), 1);
  assert.is(out1.length, 0, 'the flight (13140) is above the new cwnd: nothing goes');
  // More ECE ACKs inside the same window: no further reduction; congestion avoidance goes on
  // (5 * 1460 acked >= cwnd: + 1 SMSS, RFC 3465 2.1).
  const out = [];
  for (let i = 2; i <= 6; i++) out.push(...c.send({ flags: 'AE', ack: c.snd + i * MSS }));
  assert.is(s.counter('tcp.ecn.ece_received'), 6);
  assert.is(s.counter('tcp.ecn.cwnd_reductions'), 1);
  assert.is(s.info(c.h).cwnd, 6570 + MSS);
  // Once the flight is below cwnd new data goes: the first segment carries CWR, no other does.
  for (let i = 7; i <= 10; i++) out.push(...c.send({ flags: 'AE', ack: c.snd + i * MSS }));
  assert.equal(out.map((f) => [f.tcp.seq - c.snd, f.tcp.flags, tosOf(f)]),
    [[10 * MSS, 'AC', ECT0], [11 * MSS, 'A', ECT0], [12 * MSS, 'A', ECT0], [13 * MSS, 'A', ECT0], [14 * MSS, 'A', ECT0]]);
  assert.is(s.counter('tcp.ecn.cwr_sent'), 1);
  assert.is(s.counter('tcp.ecn.cwnd_reductions'), 1, 'ACKs up to the data sent before the reduction never reduce again');
  // An ECE on an ACK that covers data sent after the reduction: a new window, a new reduction.
  c.send({ flags: 'AE', ack: c.snd + 11 * MSS });
  assert.is(s.counter('tcp.ecn.cwnd_reductions'), 2);
});

test('with TSO, the segment that carries CWR leaves on its own; the rest go as TSO frames without CWR', () => {
  const s = new TestStack({ config: { offloads: Offload.TX_TSO, txSlotSize: 65536 + 128 } });
  s.learnPeer(PEER_IP, PEER_MAC);
  // Raw frames: a TSO frame's TCP checksum is the port's to finish, so no parseFrame here.
  const dv = (f) => new DataView(f.buffer, f.byteOffset);
  const raw = (m) => s.takeTx(m).map((f) => ({
    seq: dv(f).getUint32(14 + 20 + 4), flags: f[14 + 20 + 13], tos: f[15],
    payload: dv(f).getUint16(16) - 20 - (f[14 + 20 + 12] >> 4) * 4,
  }));
  const feed = (frame) => {
    writeRx(s.mem, descAt(s.x.rxDescBase(), 0), frame, 0);
    return raw(s.x.input(1, s.now));
  };
  const l = s.x.tcpListen(0, PORT, 0, 0, 0, 0);
  const [synAck] = feed(ipv4Frame(tcpSegment({ sport: PEER_PORT, dport: PORT, flags: 'SEC', seq: PEER_ISN, options: { mss: MSS } })));
  assert.is(synAck.flags, 0x12 | 0x40); // SYN ACK ECE
  const snd = synAck.seq + 1;
  const c = new PeerConn(s, { port: PORT, peerPort: PEER_PORT, rcv: PEER_ISN + 1, snd, l });
  feed(c.seg({ flags: 'A' }));
  c.h = s.x.tcpAccept(l);
  s.write(c.h, bytes(60 * MSS));
  const burst = raw(s.x.poll(s.now));
  assert.equal(burst.map((f) => [f.payload, f.tos]), [[10 * MSS, ECT0]], 'the initial window as one TSO frame');
  // ECE on the ACK of the whole burst: FlightSize is 0 after it, so cwnd = ssthresh = 2 SMSS.
  // Without the rule both segments would leave as one TSO frame, CWR copied onto each piece.
  const out = feed(c.seg({ flags: 'AE', ack: snd + 10 * MSS }));
  assert.is(s.counter('tcp.ecn.cwnd_reductions'), 1);
  assert.equal(out.map((f) => [f.seq - snd, f.payload, f.flags & 0x80]), [[10 * MSS, MSS, 0x80], [11 * MSS, MSS, 0]]);
});

test('no ECN reaction during loss recovery (the window was reduced already)', () => {
  const s = stack(2);
  const { c } = passive(s, 'SEC');
  s.write(c.h, bytes(20 * MSS));
  assert.is(s.poll().length, 10);
  for (let i = 0; i < 3; i++) c.send({ flags: 'A', ack: c.snd });
  assert.is(s.counter('tcp.fast_retransmit'), 1);
  const cwnd = s.info(c.h).cwnd;
  c.send({ flags: 'AE', ack: c.snd });
  assert.is(s.counter('tcp.ecn.ece_received'), 1);
  assert.is(s.counter('tcp.ecn.cwnd_reductions'), 0);
  assert.is(s.info(c.h).cwnd, cwnd + MSS, 'only the fast recovery inflation of a duplicate ACK');
});

test('options.tcp.ecn maps to the tcpEcn slot; other values are refused with ERR_OUT_OF_RANGE', () => {
  const base = { link: MemoryLink.pair()[0], address: '10.0.0.1/24' };
  for (const ecn of [0, 1, 2]) assert.is(resolveOptions({ ...base, tcp: { ecn } }).slots.get('tcpEcn'), ecn);
  assert.is(resolveOptions(base).slots.get('tcpEcn'), undefined, 'unset: the stack default (2)');
  for (const ecn of [3, -1, true, '1']) {
    try {
      resolveOptions({ ...base, tcp: { ecn } });
      assert.unreachable(`ecn ${ecn} accepted`);
    } catch (e) {
      assert.is(e.code, 'ERR_OUT_OF_RANGE');
      assert.match(e.message, /options\.tcp\.ecn must be 0 \(off\), 1 \(request and accept\) or 2 \(accept only\)/);
    }
  }
});

test.run();
