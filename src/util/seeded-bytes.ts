// A reproducible byte stream: N bytes drawn from a seed, produced in chunks, with its
// SHA-256. The demo's `GET /bytes/N?seed=S`, `wasm-tcpip perf` and the tests all use it, so a
// receiver can check what it got from the seed and the length alone.
//
// Guarantees: the bytes are a pure function of (seed, offset) — chunk boundaries do not
// change them — and the same on every machine.

import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { Prng } from './prng.js';

const BIG_ENDIAN = endianness() === 'BE';

/** Chunk size of `seededChunks` (64 KiB: large enough to amortise, small enough to stream). */
export const SEEDED_CHUNK = 64 * 1024;

/** Yields `length` bytes from `seed` in Buffers of at most `chunk` bytes (each a fresh Buffer). */
export function* seededChunks(seed: number, length: number, chunk = SEEDED_CHUNK): Generator<Buffer> {
  const prng = new Prng(seed, 0);
  // Whole 32-bit words are drawn per 4 bytes, so the stream does not depend on `chunk`
  // as long as chunks are multiples of 4 (they are, but for the last).
  if (chunk % 4 !== 0) throw new RangeError(`chunk must be a multiple of 4, got ${chunk}`);
  let left = length;
  while (left > 0) {
    const n = Math.min(chunk, left);
    const buf = Buffer.allocUnsafeSlow((n + 3) & ~3); // unpooled: 4-byte aligned
    // Words are stored little-endian whatever the host: a typed array writes in host order.
    const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = prng.nextU32();
    if (BIG_ENDIAN) buf.swap32();
    yield n === buf.length ? buf : buf.subarray(0, n);
    left -= n;
  }
}

/** SHA-256 (hex) of the stream `seededChunks(seed, length)`. */
export function seededSha256(seed: number, length: number): string {
  const h = createHash('sha256');
  for (const c of seededChunks(seed, length)) h.update(c);
  return h.digest('hex');
}
