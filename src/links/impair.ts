// Seeded, deterministic impairment of a frame path (loss, duplication, reordering,
// corruption, delay with jitter, rate limiting), and `impair(link, options)`, which puts it
// on the transmit side (and optionally the receive side) of any link. MemoryLink carries
// its frames through the same `FramePath`: there is one implementation, not two.
//
// Guarantees:
// - Deterministic: the decisions are a function of the seed and of the frames pushed with
//   their push times; each impairment draws from its own PRNG stream, so enabling one does
//   not shift another's decisions.
// - Bounded: a path holds at most `queue` frames in one preallocated buffer (plus one held
//   back for reordering); a frame that finds it full is dropped and counted, never queued
//   in new memory. Counters name every drop (`dropped.<reason>`).
// - Order: frames leave in the order they were queued, at non-decreasing times; only the
//   `reorder` impairment changes the order (jitter never does, as netem with a rate).
// - The per-frame work allocates nothing but the transient typed-array view of a copy
//   (`dst.set(src.subarray(..))`, 71 ns for 1514 B against 227 ns for a word loop that
//   allocates nothing, GC included, measured on the build machine).
//
// Per frame, in order: oversize check, loss, rate (serialisation at `rate` bits/s behind
// the frames already queued, tail drop past `rateQueue` bytes of backlog), delay + jitter,
// ECN marking (an IPv4 frame whose ECN field says ECT(0) or ECT(1) becomes CE, RFC 3168 5, as
// an AQM router marks instead of dropping; its header checksum made right again),
// corruption (one random bit of one random byte), duplication (an exact copy right after),
// reordering (the frame is held back and released after `reorderGap` later frames, or after
// `reorderHold` if none come).

import { Prng, validateSeed } from '../util/prng.js';
import { Desc, LinkWrapper, RxSlotWriter, type FrameRings, type Link } from './link.js';

/** The impairments, as a user writes them. Probabilities are 0-1; times µs or '1ms'. */
export interface ImpairmentOptions {
  /** Probability that a frame is dropped. */
  loss?: number;
  /** Probability that a frame is delivered twice. */
  duplicate?: number;
  /** Probability that a frame is held back and overtaken by later ones. */
  reorder?: number;
  /** Later frames that overtake a held-back frame (default 1). */
  reorderGap?: number;
  /** Longest a held-back frame waits for the frames that overtake it (default '1ms'). */
  reorderHold?: number | string;
  /** Probability that one bit of a frame is flipped. */
  corrupt?: number;
  /** Probability that an ECN-capable (ECT) IPv4 frame is marked CE (RFC 3168 5); others pass. */
  ce?: number;
  /** One-way delay: µs, or a string with a unit ('500us', '1ms', '0.2s'). */
  delay?: number | string;
  /** Uniform jitter added to the delay, within ±jitter (never below zero delay). */
  jitter?: number | string;
  /** Rate limit in bits/s (a number, or '10mbit', '1gbit', '64kbps'); 0 or absent: none. */
  rate?: number | string;
  /** Bytes of backlog the rate limiter queues before it tail-drops (default 1,500,000). */
  rateQueue?: number;
}

/** Validated, normalised impairments. */
export interface Impairment {
  readonly loss: number;
  readonly duplicate: number;
  readonly reorder: number;
  readonly reorderGap: number;
  readonly reorderHoldUs: number;
  readonly corrupt: number;
  readonly ce: number;
  readonly delayUs: number;
  readonly jitterUs: number;
  /** Bits per second; 0 = unlimited. */
  readonly rateBps: number;
  readonly rateQueueBytes: number;
}

export const IMPAIRMENT_KEYS: readonly string[] = [
  'loss', 'duplicate', 'reorder', 'reorderGap', 'reorderHold', 'corrupt', 'ce', 'delay', 'jitter', 'rate', 'rateQueue',
];

export const DEFAULT_REORDER_HOLD_US = 1000;
export const DEFAULT_RATE_QUEUE_BYTES = 1_500_000;
/** Frames a path queues by default. */
export const DEFAULT_QUEUE_FRAMES = 1024;

export function optionTypeError(name: string, expected: string, got: unknown): TypeError {
  const shown = typeof got === 'string' ? JSON.stringify(got) : typeof got;
  return Object.assign(new TypeError(`${name} must be ${expected}, got ${shown}`), { code: 'ERR_INVALID_ARG_TYPE' });
}

export function optionRangeError(name: string, expected: string, got: unknown): RangeError {
  return Object.assign(new RangeError(`${name} must be ${expected}, got ${String(got)}`), { code: 'ERR_OUT_OF_RANGE' });
}

/** Throws a TypeError naming the first key of `options` that is not in `known`. */
export function rejectUnknownKeys(options: object, known: readonly string[], where: string): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw Object.assign(new TypeError(`${where}: unknown option ${key} (known: ${known.join(', ')})`), { code: 'ERR_INVALID_ARG_VALUE' });
    }
  }
}

function probability(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number') throw optionTypeError(name, 'a probability from 0 to 1', value);
  if (!(value >= 0 && value <= 1)) throw optionRangeError(name, 'a probability from 0 to 1', value);
  return value;
}

const DURATION_UNITS_US: Record<string, number> = { ns: 0.001, us: 1, 'µs': 1, ms: 1000, s: 1_000_000 };

/** A duration in µs from a number (µs) or a string with a unit (ns, us, µs, ms, s). */
export function parseDurationUs(value: unknown, name: string): number {
  if (typeof value === 'number') {
    if (!(value >= 0 && Number.isFinite(value))) throw optionRangeError(name, 'a non-negative number of µs', value);
    return value;
  }
  if (typeof value !== 'string') throw optionTypeError(name, "µs as a number or a string such as '1ms'", value);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s)\s*$/.exec(value);
  if (!m) throw optionRangeError(name, "a duration such as '250us', '1ms' or '0.5s'", JSON.stringify(value));
  return Number(m[1]) * DURATION_UNITS_US[m[2]];
}

const RATE_PREFIX: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9 };

/** A rate in bits/s from a number or a string ('10mbit', '1gbit', '100kbps', '1e6'). */
export function parseRateBps(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') {
    if (!(value >= 0 && Number.isFinite(value))) throw optionRangeError(name, 'a non-negative number of bits/s', value);
    return value;
  }
  if (typeof value !== 'string') throw optionTypeError(name, "bits/s as a number or a string such as '10mbit'", value);
  const m = /^\s*(\d+(?:\.\d+)?(?:e\d+)?)\s*([kmg]?)(?:bit|bps|b)?(?:\/s)?\s*$/i.exec(value);
  if (!m) throw optionRangeError(name, "a rate such as '10mbit', '1gbit' or '64kbps'", JSON.stringify(value));
  return Number(m[1]) * RATE_PREFIX[m[2].toLowerCase()];
}

/** Validates impairment options (TypeError/RangeError naming the option, `where` prefixed). */
export function parseImpairment(options: ImpairmentOptions, where: string): Impairment {
  const o = options as Record<string, unknown>;
  const name = (key: string) => `${where}: ${key}`;
  let reorderGap = 1;
  if (o.reorderGap !== undefined) {
    if (typeof o.reorderGap !== 'number') throw optionTypeError(name('reorderGap'), 'an integer from 1 to 1000', o.reorderGap);
    if (!Number.isInteger(o.reorderGap) || o.reorderGap < 1 || o.reorderGap > 1000) {
      throw optionRangeError(name('reorderGap'), 'an integer from 1 to 1000', o.reorderGap);
    }
    reorderGap = o.reorderGap;
  }
  let rateQueueBytes = DEFAULT_RATE_QUEUE_BYTES;
  if (o.rateQueue !== undefined) {
    if (typeof o.rateQueue !== 'number') throw optionTypeError(name('rateQueue'), 'a number of bytes', o.rateQueue);
    if (!Number.isSafeInteger(o.rateQueue) || o.rateQueue < 1) throw optionRangeError(name('rateQueue'), 'a positive integer number of bytes', o.rateQueue);
    rateQueueBytes = o.rateQueue;
  }
  return {
    loss: probability(o.loss, name('loss')),
    duplicate: probability(o.duplicate, name('duplicate')),
    reorder: probability(o.reorder, name('reorder')),
    reorderGap,
    reorderHoldUs: o.reorderHold === undefined ? DEFAULT_REORDER_HOLD_US : parseDurationUs(o.reorderHold, name('reorderHold')),
    corrupt: probability(o.corrupt, name('corrupt')),
    ce: probability(o.ce, name('ce')),
    delayUs: o.delay === undefined ? 0 : parseDurationUs(o.delay, name('delay')),
    jitterUs: o.jitter === undefined ? 0 : parseDurationUs(o.jitter, name('jitter')),
    rateBps: parseRateBps(o.rate, name('rate')),
    rateQueueBytes,
  };
}

/** Short names a command line may use for the impairments (`dup=0.02`). */
const SPEC_ALIASES: Record<string, string> = { dup: 'duplicate', drop: 'loss' };

/**
 * Impairments from a command-line string such as `loss=0.05,reorder=0.05,dup=0.02,delay=1ms`
 * (keys as in ImpairmentOptions, `dup` for duplicate; values as the options take them).
 * Throws a RangeError naming the bad item; the values are validated by `parseImpairment`.
 */
export function parseImpairmentSpec(spec: string, where = '--impair'): ImpairmentOptions {
  if (typeof spec !== 'string') throw optionTypeError(where, "a list such as 'loss=0.05,delay=1ms'", spec);
  const out: Record<string, number | string> = {};
  for (const item of spec.split(',').map((x) => x.trim()).filter((x) => x !== '')) {
    const eq = item.indexOf('=');
    const rawKey = eq < 0 ? item : item.slice(0, eq).trim();
    const key = SPEC_ALIASES[rawKey] ?? rawKey;
    if (eq < 0 || !IMPAIRMENT_KEYS.includes(key)) {
      throw optionRangeError(where, `items key=value with keys ${IMPAIRMENT_KEYS.join(', ')} (or dup)`, JSON.stringify(item));
    }
    const value = item.slice(eq + 1).trim();
    out[key] = value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
  }
  parseImpairment(out, where);
  return out;
}

/** Counters of one path, by name. Drops are `dropped.<reason>`. */
export interface PathStats {
  /** Frames pushed into the path. */
  frames: number;
  bytes: number;
  'dropped.loss': number;
  'dropped.queueFull': number;
  'dropped.rateQueue': number;
  'dropped.oversize': number;
  'dropped.closed': number;
  duplicated: number;
  /** Frames that were overtaken by later ones. */
  reordered: number;
  corrupted: number;
  /** ECT frames marked CE. */
  ceMarked: number;
  /** Frames that left later than they were pushed (delay, jitter or rate queueing). */
  delayed: number;
}

// ECN marking (RFC 3168 5): the ECN field is the low two bits of the IPv4 TOS byte.
const ETH_HEADER = 14;
const ETHERTYPE_IPV4 = 0x0800;
const ECN_MASK = 3;
const ECN_CE = 3;

/** True when the frame is Ethernet + IPv4 with ECT(0) or ECT(1) in its ECN field. */
function isEct(f: Uint8Array, off: number, length: number): boolean {
  if (length < ETH_HEADER + 20 || ((f[off + 12] << 8) | f[off + 13]) !== ETHERTYPE_IPV4) return false;
  const ecn = f[off + ETH_HEADER + 1] & ECN_MASK;
  return ecn !== 0 && ecn !== ECN_CE;
}

/**
 * Sets CE in the IPv4 header of the frame at `f[off..]`. A header checksum that was right
 * stays right (recomputed, RFC 791 3.1); one left for the port to fill (checksum offload)
 * is left alone.
 */
function markCongestionExperienced(f: Uint8Array, off: number): void {
  const ip = off + ETH_HEADER;
  const headerLen = (f[ip] & 0x0f) * 4;
  const checksumWasRight = headerLen >= 20 && ipv4HeaderSum(f, ip, headerLen) === 0xffff;
  f[ip + 1] |= ECN_CE;
  if (!checksumWasRight) return;
  f[ip + 10] = 0; f[ip + 11] = 0;
  const c = ~ipv4HeaderSum(f, ip, headerLen) & 0xffff;
  f[ip + 10] = c >>> 8; f[ip + 11] = c & 0xff;
}

/** One's-complement sum of the 16-bit words of an IPv4 header, folded to 16 bits. */
function ipv4HeaderSum(f: Uint8Array, ip: number, headerLen: number): number {
  let sum = 0;
  for (let i = 0; i < headerLen; i += 2) sum += (f[ip + i] << 8) | f[ip + i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/** Streams of the PRNG per impairment, offset by the path's base stream. */
const enum Stream { Loss = 0, Duplicate = 1, Corrupt = 2, Reorder = 3, Jitter = 4, Ce = 5, PerPath = 8 }

/**
 * A one-way, impaired FIFO of frames with delivery times. `push` at the sender's time,
 * `peek`/`shift` at the receiver's.
 *
 * Storage: `capacity + 1` slots of `slotBytes` in one buffer; the last slot is the
 * reorder hold. Per slot: length, delivery time, and three words of metadata the owner
 * carries through (descriptor flags, RSS hash or header lengths, TSO segment size).
 */
export class FramePath {
  readonly stats: PathStats = {
    frames: 0, bytes: 0,
    'dropped.loss': 0, 'dropped.queueFull': 0, 'dropped.rateQueue': 0, 'dropped.oversize': 0, 'dropped.closed': 0,
    duplicated: 0, reordered: 0, corrupted: 0, ceMarked: 0, delayed: 0,
  };
  /** Slot bytes; slot i starts at i * slotBytes. */
  readonly data: Uint8Array;
  readonly len: Uint32Array;
  readonly flags: Uint32Array;
  readonly aux: Uint32Array;
  readonly mss: Uint32Array;
  private readonly at: Float64Array;
  private readonly holdSlot: number;
  private head = 0;
  private count = 0;
  /** Delivery time of the last queued frame: later frames never leave before it. */
  private lastAt = -Infinity;
  /** When the rate limiter finishes serialising what it has queued. */
  private busyUntil = -Infinity;
  private held = false;
  private heldGapLeft = 0;
  private heldAt = 0;
  private heldDeadline = Infinity;
  private readonly lossRng: Prng;
  private readonly duplicateRng: Prng;
  private readonly corruptRng: Prng;
  private readonly reorderRng: Prng;
  private readonly jitterRng: Prng;
  private readonly ceRng: Prng;

  /**
   * `stream` picks the PRNG streams: give each path of one seed its own number (0, 1, ...).
   */
  constructor(
    readonly impairment: Impairment,
    readonly capacity: number,
    readonly slotBytes: number,
    seed: number,
    stream: number,
  ) {
    validateSeed(seed);
    this.holdSlot = capacity;
    this.data = new Uint8Array((capacity + 1) * slotBytes);
    this.len = new Uint32Array(capacity + 1);
    this.flags = new Uint32Array(capacity + 1);
    this.aux = new Uint32Array(capacity + 1);
    this.mss = new Uint32Array(capacity + 1);
    this.at = new Float64Array(capacity + 1);
    const base = stream * Stream.PerPath;
    this.lossRng = new Prng(seed, base + Stream.Loss);
    this.duplicateRng = new Prng(seed, base + Stream.Duplicate);
    this.corruptRng = new Prng(seed, base + Stream.Corrupt);
    this.reorderRng = new Prng(seed, base + Stream.Reorder);
    this.jitterRng = new Prng(seed, base + Stream.Jitter);
    this.ceRng = new Prng(seed, base + Stream.Ce);
  }

  /** Frames queued (the held-back one included). */
  get size(): number { return this.count + (this.held ? 1 : 0); }

  /** Earliest time a frame can leave: the head's time or the held frame's deadline; Infinity when empty. */
  pendingUs(): number {
    const headAt = this.count > 0 ? this.at[this.head] : Infinity;
    return this.held && this.heldDeadline < headAt ? this.heldDeadline : headAt;
  }

  /**
   * Takes a copy of `src[offset .. offset+length)` sent at `nowUs`, with its metadata.
   * Returns true when the path's earliest pending time moved earlier (the receiver needs a
   * wake-up), false otherwise (the frame was dropped, or queued behind others).
   */
  push(src: Uint8Array, offset: number, length: number, flags: number, aux: number, mss: number, nowUs: number): boolean {
    const before = this.pendingUs();
    const s = this.stats;
    const imp = this.impairment;
    s.frames++;
    s.bytes += length;
    this.releaseHeldIfDue(nowUs);
    if (length > this.slotBytes) { s['dropped.oversize']++; return this.pendingUs() < before; }
    if (imp.loss > 0 && this.lossRng.chance(imp.loss)) { s['dropped.loss']++; return this.pendingUs() < before; }

    let departAt = nowUs;
    if (imp.rateBps > 0) {
      const backlogUs = Math.max(0, this.busyUntil - nowUs);
      if ((backlogUs * imp.rateBps) / 8e6 + length > imp.rateQueueBytes) {
        s['dropped.rateQueue']++;
        return this.pendingUs() < before;
      }
      departAt = Math.max(nowUs, this.busyUntil) + (length * 8e6) / imp.rateBps;
      this.busyUntil = departAt;
    }
    let at = departAt + imp.delayUs;
    if (imp.jitterUs > 0) at = Math.max(departAt, at + (this.jitterRng.nextFloat() * 2 - 1) * imp.jitterUs);
    if (at < this.lastAt) at = this.lastAt;

    const markCe = imp.ce > 0 && isEct(src, offset, length) && this.ceRng.chance(imp.ce);
    const corrupt = imp.corrupt > 0 && this.corruptRng.chance(imp.corrupt) && length > 0;
    const duplicate = imp.duplicate > 0 && this.duplicateRng.chance(imp.duplicate);
    const holdBack = imp.reorder > 0 && this.reorderRng.chance(imp.reorder) && !this.held;

    let slot: number;
    if (holdBack) {
      slot = this.holdSlot;
      this.held = true;
      this.heldGapLeft = imp.reorderGap;
      this.heldAt = at;
      this.heldDeadline = at + imp.reorderHoldUs;
    } else {
      slot = this.append(at);
      if (slot < 0) return this.pendingUs() < before;
    }
    this.store(slot, src, offset, length, flags, aux, mss);
    if (markCe) {
      markCongestionExperienced(this.data, slot * this.slotBytes);
      s.ceMarked++;
    }
    if (corrupt) {
      const byte = this.corruptRng.below(length);
      this.data[slot * this.slotBytes + byte] ^= 1 << this.corruptRng.below(8);
      s.corrupted++;
    }
    if (at > nowUs) s.delayed++;
    if (duplicate) {
      const copy = this.append(at);
      if (copy >= 0) {
        this.data.copyWithin(copy * this.slotBytes, slot * this.slotBytes, slot * this.slotBytes + length);
        this.len[copy] = length; this.flags[copy] = flags; this.aux[copy] = aux; this.mss[copy] = mss;
        s.duplicated++;
        if (at > nowUs) s.delayed++;
      }
    }
    if (!holdBack && this.held && --this.heldGapLeft === 0) this.releaseHeld(true);
    return this.pendingUs() < before;
  }

  /** Slot of the next frame ready at `nowUs`, or -1. Its bytes, length and metadata stay valid until `shift`. */
  peek(nowUs: number): number {
    this.releaseHeldIfDue(nowUs);
    if (this.count === 0 || this.at[this.head] > nowUs) return -1;
    return this.head;
  }

  /** Frees the slot `peek` returned. */
  shift(): void {
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count--;
  }

  /** Drops every queued frame (counted as `dropped.closed`). */
  clear(): void {
    this.stats['dropped.closed'] += this.size;
    this.count = 0;
    this.held = false;
    this.heldDeadline = Infinity;
  }

  /** Reserves the tail slot for a frame leaving at `at`; -1 (counted) when full. */
  private append(at: number): number {
    if (this.count === this.capacity) { this.stats['dropped.queueFull']++; return -1; }
    let slot = this.head + this.count;
    if (slot >= this.capacity) slot -= this.capacity;
    this.at[slot] = at;
    this.lastAt = at;
    this.count++;
    return slot;
  }

  private store(slot: number, src: Uint8Array, offset: number, length: number, flags: number, aux: number, mss: number): void {
    this.data.set(src.subarray(offset, offset + length), slot * this.slotBytes);
    this.len[slot] = length;
    this.flags[slot] = flags;
    this.aux[slot] = aux;
    this.mss[slot] = mss;
  }

  private releaseHeldIfDue(nowUs: number): void {
    if (this.held && this.heldDeadline <= nowUs) this.releaseHeld(false);
  }

  /** Queues the held frame behind what is queued; `overtaken` when later frames passed it. */
  private releaseHeld(overtaken: boolean): void {
    this.held = false;
    const at = overtaken ? this.heldAt : this.heldDeadline;
    this.heldDeadline = Infinity;
    const slot = this.append(Math.max(at, this.lastAt));
    if (slot < 0) return;
    const h = this.holdSlot;
    const length = this.len[h];
    this.data.copyWithin(slot * this.slotBytes, h * this.slotBytes, h * this.slotBytes + length);
    this.len[slot] = length; this.flags[slot] = this.flags[h]; this.aux[slot] = this.aux[h]; this.mss[slot] = this.mss[h];
    if (overtaken) this.stats.reordered++;
  }
}

/** Packs a TX descriptor's header lengths into one word. */
export function packHeaderLengths(l2: number, l3: number, l4: number): number {
  return (l2 | (l3 << 8) | (l4 << 16)) >>> 0;
}

export interface ImpairOptions extends ImpairmentOptions {
  /** Seed of the decisions (default 0). */
  seed?: number;
  /** Which traffic is impaired: what the stack sends (default), receives, or both. */
  sides?: 'transmit' | 'receive' | 'both';
  /** Frames each impaired path queues (default 1024). */
  queue?: number;
}

const IMPAIR_KEYS = [...IMPAIRMENT_KEYS, 'seed', 'sides', 'queue'];

/** Validates the `queue` option (frames a path holds). */
export function parseQueueFrames(value: unknown, name: string): number {
  if (value === undefined) return DEFAULT_QUEUE_FRAMES;
  if (typeof value !== 'number') throw optionTypeError(name, 'an integer number of frames from 1 to 1048576', value);
  if (!Number.isInteger(value) || value < 1 || value > 1 << 20) throw optionRangeError(name, 'an integer number of frames from 1 to 1048576', value);
  return value;
}

/**
 * A link whose transmitted (and optionally received) frames pass through a `FramePath`.
 * Frames the stack transmits are copied into the path; those due are written back into
 * the TX descriptors (the ring is the host's between bursts) and handed to the inner link,
 * at most a ring's worth per call, on `transmit` and on every `receive` (the driver pumps
 * at `pendingUs()`, which includes the transmit path's next frame). Received frames
 * are copied out of the RX descriptors the inner link filled, and those due are put back
 * at the slots' own addresses.
 */
export class ImpairedLink extends LinkWrapper {
  readonly impairment: Impairment;
  private readonly seed: number;
  private readonly queueFrames: number;
  private readonly impairTx: boolean;
  private readonly impairRx: boolean;
  private txPath: FramePath | null = null;
  private rxPath: FramePath | null = null;
  private rings: FrameRings | null = null;
  private rx: RxSlotWriter | null = null;
  /** Default data addresses of the TX slots, read at attach. */
  private txSlotAddr = new Uint32Array(0);

  constructor(inner: Link, options: ImpairOptions = {}) {
    super(inner);
    if (options === null || typeof options !== 'object') throw optionTypeError('impair: options', 'an object', options);
    rejectUnknownKeys(options, IMPAIR_KEYS, 'impair');
    this.impairment = parseImpairment(options, 'impair');
    this.seed = options.seed === undefined ? 0 : validateSeed(options.seed, 'impair: seed');
    this.queueFrames = parseQueueFrames(options.queue, 'impair: queue');
    const sides = options.sides ?? 'transmit';
    if (sides !== 'transmit' && sides !== 'receive' && sides !== 'both') {
      throw optionRangeError('impair: sides', "'transmit', 'receive' or 'both'", JSON.stringify(sides));
    }
    this.impairTx = sides !== 'receive';
    this.impairRx = sides !== 'transmit';
  }

  /** Counters of the impaired paths (undefined for a side that is not impaired). */
  get stats(): { transmit?: PathStats; receive?: PathStats } {
    return { transmit: this.txPath ? { ...this.txPath.stats } : undefined, receive: this.rxPath ? { ...this.rxPath.stats } : undefined };
  }

  override attach(rings: FrameRings, wake: (atUs: number) => void): void {
    this.rings = rings;
    this.rx = new RxSlotWriter(rings);
    const dv = rings.instance.dv;
    this.txSlotAddr = new Uint32Array(rings.txSlots);
    for (let i = 0; i < rings.txSlots; i++) this.txSlotAddr[i] = dv.getUint32(rings.txDesc + i * Desc.SIZE + Desc.ADDR, true);
    if (this.impairTx) this.txPath = new FramePath(this.impairment, this.queueFrames, rings.txSlotBytes, this.seed, 0);
    if (this.impairRx) this.rxPath = new FramePath(this.impairment, this.queueFrames, rings.rxSlotBytes, this.seed, 1);
    this.inner.attach(rings, wake);
  }

  override receive(nowUs: number): number {
    this.flushTransmit(nowUs);
    const n = this.inner.receive(nowUs);
    const path = this.rxPath;
    if (path === null) return n;
    const rings = this.rings!;
    const inst = rings.instance;
    inst.refreshViews();
    const dv = inst.dv;
    for (let i = 0; i < n; i++) {
      const d = rings.rxDesc + i * Desc.SIZE;
      path.push(inst.u8, dv.getUint32(d + Desc.ADDR, true), dv.getUint32(d + Desc.LEN, true),
        dv.getUint32(d + Desc.FLAGS, true), dv.getUint32(d + Desc.RSS, true), 0, nowUs);
    }
    let k = 0;
    for (let slot = path.peek(nowUs); slot >= 0 && k < rings.rxSlots; slot = path.peek(nowUs)) {
      const len = path.len[slot];
      this.rx!.put(k, path.data.subarray(slot * path.slotBytes, slot * path.slotBytes + len), path.flags[slot], path.aux[slot]);
      path.shift();
      k++;
    }
    return k;
  }

  override transmit(count: number, nowUs: number): void {
    const path = this.txPath;
    if (path === null) { this.inner.transmit(count, nowUs); return; }
    const rings = this.rings!;
    const inst = rings.instance;
    inst.refreshViews();
    const dv = inst.dv;
    for (let i = 0; i < count; i++) {
      const d = rings.txDesc + i * Desc.SIZE;
      path.push(inst.u8, dv.getUint32(d + Desc.ADDR, true), dv.getUint32(d + Desc.LEN, true),
        dv.getUint32(d + Desc.FLAGS, true),
        packHeaderLengths(dv.getUint8(d + Desc.L2), dv.getUint8(d + Desc.L3), dv.getUint8(d + Desc.L4)),
        dv.getUint16(d + Desc.TSO_MSS, true), nowUs);
    }
    this.flushTransmit(nowUs);
  }

  override pendingUs(): number {
    const inner = this.inner.pendingUs();
    const tx = this.txPath ? this.txPath.pendingUs() : Infinity;
    const rx = this.rxPath ? this.rxPath.pendingUs() : Infinity;
    return Math.min(inner, tx, rx);
  }

  override close(): Promise<void> {
    this.txPath?.clear();
    this.rxPath?.clear();
    return this.inner.close();
  }

  /** Hands the transmit path's due frames to the inner link, a TX ring's worth at most. */
  private flushTransmit(nowUs: number): void {
    const path = this.txPath;
    if (path === null) return;
    const rings = this.rings!;
    const inst = rings.instance;
    inst.refreshViews();
    const dv = inst.dv;
    let k = 0;
    for (let slot = path.peek(nowUs); slot >= 0 && k < rings.txSlots; slot = path.peek(nowUs)) {
      const d = rings.txDesc + k * Desc.SIZE;
      const addr = this.txSlotAddr[k];
      const len = path.len[slot];
      const lengths = path.aux[slot];
      inst.u8.set(path.data.subarray(slot * path.slotBytes, slot * path.slotBytes + len), addr);
      dv.setUint32(d + Desc.ADDR, addr, true);
      dv.setUint32(d + Desc.LEN, len, true);
      dv.setUint32(d + Desc.FLAGS, path.flags[slot], true);
      dv.setUint8(d + Desc.L2, lengths & 0xff);
      dv.setUint8(d + Desc.L3, (lengths >>> 8) & 0xff);
      dv.setUint8(d + Desc.L4, (lengths >>> 16) & 0xff);
      dv.setUint16(d + Desc.TSO_MSS, path.mss[slot], true);
      path.shift();
      k++;
    }
    if (k > 0) this.inner.transmit(k, nowUs);
  }
}

/** Wraps `link` so what it transmits (and, with `sides`, receives) is impaired. */
export function impair(link: Link, options: ImpairOptions = {}): ImpairedLink {
  return new ImpairedLink(link, options);
}
