// Ethernet/ARP/IPv4/ICMP/UDP/TCP frames on the host side, for everything that drives the stack
// from outside: the packetdrill runner (src/pktdrill/), pcap replay (src/replay/) and the test
// suite (tests/, through dist/testing/frames.js). One builder per header, one decoder, one
// checksum: a frame a test writes and a frame a script injects are built by the same code.
//
// Why here: it is not packetdrill's own (replay and the tests use it as much), and it is
// compiled into dist/ because the CLI's `pktdrill` and `replay` commands need it at run time.
//
// Guarantees:
// - built frames carry correct IPv4 header and ICMP/UDP/TCP checksums (RFC 791 3.1, RFC 792,
//   RFC 768, RFC 9293 3.1 with the IPv4 pseudo-header), from this file's own RFC 1071 sum,
//   written independently of the stack's (assembly/wire/checksum.ts) so each checks the other;
// - `decodeFrame` never throws on any bytes: it reports the first problem in `error`
//   ("<layer>: <reason>") and verifies every checksum it can reach (`checksumOk`);
// - `parseFrame` is the strict form for tests: it throws on anything `decodeFrame` reports and
//   on any wrong checksum, so a test can never pass on a broken frame.
//
// Notations:
// - numbers for addresses (IPv4 in host order, as the stack's ABI) and 6-byte arrays for MACs;
//   their text forms come from src/net/ipv4.ts (`ipAddress`/`macAddress` throw on a typo);
// - TCP flags as packetdrill letters (F S R P . U E W A: '.' is ACK, W is CWR, A is AE) in
//   scripts, and as bit letters (F S R P A U E C N, one per bit from FIN up) in the tests'
//   compact form (`tcpSegment`, `parseFrame`): 'SA' is SYN+ACK there;
// - TCP options as a TcpOption list, encoded exactly as written (packetdrill), or as fields
//   { mss, wscale, sackOk, ts: [val, ecr], sack: [[left, right], ...] } laid out as Linux lays
//   them out (`linuxTcpOptions`), the shape `parseFrame` gives back.

import { formatIpv4, formatMac, parseIpv4, parseMac } from '../net/ipv4.js';
import type { TcpOption } from '../pktdrill/ast.js';

export const ETH_HEADER_BYTES = 14;
/** The shortest Ethernet frame without FCS (IEEE 802.3): a NIC delivers shorter ones padded. */
export const ETH_MIN_FRAME = 60;
export const ETH_IPV4 = 0x0800;
export const ETH_ARP = 0x0806;
export const ETH_VLAN = 0x8100;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const BROADCAST_MAC: Readonly<Uint8Array> = Uint8Array.of(255, 255, 255, 255, 255, 255);

/** TCP flag bits (the 9 bits after the data offset; AE is RFC 3540's former NS bit). */
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80, AE: 0x100 } as const;

// ---- addresses and fields ----

/** An IPv4 literal ('10.0.0.1') as a number; throws on anything else (a typo in a test). */
export function ipAddress(text: string): number {
  const a = parseIpv4(text);
  if (a === null) throw new Error(`frames: '${text}' is not an IPv4 address like 10.0.0.1`);
  return a;
}

/** A MAC literal ('02:00:00:00:00:01') as 6 bytes; throws on anything else. */
export function macAddress(text: string): Uint8Array {
  const m = parseMac(text);
  if (m === null) throw new Error(`frames: '${text}' is not a MAC address like 02:00:00:00:00:01`);
  return m;
}

/** Big-endian field readers over frame bytes. */
export const be16 = (b: ArrayLike<number>, at: number): number => (b[at] << 8) | b[at + 1];
export const be32 = (b: ArrayLike<number>, at: number): number => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;

function u32Bytes(v: number): number[] { return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]; }

// ---- the Internet checksum (RFC 1071) ----

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** One's complement sum of big-endian 16-bit words (an odd last byte is a high byte) plus `initial`, folded to 16 bits. */
export function onesSum(bytes: ArrayLike<number>, initial = 0): number {
  let s = initial;
  const even = bytes.length & ~1;
  for (let i = 0; i < even; i += 2) s += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) s += bytes[bytes.length - 1] << 8;
  return fold(s);
}

/** The checksum field value for `bytes` (with the field zero) and a partial sum `initial`; 0 when verifying a correct range. */
export function internetChecksum(bytes: ArrayLike<number>, initial = 0): number {
  return (~onesSum(bytes, initial)) & 0xffff;
}

/** The IPv4 pseudo-header sum (RFC 9293 3.1, RFC 768), folded to 16 bits. */
export function pseudoHeaderSum(src: number, dst: number, proto: number, length: number): number {
  return fold((src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + length);
}

// ---- TCP flags ----

const PACKETDRILL_LETTERS: ReadonlyArray<[string, number]> = [
  ['F', TcpFlag.FIN], ['S', TcpFlag.SYN], ['R', TcpFlag.RST], ['P', TcpFlag.PSH], ['U', TcpFlag.URG],
  ['E', TcpFlag.ECE], ['W', TcpFlag.CWR], ['A', TcpFlag.AE], ['.', TcpFlag.ACK],
];
const BIT_LETTERS = 'FSRPAUECN';

/** packetdrill's flag letters to bits (unknown letters are ignored, as packetdrill's lexer never passes them). */
export function flagsFromLetters(letters: string): number {
  let f = 0;
  for (const ch of letters) for (const [l, bit] of PACKETDRILL_LETTERS) if (ch === l) f |= bit;
  return f;
}

/** Bits to packetdrill's letters, in packetdrill's printing order (F S R P U E W A, then '.'); '-' for none. */
export function lettersFromFlags(f: number): string {
  const s = PACKETDRILL_LETTERS.filter(([, bit]) => f & bit).map(([l]) => l).join('');
  return s === '' ? '-' : s;
}

/** Bit letters ('SA', 'FA', 'R') to bits; throws on a letter that is not one. */
export function flagsFromBitLetters(letters: string): number {
  let f = 0;
  for (const ch of letters) {
    const i = BIT_LETTERS.indexOf(ch);
    if (i < 0) throw new Error(`frames: unknown TCP flag letter '${ch}' (one of ${BIT_LETTERS.split('').join(' ')})`);
    f |= 1 << i;
  }
  return f;
}

/** Bits to bit letters, lowest bit first ('SA', 'FA', 'PA', 'RA', 'R'). */
export function bitLettersFromFlags(f: number): string {
  return BIT_LETTERS.split('').filter((_, i) => f & (1 << i)).join('');
}

// ---- TCP options ----

/** Option fields in the tests' compact form (and `parseFrame`'s). */
export interface TcpOptionFields {
  mss?: number;
  wscale?: number;
  sackOk?: boolean;
  ts?: [number, number];
  sack?: Array<[number, number]>;
  /** TCP Fast Open option (RFC 7413): the cookie in hex, '' for a request. */
  fastOpen?: string;
}

/**
 * The options Linux sends for `o` (net/ipv4/tcp_output.c tcp_options_write order): on a SYN,
 * MSS, then SACK-permitted in the TS option's leading NOP NOP (or NOP NOP SACK-permitted
 * without TS), then NOP + window scale; on other segments NOP NOP TS, then NOP NOP SACK blocks.
 */
export function linuxTcpOptions(o: TcpOptionFields | undefined, syn: boolean): TcpOption[] {
  if (!o) return [];
  const out: TcpOption[] = [];
  const ts = o.ts ? { kind: 'TS' as const, val: o.ts[0], ecr: o.ts[1] } : null;
  if (syn) {
    if (o.mss !== undefined) out.push({ kind: 'mss', value: o.mss });
    if (ts && o.sackOk) out.push({ kind: 'sackOK' }, ts);
    else if (ts) out.push({ kind: 'nop' }, { kind: 'nop' }, ts);
    else if (o.sackOk) out.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sackOK' });
    if (o.wscale !== undefined) out.push({ kind: 'nop' }, { kind: 'wscale', value: o.wscale });
    if (o.fastOpen !== undefined) {
      // Linux pads the Fast Open option with NOPs in front to a multiple of 4 bytes.
      for (let pad = (4 - ((2 + o.fastOpen.length / 2) & 3)) & 3; pad > 0; pad--) out.push({ kind: 'nop' });
      out.push({ kind: 'FO', cookie: o.fastOpen });
    }
  } else {
    if (ts) out.push({ kind: 'nop' }, { kind: 'nop' }, ts);
    if (o.sack?.length) out.push({ kind: 'nop' }, { kind: 'nop' }, { kind: 'sack', blocks: o.sack });
  }
  return out;
}

/** Encodes TCP options as written (no implicit padding: `encodeTcp` pads with EOL to 4 bytes). */
export function encodeTcpOptions(options: readonly TcpOption[]): number[] {
  const out: number[] = [];
  for (const o of options) {
    switch (o.kind) {
      case 'nop': out.push(1); break;
      case 'eol': out.push(0); break;
      case 'mss': out.push(2, 4, (o.value >> 8) & 255, o.value & 255); break;
      case 'wscale': out.push(3, 3, o.value); break;
      case 'sackOK': out.push(4, 2); break;
      case 'sack':
        out.push(5, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks) out.push(...u32Bytes(l), ...u32Bytes(r));
        break;
      case 'TS': out.push(8, 10, ...u32Bytes(o.val), ...u32Bytes(o.ecr)); break;
      case 'FO': out.push(34, 2 + o.cookie.length / 2, ...Buffer.from(o.cookie, 'hex')); break;
    }
  }
  return out;
}

/** Decodes TCP option bytes into a TcpOption list, or the first malformed or unknown option (RFC 9293 3.2). */
export function decodeTcpOptions(b: Uint8Array): { options?: TcpOption[]; error?: string } {
  const out: TcpOption[] = [];
  let i = 0;
  while (i < b.length) {
    const kind = b[i];
    if (kind === 0) { out.push({ kind: 'eol' }); break; }
    if (kind === 1) { out.push({ kind: 'nop' }); i++; continue; }
    if (i + 1 >= b.length) return { error: `option kind ${kind} at byte ${i} has no length` };
    const len = b[i + 1];
    if (len < 2 || i + len > b.length) return { error: `option kind ${kind} at byte ${i} has bad length ${len}` };
    const dv = new DataView(b.buffer, b.byteOffset + i, len);
    switch (kind) {
      case 2:
        if (len !== 4) return { error: `MSS option length ${len} (must be 4)` };
        out.push({ kind: 'mss', value: dv.getUint16(2) });
        break;
      case 3:
        if (len !== 3) return { error: `window scale option length ${len} (must be 3)` };
        out.push({ kind: 'wscale', value: dv.getUint8(2) });
        break;
      case 4:
        if (len !== 2) return { error: `SACK-permitted option length ${len} (must be 2)` };
        out.push({ kind: 'sackOK' });
        break;
      case 5: {
        if ((len - 2) % 8 !== 0 || len === 2) return { error: `SACK option length ${len} (must be 2 + 8n)` };
        const blocks: Array<[number, number]> = [];
        for (let k = 2; k < len; k += 8) blocks.push([dv.getUint32(k), dv.getUint32(k + 4)]);
        out.push({ kind: 'sack', blocks });
        break;
      }
      case 8:
        if (len !== 10) return { error: `timestamp option length ${len} (must be 10)` };
        out.push({ kind: 'TS', val: dv.getUint32(2), ecr: dv.getUint32(6) });
        break;
      case 34:
        out.push({ kind: 'FO', cookie: Buffer.from(b.subarray(i + 2, i + len)).toString('hex') });
        break;
      default:
        return { error: `unknown option kind ${kind}` };
    }
    i += len;
  }
  return { options: out };
}

/** A decoded option list in the compact form (NOP and EOL dropped). */
export function tcpOptionFields(options: readonly TcpOption[]): TcpOptionFields {
  const o: TcpOptionFields = {};
  for (const op of options) {
    if (op.kind === 'mss') o.mss = op.value;
    else if (op.kind === 'wscale') o.wscale = op.value;
    else if (op.kind === 'sackOK') o.sackOk = true;
    else if (op.kind === 'TS') o.ts = [op.val, op.ecr];
    else if (op.kind === 'sack') o.sack = op.blocks.map(([l, r]) => [l, r]);
    else if (op.kind === 'FO') o.fastOpen = op.cookie;
  }
  return o;
}

/** Formats TCP options the way packetdrill writes them. */
export function formatTcpOptions(options: readonly TcpOption[]): string {
  return options.map((o) => {
    switch (o.kind) {
      case 'nop': return 'nop';
      case 'eol': return 'eol';
      case 'mss': return `mss ${o.value}`;
      case 'wscale': return `wscale ${o.value}`;
      case 'sackOK': return 'sackOK';
      case 'sack': return `sack ${o.blocks.map(([l, r]) => `${l >>> 0}:${r >>> 0}`).join(' ')}`;
      case 'TS': return `TS val ${o.val >>> 0} ecr ${o.ecr >>> 0}`;
      case 'FO': return o.cookie === '' ? 'FO' : `FO ${o.cookie}`;
    }
    return '';
  }).join(',');
}

// ---- builders, one per header ----

export interface EthernetOptions {
  /** An IEEE 802.1Q tag before the EtherType. */
  vlan?: { id: number; pcp?: number };
  /** Zero-pad the frame to this many bytes (ETH_MIN_FRAME: as a NIC delivers a short frame). */
  padTo?: number;
}

/** An Ethernet frame: `dst`, `src`, optional VLAN tag, EtherType `type`, `payload`. */
export function buildEthernet(dst: ArrayLike<number>, src: ArrayLike<number>, type: number, payload: ArrayLike<number>, o: EthernetOptions = {}): Uint8Array {
  const tag = o.vlan ? 4 : 0;
  const f = new Uint8Array(Math.max(o.padTo ?? 0, ETH_HEADER_BYTES + tag + payload.length));
  const dv = new DataView(f.buffer);
  f.set(dst, 0);
  f.set(src, 6);
  if (o.vlan) {
    dv.setUint16(12, ETH_VLAN);
    dv.setUint16(14, ((o.vlan.pcp ?? 0) << 13) | o.vlan.id);
  }
  dv.setUint16(12 + tag, type);
  f.set(payload, ETH_HEADER_BYTES + tag);
  return f;
}

/** An ARP packet for IPv4 over Ethernet (RFC 826): 28 bytes, `op` 1 request, 2 reply. */
export function buildArp(op: number, senderMac: ArrayLike<number>, senderIp: number, targetMac: ArrayLike<number>, targetIp: number): Uint8Array {
  const a = new Uint8Array(28);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, 1);
  dv.setUint16(2, ETH_IPV4);
  a[4] = 6;
  a[5] = 4;
  dv.setUint16(6, op);
  a.set(senderMac, 8);
  dv.setUint32(14, senderIp >>> 0);
  a.set(targetMac, 18);
  dv.setUint32(24, targetIp >>> 0);
  return a;
}

/** A whole ARP reply frame from `senderMac`/`senderIp` to the requester, padded as a NIC delivers it. */
export function buildArpReply(senderMac: Uint8Array, senderIp: number, targetMac: Uint8Array, targetIp: number): Uint8Array {
  return buildEthernet(targetMac, senderMac, ETH_ARP, buildArp(2, senderMac, senderIp, targetMac, targetIp), { padTo: ETH_MIN_FRAME });
}

export interface Ipv4Options {
  id?: number;
  ttl?: number;
  tos?: number;
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in 8-byte units. */
  frag?: number;
  /** IPv4 option bytes, a multiple of 4. */
  options?: ArrayLike<number>;
}

/** An IPv4 packet with its header checksum (RFC 791 3.1); defaults: id 1, TTL 64, DF set. */
export function buildIpv4(src: number, dst: number, proto: number, payload: ArrayLike<number>, o: Ipv4Options = {}): Uint8Array {
  const optionBytes = o.options ?? [];
  const hl = 20 + optionBytes.length;
  const p = new Uint8Array(hl + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x40 | (hl / 4);
  p[1] = o.tos ?? 0;
  dv.setUint16(2, p.length);
  dv.setUint16(4, (o.id ?? 1) & 0xffff);
  dv.setUint16(6, (o.df === false ? 0 : 0x4000) | (o.mf ? 0x2000 : 0) | (o.frag ?? 0));
  p[8] = o.ttl ?? 64;
  p[9] = proto;
  dv.setUint32(12, src >>> 0);
  dv.setUint32(16, dst >>> 0);
  p.set(optionBytes, 20);
  dv.setUint16(10, internetChecksum(p.subarray(0, hl)));
  p.set(payload, hl);
  return p;
}

/** An ICMP message (RFC 792) with its checksum: `rest` is the 4 bytes after the checksum. */
export function buildIcmp(type: number, code: number, rest: number, body: ArrayLike<number>): Uint8Array {
  const m = new Uint8Array(8 + body.length);
  const dv = new DataView(m.buffer);
  m[0] = type;
  m[1] = code;
  dv.setUint32(4, rest >>> 0);
  m.set(body, 8);
  dv.setUint16(2, internetChecksum(m));
  return m;
}

/** An ICMP echo request (type 8) or reply (type 0) with identifier `id`, sequence `seq`. */
export function icmpEcho(type: number, id: number, seq: number, data: ArrayLike<number>): Uint8Array {
  return buildIcmp(type, 0, (((id & 0xffff) << 16) | (seq & 0xffff)) >>> 0, data);
}

/** A UDP datagram (RFC 768) with its checksum over the pseudo-header (a computed 0 is sent as 0xffff), or 0 with `noChecksum`. */
export function buildUdp(src: number, dst: number, srcPort: number, dstPort: number, payload: ArrayLike<number>,
  { noChecksum = false }: { noChecksum?: boolean } = {}): Uint8Array {
  const seg = new Uint8Array(8 + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, srcPort);
  dv.setUint16(2, dstPort);
  dv.setUint16(4, seg.length);
  seg.set(payload, 8);
  if (!noChecksum) {
    const c = internetChecksum(seg, pseudoHeaderSum(src, dst, IPPROTO_UDP, seg.length));
    dv.setUint16(6, c === 0 ? 0xffff : c);
  }
  return seg;
}

/** The TCP header fields every segment has, as built and as decoded (RFC 9293 3.1). */
export interface TcpHeaderFields {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** TcpFlag bits. */
  flags: number;
  win: number;
}

export interface TcpSegmentSpec extends TcpHeaderFields {
  urg?: number;
  /** Option bytes (`encodeTcpOptions`), padded here with EOL to a multiple of 4. */
  options?: ArrayLike<number>;
  payload?: ArrayLike<number>;
}

/** A TCP segment's bytes with the checksum field zero (RFC 9293 3.1 header layout). */
export function encodeTcp(s: TcpSegmentSpec): Uint8Array {
  const optionBytes = s.options ?? [];
  const payload = s.payload ?? [];
  const hl = 20 + Math.ceil(optionBytes.length / 4) * 4;
  const seg = new Uint8Array(hl + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, s.srcPort);
  dv.setUint16(2, s.dstPort);
  dv.setUint32(4, s.seq >>> 0);
  dv.setUint32(8, s.ack >>> 0);
  dv.setUint16(12, ((hl / 4) << 12) | (s.flags & 0x1ff));
  dv.setUint16(14, s.win & 0xffff);
  dv.setUint16(18, s.urg ?? 0);
  seg.set(optionBytes, 20);
  seg.set(payload, hl);
  return seg;
}

/** A TCP segment with its checksum for the given IPv4 addresses. */
export function buildTcp(src: number, dst: number, s: TcpSegmentSpec): Uint8Array {
  const seg = encodeTcp(s);
  new DataView(seg.buffer).setUint16(16, internetChecksum(seg, pseudoHeaderSum(src, dst, IPPROTO_TCP, seg.length)));
  return seg;
}

// ---- the tests' compact form: a peer talking TCP to a stack ----

export const STACK_MAC = '02:00:00:00:00:01';
export const PEER_MAC = '02:00:00:00:00:02';
export const STACK_IP = '10.0.0.1';
export const PEER_IP = '10.0.0.2';

/** Layer-4 bytes waiting for their IPv4 addresses: `ipv4Frame` fills in the checksum. */
export interface L4Bytes { proto: number; bytes: Uint8Array }

export interface CompactTcpSpec {
  sport?: number;
  dport?: number;
  /** Bit letters: 'S', 'SA', 'A', 'PA', 'FA', 'R', ... */
  flags?: string;
  seq?: number;
  ack?: number;
  win?: number;
  /** Fields laid out as Linux does (`linuxTcpOptions`). */
  options?: TcpOptionFields;
  /** Option bytes as given (for malformed cases), used instead of `options`. */
  rawOptions?: ArrayLike<number>;
  payload?: Uint8Array | string;
  urgent?: number;
}

/** A TCP segment (checksum left to `ipv4Frame`); defaults: 40000 -> 80, ACK, window 65535. */
export function tcpSegment({ sport = 40000, dport = 80, flags = 'A', seq = 0, ack = 0, win = 65535, options, rawOptions,
  payload = new Uint8Array(0), urgent = 0 }: CompactTcpSpec = {}): L4Bytes {
  const bits = flagsFromBitLetters(flags);
  const optionBytes = rawOptions ?? encodeTcpOptions(linuxTcpOptions(options, (bits & TcpFlag.SYN) !== 0));
  const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  return { proto: IPPROTO_TCP, bytes: encodeTcp({ srcPort: sport, dstPort: dport, seq, ack, flags: bits, win, urg: urgent, options: optionBytes, payload: data }) };
}

export interface CompactIpv4Options {
  src?: string;
  dst?: string;
  srcMac?: string;
  dstMac?: string;
  ttl?: number;
  id?: number;
  /** Corrupts the layer-4 checksum on purpose. */
  badChecksum?: boolean;
}

/** Where a protocol's checksum field sits in its header. */
const CHECKSUM_AT: Record<number, number> = { [IPPROTO_TCP]: 16, [IPPROTO_UDP]: 6 };

/**
 * A whole Ethernet frame carrying `l4` in IPv4, from the peer to the stack by default, with the
 * TCP/UDP checksum filled in; bytes too short to hold the checksum field get none (a test feeds
 * such a truncated segment with the port's checksum-good RX flag).
 */
export function ipv4Frame(l4: L4Bytes, { src = PEER_IP, dst = STACK_IP, srcMac = PEER_MAC, dstMac = STACK_MAC, ttl = 64, id = 1,
  badChecksum = false }: CompactIpv4Options = {}): Uint8Array {
  const s = ipAddress(src);
  const d = ipAddress(dst);
  const seg = Uint8Array.from(l4.bytes);
  const at = CHECKSUM_AT[l4.proto];
  if (at !== undefined && seg.length >= at + 2) {
    const dv = new DataView(seg.buffer);
    dv.setUint16(at, 0);
    dv.setUint16(at, internetChecksum(seg, pseudoHeaderSum(s, d, l4.proto, seg.length)) ^ (badChecksum ? 0x5555 : 0));
  }
  return buildEthernet(macAddress(dstMac), macAddress(srcMac), ETH_IPV4, buildIpv4(s, d, l4.proto, seg, { ttl, id }));
}

// ---- decoding ----

export interface DecodedTcp extends TcpHeaderFields {
  urg: number;
  headerLen: number;
  /** Decoded options, in order; undefined when malformed (see `optionsError`). */
  options?: TcpOption[];
  optionsError?: string;
  optionBytes: Uint8Array;
  payload: Uint8Array;
  checksumOk: boolean;
}

export interface DecodedUdp { srcPort: number; dstPort: number; length: number; payload: Uint8Array; checksumOk: boolean }
export interface DecodedIcmp { type: number; code: number; rest: number; body: Uint8Array; checksumOk: boolean }
export interface DecodedArp { op: number; senderMac: Uint8Array; senderIp: number; targetMac: Uint8Array; targetIp: number }

export interface DecodedIpv4 {
  tos: number;
  totalLength: number;
  id: number;
  df: boolean;
  fragment: boolean;
  ttl: number;
  proto: number;
  src: number;
  dst: number;
  headerLen: number;
  checksumOk: boolean;
}

export interface DecodedFrame {
  dstMac: Uint8Array;
  srcMac: Uint8Array;
  ethertype: number;
  arp?: DecodedArp;
  ipv4?: DecodedIpv4;
  tcp?: DecodedTcp;
  udp?: DecodedUdp;
  icmp?: DecodedIcmp;
  /** First problem found: "<layer>: <reason>". */
  error?: string;
}

/** Decodes a frame field by field; never throws (see the guarantees above). */
export function decodeFrame(frame: Uint8Array): DecodedFrame {
  if (frame.length < ETH_HEADER_BYTES) {
    return { dstMac: new Uint8Array(6), srcMac: new Uint8Array(6), ethertype: 0, error: `ethernet: frame of ${frame.length} bytes is shorter than a header` };
  }
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const out: DecodedFrame = { dstMac: frame.slice(0, 6), srcMac: frame.slice(6, 12), ethertype: dv.getUint16(12) };
  if (out.ethertype === ETH_ARP) {
    if (frame.length < ETH_HEADER_BYTES + 28) { out.error = 'arp: truncated'; return out; }
    out.arp = {
      op: dv.getUint16(20),
      senderMac: frame.slice(22, 28),
      senderIp: dv.getUint32(28),
      targetMac: frame.slice(32, 38),
      targetIp: dv.getUint32(38),
    };
    return out;
  }
  if (out.ethertype !== ETH_IPV4) { out.error = `ethernet: ethertype 0x${out.ethertype.toString(16)} is not IPv4 or ARP`; return out; }
  const ip = frame.subarray(ETH_HEADER_BYTES);
  if (ip.length < 20) { out.error = 'ipv4: truncated header'; return out; }
  const ihl = (ip[0] & 15) * 4;
  if (ip[0] >> 4 !== 4 || ihl < 20 || ip.length < ihl) { out.error = 'ipv4: bad version or header length'; return out; }
  const ipdv = new DataView(ip.buffer, ip.byteOffset, ip.byteLength);
  const totalLength = ipdv.getUint16(2);
  const fragField = ipdv.getUint16(6);
  out.ipv4 = {
    tos: ip[1],
    totalLength,
    id: ipdv.getUint16(4),
    df: (fragField & 0x4000) !== 0,
    fragment: (fragField & 0x3fff) !== 0,
    ttl: ip[8],
    proto: ip[9],
    src: ipdv.getUint32(12),
    dst: ipdv.getUint32(16),
    headerLen: ihl,
    checksumOk: internetChecksum(ip.subarray(0, ihl)) === 0,
  };
  if (totalLength < ihl || totalLength > ip.length) { out.error = `ipv4: total length ${totalLength} does not fit the frame (${ip.length} bytes)`; return out; }
  const l4 = ip.subarray(ihl, totalLength);
  const l4dv = new DataView(l4.buffer, l4.byteOffset, l4.byteLength);
  const src = out.ipv4.src, dst = out.ipv4.dst;
  if (out.ipv4.proto === IPPROTO_TCP) {
    if (l4.length < 20) { out.error = 'tcp: truncated header'; return out; }
    const hl = (l4[12] >> 4) * 4;
    if (hl < 20 || hl > l4.length) { out.error = `tcp: data offset ${hl} is out of range`; return out; }
    const optionBytes = l4.slice(20, hl);
    const opts = decodeTcpOptions(optionBytes);
    out.tcp = {
      srcPort: l4dv.getUint16(0),
      dstPort: l4dv.getUint16(2),
      seq: l4dv.getUint32(4),
      ack: l4dv.getUint32(8),
      flags: l4dv.getUint16(12) & 0x1ff,
      win: l4dv.getUint16(14),
      urg: l4dv.getUint16(18),
      headerLen: hl,
      optionBytes,
      payload: l4.slice(hl),
      checksumOk: internetChecksum(l4, pseudoHeaderSum(src, dst, IPPROTO_TCP, l4.length)) === 0,
    };
    if (opts.options) out.tcp.options = opts.options;
    else { out.tcp.optionsError = opts.error; out.error = `tcp: options: ${opts.error}`; }
  } else if (out.ipv4.proto === IPPROTO_UDP) {
    if (l4.length < 8) { out.error = 'udp: truncated header'; return out; }
    const length = l4dv.getUint16(4);
    const sum = l4dv.getUint16(6);
    out.udp = {
      srcPort: l4dv.getUint16(0),
      dstPort: l4dv.getUint16(2),
      length,
      payload: l4.slice(8, Math.max(8, Math.min(length, l4.length))),
      checksumOk: sum === 0 || internetChecksum(l4.subarray(0, Math.min(length, l4.length)), pseudoHeaderSum(src, dst, IPPROTO_UDP, length)) === 0,
    };
  } else if (out.ipv4.proto === IPPROTO_ICMP) {
    if (l4.length < 8) { out.error = 'icmp: truncated header'; return out; }
    out.icmp = { type: l4[0], code: l4[1], rest: l4dv.getUint32(4), body: l4.slice(8), checksumOk: internetChecksum(l4) === 0 };
  }
  return out;
}

/** `parseFrame`'s result: text addresses, bit-letter flags, option fields. */
export interface ParsedFrame {
  eth: { dst: string; src: string; type: number };
  raw: Uint8Array;
  arp?: { op: number; senderMac: string; senderIp: string; targetMac: string; targetIp: string };
  ip?: { src: string; dst: string; proto: number; ttl: number; df: boolean; totalLength: number };
  tcp?: {
    sport: number; dport: number; seq: number; ack: number; flags: string; win: number; urgent: number;
    options: TcpOptionFields; payload: Uint8Array;
  };
}

/** Decodes a frame the stack sent and throws on any problem `decodeFrame` finds or any wrong checksum. */
export function parseFrame(bytes: Uint8Array): ParsedFrame {
  const d = decodeFrame(bytes);
  if (d.error !== undefined) throw new Error(`frames: ${d.error}`);
  if (d.ipv4 && !d.ipv4.checksumOk) throw new Error('frames: bad IPv4 header checksum');
  for (const [name, layer] of [['TCP', d.tcp], ['UDP', d.udp], ['ICMP', d.icmp]] as const) {
    if (layer && !layer.checksumOk) throw new Error(`frames: bad ${name} checksum`);
  }
  const out: ParsedFrame = { eth: { dst: formatMac(d.dstMac), src: formatMac(d.srcMac), type: d.ethertype }, raw: bytes };
  if (d.arp) {
    const a = d.arp;
    out.arp = { op: a.op, senderMac: formatMac(a.senderMac), senderIp: formatIpv4(a.senderIp), targetMac: formatMac(a.targetMac), targetIp: formatIpv4(a.targetIp) };
  }
  if (d.ipv4) {
    const i = d.ipv4;
    out.ip = { src: formatIpv4(i.src), dst: formatIpv4(i.dst), proto: i.proto, ttl: i.ttl, df: i.df, totalLength: i.totalLength };
  }
  if (d.tcp) {
    const t = d.tcp;
    out.tcp = {
      sport: t.srcPort, dport: t.dstPort, seq: t.seq, ack: t.ack, flags: bitLettersFromFlags(t.flags), win: t.win, urgent: t.urg,
      options: tcpOptionFields(t.options ?? []), payload: t.payload,
    };
  }
  return out;
}
