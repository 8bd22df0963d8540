// Single-producer single-consumer rings in SharedArrayBuffers, and the doorbell that wakes
// the consuming thread: the way frames (and bridge bytes) cross between worker threads.
//
// Guarantees:
// - `FrameRing`: `capacity` (a power of two) slots of `slotBytes`; one thread pushes, one
//   thread takes; the producer publishes a slot with an `Atomics.store` of the tail after
//   writing it, the consumer frees it with an `Atomics.store` of the head after reading it,
//   so a slot is never read while written. A full ring refuses the push (the caller keeps
//   or counts the frame). Each slot carries the frame's length and one word of flags.
// - `FrameRing.describe()` gives a structured-cloneable description (`postMessage`,
//   `workerData`); `FrameRing.open(description)` in another thread sees the same ring.
// - `Doorbell`: one per consuming thread end. A producer `ring()`s after a batch; the
//   consumer's `watch(fn)` calls `fn` (from the event loop, never re-entrantly) after every
//   ring, through `Atomics.waitAsync`, so an idle consumer sleeps instead of polling.
//   Nothing allocates per frame; one promise per wake-up.

/** Ring control words (Int32): consumer's head, producer's tail (both free-running counts). */
const HEAD = 0;
const TAIL = 1;
/** Slot header: length (u32), flags (u32). */
export const SLOT_HEADER = 8;

export interface FrameRingDescription {
  readonly control: SharedArrayBuffer;
  readonly data: SharedArrayBuffer;
  readonly capacity: number;
  readonly slotBytes: number;
}

export class FrameRing {
  private readonly control: Int32Array;
  readonly bytes: Uint8Array;
  private readonly words: DataView;
  private readonly mask: number;

  /** A new ring of `capacity` slots (rounded up to a power of two) holding frames of up to `frameBytes`. */
  static create(capacity: number, frameBytes: number): FrameRing {
    let cap = 1;
    while (cap < capacity) cap *= 2;
    const slotBytes = (SLOT_HEADER + frameBytes + 63) & ~63;
    return new FrameRing({
      control: new SharedArrayBuffer(64),
      data: new SharedArrayBuffer(cap * slotBytes),
      capacity: cap,
      slotBytes,
    });
  }

  static open(d: FrameRingDescription): FrameRing { return new FrameRing(d); }

  private constructor(private readonly d: FrameRingDescription) {
    this.control = new Int32Array(d.control);
    this.bytes = new Uint8Array(d.data);
    this.words = new DataView(d.data);
    this.mask = d.capacity - 1;
  }

  describe(): FrameRingDescription { return this.d; }

  /** Largest frame a slot holds. */
  get frameBytes(): number { return this.d.slotBytes - SLOT_HEADER; }

  /** Frames waiting (as the consumer sees it). */
  get size(): number {
    return (Atomics.load(this.control, TAIL) - Atomics.load(this.control, HEAD)) | 0;
  }

  /** Producer: copies `src[offset .. offset+length)` in; false when the ring is full or the frame too big. */
  push(src: Uint8Array, offset: number, length: number, flags: number): boolean {
    if (length > this.frameBytes) return false;
    const tail = this.control[TAIL];
    if (((tail - Atomics.load(this.control, HEAD)) | 0) >= this.d.capacity) return false;
    const at = (tail & this.mask) * this.d.slotBytes;
    this.words.setUint32(at, length, true);
    this.words.setUint32(at + 4, flags >>> 0, true);
    this.bytes.set(src.subarray(offset, offset + length), at + SLOT_HEADER);
    Atomics.store(this.control, TAIL, (tail + 1) | 0);
    return true;
  }

  /** Consumer: byte offset (in `bytes`) of the oldest frame's data, or -1 when empty. Valid until `shift`. */
  peek(): number {
    const head = this.control[HEAD];
    if (head === Atomics.load(this.control, TAIL)) return -1;
    return (head & this.mask) * this.d.slotBytes + SLOT_HEADER;
  }

  /**
   * Consumer: byte offset of the data of the `k`-th oldest frame (0 = `peek()`), or -1 when
   * fewer are waiting. Lets a consumer hand out views of several frames and free them in order.
   */
  peekAt(k: number): number {
    const head = this.control[HEAD];
    if (((Atomics.load(this.control, TAIL) - head) | 0) <= k) return -1;
    return ((head + k) & this.mask) * this.d.slotBytes + SLOT_HEADER;
  }

  /** Length of the frame at `peek()`'s offset. */
  lengthAt(dataOffset: number): number { return this.words.getUint32(dataOffset - SLOT_HEADER, true); }
  /** Flags of the frame at `peek()`'s offset. */
  flagsAt(dataOffset: number): number { return this.words.getUint32(dataOffset - SLOT_HEADER + 4, true); }

  /** Consumer: frees the oldest slot. */
  shift(): void {
    Atomics.store(this.control, HEAD, (this.control[HEAD] + 1) | 0);
  }
}

/** `Atomics.waitAsync` (ES2024; in Node since 16), typed here for the ES2022 target. */
const waitAsync = (Atomics as unknown as {
  waitAsync(view: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> | string };
}).waitAsync;

/** Wakes one consuming thread end when producers have put something in its rings. */
export class Doorbell {
  private readonly word: Int32Array;
  private watching = false;
  private closed = false;

  constructor(readonly buffer: SharedArrayBuffer) {
    this.word = new Int32Array(buffer);
  }

  /** Producer side: tells the consumer to look. */
  ring(): void {
    Atomics.add(this.word, 0, 1);
    Atomics.notify(this.word, 0);
  }

  /** Consumer side: calls `fn` after each ring until `close()`. One watcher per doorbell. */
  watch(fn: () => void): void {
    if (this.watching) throw new Error('wasm-tcpip: a doorbell has one watcher');
    this.watching = true;
    // Re-armed before `fn` runs: an exception in `fn` surfaces (uncaught) without stopping the watch.
    const fire = (): void => {
      if (this.closed) return;
      arm();
      fn();
    };
    const arm = (): void => {
      const r = waitAsync(this.word, 0, Atomics.load(this.word, 0));
      if (r.async) (r.value as Promise<string>).then(fire);
      else setImmediate(fire);
    };
    arm();
  }

  /** Stops watching (a pending wait is released by one last ring). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.add(this.word, 0, 1);
    Atomics.notify(this.word, 0);
  }
}
