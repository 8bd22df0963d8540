// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
//
// Guarantees: `checksumSum` returns the 16-bit one's complement sum of any byte range, in the
// numeric value of big-endian words (so it adds directly to header fields read with
// `bswap`), for every length including 0 and odd lengths, without reading past the range.
// The bulk is summed 64 bytes per step with SIMD (`i32x4.extadd_pairwise_i16x8_u`), then
// 16-byte blocks; the tail is scalar. Nothing allocates.
//
// The sum is byte-order independent (RFC 1071 section 2 (B)): words are summed as they sit
// in memory (little-endian loads) and the folded result is byte-swapped once at the end.
//
// Sums are chained with `checksumAdd`; a chained range must start at an even offset of the
// checksummed data, which holds for every header and pseudo-header this stack sums.

/** Folds a 32-bit accumulator into 16 bits with end-around carry. */
@inline export function checksumFold(sum: u32): u32 {
  sum = (sum & 0xFFFF) + (sum >>> 16);
  sum = (sum & 0xFFFF) + (sum >>> 16);
  return sum;
}

/** One's complement addition of two 16-bit sums. */
@inline export function checksumAdd(a: u32, b: u32): u32 {
  return checksumFold(a + b);
}

/** The value to store in a checksum field (host order) for a folded sum. */
@inline export function checksumFinish(sum: u32): u16 {
  return <u16>(~checksumFold(sum) & 0xFFFF);
}

/** 64-byte steps summed into one pair of vector accumulators before they are folded into the total. */
const STEPS_PER_FOLD: u32 = 8192;

/** Adds the four u32 lanes of `v` as a u64. */
@inline function lanesTotal(v: v128): u64 {
  return <u64><u32>i32x4.extract_lane(v, 0) + <u64><u32>i32x4.extract_lane(v, 1) +
    <u64><u32>i32x4.extract_lane(v, 2) + <u64><u32>i32x4.extract_lane(v, 3);
}

/**
 * One's complement sum of `len` bytes at `ptr`, folded to 16 bits, as the numeric value of
 * big-endian words. A range that is odd in length is padded with a zero byte (RFC 1071).
 */
export function checksumSum(ptr: usize, len: u32): u32 {
  let total: u64 = 0;
  let p = ptr;
  const end = ptr + len;
  // 64 bytes per step into two independent accumulators (the adds overlap). Each u32 lane
  // gains at most 2 * 2 * 0xFFFF per step: 8192 steps stay below 2^32.
  let steps = len >>> 6;
  while (steps > 0) {
    const n = steps < STEPS_PER_FOLD ? steps : STEPS_PER_FOLD;
    steps -= n;
    let a = i32x4.splat(0);
    let b = i32x4.splat(0);
    for (let i: u32 = 0; i < n; i++) {
      a = i32x4.add(a, i32x4.add(i32x4.extadd_pairwise_i16x8_u(v128.load(p)), i32x4.extadd_pairwise_i16x8_u(v128.load(p, 16))));
      b = i32x4.add(b, i32x4.add(i32x4.extadd_pairwise_i16x8_u(v128.load(p, 32)), i32x4.extadd_pairwise_i16x8_u(v128.load(p, 48))));
      p += 64;
    }
    total += lanesTotal(a) + lanesTotal(b);
  }
  // Up to three 16-byte blocks, then the scalar tail.
  let tail = i32x4.splat(0);
  while (p + 16 <= end) {
    tail = i32x4.add(tail, i32x4.extadd_pairwise_i16x8_u(v128.load(p)));
    p += 16;
  }
  total += lanesTotal(tail);
  while (p + 2 <= end) {
    total += <u64>load<u16>(p);
    p += 2;
  }
  // An odd final byte is the high byte of a big-endian word: the low byte of a little-endian one.
  if (p < end) total += <u64>load<u8>(p);
  total = (total & 0xFFFFFFFF) + (total >>> 32);
  total = (total & 0xFFFFFFFF) + (total >>> 32);
  const folded = checksumFold(<u32>total);
  return <u32>bswap<u16>(<u16>folded);
}

/**
 * RFC 1624 equation 3: the new checksum field HC' after a 16-bit field changes from `oldWord`
 * to `newWord`: HC' = ~(~HC + ~m + m'). All values in host order.
 */
export function checksumUpdate16(hc: u16, oldWord: u16, newWord: u16): u16 {
  const sum = <u32>(~hc & 0xFFFF) + <u32>(~oldWord & 0xFFFF) + <u32>newWord;
  return <u16>(~checksumFold(sum) & 0xFFFF);
}

/** RFC 1624 update for a 32-bit field (two 16-bit words), e.g. an IPv4 address rewrite. */
export function checksumUpdate32(hc: u16, oldValue: u32, newValue: u32): u16 {
  const sum = <u32>(~hc & 0xFFFF) +
    <u32>(~(oldValue >>> 16) & 0xFFFF) + <u32>(~oldValue & 0xFFFF) +
    (newValue >>> 16) + (newValue & 0xFFFF);
  return <u16>(~checksumFold(sum) & 0xFFFF);
}

/**
 * The L3-agnostic pseudo-header sum (RFC 9293 3.1, RFC 768; RFC 8200 8.1 for IPv6): source and
 * destination addresses of `addrLen` bytes (4 or 16) at `src`/`dst` in network order, the
 * protocol number and the upper-layer length. Returns a folded sum for `checksumCompute`.
 */
export function pseudoHeaderSum(src: usize, dst: usize, addrLen: u32, proto: u32, l4Len: u32): u32 {
  let sum = checksumSum(src, addrLen) + checksumSum(dst, addrLen);
  sum += proto + (l4Len >>> 16) + (l4Len & 0xFFFF);
  return checksumFold(sum);
}

/** The IPv4 pseudo-header sum for host-order addresses (same value as `pseudoHeaderSum`). */
@inline export function ipv4PseudoHeaderSum(src: u32, dst: u32, proto: u32, l4Len: u32): u32 {
  const sum: u32 = (src >>> 16) + (src & 0xFFFF) + (dst >>> 16) + (dst & 0xFFFF) + proto + l4Len;
  return checksumFold(sum);
}
