// Frame builders and checkers for tests: Ethernet + IPv4 + TCP (and ARP) frames in, parsed
// frames out, with every checksum verified.
//
//   ipv4(tcp({ sport, dport, flags: 'SA', seq, ack, win, options, payload }), { src, dst })
//     -> Uint8Array (a whole Ethernet frame, checksums filled in)
//   parseFrame(bytes) -> { eth, arp?, ip?, tcp? } ; throws when an IPv4 header or TCP
//     checksum is wrong, or lengths disagree, so a test can never pass on a broken frame.
//
// Flags are written as letters: F S R P A U E C (FIN SYN RST PSH ACK URG ECE CWR); the parser
// gives them in that canonical order ('SA', 'FA', 'PA', 'RA', 'R', ...).
// TCP options: { mss, wscale, sackOk, ts: [val, ecr] } laid out as Linux does (SYN: MSS,
// SACK-permitted/TS, NOP+WS; others: NOP NOP TS), or `rawOptions` (bytes, padded by the
// caller) for malformed cases. Parsed options come back in the same shape.

export const STACK_MAC = '02:00:00:00:00:01';
export const PEER_MAC = '02:00:00:00:00:02';
export const STACK_IP = '10.0.0.1';
export const PEER_IP = '10.0.0.2';

const FLAG_BITS = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 };
const FLAG_ORDER = ['F', 'S', 'R', 'P', 'A', 'U', 'E', 'C'];

export function ipToInt(s) {
  const p = s.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function intToIp(n) {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function macBytes(s) {
  return s.split(':').map((h) => parseInt(h, 16));
}

function macString(b, off) {
  return Array.from(b.subarray(off, off + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}

export function flagsToBits(flags) {
  let bits = 0;
  for (const c of flags) {
    if (!(c in FLAG_BITS)) throw new Error(`frames: unknown TCP flag letter ${c}`);
    bits |= FLAG_BITS[c];
  }
  return bits;
}

export function bitsToFlags(bits) {
  return FLAG_ORDER.filter((c) => bits & FLAG_BITS[c]).join('');
}

/** One's complement sum of bytes (big-endian words), not folded past 32 bits. */
function sum16(bytes, start, end, acc = 0) {
  let s = acc;
  for (let i = start; i + 1 < end; i += 2) s += (bytes[i] << 8) | bytes[i + 1];
  if ((end - start) & 1) s += bytes[end - 1] << 8;
  return s;
}

function fold(s) {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

export function internetChecksum(bytes, start = 0, end = bytes.length, initial = 0) {
  return (~fold(sum16(bytes, start, end, initial))) & 0xffff;
}

function pseudoSum(src, dst, proto, len) {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

function encodeOptions(o, syn) {
  if (!o) return [];
  const out = [];
  if (syn) {
    if (o.mss !== undefined) out.push(2, 4, (o.mss >> 8) & 255, o.mss & 255);
    if (o.ts) {
      if (o.sackOk) out.push(4, 2); else out.push(1, 1);
      out.push(8, 10, ...u32be(o.ts[0]), ...u32be(o.ts[1]));
    } else if (o.sackOk) {
      out.push(1, 1, 4, 2);
    }
    if (o.wscale !== undefined) out.push(1, 3, 3, o.wscale);
  } else if (o.ts) {
    out.push(1, 1, 8, 10, ...u32be(o.ts[0]), ...u32be(o.ts[1]));
  }
  return out;
}

function u32be(v) {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}

/** A TCP segment description; `ipv4()` turns it into bytes. */
export function tcp({ sport = 40000, dport = 80, flags = 'A', seq = 0, ack = 0, win = 65535,
  options, rawOptions, payload = new Uint8Array(0), urgent = 0 } = {}) {
  const bits = flagsToBits(flags);
  const opts = rawOptions ? Array.from(rawOptions) : encodeOptions(options, (bits & FLAG_BITS.S) !== 0);
  while (opts.length % 4) opts.push(0);
  const data = typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
  const hl = 20 + opts.length;
  const seg = new Uint8Array(hl + data.length);
  const dv = new DataView(seg.buffer);
  dv.setUint16(0, sport);
  dv.setUint16(2, dport);
  dv.setUint32(4, seq >>> 0);
  dv.setUint32(8, ack >>> 0);
  seg[12] = (hl / 4) << 4;
  seg[13] = bits;
  dv.setUint16(14, win);
  dv.setUint16(18, urgent);
  seg.set(opts, 20);
  seg.set(data, hl);
  return { proto: 6, bytes: seg };
}

/**
 * A whole Ethernet frame carrying `l4` (from `tcp()`), IPv4 from `src` to `dst`, Ethernet from
 * `srcMac` to `dstMac`. `badChecksum` corrupts the TCP checksum on purpose; a segment too short
 * to hold the checksum field (< 18 bytes) gets none (feed it with the L4-checksum-good RX flag).
 */
export function ipv4(l4, { src = PEER_IP, dst = STACK_IP, srcMac = PEER_MAC, dstMac = STACK_MAC,
  ttl = 64, id = 1, badChecksum = false } = {}) {
  const s = ipToInt(src);
  const d = ipToInt(dst);
  const total = 20 + l4.bytes.length;
  const f = new Uint8Array(14 + total);
  const dv = new DataView(f.buffer);
  f.set(macBytes(dstMac), 0);
  f.set(macBytes(srcMac), 6);
  dv.setUint16(12, 0x0800);
  const ip = 14;
  f[ip] = 0x45;
  dv.setUint16(ip + 2, total);
  dv.setUint16(ip + 4, id);
  dv.setUint16(ip + 6, 0x4000);
  f[ip + 8] = ttl;
  f[ip + 9] = l4.proto;
  dv.setUint32(ip + 12, s);
  dv.setUint32(ip + 16, d);
  dv.setUint16(ip + 10, internetChecksum(f, ip, ip + 20));
  f.set(l4.bytes, ip + 20);
  const l4off = ip + 20;
  if (l4.bytes.length >= 18) {
    let c = internetChecksum(f, l4off, f.length, pseudoSum(s, d, l4.proto, l4.bytes.length));
    if (badChecksum) c ^= 0x5555;
    dv.setUint16(l4off + 16, c);
  }
  return f;
}

/** An ARP request from `senderIp`/`senderMac` asking for `targetIp` (broadcast). */
export function arpRequest({ senderIp = PEER_IP, senderMac = PEER_MAC, targetIp = STACK_IP } = {}) {
  const f = new Uint8Array(42);
  const dv = new DataView(f.buffer);
  f.set([255, 255, 255, 255, 255, 255], 0);
  f.set(macBytes(senderMac), 6);
  dv.setUint16(12, 0x0806);
  dv.setUint16(14, 1);
  dv.setUint16(16, 0x0800);
  f[18] = 6;
  f[19] = 4;
  dv.setUint16(20, 1);
  f.set(macBytes(senderMac), 22);
  dv.setUint32(28, ipToInt(senderIp));
  dv.setUint32(38, ipToInt(targetIp));
  return f;
}

function parseTcpOptions(b, start, end) {
  const o = {};
  let p = start;
  while (p < end) {
    const kind = b[p];
    if (kind === 0) break;
    if (kind === 1) { p++; continue; }
    const len = b[p + 1];
    if (len < 2 || p + len > end) throw new Error(`frames: malformed TCP option ${kind} in an output frame`);
    const dv = new DataView(b.buffer, b.byteOffset + p, len);
    if (kind === 2) o.mss = dv.getUint16(2);
    else if (kind === 3) o.wscale = b[p + 2];
    else if (kind === 4) o.sackOk = true;
    else if (kind === 8) o.ts = [dv.getUint32(2), dv.getUint32(6)];
    else if (kind === 5) {
      o.sack = [];
      for (let i = 2; i + 8 <= len; i += 8) o.sack.push([dv.getUint32(i), dv.getUint32(i + 4)]);
    } else o[`kind${kind}`] = Array.from(b.subarray(p + 2, p + len));
    p += len;
  }
  return o;
}

/** Parses a frame; verifies the IPv4 header checksum and the TCP checksum (throws if wrong). */
export function parseFrame(bytes) {
  const b = bytes;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (b.length < 14) throw new Error(`frames: frame of ${b.length} bytes`);
  const eth = { dst: macString(b, 0), src: macString(b, 6), type: dv.getUint16(12) };
  const out = { eth, raw: b };
  if (eth.type === 0x0806) {
    out.arp = {
      op: dv.getUint16(20), senderMac: macString(b, 22), senderIp: intToIp(dv.getUint32(28)),
      targetMac: macString(b, 32), targetIp: intToIp(dv.getUint32(38)),
    };
    return out;
  }
  if (eth.type !== 0x0800) return out;
  const ip = 14;
  const ihl = (b[ip] & 15) * 4;
  const total = dv.getUint16(ip + 2);
  if (ip + total > b.length) throw new Error(`frames: IPv4 total length ${total} beyond the frame (${b.length})`);
  if (internetChecksum(b, ip, ip + ihl) !== 0) throw new Error('frames: bad IPv4 header checksum');
  const src = dv.getUint32(ip + 12);
  const dst = dv.getUint32(ip + 16);
  out.ip = {
    src: intToIp(src), dst: intToIp(dst), proto: b[ip + 9], ttl: b[ip + 8],
    df: (dv.getUint16(ip + 6) & 0x4000) !== 0, totalLength: total,
  };
  if (out.ip.proto !== 6) return out;
  const t = ip + ihl;
  const end = ip + total;
  const segLen = end - t;
  if (internetChecksum(b, t, end, pseudoSum(src, dst, 6, segLen)) !== 0) {
    throw new Error('frames: bad TCP checksum');
  }
  const hl = (b[t + 12] >> 4) * 4;
  out.tcp = {
    sport: dv.getUint16(t), dport: dv.getUint16(t + 2), seq: dv.getUint32(t + 4), ack: dv.getUint32(t + 8),
    flags: bitsToFlags(b[t + 13]), win: dv.getUint16(t + 14), urgent: dv.getUint16(t + 18),
    options: parseTcpOptions(b, t + 20, t + hl), payload: b.slice(t + hl, end),
  };
  return out;
}

/** A short human-readable line for a parsed frame (for assertion messages). */
export function describe(f) {
  if (f.arp) return `ARP ${f.arp.op === 1 ? 'request' : 'reply'} ${f.arp.senderIp} -> ${f.arp.targetIp}`;
  if (!f.tcp) return `ethertype ${f.eth.type.toString(16)}`;
  const s = f.tcp;
  return `${f.ip.src}:${s.sport} > ${f.ip.dst}:${s.dport} [${s.flags}] seq ${s.seq} ack ${s.ack} win ${s.win} len ${s.payload.length} ${JSON.stringify(s.options)}`;
}
