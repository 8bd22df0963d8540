// Seeded pseudo-random numbers for the host side (impairment, test traffic, demo payloads).
//
// Guarantees: the sequence is a pure function of the seed and the stream number, the same
// on every machine and Node version (32-bit integer arithmetic only, no Math.random); a
// draw never allocates. The generator is sfc32 (Chris Doty-Humphrey's Small Fast Chaotic
// generator, 128-bit state), seeded through splitmix32 so that nearby seeds give unrelated
// sequences. Not for cryptography.

/** Largest seed accepted: any non-negative safe integer. */
export const MAX_SEED = Number.MAX_SAFE_INTEGER;

/** Throws a TypeError/RangeError naming `name` unless `seed` is a non-negative safe integer. */
export function validateSeed(seed: unknown, name = 'seed'): number {
  if (typeof seed !== 'number') {
    throw Object.assign(new TypeError(`${name} must be a non-negative integer, got ${typeof seed}`), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw Object.assign(new RangeError(`${name} must be a non-negative integer up to ${MAX_SEED}, got ${seed}`), { code: 'ERR_OUT_OF_RANGE' });
  }
  return seed;
}

/** One step of splitmix32: returns the next state and its mixed output. */
function splitmix32(state: number): [number, number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /**
   * `seed`: a non-negative safe integer. `stream`: an independent sequence for the same seed
   * (so each impairment, each direction of a link, draws from its own stream and enabling
   * one impairment does not shift the decisions of another).
   */
  constructor(seed: number, stream = 0) {
    validateSeed(seed);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
    let s = (lo ^ Math.imul(hi, 0x27d4eb2f) ^ Math.imul(stream + 1, 0x165667b1)) | 0;
    let out: number;
    [s, out] = splitmix32(s); this.a = out;
    [s, out] = splitmix32(s); this.b = out;
    [s, out] = splitmix32(s); this.c = out;
    [s, out] = splitmix32(s); this.d = out | 1;
    // The first outputs of a fresh sfc32 state are weakly mixed: discard them.
    for (let i = 0; i < 12; i++) this.nextU32();
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  nextFloat(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  /** True with probability `p` (0 never draws true, 1 always does). */
  chance(p: number): boolean {
    return this.nextFloat() < p;
  }

  /** Uniform integer in [0, n), for 1 <= n <= 2^32 (multiply-shift, bias below 2^-32 * n). */
  below(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Fills `dst[offset .. offset + length)` with random bytes. */
  fill(dst: Uint8Array, offset = 0, length = dst.length - offset): void {
    const end = offset + length;
    let i = offset;
    for (; i + 4 <= end; i += 4) {
      const v = this.nextU32();
      dst[i] = v; dst[i + 1] = v >>> 8; dst[i + 2] = v >>> 16; dst[i + 3] = v >>> 24;
    }
    if (i < end) {
      let v = this.nextU32();
      for (; i < end; i++, v >>>= 8) dst[i] = v;
    }
  }
}
