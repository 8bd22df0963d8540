// IPv4 headers (RFC 791).
//
// Guarantees: `ipv4Parse` checks, in this order and before reading any field it depends on,
// the minimum length, the version, the IHL, the total length against the bytes present and
// the header checksum (unless the port vouched for it); options are skipped by IHL, never
// interpreted; fragments are recognised (MF set or a non-zero offset) and reported, not
// reassembled. It never reads beyond `len` and never traps. `ipv4EmitHeader` writes a
// 20-byte header without options.
//
//    0       4       8              16      19              31
//   +-------+-------+---------------+-------+----------------+
//   |version|  IHL  |      TOS      |     total length       |  0
//   |        identification         |flags|  fragment offset  |  4
//   |      TTL      |   protocol    |    header checksum     |  8
//   |                     source address                     | 12
//   |                  destination address                   | 16
//   |                  options (IHL > 5) ...                 | 20

import { checksumSum, checksumFinish } from "./checksum";

@inline export const IP_VER_IHL: u32 = 0;
@inline export const IP_TOS: u32 = 1;
@inline export const IP_TOTAL_LEN: u32 = 2;
@inline export const IP_ID: u32 = 4;
@inline export const IP_FLAGS_FRAG: u32 = 6;
@inline export const IP_TTL: u32 = 8;
@inline export const IP_PROTO: u32 = 9;
@inline export const IP_CSUM: u32 = 10;
@inline export const IP_SRC: u32 = 12;
@inline export const IP_DST: u32 = 16;
export const IPV4_HEADER_LEN: u32 = 20;

/** Flag bits in the host-order flags/fragment-offset word. */
export const IP_FLAG_DF: u16 = 0x4000;
export const IP_FLAG_MF: u16 = 0x2000;
export const IP_FRAG_OFFSET_MASK: u16 = 0x1FFF;

export namespace IpProto {
  export const ICMP: u8 = 1;
  export const TCP: u8 = 6;
  export const UDP: u8 = 17;
}

export namespace Ipv4Error {
  /** Fewer than 20 bytes. */
  export const TRUNCATED: i32 = -1;
  /** Version field is not 4. */
  export const BAD_VERSION: i32 = -2;
  /** IHL below 5, or the header is longer than the total length. */
  export const BAD_IHL: i32 = -3;
  /** Total length larger than the bytes received. */
  export const TOTAL_LENGTH_EXCEEDS_FRAME: i32 = -4;
  /** Header checksum does not verify. */
  export const BAD_CHECKSUM: i32 = -5;
}

/** The parsed view of the last header given to `ipv4Parse`. */
@unmanaged export class Ipv4Repr {
  /** Source address, host order. */
  src: u32 = 0;
  /** Destination address, host order. */
  dst: u32 = 0;
  protocol: u8 = 0;
  ttl: u8 = 0;
  tos: u8 = 0;
  ident: u16 = 0;
  dontFragment: bool = false;
  moreFragments: bool = false;
  /** Fragment offset in 8-byte units. */
  fragOffset: u16 = 0;
  /** IHL * 4: bytes from the header start to the payload (options included). */
  headerLen: u32 = 0;
  /** Total length field: header + payload; bytes after it in the frame are link padding. */
  totalLen: u32 = 0;
}

export const ipv4Repr = new Ipv4Repr();

/** True when the parsed header is a fragment (first or later). */
@inline export function ipv4IsFragment(): bool {
  return ipv4Repr.moreFragments || ipv4Repr.fragOffset != 0;
}

/**
 * Parses and validates the header of the `len` bytes at `p` into `ipv4Repr`. Returns the
 * header length (payload offset), or an `Ipv4Error` code. `verifyChecksum` false skips the
 * header checksum (the port checked it).
 */
export function ipv4Parse(p: usize, len: u32, verifyChecksum: bool): i32 {
  if (len < IPV4_HEADER_LEN) return Ipv4Error.TRUNCATED;
  const verIhl = <u32>load<u8>(p, IP_VER_IHL);
  if ((verIhl >>> 4) != 4) return Ipv4Error.BAD_VERSION;
  const headerLen = (verIhl & 0xF) << 2;
  if (headerLen < IPV4_HEADER_LEN) return Ipv4Error.BAD_IHL;
  const totalLen = <u32>bswap<u16>(load<u16>(p, IP_TOTAL_LEN));
  if (totalLen < headerLen) return Ipv4Error.BAD_IHL;
  if (totalLen > len) return Ipv4Error.TOTAL_LENGTH_EXCEEDS_FRAME;
  if (verifyChecksum && checksumFinish(checksumSum(p, headerLen)) != 0) return Ipv4Error.BAD_CHECKSUM;
  const flagsFrag = bswap<u16>(load<u16>(p, IP_FLAGS_FRAG));
  ipv4Repr.src = bswap<u32>(load<u32>(p, IP_SRC));
  ipv4Repr.dst = bswap<u32>(load<u32>(p, IP_DST));
  ipv4Repr.protocol = load<u8>(p, IP_PROTO);
  ipv4Repr.ttl = load<u8>(p, IP_TTL);
  ipv4Repr.tos = load<u8>(p, IP_TOS);
  ipv4Repr.ident = bswap<u16>(load<u16>(p, IP_ID));
  ipv4Repr.dontFragment = (flagsFrag & IP_FLAG_DF) != 0;
  ipv4Repr.moreFragments = (flagsFrag & IP_FLAG_MF) != 0;
  ipv4Repr.fragOffset = flagsFrag & IP_FRAG_OFFSET_MASK;
  ipv4Repr.headerLen = headerLen;
  ipv4Repr.totalLen = totalLen;
  return <i32>headerLen;
}

/**
 * Writes a 20-byte header at `p` for `payloadLen` bytes of payload. The checksum is computed
 * when `withChecksum`, else left 0 for the port to fill (TX offload).
 */
export function ipv4EmitHeader(
  p: usize, src: u32, dst: u32, protocol: u8, ttl: u8, ident: u16, dontFragment: bool,
  payloadLen: u32, withChecksum: bool, tos: u8 = 0,
): void {
  store<u8>(p, 0x45, IP_VER_IHL);
  store<u8>(p, tos, IP_TOS);
  store<u16>(p, bswap<u16>(<u16>(IPV4_HEADER_LEN + payloadLen)), IP_TOTAL_LEN);
  store<u16>(p, bswap<u16>(ident), IP_ID);
  store<u16>(p, bswap<u16>(dontFragment ? IP_FLAG_DF : 0), IP_FLAGS_FRAG);
  store<u8>(p, ttl, IP_TTL);
  store<u8>(p, protocol, IP_PROTO);
  store<u16>(p, 0, IP_CSUM);
  store<u32>(p, bswap<u32>(src), IP_SRC);
  store<u32>(p, bswap<u32>(dst), IP_DST);
  if (withChecksum) store<u16>(p, bswap<u16>(checksumFinish(checksumSum(p, IPV4_HEADER_LEN))), IP_CSUM);
}
