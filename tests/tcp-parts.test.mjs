// The TCP building blocks, through the test-only module build/tcpparts-test.wasm
// (assembly/testing/tcpparts.ts): options parse/emit, SipHash, ISNs, ephemeral ports, the
// buffer slab, byte rings, reassembly, RTT estimation and NewReno. Every check is on exact
// values; randomised checks use a fixed seed and compare against a small JS model.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixture } from './helpers/fixtures.mjs';
import { loadParts } from './support/tcpparts.mjs';

/** A fresh instance with config overrides (slot names), initialised. */
const load = loadParts;

/** Deterministic PRNG for the tests (mulberry32). */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n) => Math.floor(next() * n) };
}

// ---------------------------------------------------------------- wire/tcp.ts

const fixtureFrames = fixture('tcp-linux-handshake').map((f) => Buffer.from(f));
/** TCP segment of a fixture frame (Ethernet 14 + IPv4 header). */
function tcpOf(frame) {
  const ihl = (frame[14] & 0x0f) * 4;
  return frame.subarray(14 + ihl);
}

const HAS = { MSS: 1, WSCALE: 2, SACK_PERM: 4, SACK: 8, TS: 16, FASTOPEN: 32 };
const FLAGS = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 };
const OPT_ERR = { OK: 0, SHORT_LENGTH: -1, OVERRUN: -2, BAD_LENGTH: -3 };

/** TcpOptions field offsets (wire/tcp.ts: eight u32 then SACK pairs). */
function readOptions(s) {
  const dv = s.dv();
  const p = s.x.optionsPtr();
  const o = {
    present: dv.getUint32(p, true), mss: dv.getUint32(p + 4, true), wscale: dv.getUint32(p + 8, true),
    tsVal: dv.getUint32(p + 12, true), tsEcr: dv.getUint32(p + 16, true), sackCount: dv.getUint32(p + 20, true),
    sack: [],
  };
  for (let i = 0; i < o.sackCount; i++) o.sack.push([dv.getUint32(p + 24 + i * 8, true), dv.getUint32(p + 28 + i * 8, true)]);
  return o;
}
function writeOptions(s, o) {
  const dv = s.dv();
  const p = s.x.optionsPtr();
  dv.setUint32(p, o.present, true);
  dv.setUint32(p + 4, o.mss ?? 0, true);
  dv.setUint32(p + 8, o.wscale ?? 0, true);
  dv.setUint32(p + 12, o.tsVal ?? 0, true);
  dv.setUint32(p + 16, o.tsEcr ?? 0, true);
  const sack = o.sack ?? [];
  dv.setUint32(p + 20, sack.length, true);
  sack.forEach(([l, r], i) => { dv.setUint32(p + 24 + i * 8, l, true); dv.setUint32(p + 28 + i * 8, r, true); });
}
function parseBytes(s, bytes) {
  const at = s.x.scratchPtr();
  s.u8().set(bytes, at);
  const check = s.x.tcpCheckHeader(at, bytes.length);
  if (check !== 0) return { check };
  const hl = (bytes[12] >> 4) * 4;
  return { check, code: s.x.tcpParseOptions(at, hl, s.x.optionsPtr()), options: readOptions(s) };
}
/** A 20-byte header followed by `opts` (length a multiple of 4). */
function headerWith(opts) {
  const h = Buffer.alloc(20 + opts.length);
  h[12] = ((20 + opts.length) / 4) << 4;
  Buffer.from(opts).copy(h, 20);
  return h;
}

test('header: every field of the Linux SYN deconstructed; a constructed header reads back', () => {
  const s = load();
  const at = s.x.scratchPtr();
  s.u8().set(tcpOf(fixtureFrames[0]), at);
  const fields = (p) => [s.x.segSrcPort(p), s.x.segDstPort(p), s.x.segSeq(p) >>> 0, s.x.segAck(p) >>> 0,
    s.x.segHeaderLen(p), s.x.segFlags(p), s.x.segWindow(p), s.x.segChecksum(p), s.x.segUrgent(p)];
  assert.equal(fields(at), [49224, 8080, 0xfd5626bb, 0, 40, FLAGS.SYN, 64240, 0x14cb, 0]);
  const out = at + 1024;
  s.u8().fill(0xee, out, out + 60);
  s.x.tcpWriteHeader(out, 65535, 1, 0xffffffff, 0x80000001, 24, 0xff, 0xabcd);
  s.x.segSetChecksum(out, 0x1234);
  assert.equal(fields(out), [65535, 1, 0xffffffff, 0x80000001, 24, 0xff, 0xabcd, 0x1234, 0]);
  assert.is(Buffer.from(s.u8().subarray(out, out + 21)).toString('hex'), 'ffff0001ffffffff8000000160ffabcd1234000' + '0ee');
});

test('options: Linux SYN parses to MSS 1460, SACK-permitted, TS, wscale 10', () => {
  const s = load();
  const syn = tcpOf(fixtureFrames[0]);
  const r = parseBytes(s, syn);
  assert.is(r.check, 0);
  assert.is(r.code, OPT_ERR.OK);
  assert.equal(r.options, {
    present: HAS.MSS | HAS.SACK_PERM | HAS.TS | HAS.WSCALE, mss: 1460, wscale: 10,
    tsVal: 1181993973, tsEcr: 0, sackCount: 0, sack: [],
  });
  const synAck = parseBytes(s, tcpOf(fixtureFrames[1])).options;
  assert.is(synAck.tsVal, 1507927664);
  assert.is(synAck.tsEcr, 1181993973);
  const ack = parseBytes(s, tcpOf(fixtureFrames[2])).options;
  assert.equal(ack, { present: HAS.TS, mss: 0, wscale: 0, tsVal: 1181993973, tsEcr: 1507927664, sackCount: 0, sack: [] });
});

test('options: emitting the parsed SYN and ACK gives Linux\'s bytes (checksum left 0)', () => {
  const s = load();
  for (const [index, flags, window] of [[0, FLAGS.SYN, 64240], [1, FLAGS.SYN | FLAGS.ACK, 65160], [2, FLAGS.ACK, 63]]) {
    const seg = tcpOf(fixtureFrames[index]);
    const hl = (seg[12] >> 4) * 4;
    parseBytes(s, seg); // leaves the parsed options in the struct
    const out = s.x.scratchPtr() + 4096;
    const n = s.x.tcpEmit(out, seg.readUInt16BE(0), seg.readUInt16BE(2), seg.readUInt32BE(4), seg.readUInt32BE(8),
      flags, window, s.x.optionsPtr());
    assert.is(n, hl);
    const expected = Buffer.from(seg.subarray(0, hl));
    expected.writeUInt16BE(0, 16);
    assert.equal(Buffer.from(s.u8().subarray(out, out + n)).toString('hex'), expected.toString('hex'));
  }
});

test('options: SYN layouts without timestamps or SACK follow Linux (NOP padding, 4-byte aligned)', () => {
  const s = load();
  const out = s.x.scratchPtr();
  const emit = (o) => {
    writeOptions(s, o);
    const n = s.x.tcpWriteOptions(out, s.x.optionsPtr(), 1);
    return Buffer.from(s.u8().subarray(out, out + n)).toString('hex');
  };
  assert.is(emit({ present: HAS.MSS | HAS.SACK_PERM | HAS.WSCALE, mss: 1460, wscale: 7 }), '020405b4' + '01010402' + '01030307');
  assert.is(emit({ present: HAS.MSS | HAS.TS, mss: 536, tsVal: 1, tsEcr: 2 }), '02040218' + '0101080a0000000100000002');
  assert.is(emit({ present: HAS.MSS | HAS.WSCALE, mss: 1460, wscale: 15 }), '020405b4' + '0103030e');
  assert.is(emit({ present: 0 }), '');
});

test('options: data-segment SACK blocks, 3 with timestamps and 4 without, round-trip', () => {
  const s = load();
  const blocks = [[1000, 2000], [3000, 4000], [0xfffffff0, 16], [5000, 6000]];
  const seg = s.x.scratchPtr() + 8192;
  writeOptions(s, { present: HAS.TS | HAS.SACK, tsVal: 7, tsEcr: 9, sack: blocks });
  let hl = s.x.tcpEmit(seg, 1, 2, 3, 4, FLAGS.ACK, 100, s.x.optionsPtr());
  assert.is(hl, 20 + 12 + 4 + 24);
  assert.is(Buffer.from(s.u8().subarray(seg + 20, seg + 36)).toString('hex'), '0101080a0000000700000009' + '0101051a');
  let back = parseBytes(s, Buffer.from(s.u8().subarray(seg, seg + hl))).options;
  assert.equal(back.sack, blocks.slice(0, 3));
  assert.is(back.present, HAS.TS | HAS.SACK);
  writeOptions(s, { present: HAS.SACK, sack: blocks });
  hl = s.x.tcpEmit(seg, 1, 2, 3, 4, FLAGS.ACK, 100, s.x.optionsPtr());
  assert.is(hl, 20 + 4 + 32);
  back = parseBytes(s, Buffer.from(s.u8().subarray(seg, seg + hl))).options;
  assert.equal(back.sack, blocks);
});

test('options: malformed lists of every kind are rejected with their reason', () => {
  const s = load();
  const cases = [
    ['MSS length 1', [2, 1, 0, 0], OPT_ERR.SHORT_LENGTH],
    ['unknown kind length 0', [99, 0, 0, 0], OPT_ERR.SHORT_LENGTH],
    ['kind in the last byte, no length', [1, 1, 1, 2], OPT_ERR.SHORT_LENGTH],
    ['MSS running past the header', [2, 10, 5, 180], OPT_ERR.OVERRUN],
    ['unknown kind running past the header', [254, 8, 0, 0], OPT_ERR.OVERRUN],
    ['TS running past the header', [1, 1, 8, 10, 0, 0, 0, 0], OPT_ERR.OVERRUN],
    ['MSS length 3', [2, 3, 5, 1], OPT_ERR.BAD_LENGTH],
    ['MSS length 6', [2, 6, 5, 180, 0, 0, 0, 0], OPT_ERR.BAD_LENGTH],
    ['wscale length 4', [3, 4, 7, 0], OPT_ERR.BAD_LENGTH],
    ['wscale length 2', [3, 2, 1, 1], OPT_ERR.BAD_LENGTH],
    ['SACK-permitted length 3', [4, 3, 0, 0], OPT_ERR.BAD_LENGTH],
    ['SACK-permitted length 4', [4, 4, 0, 0], OPT_ERR.BAD_LENGTH],
    ['SACK with no block', [5, 2, 1, 1], OPT_ERR.BAD_LENGTH],
    ['SACK length 9', [5, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], OPT_ERR.BAD_LENGTH],
    ['TS length 8', [8, 8, 0, 0, 0, 0, 0, 0], OPT_ERR.BAD_LENGTH],
    ['TS length 11', [8, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], OPT_ERR.BAD_LENGTH],
  ];
  for (const [what, opts, code] of cases) {
    const r = parseBytes(s, headerWith(opts));
    assert.is(r.code, code, what);
  }
});

test('options: unknown kinds skipped by length, EOL ends the list, repeated option overrides, wscale clamped', () => {
  const s = load();
  let r = parseBytes(s, headerWith([254, 4, 0xaa, 0xbb, 2, 4, 5, 180]));
  assert.is(r.code, 0);
  assert.is(r.options.present, HAS.MSS);
  assert.is(r.options.mss, 1460);
  r = parseBytes(s, headerWith([2, 4, 5, 180, 0, 0xff, 0xff, 0xff]));
  assert.is(r.code, 0);
  assert.is(r.options.present, HAS.MSS);
  r = parseBytes(s, headerWith([2, 4, 5, 180, 2, 4, 2, 24]));
  assert.is(r.options.mss, 536);
  r = parseBytes(s, headerWith([1, 3, 3, 200]));
  assert.is(r.options.present, HAS.WSCALE);
  assert.is(r.options.wscale, 14);
  r = parseBytes(s, headerWith([]));
  assert.is(r.code, 0);
  assert.is(r.options.present, 0);
});

test('header: truncated segments and bad data offsets are rejected', () => {
  const s = load();
  const h = headerWith([1, 1, 1, 1]);
  const at = s.x.scratchPtr();
  s.u8().set(h, at);
  assert.is(s.x.tcpCheckHeader(at, 19), -1);
  assert.is(s.x.tcpCheckHeader(at, 23), -2); // data offset 6 words, 23 bytes
  assert.is(s.x.tcpCheckHeader(at, 24), 0);
  s.u8()[at + 12] = 4 << 4;
  assert.is(s.x.tcpCheckHeader(at, 24), -2);
  s.u8()[at + 12] = 15 << 4;
  assert.is(s.x.tcpCheckHeader(at, 59), -2);
  assert.is(s.x.tcpCheckHeader(at, 60), 0);
});

/** Reference option parser (the rules of wire/tcp.ts, written independently). */
function modelParse(opts) {
  const o = { present: 0, mss: 0, wscale: 0, tsVal: 0, tsEcr: 0, sackCount: 0, sack: [] };
  const fixed = { 2: 4, 3: 3, 4: 2, 8: 10 };
  let i = 0;
  while (i < opts.length) {
    const kind = opts[i];
    if (kind === 0) break;
    if (kind === 1) { i++; continue; }
    if (i + 1 >= opts.length) return { code: -1 };
    const len = opts[i + 1];
    if (len < 2) return { code: -1 };
    if (i + len > opts.length) return { code: -2 };
    if (fixed[kind] !== undefined && len !== fixed[kind]) return { code: -3 };
    const b = Buffer.from(opts.slice(i, i + len));
    if (kind === 2) { o.mss = b.readUInt16BE(2); o.present |= HAS.MSS; }
    if (kind === 3) { o.wscale = Math.min(b[2], 14); o.present |= HAS.WSCALE; }
    if (kind === 4) o.present |= HAS.SACK_PERM;
    if (kind === 8) { o.tsVal = b.readUInt32BE(2); o.tsEcr = b.readUInt32BE(6); o.present |= HAS.TS; }
    // RFC 7413 4.1.1: a request (no cookie) or a 4..16-byte even cookie; other lengths: absent.
    if (kind === 34 && (len === 2 || (len >= 6 && len <= 18 && len % 2 === 0))) o.present |= HAS.FASTOPEN;
    if (kind === 5) {
      if (len === 2 || (len - 2) % 8 !== 0) return { code: -3 };
      o.sack = [];
      for (let k = 2; k < len; k += 8) o.sack.push([b.readUInt32BE(k), b.readUInt32BE(k + 4)]);
      o.sackCount = o.sack.length;
      o.present |= HAS.SACK;
    }
    i += len;
  }
  return { code: 0, options: o };
}

test('options: 20,000 random and mutated option lists agree with a reference parser, never trap', () => {
  const s = load();
  const r = rng(42);
  const kinds = [0, 1, 2, 3, 4, 5, 8, 30, 34, 254];
  const base = [...tcpOf(fixtureFrames[0]).subarray(20, 40)];
  for (let n = 0; n < 20000; n++) {
    let opts;
    if (n % 2 === 0) {
      opts = base.slice();
      for (let m = 1 + r.int(3); m > 0; m--) opts[r.int(opts.length)] = r.int(4) === 0 ? r.int(256) : r.int(12);
    } else {
      opts = [];
      const words = r.int(11);
      while (opts.length < words * 4) opts.push(r.int(3) === 0 ? kinds[r.int(kinds.length)] : r.int(r.int(2) ? 12 : 256));
      opts.length = words * 4;
    }
    const got = parseBytes(s, headerWith(opts));
    const want = modelParse(opts);
    assert.is(got.code, want.code, `options ${Buffer.from(opts).toString('hex')}`);
    if (want.code === 0) assert.equal(got.options, want.options);
  }
});

// ---------------------------------------------------------------- SipHash, ISN, PRNG

/** SipHash-2-4 in BigInt, straight from the paper, for lengths the vector does not cover. */
function sipRef(k0, k1, bytes) {
  const M = (1n << 64n) - 1n;
  const rotl = (x, b) => ((x << BigInt(b)) | (x >> BigInt(64 - b))) & M;
  let v0 = k0 ^ 0x736f6d6570736575n, v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n, v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);
    v2 = (v2 + v3) & M; v3 = rotl(v3, 16); v3 ^= v2;
    v0 = (v0 + v3) & M; v3 = rotl(v3, 21); v3 ^= v0;
    v2 = (v2 + v1) & M; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);
  };
  const padded = Buffer.alloc((Math.floor(bytes.length / 8) + 1) * 8);
  Buffer.from(bytes).copy(padded);
  padded[padded.length - 1] = bytes.length & 0xff;
  for (let i = 0; i < padded.length; i += 8) {
    const m = padded.readBigUInt64LE(i);
    v3 ^= m; round(); round(); v0 ^= m;
  }
  v2 ^= 0xffn;
  round(); round(); round(); round();
  return v0 ^ v1 ^ v2 ^ v3;
}

test('siphash: the paper\'s test vector (Appendix A) and every length 0..64 against the reference', () => {
  const s = load();
  const k0 = 0x0706050403020100n;
  const k1 = 0x0f0e0d0c0b0a0908n;
  const at = s.x.scratchPtr();
  const msg = Array.from({ length: 80 }, (_, i) => i);
  s.u8().set(msg, at);
  assert.is(BigInt.asUintN(64, s.x.sipHash24(k0, k1, at, 15)), 0xa129ca6149be45e5n);
  for (let len = 0; len <= 64; len++) {
    assert.is(BigInt.asUintN(64, s.x.sipHash24(k0, k1, at + 1, len)), sipRef(k0, k1, msg.slice(1, 1 + len)), `len ${len}`);
  }
  const words = Buffer.alloc(16);
  [0x0a000001, 0x0a000002, 0x1f90c048, 7].forEach((w, i) => words.writeUInt32LE(w, i * 4));
  assert.is(BigInt.asUintN(64, s.x.sipHashWords(k0, k1, 0x0a000001, 0x0a000002, 0x1f90c048, 7)), sipRef(k0, k1, [...words]));
});

test('isn: advances one per 4 µs for a tuple, differs per tuple and per seed, replays per seed', () => {
  const s = load({ seedLo: 0x1234, seedHi: 0x5678 });
  s.x.setNow(1_000_000);
  const a0 = s.x.isnFor(0x0a000001, 40000, 0x0a000002, 80) >>> 0;
  s.x.setNow(1_004_000);
  const a1 = s.x.isnFor(0x0a000001, 40000, 0x0a000002, 80) >>> 0;
  assert.is((a1 - a0) >>> 0, 1000);
  s.x.setNow(1_004_003);
  assert.is(s.x.isnFor(0x0a000001, 40000, 0x0a000002, 80) >>> 0, a1);
  s.x.setNow(1_004_004);
  assert.is(s.x.isnFor(0x0a000001, 40000, 0x0a000002, 80) >>> 0, (a1 + 1) >>> 0);
  const seen = new Set();
  for (let p = 0; p < 1000; p++) seen.add(s.x.isnFor(0x0a000001, 40000 + p, 0x0a000002, 80) >>> 0);
  assert.is(seen.size, 1000);
  const same = load({ seedLo: 0x1234, seedHi: 0x5678 });
  same.x.setNow(1_000_000);
  assert.is(same.x.isnFor(0x0a000001, 40000, 0x0a000002, 80) >>> 0, a0);
  const other = load({ seedLo: 0x1235, seedHi: 0x5678 });
  other.x.setNow(1_000_000);
  assert.is.not(other.x.isnFor(0x0a000001, 40000, 0x0a000002, 80) >>> 0, a0);
});

test('random: randomBelow stays in range and covers it; derived keys differ per purpose', () => {
  const s = load({ seedLo: 99 });
  const hits = new Array(10).fill(0);
  for (let i = 0; i < 10000; i++) {
    const v = s.x.randomBelow(10);
    assert.ok(v >= 0 && v < 10);
    hits[v]++;
  }
  for (const h of hits) assert.ok(h > 800 && h < 1200, `bucket ${h}`);
  assert.is(s.x.randomBelow(0), 0);
  const keys = new Set([1, 2, 3, 4, 5, 6, 7].map((p) => s.x.deriveKey(p)));
  assert.is(keys.size, 7);
});

// ---------------------------------------------------------------- ports

const EADDRINUSE = 98;

test('ports: a 10-port range gives 10 distinct ports, then 0 (counted); release and reacquire', () => {
  const s = load({ ephemeralLow: 50000, ephemeralHigh: 50009 });
  const got = [];
  for (let i = 0; i < 10; i++) got.push(s.x.portsAcquire(0x0a000001, 0x0a000002, 80));
  assert.equal([...got].sort((a, b) => a - b), [50000, 50001, 50002, 50003, 50004, 50005, 50006, 50007, 50008, 50009]);
  assert.is(s.x.portsInUse(), 10);
  assert.is(s.x.portsAcquire(0x0a000001, 0x0a000002, 80), 0);
  assert.is(s.x.portsAcquire(0x0a000001, 0x0a000003, 443), 0);
  assert.is(s.counter('tcp.ports.exhausted'), 2);
  s.x.portsRelease(got[4]);
  assert.is(s.x.portsInUse(), 9);
  assert.is(s.x.portsAcquire(0x0a000001, 0x0a000003, 443), got[4]);
  for (const p of got) s.x.portsRelease(p);
  assert.is(s.x.portsInUse(), 0);
  s.x.portsRelease(got[0]);
  s.x.portsRelease(0);
  s.x.portsRelease(70000);
  assert.is(s.counter('tcp.ports.bad_release'), 3);
  assert.is(s.x.portsInUse(), 0);
});

test('ports: Algorithm 3 walks the range from a per-destination offset, one step per connection', () => {
  const s = load();
  const p1 = s.x.portsAcquire(0x0a000001, 0x0a000002, 80);
  const p2 = s.x.portsAcquire(0x0a000001, 0x0a000002, 80);
  s.x.portsRelease(p1);
  const p3 = s.x.portsAcquire(0x0a000001, 0x0a000002, 80);
  assert.ok(p1 >= 49152 && p1 <= 65535);
  assert.is(p2, p1 === 65535 ? 49152 : p1 + 1);
  assert.is(p3, p2 === 65535 ? 49152 : p2 + 1);
});

test('ports: TIME-WAIT keeps its reference: the port stays taken until the last release', () => {
  const s = load({ ephemeralLow: 60000, ephemeralHigh: 60000 });
  const p = s.x.portsAcquire(1, 2, 3);
  assert.is(p, 60000);
  s.x.portsRetain(p); // a second holder
  assert.is(s.x.portsRefCount(p), 2);
  s.x.portsRelease(p); // first connection closed; the other sits in TIME-WAIT
  assert.is(s.x.portsRefCount(p), 1);
  assert.is(s.x.portsAcquire(1, 2, 3), 0);
  s.x.portsRelease(p); // TIME-WAIT expired
  assert.is(s.x.portsRefCount(p), 0);
  assert.is(s.x.portsAcquire(1, 2, 3), 60000);
});

test('ports: listeners: one per port (-EADDRINUSE), listen-any picks a free port, ephemeral skips listeners', () => {
  const s = load({ ephemeralLow: 50000, ephemeralHigh: 50003 });
  assert.is(s.x.portsBindListen(80), 0);
  assert.is(s.x.portsBindListen(80), -EADDRINUSE);
  assert.is(s.x.portsBindListen(0), -EADDRINUSE);
  assert.ok(s.x.portsIsListening(80));
  s.x.portsRetain(80); // an accepted connection
  s.x.portsUnbindListen(80);
  assert.ok(!s.x.portsIsListening(80));
  assert.is(s.x.portsRefCount(80), 1);
  assert.is(s.x.portsBindListen(80), 0); // connections alone do not block a listener (SO_REUSEADDR)
  assert.is(s.x.portsBindListen(50001), 0);
  const any = s.x.portsBindListenAny();
  assert.ok(any >= 50000 && any <= 50003 && any !== 50001);
  const rest = [s.x.portsAcquire(1, 2, 3), s.x.portsAcquire(1, 2, 3)].sort();
  assert.equal(rest, [50000, 50001, 50002, 50003].filter((p) => p !== 50001 && p !== any));
  assert.is(s.x.portsAcquire(1, 2, 3), 0);
  assert.is(s.x.portsBindListenAny(), 0);
  assert.is(s.x.portsInUse(), 5);
});

test('ports: spread evenly over the range across destinations; the RSS filter is honoured', () => {
  const s = load();
  const buckets = new Array(16).fill(0);
  for (let i = 0; i < 4096; i++) {
    const p = s.x.portsAcquire(0x0a000001, 0x0b000000 + i, 443);
    assert.ok(p >= 49152 && p <= 65535);
    buckets[Math.floor((p - 49152) / 1024)]++;
  }
  for (const b of buckets) assert.ok(b > 256 * 0.6 && b < 256 * 1.4, `bucket ${b}`);
  assert.is(s.x.portsInUse(), 4096);
  s.x.setEvenPortFilter(1);
  for (let i = 0; i < 200; i++) assert.is(s.x.portsAcquire(0x0a000001, 0x0c000000 + i, 80) % 2, 0);
  s.x.setEvenPortFilter(0);
  const odd = new Set();
  for (let i = 0; i < 200; i++) odd.add(s.x.portsAcquire(0x0a000001, 0x0d000000 + i, 80) % 2);
  assert.equal([...odd].sort(), [0, 1]);
});

// ---------------------------------------------------------------- slab

test('slab: a non-power-of-two region is cut into aligned chunks; alloc until empty; free all', () => {
  const total = (1 << 20) + 3 * 1024;
  const s = load({ tcpSlabBytes: total + 100 });
  assert.is(s.x.slabTotalBytes(), total);
  const initial = Array.from({ length: 21 }, (_, k) => s.x.slabFreeChunks(k));
  assert.equal(initial.slice(0, 11), [1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const base = s.x.slabBase();
  assert.is(base % 1024, 0);
  const ptrs = [];
  for (;;) {
    const p = s.x.slabAlloc(1000);
    if (p === 0) break;
    ptrs.push(p);
  }
  assert.is(ptrs.length, 1027);
  assert.is(s.counter('slab.exhausted'), 1);
  assert.is(s.x.slabFreeBytes(), 0);
  assert.is(new Set(ptrs).size, 1027);
  for (const p of ptrs) assert.ok(p % 1024 === 0 && p >= base && p < base + total);
  const r = rng(7);
  for (let i = ptrs.length - 1; i > 0; i--) { const j = r.int(i + 1); [ptrs[i], ptrs[j]] = [ptrs[j], ptrs[i]]; }
  for (const p of ptrs) s.x.slabFree(p, 1000);
  assert.is(s.x.slabFreeBytes(), total);
  assert.is(s.x.slabUsedChunks(), 0);
  assert.equal(Array.from({ length: 21 }, (_, k) => s.x.slabFreeChunks(k)), initial);
  assert.is(s.counter('slab.bad_free'), 0);
});

test('slab: random churn of mixed sizes never overlaps, and every chunk comes back', () => {
  const total = 4 << 20;
  const s = load({ tcpSlabBytes: total });
  const initial = Array.from({ length: 21 }, (_, k) => s.x.slabFreeChunks(k));
  const r = rng(11);
  const live = []; // { ptr, size, chunk, tag }
  let tag = 1;
  const check = (c) => {
    const u8 = s.u8();
    assert.is(u8[c.ptr], c.tag & 0xff);
    assert.is(u8[c.ptr + c.chunk - 1], c.tag & 0xff);
  };
  for (let step = 0; step < 5000; step++) {
    if (live.length > 0 && (r.int(2) === 0 || step > 4000)) {
      const c = live.splice(r.int(live.length), 1)[0];
      check(c);
      s.x.slabFree(c.ptr, c.size);
    } else {
      const size = 1 + r.int(1 << (10 + r.int(9)));
      const ptr = s.x.slabAlloc(size);
      if (ptr === 0) continue;
      const chunk = s.x.slabChunkSize(size);
      assert.ok(chunk >= size && chunk >= 1024 && (chunk & (chunk - 1)) === 0);
      assert.is((ptr - s.x.slabBase()) % chunk, 0);
      for (const o of live) assert.ok(ptr + chunk <= o.ptr || o.ptr + o.chunk <= ptr, 'overlap');
      const c = { ptr, size, chunk, tag: tag++ };
      s.u8().fill(c.tag & 0xff, ptr, ptr + chunk);
      live.push(c);
    }
    const used = live.reduce((a, c) => a + c.chunk, 0);
    assert.is(s.x.slabFreeBytes(), total - used);
  }
  for (const c of live.splice(0)) { check(c); s.x.slabFree(c.ptr, c.size); }
  assert.is(s.x.slabFreeBytes(), total);
  assert.equal(Array.from({ length: 21 }, (_, k) => s.x.slabFreeChunks(k)), initial);
});

test('slab: double frees, wrong sizes and foreign pointers are ignored and counted', () => {
  const s = load({ tcpSlabBytes: 64 * 1024 });
  const a = s.x.slabAlloc(4096);
  const b = s.x.slabAlloc(1024);
  s.x.slabFree(a, 2048);          // wrong class
  s.x.slabFree(a + 1024, 4096);   // not a chunk start
  s.x.slabFree(8, 1024);          // outside the region
  s.x.slabFree(a, 0);
  assert.is(s.counter('slab.bad_free'), 4);
  s.x.slabFree(a, 4096);
  s.x.slabFree(a, 4096);          // double free
  assert.is(s.counter('slab.bad_free'), 5);
  s.x.slabFree(b, 1024);
  assert.is(s.x.slabFreeBytes(), 64 * 1024);
  assert.is(s.x.slabFreeChunks(6), 1);
  assert.is(s.x.slabAlloc(64 * 1024 + 1), 0);
  assert.is(s.x.slabAlloc(0), 0);
});

// ---------------------------------------------------------------- byte rings

function ringSetup(s, capacity, startPos = 0) {
  const r = s.x.stateAreaPtr();
  const buf = s.x.slabAlloc(capacity);
  s.x.ringInit(r, buf, capacity);
  s.dv().setUint32(r + 8, startPos, true);
  s.dv().setUint32(r + 12, startPos, true);
  return r;
}

for (const startPos of [0, 0xfffff000]) {
  test(`ring: send side (write area, read at offset, consume) against a model, positions from ${startPos.toString(16)}`, () => {
    const s = load({ tcpSlabBytes: 1 << 20 });
    const cap = 1024;
    const r = ringSetup(s, cap, startPos);
    const rand = rng(3);
    let model = [];
    let written = 0;
    const out = s.x.scratchPtr();
    for (let step = 0; step < 20000; step++) {
      const op = rand.int(3);
      if (op === 0) {
        const room = s.x.ringWriteRoom(r);
        const wp = s.x.ringWritePtr(r);
        assert.is(room, Math.min(cap - model.length, cap - ((startPos + written) % cap)));
        const n = rand.int(room + 1);
        const bytes = Array.from({ length: n }, () => rand.int(256));
        s.u8().set(bytes, wp);
        assert.ok(s.x.ringCommit(r, n));
        model = model.concat(bytes);
        written += n;
      } else if (op === 1) {
        const off = rand.int(model.length + 1);
        const n = rand.int(model.length - off + 1);
        assert.ok(s.x.ringReadAt(r, off, out, n));
        assert.equal([...s.u8().subarray(out, out + n)], model.slice(off, off + n));
        assert.not.ok(s.x.ringReadAt(r, off, out, model.length - off + 1));
      } else {
        const n = rand.int(model.length + 1);
        assert.not.ok(s.x.ringConsume(r, model.length + 1));
        assert.ok(s.x.ringConsume(r, n));
        model = model.slice(n);
      }
      assert.is(s.x.ringLen(r), model.length);
      assert.is(s.x.ringFreeBytes(r), cap - model.length);
    }
    assert.not.ok(s.x.ringCommit(r, cap - model.length + 1));
    assert.ok(written > 100 * cap);
  });
}

test('ring: receive side (write at offsets past the tail, commit in-order, read area) against a model', () => {
  const s = load({ tcpSlabBytes: 1 << 20 });
  const cap = 2048;
  const r = ringSetup(s, cap, 0xffffff00);
  const rand = rng(5);
  let inOrder = [];     // committed, unread bytes
  let ahead = [];       // bytes written past the tail (sparse), index = offset from tail
  let received = 0;
  const src = s.x.scratchPtr();
  for (let step = 0; step < 20000; step++) {
    const op = rand.int(3);
    if (op === 0) {
      const free = cap - inOrder.length;
      const off = rand.int(2) === 0 ? 0 : rand.int(Math.min(free, 600) + 1);
      const n = rand.int(Math.min(free - off, 300) + 1);
      const bytes = Array.from({ length: n }, () => rand.int(256));
      s.u8().set(bytes, src);
      assert.not.ok(s.x.ringWriteAt(r, off, src, free - off + 1));
      assert.ok(s.x.ringWriteAt(r, off, src, n));
      bytes.forEach((b, i) => { ahead[off + i] = b; });
    } else if (op === 1) {
      let n = 0;
      while (n < ahead.length && ahead[n] !== undefined) n++;
      assert.ok(s.x.ringCommit(r, n));
      inOrder = inOrder.concat(ahead.slice(0, n));
      ahead = ahead.slice(n);
      received += n;
    } else {
      const avail = s.x.ringReadAvail(r);
      const rp = s.x.ringReadPtr(r);
      assert.ok(avail <= inOrder.length && (avail === inOrder.length || avail > 0));
      assert.equal([...s.u8().subarray(rp, rp + avail)], inOrder.slice(0, avail));
      const n = rand.int(avail + 1);
      assert.ok(s.x.ringConsume(r, n));
      inOrder = inOrder.slice(n);
    }
    assert.is(s.x.ringLen(r), inOrder.length);
  }
  assert.ok(received > 50 * cap, `received ${received}`);
});

// ---------------------------------------------------------------- reassembly

/** Model: a set of received offsets beyond rcv.nxt; ranges are its maximal runs. */
function reasmModel(cap) {
  const have = new Set();
  let nxt = 0;
  const runs = () => {
    const sorted = [...have].sort((a, b) => a - b);
    const out = [];
    for (const v of sorted) {
      if (out.length && out[out.length - 1][1] === v) out[out.length - 1][1] = v + 1;
      else out.push([v, v + 1]);
    }
    return out;
  };
  return {
    get nxt() { return nxt; },
    runs,
    add(start, len) {
      const end = start + len;
      if (len === 0 || end <= nxt) return 0;
      if (start < nxt) start = nxt;
      const existing = runs();
      const touches = existing.some(([a, b]) => a <= end && b >= start);
      if (start !== nxt && !touches && existing.length >= cap) return -1;
      for (let v = start; v < end; v++) have.add(v);
      let advanced = 0;
      while (have.has(nxt)) { have.delete(nxt); nxt++; advanced++; }
      return advanced;
    },
  };
}

function reasmRanges(s, r, base) {
  const out = [];
  for (let i = 0; i < s.x.reasmRangeCount(r); i++) {
    out.push([(s.x.reasmRangeStart(r, i) - base) >>> 0, (s.x.reasmRangeEnd(r, i) - base) >>> 0]);
  }
  return out;
}

for (const [cap, seed] of [[64, 1], [8, 2], [3, 3]]) {
  test(`reassembly: random segment orders, duplicates and overlaps against a model (cap ${cap}), across seq wrap`, () => {
    const s = load({ tcpMaxOooRanges: cap });
    const r = s.x.stateAreaPtr();
    s.x.reasmInit(r);
    const isn = 0xffffd000; // the stream crosses 2^32
    const model = reasmModel(cap);
    const rand = rng(seed);
    const total = 32768;
    const segs = [];
    for (let off = 0; off < total;) { const n = 1 + rand.int(700); segs.push([off, Math.min(n, total - off)]); off += n; }
    let full = 0;
    for (let round = 0; model.nxt < total; round++) {
      const next = segs.findIndex(([o, n]) => o + n > model.nxt);
      const pick = segs[Math.min(segs.length - 1, next + rand.int(20))];
      const jitter = rand.int(3) === 0 ? rand.int(200) : 0;
      const start = Math.max(0, pick[0] - jitter);
      const len = Math.min(pick[1] + jitter + rand.int(50), total - start);
      const rcvNxt = (isn + model.nxt) >>> 0;
      const want = model.add(start, len);
      const got = s.x.reasmAdd(r, rcvNxt, (isn + start) >>> 0, len);
      assert.is(got, want, `round ${round}: [${start}, ${start + len}) at nxt ${rcvNxt - isn}`);
      if (got < 0) full++;
      assert.equal(reasmRanges(s, r, isn), model.runs());
      assert.ok(s.x.reasmRangeCount(r) <= cap);
    }
    if (cap === 3) assert.ok(full > 0, 'the small list filled up at least once');
  });
}

test('reassembly: a full list refuses a new hole, still takes hole-filling segments; SACK order is most recent first', () => {
  const s = load({ tcpMaxOooRanges: 4 });
  const r = s.x.stateAreaPtr();
  s.x.reasmInit(r);
  const n0 = 1000;
  assert.is(s.x.reasmAdd(r, n0, 1100, 100), 0);  // [1100,1200)
  assert.is(s.x.reasmAdd(r, n0, 1300, 100), 0);  // [1300,1400)
  assert.is(s.x.reasmAdd(r, n0, 1500, 100), 0);  // [1500,1600)
  assert.is(s.x.reasmAdd(r, n0, 1700, 100), 0);  // [1700,1800)
  assert.is(s.x.reasmAdd(r, n0, 1900, 100), -1); // a fifth hole: refused
  assert.equal(reasmRanges(s, r, 0), [[1100, 1200], [1300, 1400], [1500, 1600], [1700, 1800]]);
  assert.is(s.x.reasmAdd(r, n0, 1800, 50), 0);   // extends the last range
  assert.is(s.x.reasmAdd(r, n0, 1200, 100), 0);  // fills a hole: two ranges merge
  assert.equal(reasmRanges(s, r, 0), [[1100, 1400], [1500, 1600], [1700, 1850]]);
  assert.is(s.x.reasmMostRecent(r), 0);
  const opts = s.x.optionsPtr();
  assert.is(s.x.reasmFillSack(r, opts, 3), 3);
  assert.equal(readOptions(s).sack, [[1100, 1400], [1700, 1850], [1500, 1600]]);
  assert.is(readOptions(s).present & HAS.SACK, HAS.SACK);
  assert.is(s.x.reasmFillSack(r, opts, 1), 1);
  assert.equal(readOptions(s).sack, [[1100, 1400]]);
  assert.is(s.x.reasmAdd(r, n0, 1000, 100), 400); // in order: joins [1100,1400)
  assert.equal(reasmRanges(s, r, 0), [[1500, 1600], [1700, 1850]]);
  assert.is(s.x.reasmAdd(r, 1400, 1400, 500), 500); // covers everything
  assert.equal(reasmRanges(s, r, 0), []);
  assert.is(s.x.reasmFillSack(r, opts, 4), 0);
  assert.is(readOptions(s).present & HAS.SACK, 0);
  assert.is(s.x.reasmAdd(r, 1900, 1800, 100), 0); // entirely old
  assert.is(s.x.reasmAdd(r, 1900, 1950, 0), 0);
  assert.equal(reasmRanges(s, r, 0), []);
});

// ---------------------------------------------------------------- RTT

test('rtt: RFC 6298 arithmetic on a known sample sequence, min/max clamps, backoff', () => {
  const s = load();
  const t = s.x.stateAreaPtr();
  s.x.rttInit(t);
  assert.is(s.x.rttRtoUs(t), 1_000_000);          // 2.1
  // RFC 6298 2.2 / 2.3 by hand: alpha 1/8, beta 1/4, K 4, G 1 ms.
  const steps = [
    // R,       SRTT,      RTTVAR,     RTO = SRTT + max(G, 4 * RTTVAR)
    [100_000, 100_000, 50_000, 300_000],
    [200_000, 112_500, 62_500, 362_500],          // RTTVAR = 3/4*50000 + 1/4*100000; SRTT = 7/8*100000 + 1/8*200000
    [112_500, 112_500, 46_875, 300_000],
    [16_000, 100_437.5, 59_281.25, 337_562.5],
  ];
  for (const [sample, srtt, rttvar, rto] of steps) {
    s.x.rttSample(t, sample);
    assert.is(s.x.rttSrttUs(t), Math.floor(srtt));
    assert.is(s.x.rttVarUs(t), Math.floor(rttvar));
    assert.is(s.x.rttRtoUs(t), Math.floor(rto));
  }
  s.x.rttBackoff(t);
  assert.is(s.x.rttRtoUs(t), 675_124);
  assert.is(s.x.rttBackoffCount(t), 1);
  for (let i = 0; i < 20; i++) s.x.rttBackoff(t);
  assert.is(s.x.rttRtoUs(t), 120_000_000);        // 2.5 cap (Cfg.TcpMaxRtoMs)
  s.x.rttSample(t, 1_000);                        // backoff ends with a new sample (5.7)
  assert.is(s.x.rttBackoffCount(t), 0);
  const fresh = load({ tcpMinRtoMs: 200 });
  const u = fresh.x.stateAreaPtr();
  fresh.x.rttInit(u);
  fresh.x.rttSample(u, 1_000);                    // RTO would be 1000 + max(1000, 2000) = 3000 µs
  assert.is(fresh.x.rttRtoUs(u), 200_000);        // clamped to the minimum (as Linux)
  const rfc = load({ tcpMinRtoMs: 1000, tcpMaxRtoMs: 60000 });
  const v = rfc.x.stateAreaPtr();
  rfc.x.rttInit(v);
  rfc.x.rttSample(v, 10_000);
  assert.is(rfc.x.rttRtoUs(v), 1_000_000);        // RFC 6298 2.4's 1 s minimum when configured
  for (let i = 0; i < 10; i++) rfc.x.rttBackoff(v);
  assert.is(rfc.x.rttRtoUs(v), 60_000_000);
  rfc.x.rttSample(v, 4_000_000_000);              // absurd sample: capped, no wrap
  assert.is(rfc.x.rttRtoUs(v), 60_000_000);
});

test('rtt: Karn: no sample from a retransmitted segment; timing covers one segment at a time', () => {
  const s = load();
  const t = s.x.stateAreaPtr();
  s.x.rttInit(t);
  s.x.rttStartTiming(t, 1000, 0n);
  assert.ok(s.x.rttIsTiming(t));
  s.x.rttOnRetransmit(t);
  assert.not.ok(s.x.rttIsTiming(t));
  assert.not.ok(s.x.rttOnAck(t, 1000, 50_000n));
  assert.is(s.x.rttSrttUs(t), 0);
  s.x.rttStartTiming(t, 2000, 100_000n);
  s.x.rttStartTiming(t, 3000, 150_000n);          // ignored: one measurement at a time
  assert.not.ok(s.x.rttOnAck(t, 1500, 170_000n)); // does not cover the timed segment
  assert.ok(s.x.rttOnAck(t, 2000, 180_000n));
  assert.is(s.x.rttSrttUs(t), 80_000);
  assert.not.ok(s.x.rttOnAck(t, 3000, 190_000n));
});

test('rtt: a retransmitted SYN without a sample sets the RTO to 3 s when data begins (RFC 6298 5.7)', () => {
  const s = load();
  const t = s.x.stateAreaPtr();
  s.x.rttInit(t);
  s.x.rttBackoff(t);
  s.x.rttOnSynRetransmit(t);
  s.x.rttHandshakeDone(t);
  assert.is(s.x.rttRtoUs(t), 3_000_000);
  s.x.rttInit(t);
  s.x.rttOnSynRetransmit(t);
  s.x.rttSample(t, 50_000);
  s.x.rttHandshakeDone(t);
  assert.is(s.x.rttRtoUs(t), 200_000);
});

// ---------------------------------------------------------------- NewReno

const NEWRENO = 1, CUBIC = 2;
const DUPACK = 1, RTO = 2, ECN = 3;

test('cc: initial window per RFC 6928, unknown algorithms refused', () => {
  const s = load();
  assert.is(s.x.initialWindow(1460), 14600);
  assert.is(s.x.initialWindow(536), 5360);
  assert.is(s.x.initialWindow(9000), 18000);
  assert.is(s.x.initialWindow(1000), 10000);
  const cc = s.x.stateAreaPtr();
  assert.not.ok(s.x.ccInit(cc, CUBIC + 1, 1460));
  assert.not.ok(s.x.ccInit(cc, 0, 1460));
  assert.ok(s.x.ccInit(cc, NEWRENO, 1460));
  assert.is(s.x.ccCwnd(cc), 14600);
  assert.is(s.x.ccSsthreshBytes(cc) >>> 0, 0xffffffff);
});

test('cc: NewReno slow start (byte counting, L = 2 SMSS), then congestion avoidance', () => {
  const s = load();
  const cc = s.x.stateAreaPtr();
  const mss = 1460;
  s.x.ccInit(cc, NEWRENO, mss);
  const trace = [];
  for (const acked of [1460, 1460, 4380, 100]) { s.x.ccOnAck(cc, acked, 10_000, 0); trace.push(s.x.ccCwnd(cc)); }
  assert.equal(trace, [16060, 17520, 20440, 20540]);
  // Into congestion avoidance: an RTO at flight 29200 gives ssthresh 14600, cwnd 1 SMSS.
  s.x.ccOnCongestionEvent(cc, RTO, 29200);
  assert.is(s.x.ccSsthreshBytes(cc), 14600);
  assert.is(s.x.ccCwnd(cc), mss);
  const ss = [];
  while (s.x.ccCwnd(cc) < 14600) { s.x.ccOnAck(cc, mss, 0, 0); ss.push(s.x.ccCwnd(cc)); }
  assert.equal(ss, [2920, 4380, 5840, 7300, 8760, 10220, 11680, 13140, 14600]);
  // CA: one SMSS per cwnd of acknowledged bytes.
  const ca = [];
  for (let i = 0; i < 21; i++) { s.x.ccOnAck(cc, mss, 0, 0); ca.push(s.x.ccCwnd(cc)); }
  assert.equal(ca, [...new Array(9).fill(14600), 16060, ...new Array(10).fill(16060), 17520]);
});

test('cc: NewReno fast recovery: inflation, partial ACKs (RFC 6582), full ACK exit', () => {
  const s = load();
  const cc = s.x.stateAreaPtr();
  const mss = 1460;
  s.x.ccInit(cc, NEWRENO, mss);
  s.x.ccOnCongestionEvent(cc, DUPACK, 29200);
  assert.is(s.x.ccSsthreshBytes(cc), 14600);
  assert.is(s.x.ccCwnd(cc), 14600 + 3 * mss);         // 18980
  s.x.ccOnDupAck(cc);
  s.x.ccOnDupAck(cc);
  assert.is(s.x.ccCwnd(cc), 21900);
  s.x.ccOnAck(cc, 2920, 0, 1);                         // partial: -2920 + 1460
  assert.is(s.x.ccCwnd(cc), 20440);
  s.x.ccOnAck(cc, 500, 0, 1);                          // partial, < SMSS: -500 only
  assert.is(s.x.ccCwnd(cc), 19940);
  s.x.ccOnRecoveryExit(cc, 10000);                     // min(ssthresh, max(10000, SMSS) + SMSS)
  assert.is(s.x.ccCwnd(cc), 11460);
  s.x.ccOnCongestionEvent(cc, DUPACK, 29200);
  s.x.ccOnRecoveryExit(cc, 20000);                     // min(14600, 21460)
  assert.is(s.x.ccCwnd(cc), 14600);
  s.x.ccOnCongestionEvent(cc, DUPACK, 2000);           // ssthresh floor 2 SMSS
  assert.is(s.x.ccSsthreshBytes(cc), 2920);
  assert.is(s.x.ccCwnd(cc), 2920 + 3 * mss);
  s.x.ccOnAck(cc, 100000, 0, 1);                       // deflation never below 1 SMSS
  assert.is(s.x.ccCwnd(cc), mss);
});

test('cc: NewReno RTO and ECN responses, restart after idle, limited transmit room', () => {
  const s = load();
  const cc = s.x.stateAreaPtr();
  const mss = 1460;
  s.x.ccInit(cc, NEWRENO, mss);
  for (let i = 0; i < 10; i++) s.x.ccOnAck(cc, 2 * mss, 0, 0);
  assert.is(s.x.ccCwnd(cc), 43800);
  s.x.ccAfterIdle(cc, 200_000n, 200_000);              // not longer than an RTO: unchanged
  assert.is(s.x.ccCwnd(cc), 43800);
  s.x.ccAfterIdle(cc, 200_001n, 200_000);              // RFC 5681 4.1: back to IW
  assert.is(s.x.ccCwnd(cc), 14600);
  s.x.ccOnCongestionEvent(cc, ECN, 10000);
  assert.is(s.x.ccSsthreshBytes(cc), 5000);
  assert.is(s.x.ccCwnd(cc), 5000);
  s.x.ccOnCongestionEvent(cc, RTO, 40000);
  assert.is(s.x.ccSsthreshBytes(cc), 20000);
  assert.is(s.x.ccCwnd(cc), mss);
  s.x.ccAfterIdle(cc, 10_000_000n, 200_000);           // below IW: unchanged
  assert.is(s.x.ccCwnd(cc), mss);
  s.x.ccInit(cc, NEWRENO, mss);
  assert.is(s.x.ccLimitedTransmitRoom(cc, 0, 14600), 0);
  assert.is(s.x.ccLimitedTransmitRoom(cc, 1, 14600), 1460);
  assert.is(s.x.ccLimitedTransmitRoom(cc, 2, 16060), 1460);
  assert.is(s.x.ccLimitedTransmitRoom(cc, 2, 17520), 0);
  assert.is(s.x.ccLimitedTransmitRoom(cc, 3, 0), 0);
  assert.is(s.x.ccCwnd(cc), 14600);                    // limited transmit leaves cwnd alone
});

test.run();
