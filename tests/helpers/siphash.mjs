// SipHash-2-4 (Aumasson and Bernstein, 2012) in BigInt, written from the paper's description
// and independent of assembly/util/siphash.ts: the model the Fast Open cookie and SYN-cookie
// tests compute expected values with (tests/tcp-fastopen.test.mjs checks it against the
// paper's appendix A vector).

const M64 = (1n << 64n) - 1n;
const rotl = (x, b) => ((x << b) | (x >> (64n - b))) & M64;

/** SipHash-2-4 of `msg` (bytes) under the 128-bit key (k0, k1), as a 64-bit BigInt. */
export function sipHash24(k0, k1, msg) {
  let v0 = k0 ^ 0x736f6d6570736575n; let v1 = k1 ^ 0x646f72616e646f6dn;
  let v2 = k0 ^ 0x6c7967656e657261n; let v3 = k1 ^ 0x7465646279746573n;
  const round = () => {
    v0 = (v0 + v1) & M64; v1 = rotl(v1, 13n); v1 ^= v0; v0 = rotl(v0, 32n);
    v2 = (v2 + v3) & M64; v3 = rotl(v3, 16n); v3 ^= v2;
    v0 = (v0 + v3) & M64; v3 = rotl(v3, 21n); v3 ^= v0;
    v2 = (v2 + v1) & M64; v1 = rotl(v1, 17n); v1 ^= v2; v2 = rotl(v2, 32n);
  };
  const padded = Buffer.alloc((Math.floor(msg.length / 8) + 1) * 8);
  Buffer.from(msg).copy(padded);
  padded[padded.length - 1] = msg.length & 255;
  for (let i = 0; i < padded.length; i += 8) {
    const m = padded.readBigUInt64LE(i);
    v3 ^= m; round(); round(); v0 ^= m;
  }
  v2 ^= 0xffn;
  round(); round(); round(); round();
  return (v0 ^ v1 ^ v2 ^ v3) & M64;
}

/** The same with the key as 16 bytes (k0, k1 little-endian, as the paper's vectors give it). */
export function sipHash24Bytes(keyBytes, msg) {
  const key = Buffer.from(keyBytes);
  return sipHash24(key.readBigUInt64LE(0), key.readBigUInt64LE(8), msg);
}
