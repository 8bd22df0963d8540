// Seeded pseudo-random numbers and bytes for tests: the same seed always gives the same
// sequence, on any machine, so payloads and fuzz inputs are reproducible from the seed a
// failure prints. xorshift32 (Marsaglia, "Xorshift RNGs", 2003, shifts 13/17/5): small and
// fast; not for anything that needs quality randomness.

/** A generator of u32 values from `seed` (0 is taken as 1: xorshift32 never leaves 0). */
export function xorshift32(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    return x;
  };
}

/** `n` bytes from `seed`: the low byte of each xorshift32 value. */
export function seededBytes(n, seed) {
  const next = xorshift32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}
