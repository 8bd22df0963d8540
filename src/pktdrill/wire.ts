// Frames on the host side: build the Ethernet/ARP/IPv4/TCP/UDP/ICMP frames a script injects,
// and decode the frames a stack sends, field by field.
//
// Guarantees: built frames carry correct IPv4 header and TCP/UDP/ICMP checksums (RFC 791,
// RFC 9293 3.1 pseudo-header, RFC 768, RFC 792); `decodeFrame` never throws on any bytes: what
// it cannot read it reports in `error` with the layer and reason, and every checksum it can
// verify is verified. Used by the packetdrill runner and by pcap replay comparisons.

import type { TcpOption } from './ast.js';

export const ETH_IPV4 = 0x0800;
export const ETH_ARP = 0x0806;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** TCP flag bits (the 9 bits after the data offset; AE is RFC 3540's former NS bit). */
export const TcpFlag = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80, AE: 0x100 } as const;

/** packetdrill's flag letters to bits ('.' is ACK). */
export function flagsFromLetters(letters: string): number {
  let f = 0;
  for (const ch of letters) {
    switch (ch) {
      case 'F': f |= TcpFlag.FIN; break;
      case 'S': f |= TcpFlag.SYN; break;
      case 'R': f |= TcpFlag.RST; break;
      case 'P': f |= TcpFlag.PSH; break;
      case '.': f |= TcpFlag.ACK; break;
      case 'U': f |= TcpFlag.URG; break;
      case 'E': f |= TcpFlag.ECE; break;
      case 'W': f |= TcpFlag.CWR; break;
      case 'A': f |= TcpFlag.AE; break;
      default: break;
    }
  }
  return f;
}

/** Bits to packetdrill's letters, in packetdrill's printing order (F S R P U E W A, then '.'). */
export function lettersFromFlags(f: number): string {
  let s = '';
  if (f & TcpFlag.FIN) s += 'F';
  if (f & TcpFlag.SYN) s += 'S';
  if (f & TcpFlag.RST) s += 'R';
  if (f & TcpFlag.PSH) s += 'P';
  if (f & TcpFlag.URG) s += 'U';
  if (f & TcpFlag.ECE) s += 'E';
  if (f & TcpFlag.CWR) s += 'W';
  if (f & TcpFlag.AE) s += 'A';
  if (f & TcpFlag.ACK) s += '.';
  return s === '' ? '-' : s;
}

export function ipToString(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/** Parses dotted-quad IPv4 text to a host-order u32, or undefined. */
export function parseIp(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function macToString(mac: Uint8Array): string {
  return Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** One's-complement sum of 16-bit big-endian words (not folded), starting from `initial`. */
function sum16(bytes: Uint8Array, initial = 0): number {
  let s = initial;
  const n = bytes.length & ~1;
  for (let i = 0; i < n; i += 2) s += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) s += bytes[bytes.length - 1] << 8;
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** The Internet checksum (RFC 1071) of `bytes` plus an optional partial sum. */
export function internetChecksum(bytes: Uint8Array, initial = 0): number {
  return (~fold(sum16(bytes, initial))) & 0xffff;
}

function pseudoHeaderSum(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

/** Encodes TCP options as written (no implicit padding: the caller pads to 4 bytes). */
export function encodeTcpOptions(options: readonly TcpOption[]): number[] {
  const out: number[] = [];
  for (const o of options) {
    switch (o.kind) {
      case 'nop': out.push(1); break;
      case 'eol': out.push(0); break;
      case 'mss': out.push(2, 4, o.value >> 8, o.value & 255); break;
      case 'wscale': out.push(3, 3, o.value); break;
      case 'sackOK': out.push(4, 2); break;
      case 'sack':
        out.push(5, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks) out.push(...be32(l), ...be32(r));
        break;
      case 'TS': out.push(8, 10, ...be32(o.val), ...be32(o.ecr)); break;
    }
  }
  return out;
}

function be32(v: number): number[] { return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255]; }

export interface TcpSegmentSpec {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
  urg?: number;
  options?: number[];
  payload?: Uint8Array;
}

/** A TCP segment with its checksum for the given IPv4 addresses; options padded with EOL to 4 bytes. */
export function buildTcp(src: number, dst: number, s: TcpSegmentSpec): Uint8Array {
  const opts = [...(s.options ?? [])];
  while (opts.length % 4) opts.push(0);
  const payload = s.payload ?? new Uint8Array(0);
  const hl = 20 + opts.length;
  const seg = new Uint8Array(hl + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, s.srcPort);
  dv.setUint16(2, s.dstPort);
  dv.setUint32(4, s.seq >>> 0);
  dv.setUint32(8, s.ack >>> 0);
  dv.setUint16(12, ((hl / 4) << 12) | (s.flags & 0x1ff));
  dv.setUint16(14, s.win & 0xffff);
  dv.setUint16(18, s.urg ?? 0);
  seg.set(opts, 20);
  seg.set(payload, hl);
  dv.setUint16(16, internetChecksum(seg, pseudoHeaderSum(src, dst, IPPROTO_TCP, seg.length)));
  return seg;
}

export function buildUdp(src: number, dst: number, srcPort: number, dstPort: number, payload: Uint8Array): Uint8Array {
  const seg = new Uint8Array(8 + payload.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, srcPort);
  dv.setUint16(2, dstPort);
  dv.setUint16(4, seg.length);
  seg.set(payload, 8);
  const c = internetChecksum(seg, pseudoHeaderSum(src, dst, IPPROTO_UDP, seg.length));
  dv.setUint16(6, c === 0 ? 0xffff : c);
  return seg;
}

export function buildIcmp(type: number, code: number, rest: number, body: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + body.length);
  const dv = new DataView(m.buffer);
  m[0] = type;
  m[1] = code;
  dv.setUint32(4, rest >>> 0);
  m.set(body, 8);
  dv.setUint16(2, internetChecksum(m));
  return m;
}

export interface Ipv4Spec { src: number; dst: number; proto: number; id: number; ttl?: number; tos?: number; df?: boolean }

export function buildIpv4(h: Ipv4Spec, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  p[1] = h.tos ?? 0;
  dv.setUint16(2, p.length);
  dv.setUint16(4, h.id & 0xffff);
  dv.setUint16(6, h.df === false ? 0 : 0x4000);
  p[8] = h.ttl ?? 64;
  p[9] = h.proto;
  dv.setUint32(12, h.src >>> 0);
  dv.setUint32(16, h.dst >>> 0);
  dv.setUint16(10, internetChecksum(p.subarray(0, 20)));
  p.set(payload, 20);
  return p;
}

/** An Ethernet frame, zero-padded to the 60-byte minimum (without FCS) as a NIC delivers it. */
export function buildEthernet(dst: Uint8Array, src: Uint8Array, type: number, payload: Uint8Array): Uint8Array {
  const f = new Uint8Array(Math.max(60, 14 + payload.length));
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = type >> 8;
  f[13] = type & 255;
  f.set(payload, 14);
  return f;
}

/** An ARP reply (RFC 826) from `senderMac`/`senderIp` to the requester. */
export function buildArpReply(senderMac: Uint8Array, senderIp: number, targetMac: Uint8Array, targetIp: number): Uint8Array {
  const a = new Uint8Array(28);
  const dv = new DataView(a.buffer);
  dv.setUint16(0, 1);
  dv.setUint16(2, ETH_IPV4);
  a[4] = 6;
  a[5] = 4;
  dv.setUint16(6, 2);
  a.set(senderMac, 8);
  dv.setUint32(14, senderIp >>> 0);
  a.set(targetMac, 18);
  dv.setUint32(24, targetIp >>> 0);
  return buildEthernet(targetMac, senderMac, ETH_ARP, a);
}

// ---- decoding ----

export interface DecodedTcp {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  flags: number;
  win: number;
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

/** Decodes TCP option bytes into packetdrill's option list. */
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
      default:
        return { error: `unknown option kind ${kind}` };
    }
    i += len;
  }
  return { options: out };
}

export function decodeFrame(frame: Uint8Array): DecodedFrame {
  if (frame.length < 14) {
    return { dstMac: new Uint8Array(6), srcMac: new Uint8Array(6), ethertype: 0, error: `ethernet: frame of ${frame.length} bytes is shorter than a header` };
  }
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const out: DecodedFrame = { dstMac: frame.slice(0, 6), srcMac: frame.slice(6, 12), ethertype: dv.getUint16(12) };
  if (out.ethertype === ETH_ARP) {
    if (frame.length < 42) { out.error = 'arp: truncated'; return out; }
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
  const ip = frame.subarray(14);
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
    fragment: (fragField & 0x3fff) !== 0 || (fragField & 0x2000) !== 0,
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
    }
    return '';
  }).join(',');
}
