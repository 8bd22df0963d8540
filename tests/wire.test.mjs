// Wire formats (assembly/wire/*, TCP aside): real Linux frames parsed field by field, emit
// then re-parse round trips that must give the kernel's exact bytes, the SIMD checksum against
// an independent reference, and truncated / corrupted / oversized inputs rejected with the
// right error code and never a trap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  onesSum as refSum, internetChecksum as refChecksum, pseudoHeaderSum as pseudoSum, ipAddress as ip, macAddress as mac, be16,
  buildIpv4 as ipv4, buildUdp as udp,
} from '../dist/testing/frames.js';
import { formatMac as macStr } from '../dist/net/ipv4.js';
import { fixture } from './helpers/fixtures.mjs';

const wasmFile = fileURLToPath(new URL('../build/wire-test.wasm', import.meta.url));
const raw = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(wasmFile)), {
  env: { abort: () => { throw new Error('wire-test.wasm aborted'); } },
}).exports;
// WASM gives i32: bool getters become booleans, u32 addresses unsigned numbers.
const BOOLS = new Set(['ethTagged', 'ethStacked', 'ipDontFragment', 'ipMoreFragments', 'udpHasChecksum', 'icmpIsError', 'ipv4IsValidSource']);
const U32S = new Set(['ipSrc', 'ipDst', 'arpSenderIp', 'arpTargetIp', 'ipAddrGetV4', 'ipv4DirectedBroadcast', 'icmpRest']);
const w = Object.fromEntries(Object.entries(raw).map(([name, v]) => [name,
  BOOLS.has(name) ? (...a) => Boolean(v(...a)) : U32S.has(name) ? (...a) => v(...a) >>> 0 : v]));
const S = w.scratchPtr();
const mem = () => new Uint8Array(w.memory.buffer);
/** Copies `bytes` into the scratch area at `offset`; returns their address. */
const put = (bytes, offset = 0) => { mem().set(bytes, S + offset); return S + offset; };
const bytesAt = (ptr, len) => mem().slice(ptr, ptr + len);

// Error codes (assembly/wire/*.ts).
const ETH_TRUNCATED = -1;
const IP = { TRUNCATED: -1, BAD_VERSION: -2, BAD_IHL: -3, TOTAL_LENGTH_EXCEEDS_FRAME: -4, BAD_CHECKSUM: -5 };
const ARP = { TRUNCATED: -1, UNSUPPORTED_TYPE: -2, BAD_OPCODE: -3 };
const ICMP = { TRUNCATED: -1, BAD_CHECKSUM: -2 };
const UDP = { TRUNCATED: -1, BAD_LENGTH: -2, BAD_CHECKSUM: -3 };

const A_MAC = '02:00:00:00:0a:01';
const B_MAC = '02:00:00:00:0a:02';
const A_IP = ip('10.61.0.1');
const B_IP = ip('10.61.0.2');

// ---- checksum ----

test('checksum: RFC 1071 section 3 example and odd lengths', () => {
  // RFC 1071 3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to 0xddf2.
  const p = put([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  assert.is(w.checksumSum(p, 8), 0xddf2);
  assert.is(w.checksumSum(p, 0), 0);
  // An odd trailing byte is the high byte of a word.
  assert.is(w.checksumSum(p, 3), 0x0001 + 0xf200);
});

test('checksum: SIMD sum equals the reference for every length 0..300 at every alignment 0..15', () => {
  const data = Uint8Array.from({ length: 400 }, (_, i) => (i * 73 + 41) & 255);
  for (let align = 0; align < 16; align++) {
    const p = put(data, align);
    for (let len = 0; len <= 300; len++) {
      const got = w.checksumSum(p, len);
      const want = refSum(data.subarray(0, len));
      if (got !== want) assert.unreachable(`len ${len} align ${align}: ${got.toString(16)} != ${want.toString(16)}`);
    }
  }
});

test('checksum: large ranges (all 0xff past one accumulator fold, 600001 bytes; random 65535 bytes) fold correctly', () => {
  // 8192 64-byte steps (512 KiB) fill the vector lanes before they are folded: go past that.
  const ones = new Uint8Array(600001).fill(0xff);
  assert.is(w.checksumSum(put(ones), 600000), 0xffff);
  assert.is(w.checksumSum(put(ones), ones.length), refSum(ones));
  let x = 12345;
  const rnd = Uint8Array.from({ length: 65535 }, () => ((x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  assert.is(w.checksumSum(put(rnd), rnd.length), refSum(rnd));
});

test('checksum: RFC 1624 section 4 example, and incremental equals recomputed on a real header', () => {
  // RFC 1624 4: HC = 0xDD2F, m = 0x5555 -> m' = 0x3285 gives HC' = 0x0000.
  assert.is(w.checksumUpdate16(0xdd2f, 0x5555, 0x3285), 0x0000);
  const frame = fixture('arp-ping')[2];
  const hdr = frame.slice(14, 34);
  const oldCsum = be16(hdr, 10);
  // Change the TTL/protocol word and the destination address; compare with recomputation.
  const oldWord = be16(hdr, 8);
  hdr[8] = 17;
  const newWord = be16(hdr, 8);
  const viaUpdate = w.checksumUpdate16(oldCsum, oldWord, newWord);
  hdr[10] = 0; hdr[11] = 0;
  assert.is(viaUpdate, refChecksum(hdr));
  hdr[10] = viaUpdate >>> 8; hdr[11] = viaUpdate & 255;
  const oldDst = ((hdr[16] << 24) | (hdr[17] << 16) | (hdr[18] << 8) | hdr[19]) >>> 0;
  const newDst = ip('192.168.200.7');
  const via32 = w.checksumUpdate32(viaUpdate, oldDst, newDst);
  hdr.set([192, 168, 200, 7], 16);
  hdr[10] = 0; hdr[11] = 0;
  assert.is(via32, refChecksum(hdr));
});

test('checksum: L3-agnostic pseudo-header sum equals the IPv4 one', () => {
  const src = put(Uint8Array.from([10, 61, 0, 1]), 0);
  const dst = put(Uint8Array.from([10, 61, 0, 2]), 16);
  assert.is(w.pseudoHeaderSum(src, dst, 4, 17, 25), w.ipv4PseudoHeaderSum(A_IP, B_IP, 17, 25));
  assert.is(w.ipv4PseudoHeaderSum(A_IP, B_IP, 17, 25), pseudoSum(A_IP, B_IP, 17, 25));
  // 16-byte addresses (IPv6-shaped) sum all their words.
  const s6 = put(Uint8Array.from({ length: 16 }, (_, i) => i * 7), 32);
  const d6 = put(Uint8Array.from({ length: 16 }, (_, i) => 255 - i), 48);
  const want = refSum(Uint8Array.from([...bytesAt(s6, 16), ...bytesAt(d6, 16), 0, 0, 0, 0, 0, 0, 0, 58]));
  assert.is(w.pseudoHeaderSum(s6, d6, 16, 58, 0), want);
});

// ---- fixtures: every field ----

test('fixture arp-ping: ARP request and reply, every field', () => {
  const [req, rep] = fixture('arp-ping');
  assert.is(req.length, 42);
  let p = put(req);
  assert.is(w.ethernetParse(p, req.length), 14);
  assert.is(w.ethType(), 0x0806);
  assert.is(w.ethTagged(), false);
  assert.is(macStr(req.subarray(0, 6)), 'ff:ff:ff:ff:ff:ff');
  assert.is(macStr(req.subarray(6, 12)), A_MAC);
  assert.is(w.arpParse(p + 14, 28), 0);
  assert.is(w.arpOperation(), 1);
  assert.is(macStr(bytesAt(w.arpSenderMac(), 6)), A_MAC);
  assert.is(w.arpSenderIp(), A_IP);
  assert.is(macStr(bytesAt(w.arpTargetMac(), 6)), '00:00:00:00:00:00');
  assert.is(w.arpTargetIp(), B_IP);
  p = put(rep);
  assert.is(w.ethernetParse(p, rep.length), 14);
  assert.is(macStr(rep.subarray(0, 6)), A_MAC);
  assert.is(w.arpParse(p + 14, rep.length - 14), 0);
  assert.is(w.arpOperation(), 2);
  assert.is(macStr(bytesAt(w.arpSenderMac(), 6)), B_MAC);
  assert.is(w.arpSenderIp(), B_IP);
  assert.is(macStr(bytesAt(w.arpTargetMac(), 6)), A_MAC);
  assert.is(w.arpTargetIp(), A_IP);
});

test('fixture arp-ping: echo request and reply, every IPv4 and ICMP field', () => {
  const frames = fixture('arp-ping');
  // Linux's ping sets DF (path MTU discovery); the kernel's echo reply does not.
  for (const [i, type, src, dst, df] of [[2, 8, A_IP, B_IP, true], [3, 0, B_IP, A_IP, false]]) {
    const f = frames[i];
    const p = put(f);
    assert.is(w.ethernetParse(p, f.length), 14);
    assert.is(w.ethType(), 0x0800);
    assert.is(w.ipv4Parse(p + 14, f.length - 14, 1), 20);
    assert.is(w.ipSrc(), src);
    assert.is(w.ipDst(), dst);
    assert.is(w.ipProtocol(), 1);
    assert.is(w.ipTtl(), 64);
    assert.is(w.ipTos(), 0);
    assert.is(w.ipIdent(), be16(f, 18));
    assert.is(w.ipHeaderLen(), 20);
    assert.is(w.ipDontFragment(), df);
    assert.is(w.ipTotalLen(), 20 + 8 + 24);
    assert.is(w.ipMoreFragments(), false);
    assert.is(w.ipFragOffset(), 0);
    assert.is(w.icmpv4Parse(p + 34, 32, 1), 0);
    assert.is(w.icmpType(), type);
    assert.is(w.icmpCode(), 0);
    assert.is(w.icmpIdent(), 0x3b31);
    assert.is(w.icmpSeq(), 1);
    assert.is(w.icmpDataLen(), 24);
    // ping -p 0123456789abcdef fills the data after its 16-byte timestamp with the pattern.
    assert.equal(Array.from(f.subarray(34 + 8 + 16, 34 + 8 + 24)), [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  }
});

test('fixture udp: datagram fields and checksum', () => {
  const [f] = fixture('udp');
  const p = put(f);
  assert.is(w.ipv4Parse(p + 14, f.length - 14, 1), 20);
  assert.is(w.ipProtocol(), 17);
  const len = w.ipTotalLen() - 20;
  assert.is(len, 8 + 17);
  assert.is(w.udpParse(p + 34, len, 1, w.ipv4PseudoHeaderSum(A_IP, B_IP, 17, 0), 1), 0);
  assert.is(w.udpSrcPort(), 40000);
  assert.is(w.udpDstPort(), 9999);
  assert.is(w.udpPayloadLen(), 17);
  assert.is(w.udpHasChecksum(), true);
  assert.is(Buffer.from(f.subarray(42, 42 + 17)).toString(), 'hello, wasm-tcpip');
});

test('fixture icmp-port-unreachable: the error and the datagram it quotes', () => {
  const [dgram, err] = fixture('icmp-port-unreachable');
  const p = put(err);
  assert.is(w.ipv4Parse(p + 14, err.length - 14, 1), 20);
  assert.is(w.ipSrc(), B_IP);
  assert.is(w.ipDst(), A_IP);
  assert.is(w.ipProtocol(), 1);
  const icmpLen = w.ipTotalLen() - 20;
  assert.is(w.icmpv4Parse(p + 34, icmpLen, 1), 0);
  assert.is(w.icmpType(), 3);
  assert.is(w.icmpCode(), 3);
  assert.is(w.icmpRest(), 0);
  assert.is(w.icmpIsError(3), true);
  assert.is(w.icmpIsError(8), false);
  // The quote is the whole original datagram (Linux quotes up to 576 bytes in all).
  const quoted = dgram.subarray(14, 14 + be16(dgram, 16));
  assert.is(w.icmpDataLen(), quoted.length);
  assert.equal(Array.from(err.subarray(42, 42 + quoted.length)), Array.from(quoted));
  assert.is(w.ipv4Parse(p + 42, quoted.length, 1), 20);
  assert.is(w.ipSrc(), A_IP);
  assert.is(w.ipProtocol(), 17);
  assert.is(be16(err, 62), 40001);
  assert.is(be16(err, 64), 9998);
});

test('fixture vlan: 802.1Q tag read (VLAN 7 / priority 5, and priority-tagged VLAN 0)', () => {
  const [tagged, prio] = fixture('vlan');
  let p = put(tagged);
  assert.is(w.ethernetParse(p, tagged.length), 18);
  assert.is(w.ethTagged(), true);
  assert.is(w.ethStacked(), false);
  assert.is(w.ethVlanId(), 7);
  assert.is(w.ethPcp(), 5);
  assert.is(w.ethType(), 0x0800);
  assert.is(w.ipv4Parse(p + 18, tagged.length - 18, 1), 20);
  assert.is(w.ipDst(), B_IP);
  p = put(prio);
  assert.is(w.ethernetParse(p, prio.length), 18);
  assert.is(w.ethVlanId(), 0);
  assert.is(w.ethPcp(), 3);
  // A second tag (Q-in-Q) is reported as stacked.
  const qinq = Uint8Array.from([...tagged.subarray(0, 16), 0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
  assert.is(w.ethernetParse(put(qinq), qinq.length), 18);
  assert.is(w.ethStacked(), true);
});

test('fixture fragment: every fragment recognised with its offset and MF flag', () => {
  const frames = fixture('fragment');
  const expect = [[true, 0], [true, 185], [false, 370], [true, 0], [true, 185], [false, 370]];
  frames.forEach((f, i) => {
    const p = put(f);
    assert.is(w.ipv4Parse(p + 14, f.length - 14, 1), 20, `fragment ${i}`);
    assert.is(w.ipMoreFragments(), expect[i][0]);
    assert.is(w.ipFragOffset(), expect[i][1]);
    assert.is(w.ipProtocol(), 1);
  });
  // All fragments of one datagram share its identification.
  const id = (f) => be16(f, 18);
  assert.is(id(frames[0]), id(frames[1]));
  assert.is(id(frames[1]), id(frames[2]));
  assert.is.not(id(frames[0]), id(frames[3]));
});

test('fixture tcp: IPv4 fields and the TCP checksum through the pseudo-header', () => {
  for (const f of fixture('tcp')) {
    const p = put(f);
    assert.is(w.ipv4Parse(p + 14, f.length - 14, 1), 20);
    assert.is(w.ipProtocol(), 6);
    assert.is(w.ipDontFragment(), true);
    const segLen = w.ipTotalLen() - 20;
    const sum = w.checksumSum(p + 34, segLen);
    const pseudo = w.ipv4PseudoHeaderSum(w.ipSrc(), w.ipDst(), 6, segLen);
    assert.is(w.checksumFinish(sum + pseudo), 0, 'TCP checksum verifies');
  }
});

// ---- emit: the kernel's exact bytes ----

test('emit: Ethernet, ARP, IPv4 and ICMP echo rebuilt from parsed fields equal the kernel frames', () => {
  const frames = fixture('arp-ping');
  for (const f of frames.slice(0, 2)) {
    const p = put(f);
    w.ethernetParse(p, f.length);
    w.arpParse(p + 14, 28);
    const out = S + 4096;
    const dstMac = put(f.subarray(0, 6), 2048);
    const srcMac = put(f.subarray(6, 12), 2056);
    w.ethernetEmit(out, dstMac, srcMac, 0x0806);
    w.arpEmit(out + 14, w.arpOperation(), w.arpSenderMac(), w.arpSenderIp(), w.arpTargetMac(), w.arpTargetIp());
    assert.equal(Array.from(bytesAt(out, 42)), Array.from(f));
  }
  for (const f of frames.slice(2)) {
    const p = put(f);
    w.ipv4Parse(p + 14, f.length - 14, 1);
    w.icmpv4Parse(p + 34, f.length - 34, 1);
    const out = S + 4096;
    mem().set(f.subarray(42), out + 34 + 8);
    w.icmpv4EmitEcho(out + 34, w.icmpType(), w.icmpIdent(), w.icmpSeq(), w.icmpDataLen());
    w.ipv4EmitHeader(out + 14, w.ipSrc(), w.ipDst(), w.ipProtocol(), w.ipTtl(), w.ipIdent(), w.ipDontFragment() ? 1 : 0, 8 + w.icmpDataLen(), 1, w.ipTos());
    assert.equal(Array.from(bytesAt(out + 14, f.length - 14)), Array.from(f.subarray(14)));
  }
});

test('emit: ICMP port unreachable and UDP header equal the kernel bytes', () => {
  const [dgram, err] = fixture('icmp-port-unreachable');
  const quoted = dgram.subarray(14, 14 + be16(dgram, 16));
  const q = put(quoted, 8192);
  const out = S + 4096;
  const n = w.icmpv4EmitError(out, 3, 3, 0, q, quoted.length);
  assert.is(n, 8 + quoted.length);
  assert.equal(Array.from(bytesAt(out, n)), Array.from(err.subarray(34, 34 + n)));
  const [u] = fixture('udp');
  w.udpEmitHeader(out, 40000, 9999, 17);
  assert.equal(Array.from(bytesAt(out, 6)), Array.from(u.subarray(34, 40)));
  assert.is(be16(bytesAt(out, 8), 6), 0, 'checksum left for the L3');
  mem().set(u.subarray(42, 59), out + 8);
  const c = w.checksumFinish(w.checksumSum(out, 25) + w.ipv4PseudoHeaderSum(A_IP, B_IP, 17, 25));
  assert.is(c, be16(u, 40));
});

test('emit then parse: tagged Ethernet header and an IPv4 header with every flag', () => {
  const out = S + 4096;
  const dm = put(mac(B_MAC), 2048);
  const sm = put(mac(A_MAC), 2056);
  assert.is(w.ethernetEmitTagged(out, dm, sm, 0x123, 6, 0x0806), 18);
  assert.is(w.ethernetParse(out, 60), 18);
  assert.is(w.ethVlanId(), 0x123);
  assert.is(w.ethPcp(), 6);
  assert.is(w.ethType(), 0x0806);
  w.ipv4EmitHeader(out, 0xc0a80101, 0x08080808, 6, 255, 0xbeef, 1, 1480, 1, 0xb8);
  assert.is(w.ipv4Parse(out, 1500, 1), 20);
  assert.is(w.ipSrc(), 0xc0a80101);
  assert.is(w.ipDst(), 0x08080808);
  assert.is(w.ipTtl(), 255);
  assert.is(w.ipTos(), 0xb8);
  assert.is(w.ipIdent(), 0xbeef);
  assert.is(w.ipDontFragment(), true);
  assert.is(w.ipTotalLen(), 1500);
  assert.is(refChecksum(bytesAt(out, 20)), 0);
  // Without the checksum (TX offload), the field stays 0.
  w.ipv4EmitHeader(out, 1, 2, 17, 64, 0, 0, 0, 0, 0);
  assert.is(be16(bytesAt(out, 20), 10), 0);
  assert.is(w.ipv4Parse(out, 20, 0), 20, 'parses when the port vouched for the checksum');
  assert.is(w.ipv4Parse(out, 20, 1), IP.BAD_CHECKSUM);
});

test('addresses: IPv4-mapped 16-byte slots and IPv4 helpers', () => {
  const slot = S + 1024;
  w.ipAddrSetV4(slot, ip('10.1.2.3'));
  assert.equal(Array.from(bytesAt(slot, 16)), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 1, 2, 3]);
  assert.is(w.ipAddrFamily(slot), 4);
  assert.is(w.ipAddrGetV4(slot), ip('10.1.2.3'));
  mem()[slot] = 0x20;
  assert.is(w.ipAddrFamily(slot), 6);
  assert.is(w.ipv4DirectedBroadcast(ip('10.61.0.9'), 24), ip('10.61.0.255'));
  assert.is(w.ipv4DirectedBroadcast(ip('10.61.0.9'), 31), 0xffffffff);
  assert.is(w.ipv4IsValidSource(0), true);
  assert.is(w.ipv4IsValidSource(ip('224.0.0.1')), false);
  assert.is(w.ipv4IsValidSource(ip('255.255.255.255')), false);
  assert.is(w.ipv4IsValidSource(ip('0.1.2.3')), false);
  assert.is(w.ipv4IsValidSource(ip('127.0.0.1')), false);
  assert.is(w.ipv4IsValidSource(ip('240.0.0.1')), false);
  assert.is(w.ipv4IsValidSource(ip('10.0.0.1')), true);
});

// ---- malformed input: rejected with the right code, never a trap ----

test('truncation: every length from 0 to full, for every fixture frame, at every layer', () => {
  const names = ['arp-ping', 'udp', 'icmp-port-unreachable', 'vlan', 'fragment', 'tcp'];
  for (const name of names) {
    for (const f of fixture(name)) {
      for (let len = 0; len <= f.length; len++) {
        const p = put(f.subarray(0, len));
        const eth = w.ethernetParse(p, len);
        if (len < 14) { assert.is(eth, ETH_TRUNCATED); continue; }
        if (eth < 0) { assert.ok(len < 18); continue; }
        const rest = len - eth;
        const type = w.ethType();
        if (type === 0x0806) {
          assert.is(w.arpParse(p + eth, rest), rest < 28 ? ARP.TRUNCATED : 0);
        } else if (type === 0x0800) {
          const total = be16(f, eth + 2);
          const r = w.ipv4Parse(p + eth, rest, 1);
          if (rest < 20) assert.is(r, IP.TRUNCATED);
          else if (rest < total) assert.is(r, IP.TOTAL_LENGTH_EXCEEDS_FRAME);
          else assert.is(r, 20);
        }
      }
    }
  }
  // L4 parsers on every truncation of their fixture.
  const [u] = fixture('udp');
  const ul = u.length - 34;
  for (let len = 0; len <= ul; len++) {
    const r = w.udpParse(put(u.subarray(34, 34 + len)), len, 1, w.ipv4PseudoHeaderSum(A_IP, B_IP, 17, 0), 1);
    assert.is(r, len < 8 ? UDP.TRUNCATED : len < ul ? UDP.BAD_LENGTH : 0);
  }
  const echo = fixture('arp-ping')[2].subarray(34);
  for (let len = 0; len <= echo.length; len++) {
    const r = w.icmpv4Parse(put(echo.subarray(0, len)), len, 1);
    assert.is(r, len < 8 ? ICMP.TRUNCATED : len < echo.length ? ICMP.BAD_CHECKSUM : 0);
  }
});

test('corrupted IPv4: bad version, bad IHL, total length beyond the frame or below the header, bad checksum', () => {
  const base = fixture('arp-ping')[2].slice(14);
  const check = (mutate, want, note) => {
    const b = base.slice();
    mutate(b);
    assert.is(w.ipv4Parse(put(b), b.length, 1), want, note);
  };
  check((b) => { b[0] = 0x65; }, IP.BAD_VERSION, 'version 6');
  check((b) => { b[0] = 0x44; }, IP.BAD_IHL, 'IHL 4');
  check((b) => { b[0] = 0x4f; }, IP.BAD_IHL, 'IHL 15 > total length 52');
  check((b) => { b[2] = 0; b[3] = 53; }, IP.TOTAL_LENGTH_EXCEEDS_FRAME, 'total 53 > 52 bytes');
  check((b) => { b[2] = 0; b[3] = 19; }, IP.BAD_IHL, 'total 19 < header');
  check((b) => { b[12] ^= 1; }, IP.BAD_CHECKSUM, 'source changed');
  for (let i = 0; i < 20; i++) {
    if (i === 0 || i === 2 || i === 3) continue;
    check((b) => { b[i] ^= 0x10; }, IP.BAD_CHECKSUM, `byte ${i} flipped`);
  }
});

test('oversized and padded IPv4: bytes beyond the total length are link padding; options skipped by IHL', () => {
  const d = ipv4(A_IP, B_IP, 17, udp(A_IP, B_IP, 1, 2, [1, 2, 3]), { options: [0x94, 0x04, 0, 0, 1, 1, 1, 0] });
  const padded = Uint8Array.from([...d, ...new Array(40).fill(0xee)]);
  assert.is(w.ipv4Parse(put(padded), padded.length, 1), 28);
  assert.is(w.ipHeaderLen(), 28);
  assert.is(w.ipTotalLen(), d.length);
  // A 64 KiB datagram with the largest total length parses.
  const big = ipv4(A_IP, B_IP, 253, new Uint8Array(65535 - 20));
  assert.is(w.ipv4Parse(put(big), big.length, 1), 20);
  assert.is(w.ipTotalLen(), 65535);
});

test('corrupted ARP, ICMP and UDP: wrong types, opcodes, lengths and checksums', () => {
  const arp = fixture('arp-ping')[0].slice(14);
  const tryArp = (i, v, want) => { const b = arp.slice(); b[i] = v; assert.is(w.arpParse(put(b), 28), want); };
  tryArp(1, 6, ARP.UNSUPPORTED_TYPE);
  tryArp(2, 0x86, ARP.UNSUPPORTED_TYPE);
  tryArp(4, 8, ARP.UNSUPPORTED_TYPE);
  tryArp(5, 16, ARP.UNSUPPORTED_TYPE);
  tryArp(7, 3, ARP.BAD_OPCODE);
  tryArp(7, 0, ARP.BAD_OPCODE);
  const echo = fixture('arp-ping')[2].slice(34);
  echo[20] ^= 0xff;
  assert.is(w.icmpv4Parse(put(echo), echo.length, 1), ICMP.BAD_CHECKSUM);
  assert.is(w.icmpv4Parse(put(echo), echo.length, 0), 0, 'accepted when told the checksum was checked');
  const u = fixture('udp')[0].slice(34);
  const pseudo = w.ipv4PseudoHeaderSum(A_IP, B_IP, 17, 0);
  const tryUdp = (mutate, want, zeroOk = 1) => { const b = u.slice(); mutate(b); assert.is(w.udpParse(put(b), b.length, 1, pseudo, zeroOk), want); };
  tryUdp((b) => { b[5] = 7; }, UDP.BAD_LENGTH);
  tryUdp((b) => { b[5] = 26; }, UDP.BAD_LENGTH);
  tryUdp((b) => { b[10] ^= 1; }, UDP.BAD_CHECKSUM);
  tryUdp((b) => { b[10] ^= 1; b[6] = 0; b[7] = 0; }, 0);
  tryUdp((b) => { b[6] = 0; b[7] = 0; }, UDP.BAD_CHECKSUM, 0);
  // A shorter length field verifies over its own bytes only: the rest is padding.
  const short = udp(A_IP, B_IP, 7, 9, [1, 2, 3, 4]);
  const withPad = Uint8Array.from([...short, 9, 9, 9]);
  assert.is(w.udpParse(put(withPad), withPad.length, 1, pseudo, 1), 0);
  assert.is(w.udpPayloadLen(), 4);
});

test.run();
