// An in-process link between two stacks: `MemoryLink.pair(options)` returns its two ends; a
// frame one end transmits becomes receivable at the other, through a seeded, impaired
// `FramePath` (src/links/impair.ts: the same code `impair()` puts on any link).
//
// Guarantees:
// - Deterministic: the same seed and the same frames transmitted at the same times give
//   the same deliveries at the same times (each direction draws from its own PRNG streams).
// - Bounded: each direction is one preallocated ring of `queue` slots sized for the MTU
//   plus an Ethernet header and one 802.1Q tag; overflow is a counted drop.
// - No offloads: frames cross byte for byte, so a corrupted frame reaches the stack with a
//   bad checksum, where the stack drops and counts it. RX descriptors carry no flags.
// - Announced arrivals: when a frame becomes pending for an end, that end's driver is woken
//   (`wake(atUs)`), so a virtual clock jumps straight to it.
// - Impairments apply to both directions alike unless `aToB`/`bToA` override them for one.
// - Counters (`stats`): what this end transmitted and received, and what happened on the
//   way to the other end (`dropped.<reason>`, duplicated, reordered, corrupted, delayed).

import { validateSeed } from '../util/prng.js';
import {
  FramePath, IMPAIRMENT_KEYS, optionRangeError, optionTypeError, parseImpairment, parseQueueFrames, rejectUnknownKeys,
  type ImpairmentOptions, type PathStats,
} from './impair.js';
import { Desc, RxSlotWriter, type FrameRings, type Link } from './link.js';

export interface MemoryLinkOptions extends ImpairmentOptions {
  /** Largest IP packet carried, 68-9000 (default 1500). */
  mtu?: number;
  /** Frames each direction queues (default 1024). */
  queue?: number;
  /** Seed of the impairment decisions (default 0). */
  seed?: number;
  /** Impairments of the first end's transmissions only, over the shared ones. */
  aToB?: ImpairmentOptions;
  /** Impairments of the second end's transmissions only, over the shared ones. */
  bToA?: ImpairmentOptions;
}

export interface MemoryLinkStats extends Omit<PathStats, 'frames' | 'bytes'> {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames larger than this end's RX slots (its stack was configured for a smaller MTU). */
  'dropped.rxOversize': number;
}

const MEMORY_LINK_KEYS = [...IMPAIRMENT_KEYS, 'mtu', 'queue', 'seed', 'aToB', 'bToA'];
/** Ethernet header plus one 802.1Q tag: the bytes a frame adds to its IP packet. */
const L2_OVERHEAD = 18;

function parseMtu(value: unknown): number {
  if (value === undefined) return 1500;
  if (typeof value !== 'number') throw optionTypeError('MemoryLink: mtu', 'an integer from 68 to 9000', value);
  if (!Number.isInteger(value) || value < 68 || value > 9000) throw optionRangeError('MemoryLink: mtu', 'an integer from 68 to 9000', value);
  return value;
}

export class MemoryLink implements Link {
  readonly kind = 'memory';
  readonly mac: Uint8Array | undefined = undefined;
  readonly offloads = 0;
  readonly tsoLimits = null;
  readonly polled = false;
  private peer!: MemoryLink;
  private rings: FrameRings | null = null;
  private wake: ((atUs: number) => void) | null = null;
  private rx: RxSlotWriter | null = null;
  private closed = false;
  private rxFrames = 0;
  private rxBytes = 0;
  private rxOversize = 0;

  /** Two connected ends; see `MemoryLinkOptions`. Throws TypeError/RangeError naming a bad option. */
  static pair(options: MemoryLinkOptions = {}): [MemoryLink, MemoryLink] {
    if (options === null || typeof options !== 'object') throw optionTypeError('MemoryLink.pair: options', 'an object', options);
    rejectUnknownKeys(options, MEMORY_LINK_KEYS, 'MemoryLink');
    const mtu = parseMtu(options.mtu);
    const queue = parseQueueFrames(options.queue, 'MemoryLink: queue');
    const seed = options.seed === undefined ? 0 : validateSeed(options.seed, 'MemoryLink: seed');
    const { aToB: onlyAToB, bToA: onlyBToA, mtu: _m, queue: _q, seed: _s, ...shared } = options;
    const direction = (only: ImpairmentOptions | undefined, name: string) => {
      if (only === undefined) return parseImpairment(shared, 'MemoryLink');
      if (only === null || typeof only !== 'object') throw optionTypeError(`MemoryLink: ${name}`, 'an object of impairments', only);
      rejectUnknownKeys(only, IMPAIRMENT_KEYS, `MemoryLink: ${name}`);
      return parseImpairment({ ...shared, ...only }, `MemoryLink: ${name}`);
    };
    const slotBytes = (mtu + L2_OVERHEAD + 63) & ~63;
    const aToB = new FramePath(direction(onlyAToB, 'aToB'), queue, slotBytes, seed, 0);
    const bToA = new FramePath(direction(onlyBToA, 'bToA'), queue, slotBytes, seed, 1);
    const a = new MemoryLink(mtu, aToB, bToA);
    const b = new MemoryLink(mtu, bToA, aToB);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  private constructor(readonly mtu: number, private readonly outgoing: FramePath, private readonly incoming: FramePath) {}

  get stats(): MemoryLinkStats {
    const { frames, bytes, ...path } = this.outgoing.stats;
    return { txFrames: frames, txBytes: bytes, rxFrames: this.rxFrames, rxBytes: this.rxBytes, ...path, 'dropped.rxOversize': this.rxOversize };
  }

  attach(rings: FrameRings, wake: (atUs: number) => void): void {
    this.rings = rings;
    this.wake = wake;
    this.rx = new RxSlotWriter(rings);
    const pending = this.incoming.pendingUs();
    if (pending !== Infinity) wake(pending);
  }

  receive(nowUs: number): number {
    const rings = this.rings;
    if (rings === null || this.closed) return 0;
    rings.instance.refreshViews();
    const rx = this.rx!;
    const path = this.incoming;
    let k = 0;
    for (let slot = path.peek(nowUs); slot >= 0 && k < rings.rxSlots; slot = path.peek(nowUs)) {
      const len = path.len[slot];
      if (len > rings.rxSlotBytes) {
        this.rxOversize++;
        path.shift();
        continue;
      }
      rx.put(k, path.data.subarray(slot * path.slotBytes, slot * path.slotBytes + len));
      path.shift();
      this.rxFrames++;
      this.rxBytes += len;
      k++;
    }
    return k;
  }

  transmit(count: number, nowUs: number): void {
    const rings = this.rings;
    if (rings === null) return;
    const path = this.outgoing;
    if (this.closed || this.peer.closed) {
      path.stats.frames += count;
      path.stats['dropped.closed'] += count;
      return;
    }
    const inst = rings.instance;
    inst.refreshViews();
    const dv = inst.dv;
    let earlier = false;
    for (let i = 0; i < count; i++) {
      const d = rings.txDesc + i * Desc.SIZE;
      if (path.push(inst.u8, dv.getUint32(d + Desc.ADDR, true), dv.getUint32(d + Desc.LEN, true), 0, 0, 0, nowUs)) earlier = true;
    }
    if (earlier && this.peer.wake !== null) this.peer.wake(path.pendingUs());
  }

  pendingUs(): number {
    return this.closed ? Infinity : this.incoming.pendingUs();
  }

  /**
   * Closes this end: what is queued towards it is dropped (counted by the end that sent it);
   * frames it already transmitted are on the wire and still reach the peer (a stack's last
   * FIN, ACK or RST must not vanish with the link that sent it).
   */
  close(): Promise<void> {
    this.closed = true;
    this.incoming.clear();
    return Promise.resolve();
  }
}
