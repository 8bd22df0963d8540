// ICMPv4 messages (RFC 792, RFC 1122 3.2.2).
//
// Guarantees: `icmpv4Parse` checks the length once, then the checksum over the whole
// message (unless told the port did), and reads the type-specific 4-byte "rest of header"
// as echo identifier/sequence or as the error's parameter; it never traps. Emitters write
// complete messages with their checksum.
//
//   0      1      2          4                  8
//   +------+------+----------+------------------+---------------
//   | type | code | checksum | rest of header   | data (echo payload, or the original
//   +------+------+----------+------------------+  IP header + leading bytes for errors)

import { checksumSum, checksumFinish } from "./checksum";

@inline export const ICMP_TYPE: u32 = 0;
@inline export const ICMP_CODE: u32 = 1;
@inline export const ICMP_CSUM: u32 = 2;
@inline export const ICMP_ID: u32 = 4;
@inline export const ICMP_SEQ: u32 = 6;
@inline export const ICMP_REST: u32 = 4;
export const ICMP_HEADER_LEN: u32 = 8;

export namespace IcmpType {
  export const ECHO_REPLY: u8 = 0;
  export const DEST_UNREACHABLE: u8 = 3;
  export const SOURCE_QUENCH: u8 = 4;
  export const REDIRECT: u8 = 5;
  export const ECHO_REQUEST: u8 = 8;
  export const TIME_EXCEEDED: u8 = 11;
  export const PARAMETER_PROBLEM: u8 = 12;
  export const TIMESTAMP: u8 = 13;
  export const TIMESTAMP_REPLY: u8 = 14;
}

/** Destination unreachable codes (RFC 792, RFC 1122 3.2.2.1). */
export namespace UnreachCode {
  export const NET: u8 = 0;
  export const HOST: u8 = 1;
  export const PROTOCOL: u8 = 2;
  export const PORT: u8 = 3;
  export const FRAG_NEEDED: u8 = 4;
}

export namespace IcmpError {
  export const TRUNCATED: i32 = -1;
  export const BAD_CHECKSUM: i32 = -2;
}

/** True for the error message types (RFC 1122 3.2.2: never answered with an ICMP error). */
export function icmpIsError(type: u8): bool {
  return type == IcmpType.DEST_UNREACHABLE || type == IcmpType.SOURCE_QUENCH ||
    type == IcmpType.REDIRECT || type == IcmpType.TIME_EXCEEDED || type == IcmpType.PARAMETER_PROBLEM;
}

@unmanaged export class Icmpv4Repr {
  type: u8 = 0;
  code: u8 = 0;
  /** Echo identifier (types 0 and 8). */
  ident: u16 = 0;
  /** Echo sequence number (types 0 and 8). */
  seq: u16 = 0;
  /** The 4 bytes after the checksum as a host-order u32 (e.g. next-hop MTU, pointer). */
  rest: u32 = 0;
  /** Bytes after the 8-byte header. */
  dataLen: u32 = 0;
}

export const icmpv4Repr = new Icmpv4Repr();

/** Parses the `len`-byte message at `p` into `icmpv4Repr`; returns 0 or an `IcmpError`. */
export function icmpv4Parse(p: usize, len: u32, verifyChecksum: bool): i32 {
  if (len < ICMP_HEADER_LEN) return IcmpError.TRUNCATED;
  if (verifyChecksum && checksumFinish(checksumSum(p, len)) != 0) return IcmpError.BAD_CHECKSUM;
  icmpv4Repr.type = load<u8>(p, ICMP_TYPE);
  icmpv4Repr.code = load<u8>(p, ICMP_CODE);
  icmpv4Repr.ident = bswap<u16>(load<u16>(p, ICMP_ID));
  icmpv4Repr.seq = bswap<u16>(load<u16>(p, ICMP_SEQ));
  icmpv4Repr.rest = bswap<u32>(load<u32>(p, ICMP_REST));
  icmpv4Repr.dataLen = len - ICMP_HEADER_LEN;
  return 0;
}

/** Stores the checksum of the complete `len`-byte message at `p` (its field zeroed first). */
export function icmpv4FillChecksum(p: usize, len: u32): void {
  store<u16>(p, 0, ICMP_CSUM);
  store<u16>(p, bswap<u16>(checksumFinish(checksumSum(p, len))), ICMP_CSUM);
}

/** Writes an echo request or reply header; `dataLen` bytes of data must already follow it. */
export function icmpv4EmitEcho(p: usize, type: u8, ident: u16, seq: u16, dataLen: u32): void {
  store<u8>(p, type, ICMP_TYPE);
  store<u8>(p, 0, ICMP_CODE);
  store<u16>(p, bswap<u16>(ident), ICMP_ID);
  store<u16>(p, bswap<u16>(seq), ICMP_SEQ);
  icmpv4FillChecksum(p, ICMP_HEADER_LEN + dataLen);
}

/**
 * Writes an error message (type 3, 11 or 12) quoting `quoteLen` bytes of the offending
 * datagram from `quote`; `rest` is the type-specific word (0, next-hop MTU, or pointer << 24).
 * Returns the message length.
 */
export function icmpv4EmitError(p: usize, type: u8, code: u8, rest: u32, quote: usize, quoteLen: u32): u32 {
  store<u8>(p, type, ICMP_TYPE);
  store<u8>(p, code, ICMP_CODE);
  store<u32>(p, bswap<u32>(rest), ICMP_REST);
  memory.copy(p + ICMP_HEADER_LEN, quote, quoteLen);
  icmpv4FillChecksum(p, ICMP_HEADER_LEN + quoteLen);
  return ICMP_HEADER_LEN + quoteLen;
}
