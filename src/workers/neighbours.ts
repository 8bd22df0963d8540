// The neighbour (ARP) table shared by the workers of one port: an append-only log in a
// SharedArrayBuffer with an epoch counter. A worker's host appends what its stack learned
// from the wire after a burst; every other worker reads what is new before its next burst and
// gives it to its stack (assembly/iface/neighbour-share.ts).
//
// Guarantees:
// - Reading is cheap when nothing changed: one `Atomics.load` of the epoch.
// - Writers (rare: an ARP exchange) take a short spin lock; readers never lock. Each entry
//   carries the epoch it was written at, stored last (and cleared first when a slot is reused),
//   so a reader that sees the number it expects has a whole entry; one that fell more than
//   `capacity` entries behind skips to the oldest entry still there (older news was
//   overwritten by newer, which it then reads).
// - A worker skips the entries it wrote itself.
//
// Layout (Int32): [0] epoch (entries ever written), [1] lock, [2..3] unused, then `capacity`
// entries of 4 words: written-at epoch + 1 (0 while being written), IPv4 address, writer << 16 |
// MAC bytes 0-1, MAC bytes 2-5.

const EPOCH = 0;
const LOCK = 1;
const HEADER_WORDS = 4;
const ENTRY_WORDS = 4;

export interface NeighbourEntry { ip: number; mac: Uint8Array }

export class SharedNeighbourTable {
  private readonly words: Int32Array;
  readonly capacity: number;
  private cursor = 0;

  /** A new table holding the latest `capacity` entries. */
  static create(capacity = 256): SharedNeighbourTable {
    return new SharedNeighbourTable(new SharedArrayBuffer((HEADER_WORDS + capacity * ENTRY_WORDS) * 4), 0);
  }

  /** Opens the table `buffer` holds, as worker `writer` (0..65535). */
  constructor(readonly buffer: SharedArrayBuffer, readonly writer: number) {
    this.words = new Int32Array(buffer);
    this.capacity = (this.words.length - HEADER_WORDS) / ENTRY_WORDS;
  }

  /** Entries written so far. */
  get epoch(): number { return Atomics.load(this.words, EPOCH); }

  /** Appends `ip` at the 6 bytes of `mac` from `macOffset`. */
  publish(ip: number, mac: Uint8Array, macOffset: number): void {
    const w = this.words;
    while (Atomics.compareExchange(w, LOCK, 0, 1) !== 0) { /* a writer holds it for a few stores */ }
    const epoch = w[EPOCH];
    const at = HEADER_WORDS + (epoch % this.capacity) * ENTRY_WORDS;
    Atomics.store(w, at, 0);
    w[at + 1] = ip | 0;
    w[at + 2] = ((this.writer & 0xffff) << 16) | (mac[macOffset] << 8) | mac[macOffset + 1];
    w[at + 3] = ((mac[macOffset + 2] << 24) | (mac[macOffset + 3] << 16) | (mac[macOffset + 4] << 8) | mac[macOffset + 5]) | 0;
    Atomics.store(w, at, (epoch + 1) | 0);
    Atomics.store(w, EPOCH, epoch + 1);
    Atomics.store(w, LOCK, 0);
  }

  /** True when entries were written since the last `read`. */
  changed(): boolean { return Atomics.load(this.words, EPOCH) !== this.cursor; }

  /**
   * Calls `take(ip, macHi16, macLo32)` for each entry other workers wrote since the last call,
   * at most `max` of them (the rest come next time).
   */
  read(max: number, take: (ip: number, macHi: number, macLo: number) => void): number {
    const w = this.words;
    const epoch = Atomics.load(w, EPOCH);
    if (epoch === this.cursor) return 0;
    let from = Math.max(this.cursor, epoch - this.capacity);
    let n = 0;
    for (; from < epoch && n < max; from++) {
      const at = HEADER_WORDS + (from % this.capacity) * ENTRY_WORDS;
      if (Atomics.load(w, at) !== ((from + 1) | 0)) continue;
      const ip = w[at + 1] >>> 0;
      const hi = w[at + 2];
      const lo = w[at + 3] >>> 0;
      if (Atomics.load(w, at) !== ((from + 1) | 0)) continue;
      if ((hi >>> 16) === this.writer) continue;
      take(ip, hi & 0xffff, lo);
      n++;
    }
    this.cursor = from;
    return n;
  }
}
