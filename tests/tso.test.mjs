// TCP segmentation offload: when the port segments TCP (offloads has TX_TSO), new data that the
// windows allow for two or more full segments leaves as one frame of whole segments with the
// TSO descriptor fields set; the port's cut (emulated here as DPDK documents it) gives exactly
// the segments the software path sends. Retransmissions stay single segments; the software
// path is untouched; the host sizes TX slots for TSO when the link announces it.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, openPassive } from './helpers/tcp-stack.mjs';
import { parseFrame, internetChecksum, pseudoHeaderSum, ipAddress as ipToInt, PEER_IP, STACK_IP } from '../dist/testing/frames.js';
import { TxFlag, Offload } from './support/wasm-stack.mjs';
import { descAt, readDesc, writeRx } from './helpers/descriptors.mjs';
import { resolveOptions } from '../dist/stack/options.js';

const TSO_SLOT = 65536 + 128;
const MSS = 1460;
const T0 = 1_000_000;

function tsoStack(config = {}) {
  // TX_TSO alone: single segments keep their software checksum, so the handshake helpers can
  // check them; TSO frames carry the pseudo-header sum for the port.
  const s = new TestStack({ config: { offloads: Offload.TX_TSO, txSlotSize: TSO_SLOT, ...config } });
  s.now = T0;
  return s;
}

/** Raw TX descriptors of the last burst of `m` frames (copies of the bytes). */
function descriptors(s, m) {
  const base = s.x.txDescBase();
  return Array.from({ length: m }, (_, i) => readDesc(s.mem, descAt(base, i)));
}

const pollRaw = (s, nowUs = s.now) => { s.now = nowUs; return descriptors(s, s.x.poll(nowUs)); };
const inputRaw = (s, frame, nowUs = s.now) => {
  s.now = nowUs;
  writeRx(s.mem, descAt(s.x.rxDescBase(), 0), frame);
  return descriptors(s, s.x.input(1, nowUs));
};

/** TCP pseudo-header sum (RFC 9293 3.1) folded to 16 bits; `len` 0 as DPDK wants it for TSO. */
const pseudoFolded = (src, dst, len) => pseudoHeaderSum(src, dst, 6, len);

/**
 * What a port does with a descriptor (DPDK RTE_MBUF_F_TX_TCP_SEG / TCP_CKSUM): cut the payload
 * into tsoMss pieces, each with the headers copied, IPv4 total length, identification + i and
 * checksum rewritten, sequence number advanced, PSH/FIN only on the last piece, and the TCP
 * checksum completed from the pseudo-header sum the stack left in the field. Returns parsed
 * frames (parseFrame checks both checksums).
 */
function portSegments(d) {
  const b = d.bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ip = d.l2;
  const t = d.l2 + d.l3;
  const hdr = t + d.l4;
  const src = dv.getUint32(ip + 12);
  const dst = dv.getUint32(ip + 16);
  const payload = b.length - hdr;
  const mss = (d.flags & TxFlag.TSO) !== 0 ? d.tsoMss : payload;
  const count = Math.max(1, Math.ceil(payload / mss));
  const out = [];
  for (let i = 0; i < count; i++) {
    const n = Math.min(mss, payload - i * mss);
    const f = new Uint8Array(hdr + n);
    f.set(b.subarray(0, hdr));
    f.set(b.subarray(hdr + i * mss, hdr + i * mss + n), hdr);
    const fv = new DataView(f.buffer);
    fv.setUint16(ip + 2, d.l3 + d.l4 + n);
    fv.setUint16(ip + 4, (dv.getUint16(ip + 4) + i) & 0xffff);
    fv.setUint16(ip + 10, 0);
    fv.setUint16(ip + 10, internetChecksum(f.subarray(ip, ip + d.l3)));
    fv.setUint32(t + 4, (dv.getUint32(t + 4) + i * mss) >>> 0);
    if (i < count - 1) f[t + 13] &= ~0x09; // FIN and PSH stay on the last piece
    if ((d.flags & TxFlag.TCP_CSUM) !== 0) {
      fv.setUint16(t + 16, 0);
      fv.setUint16(t + 16, internetChecksum(f.subarray(t), pseudoFolded(src, dst, d.l4 + n)));
    }
    out.push(parseFrame(f));
  }
  return out;
}

function pattern(n) {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + (i >>> 8) * 7) & 0xff;
  return b;
}

test('64 KiB over a TSO port: frames of whole MSS segments, exact descriptors, the peer gets every byte', () => {
  const s = tsoStack();
  const c = openPassive(s, { options: { mss: MSS } });
  const data = pattern(65536);
  assert.is(s.write(c.h, data), 65536);
  const received = [];
  let next = c.snd;
  let frames = 0;
  let segments = 0;
  let sawTso = false;
  let burst = pollRaw(s, T0);
  for (let round = 1; next !== c.snd + 65536; round++) {
    assert.ok(round < 50, 'transfer did not finish');
    for (const d of burst) {
      const hdrLen = 14 + 20 + 20;
      const payload = d.len - hdrLen;
      if ((d.flags & TxFlag.TSO) !== 0) {
        sawTso = true;
        assert.equal([d.l2, d.l3, d.l4, d.tsoMss], [14, 20, 20, MSS]);
        assert.is(d.flags, TxFlag.IPV4 | TxFlag.TCP_CSUM | TxFlag.TSO);
        assert.is(payload % MSS, 0);
        assert.ok(payload >= 2 * MSS && payload <= 65535 - 40, `TSO payload ${payload}`);
        const dv = new DataView(d.bytes.buffer);
        // DPDK's TSO convention: the TCP checksum field holds the pseudo-header sum without length.
        assert.is(dv.getUint16(34 + 16), pseudoFolded(ipToInt(STACK_IP), ipToInt(PEER_IP), 0));
        assert.is(dv.getUint16(14 + 2), 20 + 20 + payload); // IPv4 total length of the whole frame
        frames++;
        segments += payload / MSS;
      } else {
        assert.is(d.tsoMss, 0);
        assert.ok(payload <= MSS);
      }
      for (const f of portSegments(d)) {
        assert.ok(f.tcp.payload.length <= MSS);
        assert.is(f.tcp.seq, next);
        assert.is(f.tcp.flags, next + f.tcp.payload.length === c.snd + 65536 ? 'PA' : 'A');
        received.push(f.tcp.payload);
        next = (next + f.tcp.payload.length) >>> 0;
      }
    }
    // The peer acknowledges the whole range it has: the next window of data follows.
    burst = inputRaw(s, c.seg({ ack: next }), T0 + round * 1000);
  }
  assert.ok(sawTso);
  assert.equal(Buffer.concat(received), Buffer.from(data));
  assert.is(s.counter('tcp.tx.tso_frames'), frames);
  assert.is(s.counter('tcp.tx.tso_segments'), segments);
  assert.is(s.info(c.h).bytesOut, 65536);
  assert.is(s.info(c.h).unsent, 0);
});

test('the first flight is one TSO frame of the initial window; a lost one is retransmitted as plain MSS segments', () => {
  // Without RACK-TLP (tcpRack 0): the loss is repaired by the RTO this test expects.
  const s = tsoStack({ tcpRack: 0 });
  const c = openPassive(s, { options: { mss: MSS } });
  const data = pattern(20 * MSS);
  s.write(c.h, data);
  const first = pollRaw(s, T0);
  // IW = 10 segments (RFC 6928): one frame of ten.
  assert.is(first.length, 1);
  assert.equal([first[0].flags & TxFlag.TSO, first[0].tsoMss, first[0].len], [TxFlag.TSO, MSS, 54 + 10 * MSS]);
  // The frame is lost: the retransmission timer (1 s initial RTO, RFC 6298 2.1) fires; the
  // peer then acknowledges whatever arrives until the lost range is whole again.
  let at = s.tcpDeadline();
  let out = pollRaw(s, at);
  const resent = [];
  for (let round = 0; ; round++) {
    assert.ok(round < 20, 'recovery did not finish');
    assert.ok(out.length > 0, 'nothing retransmitted');
    for (const d of out) {
      for (const f of portSegments(d)) {
        if (f.tcp.seq - c.snd >= 10 * MSS) continue; // new data after the lost range
        assert.equal([d.flags & TxFlag.TSO, d.tsoMss], [0, 0]);
        resent.push(f);
      }
    }
    const acked = Math.max(...resent.map((f) => f.tcp.seq + f.tcp.payload.length));
    if (acked === c.snd + 10 * MSS) break;
    at += 1000;
    out = inputRaw(s, c.seg({ ack: acked }), at);
  }
  const seqs = resent.map((f) => f.tcp.seq - c.snd);
  assert.equal(seqs, Array.from({ length: 10 }, (_, i) => i * MSS));
  assert.ok(resent.every((f) => f.tcp.payload.length === MSS));
  assert.equal(Buffer.concat(resent.map((f) => f.tcp.payload)), Buffer.from(data.subarray(0, 10 * MSS)));
  assert.is(s.counter('tcp.tx.retransmits'), 10);
});

test('PSH only where the queue empties; the short remainder waits for Nagle as before', () => {
  const s = tsoStack();
  const c = openPassive(s, { options: { mss: MSS } });
  s.write(c.h, pattern(3 * MSS + 100));
  const out = pollRaw(s, T0);
  assert.is(out.length, 1);
  assert.equal([out[0].tsoMss, out[0].len], [MSS, 54 + 3 * MSS]);
  assert.equal(portSegments(out[0]).map((f) => f.tcp.flags), ['A', 'A', 'A']);
  // Nagle (RFC 1122 4.2.3.4): the 100 bytes go once the outstanding data is acknowledged.
  const after = inputRaw(s, c.seg({ ack: c.snd + 3 * MSS }), T0 + 1000);
  assert.equal(after.map((d) => [d.flags & TxFlag.TSO, d.len]), [[0, 54 + 100]]);
  assert.equal(portSegments(after[0]).map((f) => [f.tcp.seq - c.snd, f.tcp.flags]), [[3 * MSS, 'PA']]);
  // Writing exactly two segments: one TSO frame carrying PSH, which the port keeps on the last piece.
  inputRaw(s, c.seg({ ack: c.snd + 3 * MSS + 100 }), T0 + 2000);
  s.write(c.h, pattern(2 * MSS));
  const two = pollRaw(s, T0 + 3000);
  assert.equal(two.map((d) => [d.tsoMss, d.len]), [[MSS, 54 + 2 * MSS]]);
  assert.equal(portSegments(two[0]).map((f) => f.tcp.flags), ['A', 'PA']);
});

test('frame bounded by the TX slot, the peer window and a small MSS; timestamps shrink the piece size', () => {
  // 8192-byte slots hold 8192 - 54 = 8138 payload bytes: five segments of 1460.
  const s = tsoStack({ txSlotSize: 8192 });
  const c = openPassive(s, { options: { mss: MSS } });
  s.write(c.h, pattern(10 * MSS));
  assert.equal(pollRaw(s, T0).map((d) => [d.tsoMss, d.len]), [[MSS, 54 + 5 * MSS], [MSS, 54 + 5 * MSS]]);

  // A peer window of 1.5 segments allows one plain segment only.
  const w = tsoStack();
  const cw = openPassive(w, { options: { mss: MSS }, win: 2190 });
  w.write(cw.h, pattern(10 * MSS));
  assert.equal(pollRaw(w, T0).map((d) => [d.flags & TxFlag.TSO, d.len]), [[0, 54 + MSS]]);

  // A peer MSS below 256: ports refuse such a TSO segment size, so single segments go.
  const m = tsoStack();
  const cm = openPassive(m, { options: { mss: 200 } });
  m.write(cm.h, pattern(10 * 200));
  assert.equal(pollRaw(m, T0).map((d) => [d.flags & TxFlag.TSO, d.len]), Array(10).fill([0, 54 + 200]));

  // With timestamps each piece carries 12 option bytes: pieces of 1448, header 66.
  const t = tsoStack();
  const ct = openPassive(t, { options: { mss: MSS, ts: [100, 0] } });
  t.write(ct.h, pattern(4 * 1448));
  const d = pollRaw(t, T0);
  assert.equal(d.map((x) => [x.l4, x.tsoMss, x.len]), [[32, 1448, 66 + 4 * 1448]]);
  assert.equal(portSegments(d[0]).map((f) => [f.tcp.payload.length, f.tcp.options.ts !== undefined]),
    [[1448, true], [1448, true], [1448, true], [1448, true]]);
});

test('port TSO limits: pieces and their headers fit tsoMaxWirePacket, at most tsoMaxSegments per frame', () => {
  // As net_tap at MTU 1500: 14 + 20 + 32 (TCP with timestamps) + piece <= 1500, so 1434.
  const s = tsoStack({ tsoMaxWirePacket: 1500, tsoMaxSegments: 3 });
  const c = openPassive(s, { options: { mss: MSS, ts: [100, 0] } });
  s.write(c.h, pattern(6 * 1434));
  const d = pollRaw(s, T0);
  assert.equal(d.map((x) => [x.flags & TxFlag.TSO, x.tsoMss, x.len]),
    [[TxFlag.TSO, 1434, 66 + 3 * 1434], [TxFlag.TSO, 1434, 66 + 3 * 1434]]);
  for (const x of d) {
    assert.equal(portSegments(x).map((f) => 66 + f.tcp.payload.length), [1500, 1500, 1500], 'each piece is exactly the wire limit');
  }
  assert.is(s.counter('tcp.tx.tso_segments'), 6);
});

test('without TX_TSO the same write leaves as single segments (software path)', () => {
  const s = new TestStack({ config: { txSlotSize: TSO_SLOT } });
  s.now = T0;
  const c = openPassive(s, { options: { mss: MSS } });
  s.write(c.h, pattern(10 * MSS));
  const out = pollRaw(s, T0);
  assert.equal(out.map((d) => [d.flags, d.tsoMss, d.len]), Array(10).fill([TxFlag.IPV4, 0, 54 + MSS]));
  assert.is(s.counter('tcp.tx.tso_frames'), 0);
});

test('host options: a link with TX_TSO gets 65536 + 128 byte TX slots unless rings are set', () => {
  const noop = () => {};
  const link = {
    kind: 'dpdk', mtu: 1500, offloads: Offload.TX_TSO | Offload.TX_TCP_CSUM, polled: true,
    attach: noop, receive: noop, transmit: noop, pendingUs: () => -1, close: noop,
  };
  const base = { link, address: '10.0.0.1/24' };
  assert.is(resolveOptions(base).slots.get('txSlotSize'), TSO_SLOT);
  assert.is(resolveOptions(base).slots.get('rxSlotSize'), 2048);
  assert.is(resolveOptions({ ...base, rings: { txSlots: 128 } }).slots.get('txSlotSize'), 2048);
  assert.is(resolveOptions({ ...base, link: { ...link, offloads: Offload.TX_TCP_CSUM } }).slots.get('txSlotSize'), 2048);
});

test('host options: the link\'s TSO limits reach the stack; tso: false hides TSO, keeps checksum offloads', () => {
  const noop = () => {};
  const link = {
    kind: 'dpdk', mtu: 1500, offloads: Offload.TX_TSO | Offload.TX_TCP_CSUM, polled: true,
    tsoLimits: { maxWirePacket: 1500, maxSegments: 32 },
    attach: noop, receive: noop, transmit: noop, pendingUs: () => -1, close: noop,
  };
  const on = resolveOptions({ link, address: '10.0.0.1/24' }).slots;
  assert.equal([on.get('offloads'), on.get('tsoMaxWirePacket'), on.get('tsoMaxSegments')], [Offload.TX_TSO | Offload.TX_TCP_CSUM, 1500, 32]);
  const off = resolveOptions({ link, address: '10.0.0.1/24', tso: false }).slots;
  assert.equal([off.get('offloads'), off.get('txSlotSize'), off.get('tsoMaxWirePacket')], [Offload.TX_TCP_CSUM, 2048, undefined]);
  assert.throws(() => resolveOptions({ link, address: '10.0.0.1/24', tso: 'no' }), /options\.tso must be a boolean/);
});

test.run();
