// Receive Side Scaling in software, host side: the Toeplitz hash over an IPv4 flow and the
// redirection table (RETA) that maps it to a queue. The same function runs in the stack
// (assembly/frame/rss.ts) for the ephemeral-port filter and the hand-off rule; the two agree
// bit for bit (tests/rss.test.mjs), and the memory link steers with it like a NIC would.
//
// Guarantees:
// - `toeplitzHash` is the Microsoft RSS Toeplitz function ("RSS hashing functions": for
//   each input bit from the left, a set bit XORs in the key's leftmost 32 bits, then the key
//   slides one bit); the IPv4 input is source address, destination address, source port,
//   destination port in network order. It reproduces the Microsoft RSS verification suite
//   with `MICROSOFT_RSS_KEY`.
// - `SYMMETRIC_RSS_KEY` (0x6d5a repeated) makes the hash symmetric: (a, b, pa, pb) and
//   (b, a, pb, pa) hash alike, so both directions of a flow meet on one queue.
// - `RssSteering` maps a hash to a queue through its table (entry i = queue i mod N by
//   default, as DPDK's default RETA) and classifies whole Ethernet frames: IPv4 TCP/UDP by the
//   4-tuple (first fragments and unfragmented only), other IPv4 by the address pair, anything
//   else (ARP, IPv6, malformed) to queue 0, as NICs send what they cannot hash. Per-frame work
//   allocates nothing (12 table lookups).

/** 40-byte key, 0x6d5a repeated: symmetric Toeplitz. */
export const SYMMETRIC_RSS_KEY: Uint8Array = Uint8Array.from({ length: 40 }, (_, i) => (i & 1 ? 0x5a : 0x6d));

/** The key of the Microsoft RSS verification suite (also many NICs' default). */
export const MICROSOFT_RSS_KEY: Uint8Array = Uint8Array.from([
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
]);

function rangeError(message: string): RangeError {
  return Object.assign(new RangeError(message), { code: 'ERR_OUT_OF_RANGE' });
}

/** Redirection table entries by default (a power of two, as the stack requires). */
export const DEFAULT_RETA_SIZE = 128;

/** The 32 key bits starting at bit `bit` (bit 0 = most significant bit of key[0]). */
function keyWindow(key: Uint8Array, bit: number): number {
  const byte = bit >>> 3;
  const shift = bit & 7;
  let hi = 0;
  for (let i = 0; i < 4; i++) hi = (hi * 256) + (key[byte + i] ?? 0);
  const next = key[byte + 4] ?? 0;
  return ((hi * 2 ** shift) + (next >>> (8 - shift))) % 2 ** 32 >>> 0;
}

/** Toeplitz hash of `input` under `key` (which must be at least input.length + 4 bytes). */
export function toeplitzHash(key: Uint8Array, input: Uint8Array): number {
  if (key.length < input.length + 4) {
    throw rangeError(`toeplitzHash: a ${input.length}-byte input needs a key of at least ${input.length + 4} bytes, got ${key.length}`);
  }
  let result = 0;
  for (let i = 0; i < input.length * 8; i++) {
    if (input[i >>> 3] & (0x80 >>> (i & 7))) result = (result ^ keyWindow(key, i)) >>> 0;
  }
  return result;
}

/** Table-driven Toeplitz over the IPv4 4-tuple (or the address pair), for per-frame use. */
export class ToeplitzIpv4 {
  /** tables[j * 256 + v]: contribution of byte value v at input position j (0..11). */
  private readonly tables = new Uint32Array(12 * 256);

  constructor(readonly key: Uint8Array = SYMMETRIC_RSS_KEY) {
    if (!(key instanceof Uint8Array) || key.length !== 40) {
      throw rangeError(`RSS key must be a Uint8Array of 40 bytes, got ${key instanceof Uint8Array ? `${key.length} bytes` : typeof key}`);
    }
    for (let j = 0; j < 12; j++) {
      for (let v = 0; v < 256; v++) {
        let h = 0;
        for (let b = 0; b < 8; b++) if (v & (0x80 >>> b)) h = (h ^ keyWindow(key, j * 8 + b)) >>> 0;
        this.tables[j * 256 + v] = h;
      }
    }
  }

  /** Hash of (src, dst, srcPort, dstPort); addresses and ports as host-order numbers. */
  tuple(src: number, dst: number, srcPort: number, dstPort: number): number {
    const t = this.tables;
    return (this.pair(src, dst)
      ^ t[8 * 256 + ((srcPort >>> 8) & 0xff)] ^ t[9 * 256 + (srcPort & 0xff)]
      ^ t[10 * 256 + ((dstPort >>> 8) & 0xff)] ^ t[11 * 256 + (dstPort & 0xff)]) >>> 0;
  }

  /** Hash of (src, dst) only: what NICs use for IPv4 without ports. */
  pair(src: number, dst: number): number {
    const t = this.tables;
    return (t[(src >>> 24) & 0xff] ^ t[256 + ((src >>> 16) & 0xff)] ^ t[512 + ((src >>> 8) & 0xff)] ^ t[768 + (src & 0xff)]
      ^ t[1024 + ((dst >>> 24) & 0xff)] ^ t[1280 + ((dst >>> 16) & 0xff)] ^ t[1536 + ((dst >>> 8) & 0xff)] ^ t[1792 + (dst & 0xff)]) >>> 0;
  }
}

export interface RssSteeringOptions {
  /** Queues to spread over, 1..256. */
  queues: number;
  /** 40-byte key (default: `SYMMETRIC_RSS_KEY`). */
  key?: Uint8Array;
  /** Redirection table: queue per entry, a power-of-two length up to 512 (default i mod queues, 128 entries). */
  reta?: Uint8Array;
}

/** A port's RSS configuration: key, redirection table, and frame classification. */
export class RssSteering {
  readonly queues: number;
  readonly hash: ToeplitzIpv4;
  readonly reta: Uint8Array;

  constructor(options: RssSteeringOptions) {
    const { queues } = options;
    if (!Number.isInteger(queues) || queues < 1 || queues > 256) {
      throw rangeError(`RSS queues must be an integer from 1 to 256, got ${String(queues)}`);
    }
    this.queues = queues;
    this.hash = new ToeplitzIpv4(options.key ?? SYMMETRIC_RSS_KEY);
    const reta = options.reta ?? Uint8Array.from({ length: DEFAULT_RETA_SIZE }, (_, i) => i % queues);
    if (!(reta instanceof Uint8Array) || reta.length < 1 || reta.length > 512 || (reta.length & (reta.length - 1)) !== 0) {
      throw rangeError('RSS reta must be a Uint8Array whose length is a power of two from 1 to 512');
    }
    for (const q of reta) if (q >= queues) throw rangeError(`RSS reta names queue ${q}, but there are ${queues} queues`);
    this.reta = Uint8Array.from(reta);
  }

  /** Queue of a hash value. */
  queueOfHash(hash: number): number {
    return this.reta[hash & (this.reta.length - 1)];
  }

  /** Queue of a flow as received (src is the sender). */
  queueOfTuple(src: number, dst: number, srcPort: number, dstPort: number): number {
    return this.queueOfHash(this.hash.tuple(src, dst, srcPort, dstPort));
  }

  /**
   * The hash of an Ethernet frame at `frame[offset .. offset+length)`, or -1 for frames NICs
   * do not hash (not IPv4, truncated).
   */
  frameHash(frame: Uint8Array, offset: number, length: number): number {
    if (length < 34) return -1;
    let l3 = offset + 14;
    let type = (frame[offset + 12] << 8) | frame[offset + 13];
    if (type === 0x8100) {
      if (length < 38) return -1;
      type = (frame[offset + 16] << 8) | frame[offset + 17];
      l3 += 4;
    }
    if (type !== 0x0800 || (frame[l3] >>> 4) !== 4) return -1;
    const ihl = (frame[l3] & 0x0f) * 4;
    const end = offset + length;
    if (ihl < 20 || l3 + ihl > end) return -1;
    const src = ((frame[l3 + 12] << 24) | (frame[l3 + 13] << 16) | (frame[l3 + 14] << 8) | frame[l3 + 15]) >>> 0;
    const dst = ((frame[l3 + 16] << 24) | (frame[l3 + 17] << 16) | (frame[l3 + 18] << 8) | frame[l3 + 19]) >>> 0;
    const proto = frame[l3 + 9];
    const fragmentOffset = ((frame[l3 + 6] & 0x1f) << 8) | frame[l3 + 7];
    const moreFragments = (frame[l3 + 6] & 0x20) !== 0;
    const l4 = l3 + ihl;
    if ((proto === 6 || proto === 17) && fragmentOffset === 0 && !moreFragments && l4 + 4 <= end) {
      return this.hash.tuple(src, dst, (frame[l4] << 8) | frame[l4 + 1], (frame[l4 + 2] << 8) | frame[l4 + 3]);
    }
    return this.hash.pair(src, dst);
  }

  /** Queue a NIC delivers the frame to. */
  queueOfFrame(frame: Uint8Array, offset: number, length: number): number {
    if (this.queues === 1) return 0;
    const h = this.frameHash(frame, offset, length);
    return h < 0 ? 0 : this.queueOfHash(h);
  }
}
