// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed
// 64-bit pseudo-random function for short inputs, the "F" of RFC 6528 (ISNs) and RFC 6056
// (ephemeral ports).
//
// Guarantees: `sipHash24` reads exactly `len` bytes at `ptr` (any length, any alignment) and
// matches the reference implementation bit for bit (tested against the paper's Appendix A
// vector); `sipHashWords` hashes up to four u32 words through a static 16-byte scratch area,
// so callers on the packet path never allocate. Keys are two u64 halves: k0 holds key bytes
// 0-7 and k1 bytes 8-15, each read little-endian as in the reference.

// Static scratch for `sipHashWords` (not re-entrant; WASM instances are single-threaded).
const scratch: usize = memory.data(16);

let v0: u64 = 0;
let v1: u64 = 0;
let v2: u64 = 0;
let v3: u64 = 0;

@inline function sipRound(): void {
  v0 += v1; v1 = rotl<u64>(v1, 13); v1 ^= v0; v0 = rotl<u64>(v0, 32);
  v2 += v3; v3 = rotl<u64>(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rotl<u64>(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rotl<u64>(v1, 17); v1 ^= v2; v2 = rotl<u64>(v2, 32);
}

@inline function compress(m: u64): void {
  v3 ^= m;
  sipRound();
  sipRound();
  v0 ^= m;
}

/** SipHash-2-4 of `len` bytes at `ptr` under the key (k0, k1). */
export function sipHash24(k0: u64, k1: u64, ptr: usize, len: u32): u64 {
  v0 = k0 ^ 0x736f6d6570736575;
  v1 = k1 ^ 0x646f72616e646f6d;
  v2 = k0 ^ 0x6c7967656e657261;
  v3 = k1 ^ 0x7465646279746573;
  const whole = len & ~7;
  for (let i: u32 = 0; i < whole; i += 8) compress(load<u64>(ptr + i));
  // Last block: the remaining 0-7 bytes, little-endian, with len mod 256 in the top byte.
  let last: u64 = <u64>(len & 0xFF) << 56;
  for (let i: u32 = whole; i < len; i++) last |= <u64>load<u8>(ptr + i) << (<u64>(i - whole) << 3);
  compress(last);
  v2 ^= 0xFF;
  sipRound();
  sipRound();
  sipRound();
  sipRound();
  return v0 ^ v1 ^ v2 ^ v3;
}

/** SipHash-2-4 of the 16 bytes a, b, c, d (each little-endian), under (k0, k1). */
export function sipHashWords(k0: u64, k1: u64, a: u32, b: u32, c: u32, d: u32): u64 {
  store<u32>(scratch, a);
  store<u32>(scratch, b, 4);
  store<u32>(scratch, c, 8);
  store<u32>(scratch, d, 12);
  return sipHash24(k0, k1, scratch, 16);
}
