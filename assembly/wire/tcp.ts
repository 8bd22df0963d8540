// TCP header (RFC 9293 3.1) and options: field access, option parsing into a preallocated
// struct, and emission of header + options.
//
// Guarantees:
// - Field getters read at fixed offsets from a segment pointer; the caller checks the length
//   once with `tcpCheckHeader` (20 <= data offset * 4 <= segment length) and then reads
//   without further checks.
// - `tcpParseOptions` never reads outside [seg + 20, seg + headerLen) and never traps: every
//   malformed option list gives a negative `TcpOptError` that the caller counts as
//   `drop.tcp.bad_options`; on success the struct holds exactly the options present.
// - Emitted option lists are padded with NOPs/EOL to a multiple of 4 bytes (RFC 9293 3.1,
//   "Padding") and never exceed 40 bytes; the header length returned is what was written.
// - Nothing allocates: `TcpOptions` instances are created once, at module start or init.
//
// Header layout (byte offsets, network order):
//
//    0       2       4               8              12  13  14      16      18      20
//   +-------+-------+---------------+---------------+---+---+-------+-------+-------+----
//   |srcPort|dstPort|      seq      |      ack      |off|flg|window |cksum  |urgent |opts
//   +-------+-------+---------------+---------------+---+---+-------+-------+-------+----
//   off: data offset in 32-bit words in the high nibble (low nibble reserved, sent as 0).

@inline export const TCP_SRC_PORT: usize = 0;
@inline export const TCP_DST_PORT: usize = 2;
@inline export const TCP_SEQ: usize = 4;
@inline export const TCP_ACK: usize = 8;
@inline export const TCP_DATA_OFFSET: usize = 12;
@inline export const TCP_FLAGS: usize = 13;
@inline export const TCP_WINDOW: usize = 14;
@inline export const TCP_CHECKSUM: usize = 16;
@inline export const TCP_URGENT: usize = 18;
@inline export const TCP_OPTIONS: usize = 20;

/** Header without options. */
@inline export const TCP_HEADER_MIN: u32 = 20;
/** Largest header: data offset 15 words. */
@inline export const TCP_HEADER_MAX: u32 = 60;
/** Largest option list (RFC 9293 3.1). */
@inline export const TCP_OPTIONS_MAX: u32 = 40;

// Control bits (RFC 9293 3.1, RFC 3168 6.1 for ECE/CWR).
@inline export const TCP_FIN: u32 = 0x01;
@inline export const TCP_SYN: u32 = 0x02;
@inline export const TCP_RST: u32 = 0x04;
@inline export const TCP_PSH: u32 = 0x08;
@inline export const TCP_ACK_FLAG: u32 = 0x10;
@inline export const TCP_URG: u32 = 0x20;
@inline export const TCP_ECE: u32 = 0x40;
@inline export const TCP_CWR: u32 = 0x80;

// Option kinds (IANA "TCP Option Kind Numbers").
@inline export const OPT_EOL: u32 = 0;
@inline export const OPT_NOP: u32 = 1;
@inline export const OPT_MSS: u32 = 2;       // RFC 9293 3.2, length 4
@inline export const OPT_WSCALE: u32 = 3;    // RFC 7323 2.2, length 3
@inline export const OPT_SACK_PERM: u32 = 4; // RFC 2018 2, length 2
@inline export const OPT_SACK: u32 = 5;      // RFC 2018 3, length 2 + 8n
@inline export const OPT_TIMESTAMP: u32 = 8; // RFC 7323 3.2, length 10
@inline export const OPT_FASTOPEN: u32 = 34; // RFC 7413 4.1.1, length 2 (request) or 2 + cookie

// Bits of `TcpOptions.present`.
@inline export const HAS_MSS: u32 = 1 << 0;
@inline export const HAS_WSCALE: u32 = 1 << 1;
@inline export const HAS_SACK_PERM: u32 = 1 << 2;
@inline export const HAS_SACK: u32 = 1 << 3;
@inline export const HAS_TIMESTAMP: u32 = 1 << 4;
/** A Fast Open option: a cookie request (`foLen` 0) or a cookie of `foLen` bytes. */
@inline export const HAS_FASTOPEN: u32 = 1 << 5;

/** Fast Open cookie length bounds (RFC 7413 4.1.1: 4 to 16 bytes, an even number as Linux). */
@inline export const FASTOPEN_COOKIE_MIN: u32 = 4;
@inline export const FASTOPEN_COOKIE_MAX: u32 = 16;

/** Largest shift a window scale option may carry (RFC 7323 2.3). */
@inline export const WSCALE_MAX: u32 = 14;
/** SACK blocks kept when parsing: 4 fit in 40 bytes of options (RFC 2018 3). */
@inline export const SACK_BLOCKS_MAX: u32 = 4;

/** Why an option list was rejected; all are counted by the caller as drop.tcp.bad_options. */
export enum TcpOptError {
  OK = 0,
  /** An option other than EOL/NOP has a length byte < 2, or no room for its length byte. */
  SHORT_LENGTH = -1,
  /** An option's length runs past the end of the header. */
  OVERRUN = -2,
  /** A known kind with a length other than its fixed one (or SACK not 2 + 8n, n in 1..4). */
  BAD_LENGTH = -3,
}

/** Why a header was rejected (caller counts drop.tcp.truncated / drop.tcp.bad_offset). */
export enum TcpHeaderError {
  OK = 0,
  /** Fewer than 20 bytes. */
  TRUNCATED = -1,
  /** Data offset < 5 words, or past the end of the segment. */
  BAD_OFFSET = -2,
}

/**
 * Parsed options of one segment. Fields whose `present` bit is clear are 0 after parsing
 * (SACK pairs beyond `sackCount` are stale).
 * SACK blocks are [left, right) sequence-number pairs in the order they appeared.
 * When emitting, the same struct says what to write (see `tcpWriteOptions`).
 */
@unmanaged export class TcpOptions {
  present: u32 = 0;
  mss: u32 = 0;
  /** Window shift, clamped to 14 (RFC 7323 2.3: a larger value is used as 14). */
  wscale: u32 = 0;
  tsVal: u32 = 0;
  tsEcr: u32 = 0;
  sackCount: u32 = 0;
  sackLeft0: u32 = 0; sackRight0: u32 = 0;
  sackLeft1: u32 = 0; sackRight1: u32 = 0;
  sackLeft2: u32 = 0; sackRight2: u32 = 0;
  sackLeft3: u32 = 0; sackRight3: u32 = 0;
  /** Fast Open cookie length in bytes: 0 = a cookie request; else 4..16 (RFC 7413 4.1.1). */
  foLen: u32 = 0;
  /** The cookie bytes as they appear on the wire (the first `foLen` bytes count). */
  foCookie0: u32 = 0; foCookie1: u32 = 0; foCookie2: u32 = 0; foCookie3: u32 = 0;

  /** Address of the cookie bytes (16 bytes of room). */
  @inline foCookiePtr(): usize {
    return changetype<usize>(this) + offsetof<TcpOptions>("foCookie0");
  }
  @inline sackLeft(i: u32): u32 {
    return load<u32>(changetype<usize>(this) + offsetof<TcpOptions>("sackLeft0") + (<usize>i << 3));
  }
  @inline sackRight(i: u32): u32 {
    return load<u32>(changetype<usize>(this) + offsetof<TcpOptions>("sackRight0") + (<usize>i << 3));
  }
  @inline setSack(i: u32, left: u32, right: u32): void {
    const p = changetype<usize>(this) + offsetof<TcpOptions>("sackLeft0") + (<usize>i << 3);
    store<u32>(p, left);
    store<u32>(p, right, 4);
  }
  @inline clear(): void {
    this.present = 0;
    this.mss = 0;
    this.wscale = 0;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    this.foLen = 0;
  }
}

// ---- field access (length already checked) ----

@inline export function tcpSrcPort(seg: usize): u32 { return <u32>bswap<u16>(load<u16>(seg, TCP_SRC_PORT)); }
@inline export function tcpDstPort(seg: usize): u32 { return <u32>bswap<u16>(load<u16>(seg, TCP_DST_PORT)); }
@inline export function tcpSeq(seg: usize): u32 { return bswap<u32>(load<u32>(seg, TCP_SEQ)); }
@inline export function tcpAckNum(seg: usize): u32 { return bswap<u32>(load<u32>(seg, TCP_ACK)); }
/** Header length in bytes (data offset * 4), 0..60; validate with `tcpCheckHeader`. */
@inline export function tcpHeaderLen(seg: usize): u32 { return (<u32>load<u8>(seg, TCP_DATA_OFFSET) >> 4) << 2; }
@inline export function tcpFlags(seg: usize): u32 { return <u32>load<u8>(seg, TCP_FLAGS); }
@inline export function tcpWindow(seg: usize): u32 { return <u32>bswap<u16>(load<u16>(seg, TCP_WINDOW)); }
@inline export function tcpChecksum(seg: usize): u32 { return <u32>bswap<u16>(load<u16>(seg, TCP_CHECKSUM)); }
@inline export function tcpUrgent(seg: usize): u32 { return <u32>bswap<u16>(load<u16>(seg, TCP_URGENT)); }

@inline export function tcpSetChecksum(seg: usize, value: u32): void {
  store<u16>(seg, bswap<u16>(<u16>value), TCP_CHECKSUM);
}

/** Checks that a segment of `segLen` bytes holds a whole header; returns a TcpHeaderError. */
export function tcpCheckHeader(seg: usize, segLen: u32): i32 {
  if (segLen < TCP_HEADER_MIN) return TcpHeaderError.TRUNCATED;
  const hl = tcpHeaderLen(seg);
  if (hl < TCP_HEADER_MIN || hl > segLen) return TcpHeaderError.BAD_OFFSET;
  return TcpHeaderError.OK;
}

/**
 * Parses the options of a header whose length `headerLen` was checked (20..60, within the
 * segment). Fills `out` (cleared first); returns TcpOptError.OK or a negative TcpOptError.
 * Rules: EOL ends the list (RFC 9293 3.1); NOP is skipped; unknown kinds are skipped by
 * their length (RFC 9293 3.1, RFC 1122 4.2.2.5); a repeated option overrides the earlier
 * one (as Linux). SACK blocks beyond 4 cannot occur within 40 bytes.
 */
export function tcpParseOptions(seg: usize, headerLen: u32, out: TcpOptions): i32 {
  out.clear();
  let p = seg + TCP_OPTIONS;
  const end = seg + <usize>headerLen;
  while (p < end) {
    const kind = <u32>load<u8>(p);
    if (kind == OPT_EOL) break;
    if (kind == OPT_NOP) { p++; continue; }
    if (p + 1 >= end) return TcpOptError.SHORT_LENGTH;
    const len = <u32>load<u8>(p, 1);
    if (len < 2) return TcpOptError.SHORT_LENGTH;
    if (p + <usize>len > end) return TcpOptError.OVERRUN;
    switch (kind) {
      case OPT_MSS: {
        if (len != 4) return TcpOptError.BAD_LENGTH;
        out.mss = <u32>bswap<u16>(load<u16>(p, 2));
        out.present |= HAS_MSS;
        break;
      }
      case OPT_WSCALE: {
        if (len != 3) return TcpOptError.BAD_LENGTH;
        const shift = <u32>load<u8>(p, 2);
        out.wscale = shift > WSCALE_MAX ? WSCALE_MAX : shift;
        out.present |= HAS_WSCALE;
        break;
      }
      case OPT_SACK_PERM: {
        if (len != 2) return TcpOptError.BAD_LENGTH;
        out.present |= HAS_SACK_PERM;
        break;
      }
      case OPT_SACK: {
        const body = len - 2;
        if (body == 0 || (body & 7) != 0) return TcpOptError.BAD_LENGTH;
        const n = body >> 3; // at most 4: len <= 40 - 2
        for (let i: u32 = 0; i < n; i++) {
          const b = p + 2 + (<usize>i << 3);
          out.setSack(i, bswap<u32>(load<u32>(b)), bswap<u32>(load<u32>(b, 4)));
        }
        out.sackCount = n;
        out.present |= HAS_SACK;
        break;
      }
      case OPT_TIMESTAMP: {
        if (len != 10) return TcpOptError.BAD_LENGTH;
        out.tsVal = bswap<u32>(load<u32>(p, 2));
        out.tsEcr = bswap<u32>(load<u32>(p, 6));
        out.present |= HAS_TIMESTAMP;
        break;
      }
      case OPT_FASTOPEN: {
        // RFC 7413 4.1.1. A malformed cookie length makes the option absent, not the segment
        // bad (as Linux's tcp_parse_fastopen_option): the SYN is still a plain SYN.
        const cookie = len - 2;
        if (cookie == 0) {
          out.foLen = 0;
          out.present |= HAS_FASTOPEN;
        } else if (cookie >= FASTOPEN_COOKIE_MIN && cookie <= FASTOPEN_COOKIE_MAX && (cookie & 1) == 0) {
          memory.copy(out.foCookiePtr(), p + 2, <usize>cookie);
          out.foLen = cookie;
          out.present |= HAS_FASTOPEN;
        }
        break;
      }
      default: break; // unknown: skipped by its length
    }
    p += <usize>len;
  }
  return TcpOptError.OK;
}

/**
 * Writes the option list described by `o` at `p` and returns its length (a multiple of 4,
 * at most 40). Two layouts, both Linux's:
 * - `syn`: MSS, then SACK-permitted + timestamps (`4,2,8,10,val,ecr`), or NOP NOP + TS, or
 *   NOP NOP + SACK-permitted, then NOP + window scale. With all four: 20 bytes
 *   (`mss, sackOK, TS, nop, wscale`). Then, with HAS_FASTOPEN, the Fast Open option
 *   (RFC 7413 4.1.1: kind 34, length 2 + `foLen`) padded with NOPs in front to a multiple of
 *   4 (`foLen` 16 needs 20 bytes and all four others take 20: the 40-byte limit holds).
 * - otherwise (data and ACK segments): NOP NOP TS, then NOP NOP SACK with as many of
 *   `o.sackCount` blocks as fit (4 without timestamps, 3 with: RFC 2018 3).
 */
export function tcpWriteOptions(p: usize, o: TcpOptions, syn: bool): u32 {
  const start = p;
  const present = o.present;
  if (syn) {
    if (present & HAS_MSS) {
      store<u32>(p, bswap<u32>((OPT_MSS << 24) | (4 << 16) | (o.mss & 0xFFFF)));
      p += 4;
    }
    if (present & HAS_TIMESTAMP) {
      const lead: u32 = (present & HAS_SACK_PERM)
        ? (OPT_SACK_PERM << 24) | (2 << 16) | (OPT_TIMESTAMP << 8) | 10
        : (OPT_NOP << 24) | (OPT_NOP << 16) | (OPT_TIMESTAMP << 8) | 10;
      p = writeTimestampWords(p, lead, o);
    } else if (present & HAS_SACK_PERM) {
      store<u32>(p, bswap<u32>((OPT_NOP << 24) | (OPT_NOP << 16) | (OPT_SACK_PERM << 8) | 2));
      p += 4;
    }
    if (present & HAS_WSCALE) {
      const shift = o.wscale > WSCALE_MAX ? WSCALE_MAX : o.wscale;
      store<u32>(p, bswap<u32>((OPT_NOP << 24) | (OPT_WSCALE << 16) | (3 << 8) | shift));
      p += 4;
    }
    if (present & HAS_FASTOPEN) {
      const len = 2 + o.foLen;
      const pad: u32 = (4 - (len & 3)) & 3;
      for (let i: u32 = 0; i < pad; i++) store<u8>(p + <usize>i, <u8>OPT_NOP);
      p += <usize>pad;
      store<u8>(p, <u8>OPT_FASTOPEN);
      store<u8>(p, <u8>len, 1);
      memory.copy(p + 2, o.foCookiePtr(), <usize>o.foLen);
      p += <usize>len;
    }
    return <u32>(p - start);
  }
  let room: u32 = SACK_BLOCKS_MAX;
  if (present & HAS_TIMESTAMP) {
    p = writeTimestampWords(p, (OPT_NOP << 24) | (OPT_NOP << 16) | (OPT_TIMESTAMP << 8) | 10, o);
    room = 3;
  }
  if ((present & HAS_SACK) && o.sackCount > 0) {
    const n = o.sackCount < room ? o.sackCount : room;
    store<u32>(p, bswap<u32>((OPT_NOP << 24) | (OPT_NOP << 16) | (OPT_SACK << 8) | (2 + (n << 3))));
    p += 4;
    for (let i: u32 = 0; i < n; i++) {
      store<u32>(p, bswap<u32>(o.sackLeft(i)));
      store<u32>(p, bswap<u32>(o.sackRight(i)), 4);
      p += 8;
    }
  }
  return <u32>(p - start);
}

@inline function writeTimestampWords(p: usize, lead: u32, o: TcpOptions): usize {
  store<u32>(p, bswap<u32>(lead));
  store<u32>(p, bswap<u32>(o.tsVal), 4);
  store<u32>(p, bswap<u32>(o.tsEcr), 8);
  return p + 12;
}

/**
 * Writes the fixed 20 bytes of a header. `headerLen` (20..60, a multiple of 4) counts the
 * options too, which the caller writes at `seg + 20` (before or after this call). Checksum
 * and urgent pointer are written as 0; the caller computes the checksum last.
 */
export function tcpWriteHeader(
  seg: usize, srcPort: u32, dstPort: u32, seq: u32, ack: u32,
  headerLen: u32, flags: u32, window: u32,
): void {
  store<u16>(seg, bswap<u16>(<u16>srcPort), TCP_SRC_PORT);
  store<u16>(seg, bswap<u16>(<u16>dstPort), TCP_DST_PORT);
  store<u32>(seg, bswap<u32>(seq), TCP_SEQ);
  store<u32>(seg, bswap<u32>(ack), TCP_ACK);
  store<u8>(seg, <u8>((headerLen >> 2) << 4), TCP_DATA_OFFSET);
  store<u8>(seg, <u8>flags, TCP_FLAGS);
  store<u16>(seg, bswap<u16>(<u16>window), TCP_WINDOW);
  store<u32>(seg, 0, TCP_CHECKSUM); // checksum and urgent pointer
}

/** Header + options in one call: writes options from `o`, then the header; returns header length. */
export function tcpEmit(
  seg: usize, srcPort: u32, dstPort: u32, seq: u32, ack: u32,
  flags: u32, window: u32, o: TcpOptions,
): u32 {
  const hl = TCP_HEADER_MIN + tcpWriteOptions(seg + TCP_OPTIONS, o, (flags & TCP_SYN) != 0);
  tcpWriteHeader(seg, srcPort, dstPort, seq, ack, hl, flags, window);
  return hl;
}
