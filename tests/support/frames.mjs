// Frame helpers for the wire, iface, UDP and fuzz tests: hex fixtures, a reference Internet
// checksum written independently of the WASM one, and builders for Ethernet/ARP/IPv4/ICMP/UDP
// frames so tests can state exactly what goes in and what must come out.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Frames of tests/fixtures/NAME.hex (one hex line per frame, `#` comments). */
export function fixture(name) {
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/${name}.hex`, import.meta.url)), 'utf8');
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => Uint8Array.from(Buffer.from(l.trim(), 'hex')));
}

/** RFC 1071 one's complement sum of big-endian 16-bit words, folded to 16 bits. */
export function refSum(bytes, initial = 0) {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length & 1) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return sum;
}

/** Checksum field value for `bytes` (with `initial` pseudo-header sum). */
export const refChecksum = (bytes, initial = 0) => (~refSum(bytes, initial)) & 0xffff;

export const ip = (s) => s.split('.').reduce((a, b) => a * 256 + Number(b), 0) >>> 0;
export const ipStr = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
export const mac = (s) => Uint8Array.from(s.split(':').map((h) => parseInt(h, 16)));
export const macStr = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
export const BROADCAST_MAC = mac('ff:ff:ff:ff:ff:ff');

const u16 = (n) => [(n >>> 8) & 255, n & 255];
const u32 = (n) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

/** IPv4 pseudo-header sum (RFC 9293 3.1) for the reference checksum. */
export const pseudoSum = (src, dst, proto, len) => refSum(Uint8Array.from([...u32(src), ...u32(dst), 0, proto, ...u16(len)]));

export function ethernet(dst, src, type, payload, { vlan } = {}) {
  const tag = vlan ? [0x81, 0x00, ...u16(((vlan.pcp ?? 0) << 13) | vlan.id)] : [];
  return Uint8Array.from([...dst, ...src, ...tag, ...u16(type), ...payload]);
}

export function arp(op, senderMac, senderIp, targetMac, targetIp) {
  return Uint8Array.from([0, 1, 8, 0, 6, 4, ...u16(op), ...senderMac, ...u32(senderIp), ...targetMac, ...u32(targetIp)]);
}

/** An IPv4 datagram with a correct header checksum (options: bytes, multiple of 4). */
export function ipv4(src, dst, proto, payload, { ttl = 64, id = 1, df = true, mf = false, frag = 0, options = [] } = {}) {
  const hl = 20 + options.length;
  const h = [0x40 | (hl / 4), 0, ...u16(hl + payload.length), ...u16(id),
    ...u16((df ? 0x4000 : 0) | (mf ? 0x2000 : 0) | frag), ttl, proto, 0, 0, ...u32(src), ...u32(dst), ...options];
  const c = refChecksum(Uint8Array.from(h));
  h[10] = c >>> 8; h[11] = c & 255;
  return Uint8Array.from([...h, ...payload]);
}

export function icmpEcho(type, id, seq, data) {
  const m = [type, 0, 0, 0, ...u16(id), ...u16(seq), ...data];
  const c = refChecksum(Uint8Array.from(m));
  m[2] = c >>> 8; m[3] = c & 255;
  return Uint8Array.from(m);
}

/** A UDP datagram with its checksum over the IPv4 pseudo-header (or 0 with `noChecksum`). */
export function udp(src, dst, sport, dport, data, { noChecksum = false } = {}) {
  const len = 8 + data.length;
  const d = [...u16(sport), ...u16(dport), ...u16(len), 0, 0, ...data];
  if (!noChecksum) {
    let c = refChecksum(Uint8Array.from(d), pseudoSum(src, dst, 17, len));
    if (c === 0) c = 0xffff;
    d[6] = c >>> 8; d[7] = c & 255;
  }
  return Uint8Array.from(d);
}

/** A TCP header (no options) with its checksum. */
export function tcp(src, dst, sport, dport, seq, ack, flags, data = [], win = 65535) {
  const h = [...u16(sport), ...u16(dport), ...u32(seq), ...u32(ack), 0x50, flags, ...u16(win), 0, 0, 0, 0, ...data];
  const c = refChecksum(Uint8Array.from(h), pseudoSum(src, dst, 6, h.length));
  h[16] = c >>> 8; h[17] = c & 255;
  return Uint8Array.from(h);
}

/** Field readers over a frame (big-endian). */
export const be16 = (b, o) => (b[o] << 8) | b[o + 1];
export const be32 = (b, o) => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
