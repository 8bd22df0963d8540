// Seeded randomness for the stack: keys derived from the host's seed, and a fast PRNG for
// jitter and tie-breaking. The stack never reads an entropy source itself (DESIGN.md: with
// a virtual clock and a seed, the same input frames always give the same output frames).
//
// Guarantees:
// - `deriveKey(purpose)` is a pure function of (Cfg.SeedHi:Cfg.SeedLo, purpose): different
//   purposes (ISN secret, port secrets, PRNG seed) get unrelated 64-bit values, through
//   SplitMix64's finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number
//   generators", 2014).
// - `randomU32()` is xoshiro128** (Blackman & Vigna, 2018), seeded at `randomInit()` from
//   `deriveKey(KeyPurpose.Prng)`; its state is never all-zero. `randomBelow(n)` is uniform
//   in [0, n) by Lemire's multiply-and-reject method. Nothing allocates.

import { cfg, Cfg } from "../abi/config";

/** What a derived key is for; each purpose gets an independent value. */
export enum KeyPurpose {
  IsnK0 = 1,
  IsnK1 = 2,
  PortOffsetK0 = 3,
  PortOffsetK1 = 4,
  PortIndexK0 = 5,
  PortIndexK1 = 6,
  Prng = 7,
  SynCookieK0 = 8,
  SynCookieK1 = 9,
}

/** SplitMix64's output function applied to x. */
@inline function mix64(x: u64): u64 {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9;
  x = (x ^ (x >> 27)) * 0x94d049bb133111eb;
  return x ^ (x >> 31);
}

/** The host seed as one u64. */
@inline function seed64(): u64 {
  return (<u64>cfg(Cfg.SeedHi) << 32) | <u64>cfg(Cfg.SeedLo);
}

/** A 64-bit key for `purpose`, derived from the host seed (SplitMix64 step `purpose`). */
export function deriveKey(purpose: KeyPurpose): u64 {
  return mix64(seed64() + 0x9e3779b97f4a7c15 * <u64>purpose);
}

let s0: u32 = 1;
let s1: u32 = 0;
let s2: u32 = 0;
let s3: u32 = 0;

/** Seeds the PRNG from the host seed (call once at init, after the config is validated). */
export function randomInit(): void {
  const a = deriveKey(KeyPurpose.Prng);
  const b = mix64(a);
  s0 = <u32>a; s1 = <u32>(a >> 32); s2 = <u32>b; s3 = <u32>(b >> 32);
  if ((s0 | s1 | s2 | s3) == 0) s0 = 1;
}

/** Next 32 random bits (xoshiro128**). */
export function randomU32(): u32 {
  const result = rotl<u32>(s1 * 5, 7) * 9;
  const t = s1 << 9;
  s2 ^= s0;
  s3 ^= s1;
  s1 ^= s2;
  s0 ^= s3;
  s2 ^= t;
  s3 = rotl<u32>(s3, 11);
  return result;
}

/** Uniform in [0, n); 0 when n is 0. */
export function randomBelow(n: u32): u32 {
  if (n == 0) return 0;
  let m = <u64>randomU32() * <u64>n;
  let low = <u32>m;
  if (low < n) {
    const threshold: u32 = (<u32>0 - n) % n;
    while (low < threshold) {
      m = <u64>randomU32() * <u64>n;
      low = <u32>m;
    }
  }
  return <u32>(m >> 32);
}
