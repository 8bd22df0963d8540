// UDP headers (RFC 768).
//
// Guarantees: `udpParse` checks the length once, then the length field (at least 8, at most
// the bytes the IP layer gives; bytes beyond it are ignored) and the checksum against the
// pseudo-header sum the caller passes (a zero checksum means "none" over IPv4, RFC 768;
// over IPv6 it is invalid, RFC 8200 8.1, which the caller says with `zeroChecksumAllowed`).
// It never traps.
//
//   0        2        4        6        8
//   +--------+--------+--------+--------+--------
//   | src    | dst    | length | csum   | data
//   +--------+--------+--------+--------+--------

import { checksumSum, checksumAdd, checksumFinish } from "./checksum";

@inline export const UDP_SRC_PORT: u32 = 0;
@inline export const UDP_DST_PORT: u32 = 2;
@inline export const UDP_LENGTH: u32 = 4;
@inline export const UDP_CSUM: u32 = 6;
export const UDP_HEADER_LEN: u32 = 8;

export namespace UdpError {
  export const TRUNCATED: i32 = -1;
  /** Length field below 8 or above the IP payload. */
  export const BAD_LENGTH: i32 = -2;
  export const BAD_CHECKSUM: i32 = -3;
}

@unmanaged export class UdpRepr {
  srcPort: u16 = 0;
  dstPort: u16 = 0;
  /** Data bytes (length field - 8). */
  payloadLen: u32 = 0;
  /** True when the sender computed a checksum (non-zero field). */
  hasChecksum: bool = false;
}

export const udpRepr = new UdpRepr();

/**
 * Parses the datagram at `p` (`len` bytes of IP payload) into `udpRepr`. `pseudoSumWithoutLength`
 * is the L3 pseudo-header sum with a length of 0: the UDP length field's value is added here,
 * since it, not the IP payload length, is what RFC 768 sums. Returns 0 or a `UdpError`.
 */
export function udpParse(p: usize, len: u32, verifyChecksum: bool, pseudoSumWithoutLength: u32, zeroChecksumAllowed: bool): i32 {
  if (len < UDP_HEADER_LEN) return UdpError.TRUNCATED;
  const length = <u32>bswap<u16>(load<u16>(p, UDP_LENGTH));
  if (length < UDP_HEADER_LEN || length > len) return UdpError.BAD_LENGTH;
  const csum = load<u16>(p, UDP_CSUM);
  if (csum == 0 && !zeroChecksumAllowed) return UdpError.BAD_CHECKSUM;
  if (csum != 0 && verifyChecksum) {
    const sum = checksumAdd(checksumSum(p, length), checksumAdd(pseudoSumWithoutLength, length));
    if (checksumFinish(sum) != 0) return UdpError.BAD_CHECKSUM;
  }
  udpRepr.srcPort = bswap<u16>(load<u16>(p, UDP_SRC_PORT));
  udpRepr.dstPort = bswap<u16>(load<u16>(p, UDP_DST_PORT));
  udpRepr.payloadLen = length - UDP_HEADER_LEN;
  udpRepr.hasChecksum = csum != 0;
  return 0;
}

/** Writes the header for `payloadLen` bytes; the checksum field is left 0 for the L3 to fill. */
export function udpEmitHeader(p: usize, srcPort: u16, dstPort: u16, payloadLen: u32): void {
  store<u16>(p, bswap<u16>(srcPort), UDP_SRC_PORT);
  store<u16>(p, bswap<u16>(dstPort), UDP_DST_PORT);
  store<u16>(p, bswap<u16>(<u16>(UDP_HEADER_LEN + payloadLen)), UDP_LENGTH);
  store<u16>(p, 0, UDP_CSUM);
}
