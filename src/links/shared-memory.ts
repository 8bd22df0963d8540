// A multi-queue memory link whose rings live in SharedArrayBuffers: side A is a port with N
// queues (one per worker thread, like a NIC's RX/TX queue pairs), side B a single queue (a
// peer stack, for example a test's client). Frames B sends are spread over A's queues by a
// steering function, software RSS by default (src/rss/toeplitz.ts), as a NIC would.
//
// Guarantees:
// - Each direction of each queue is one single-producer single-consumer `FrameRing`; a queue
//   end is described by plain data (`SharedMemoryPort.endpoint(k)`) that can be passed to a
//   worker in `workerData` and opened there (`SharedMemoryLink.open`), so the thread that
//   serves queue k touches only its own rings.
// - Impairments (the options of `MemoryLink`: loss, reorder, duplication, corruption, delay,
//   jitter, rate) are applied by the sending end through a `FramePath` per outgoing ring
//   (src/links/impair.ts), seeded per queue and direction, so each direction is repeatable
//   for a given sequence of transmissions; a frame enters the shared ring when it is due.
// - A ring that is full holds frames back in the sending end's path (bounded by `queue`,
//   overflow counted as `dropped.queueFull`); nothing is lost silently.
// - Arrivals are announced: the sender rings the receiving thread's doorbell and the
//   receiving end wakes its driver (`Atomics.waitAsync`), so idle workers sleep.
// - Steering: 'rss' (default; symmetric Toeplitz + redirection table, the same the stacks
//   use to pick ports), 'spread' (a different hash, as a NIC or tap whose queue choice the
//   stack cannot predict: replies land on other workers and exercise the hand-off), or a
//   function (frame bytes, offset, length) => queue.
// - The link runs on real time only (workers cannot share a virtual clock).

import { validateSeed } from '../util/prng.js';
import {
  FramePath, IMPAIRMENT_KEYS, optionRangeError, optionTypeError, parseImpairment, parseQueueFrames, rejectUnknownKeys,
  type Impairment, type ImpairmentOptions,
} from './impair.js';
import { Desc, RxSlotWriter, type FrameRings, type Link } from './link.js';
import { Doorbell, FrameRing, type FrameRingDescription } from '../workers/frame-ring.js';
import { MICROSOFT_RSS_KEY, RssSteering, SYMMETRIC_RSS_KEY } from '../rss/toeplitz.js';

export type SteerFunction = (frame: Uint8Array, offset: number, length: number) => number;

export interface SharedMemoryLinkOptions extends ImpairmentOptions {
  /** Queues of side A, 1..64 (default 1). */
  queues?: number;
  /** Largest IP packet carried, 68-9000 (default 1500). */
  mtu?: number;
  /** Frames each ring (and each sender's impairment path) holds (default 1024). */
  queue?: number;
  /** Seed of the impairment decisions (default 0). */
  seed?: number;
  /** How frames from B pick A's queue: 'rss' (default), 'spread', or a function. */
  steer?: 'rss' | 'spread' | SteerFunction;
  /** RSS key (40 bytes, default 0x6d5a repeated) and redirection table of side A. */
  rss?: { key?: Uint8Array; reta?: Uint8Array };
  /** Impairments of A's transmissions only, over the shared ones. */
  aToB?: ImpairmentOptions;
  /** Impairments of B's transmissions only, over the shared ones. */
  bToA?: ImpairmentOptions;
}

/** Everything a thread needs to open one end of the link (structured-cloneable). */
export interface SharedEndpoint {
  readonly kind: 'shared-memory';
  readonly mtu: number;
  /** Queue index of this end on its side (B: 0). */
  readonly queue: number;
  readonly incoming: readonly FrameRingDescription[];
  readonly outgoing: readonly FrameRingDescription[];
  /** This end's doorbell; producers of `incoming` ring it. */
  readonly bell: SharedArrayBuffer;
  /** Doorbells of the consumers of `outgoing`, index for index. */
  readonly peerBells: readonly SharedArrayBuffer[];
  readonly impairment: Impairment;
  readonly queueFrames: number;
  readonly seed: number;
  /** PRNG stream base of this end's paths. */
  readonly stream: number;
  /** Steering of outgoing frames over `outgoing` (B only): key and table for RSS. */
  readonly steer: { mode: 'rss' | 'spread'; key: Uint8Array; reta: Uint8Array } | null;
  /** RSS configuration of side A (what its stacks program for port choice and hand-off). */
  readonly rss: { key: Uint8Array; reta: Uint8Array; queues: number };
}

export interface SharedMemoryLinkStats {
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
  'dropped.loss': number;
  'dropped.queueFull': number;
  'dropped.rateQueue': number;
  'dropped.oversize': number;
  'dropped.closed': number;
  'dropped.rxOversize': number;
  duplicated: number;
  reordered: number;
  corrupted: number;
  delayed: number;
}

const KEYS = [...IMPAIRMENT_KEYS, 'queues', 'mtu', 'queue', 'seed', 'steer', 'rss', 'aToB', 'bToA'];
const L2_OVERHEAD = 18;

/** Side A of a shared-memory link: N queues, each opened by the thread that serves it. */
export class SharedMemoryPort {
  readonly kind = 'shared-memory';
  readonly rss: RssSteering;
  /** @internal */ constructor(readonly queues: number, readonly mtu: number, private readonly endpoints: SharedEndpoint[]) {
    const r = endpoints[0].rss;
    this.rss = new RssSteering({ queues: r.queues, key: r.key, reta: r.reta });
  }

  /** The description of queue `k`, for `workerData` (open it with `SharedMemoryLink.open`). */
  endpoint(k: number): SharedEndpoint {
    if (!Number.isInteger(k) || k < 0 || k >= this.queues) {
      throw new RangeError(`SharedMemoryPort.endpoint: queue must be an integer from 0 to ${this.queues - 1}, got ${String(k)}`);
    }
    return this.endpoints[k];
  }

  /** Opens queue `k` in this thread (tests, or a single-threaded use of one queue). */
  queue(k: number): SharedMemoryLink {
    return SharedMemoryLink.open(this.endpoint(k));
  }
}

export class SharedMemoryLink implements Link {
  readonly kind = 'shared-memory';
  readonly mac: Uint8Array | undefined = undefined;
  readonly offloads = 0;
  readonly tsoLimits = null;
  readonly polled = false;
  readonly mtu: number;
  readonly queueIndex: number;
  private readonly incoming: FrameRing[];
  private readonly outgoing: FrameRing[];
  private readonly paths: FramePath[];
  private readonly bell: Doorbell;
  private readonly peerBells: Doorbell[];
  private readonly steer: ((frame: Uint8Array, offset: number, length: number) => number) | null;
  private readonly rung: Uint8Array;
  private rings: FrameRings | null = null;
  private wake: ((atUs: number) => void) | null = null;
  private rx: RxSlotWriter | null = null;
  private nextIncoming = 0;
  private closed = false;
  private rxFrames = 0;
  private rxBytes = 0;
  private rxOversize = 0;
  /** The endpoint this end was opened from. */
  readonly endpoint: SharedEndpoint;

  /**
   * A link of `queues` queues on side A and one on side B: returns [port A, link B].
   * Throws TypeError/RangeError naming a bad option.
   */
  static pair(options: SharedMemoryLinkOptions = {}): [SharedMemoryPort, SharedMemoryLink] {
    if (options === null || typeof options !== 'object') throw optionTypeError('SharedMemoryLink.pair: options', 'an object', options);
    rejectUnknownKeys(options, KEYS, 'SharedMemoryLink');
    const queues = options.queues ?? 1;
    if (typeof queues !== 'number' || !Number.isInteger(queues) || queues < 1 || queues > 64) {
      throw optionRangeError('SharedMemoryLink: queues', 'an integer from 1 to 64', queues);
    }
    const mtu = options.mtu ?? 1500;
    if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 68 || mtu > 9000) {
      throw optionRangeError('SharedMemoryLink: mtu', 'an integer from 68 to 9000', mtu);
    }
    const queueFrames = parseQueueFrames(options.queue, 'SharedMemoryLink: queue');
    const seed = options.seed === undefined ? 0 : validateSeed(options.seed, 'SharedMemoryLink: seed');
    const { aToB: onlyAToB, bToA: onlyBToA, queues: _q, mtu: _m, queue: _f, seed: _s, steer, rss, ...shared } = options;
    const direction = (only: ImpairmentOptions | undefined, name: string): Impairment => {
      if (only === undefined) return parseImpairment(shared, 'SharedMemoryLink');
      if (only === null || typeof only !== 'object') throw optionTypeError(`SharedMemoryLink: ${name}`, 'an object of impairments', only);
      rejectUnknownKeys(only, IMPAIRMENT_KEYS, `SharedMemoryLink: ${name}`);
      return parseImpairment({ ...shared, ...only }, `SharedMemoryLink: ${name}`);
    };
    const aImp = direction(onlyAToB, 'aToB');
    const bImp = direction(onlyBToA, 'bToA');
    if (rss !== undefined && (rss === null || typeof rss !== 'object')) throw optionTypeError('SharedMemoryLink: rss', 'an object { key?, reta? }', rss);
    const steering = new RssSteering({ queues, key: rss?.key ?? SYMMETRIC_RSS_KEY, reta: rss?.reta });
    const rssConfig = { key: Uint8Array.from(steering.hash.key), reta: Uint8Array.from(steering.reta), queues };
    let steerMode: 'rss' | 'spread' = 'rss';
    let steerFunction: SteerFunction | null = null;
    if (typeof steer === 'function') steerFunction = steer;
    else if (steer === 'spread' || steer === 'rss') steerMode = steer;
    else if (steer !== undefined) throw optionRangeError('SharedMemoryLink: steer', "'rss', 'spread' or a function (frame, offset, length) => queue", steer);

    const frameBytes = mtu + L2_OVERHEAD;
    const toA = Array.from({ length: queues }, () => FrameRing.create(queueFrames, frameBytes).describe());
    const fromA = Array.from({ length: queues }, () => FrameRing.create(queueFrames, frameBytes).describe());
    const aBells = Array.from({ length: queues }, () => new SharedArrayBuffer(4));
    const bBell = new SharedArrayBuffer(4);
    const endpoints: SharedEndpoint[] = [];
    for (let k = 0; k < queues; k++) {
      endpoints.push({
        kind: 'shared-memory', mtu, queue: k,
        incoming: [toA[k]], outgoing: [fromA[k]], bell: aBells[k], peerBells: [bBell],
        impairment: aImp, queueFrames, seed, stream: 2 + k, steer: null, rss: rssConfig,
      });
    }
    const bEnd: SharedEndpoint = {
      kind: 'shared-memory', mtu, queue: 0,
      incoming: fromA, outgoing: toA, bell: bBell, peerBells: aBells,
      impairment: bImp, queueFrames, seed, stream: 2 + queues,
      steer: { mode: steerMode, key: steerMode === 'spread' ? MICROSOFT_RSS_KEY : rssConfig.key, reta: rssConfig.reta },
      rss: rssConfig,
    };
    const b = new SharedMemoryLink(bEnd, steerFunction);
    return [new SharedMemoryPort(queues, mtu, endpoints), b];
  }

  /** Opens an end described by `SharedMemoryPort.endpoint(k)` (in the thread that serves it). */
  static open(endpoint: SharedEndpoint): SharedMemoryLink {
    if (endpoint === null || typeof endpoint !== 'object' || endpoint.kind !== 'shared-memory') {
      throw new TypeError('SharedMemoryLink.open: expected the description from SharedMemoryPort.endpoint(k)');
    }
    return new SharedMemoryLink(endpoint, null);
  }

  private constructor(endpoint: SharedEndpoint, steerFunction: SteerFunction | null) {
    this.endpoint = endpoint;
    this.mtu = endpoint.mtu;
    this.queueIndex = endpoint.queue;
    this.incoming = endpoint.incoming.map((d) => FrameRing.open(d));
    this.outgoing = endpoint.outgoing.map((d) => FrameRing.open(d));
    const slotBytes = (endpoint.mtu + L2_OVERHEAD + 63) & ~63;
    this.paths = this.outgoing.map((_, i) => new FramePath(endpoint.impairment, endpoint.queueFrames, slotBytes, endpoint.seed, endpoint.stream * 64 + i));
    this.bell = new Doorbell(endpoint.bell);
    this.peerBells = endpoint.peerBells.map((b) => new Doorbell(b));
    this.rung = new Uint8Array(this.outgoing.length);
    const n = this.outgoing.length;
    if (steerFunction) {
      this.steer = (frame, offset, length) => {
        const q = steerFunction(frame, offset, length);
        return Number.isInteger(q) && q >= 0 && q < n ? q : 0;
      };
    } else if (endpoint.steer && n > 1) {
      const s = new RssSteering({ queues: n, key: endpoint.steer.key, reta: endpoint.steer.reta });
      this.steer = (frame, offset, length) => s.queueOfFrame(frame, offset, length);
    } else {
      this.steer = null;
    }
  }

  /** What this end sent (summed over its outgoing paths) and received. */
  get stats(): SharedMemoryLinkStats {
    const s: SharedMemoryLinkStats = {
      txFrames: 0, txBytes: 0, rxFrames: this.rxFrames, rxBytes: this.rxBytes,
      'dropped.loss': 0, 'dropped.queueFull': 0, 'dropped.rateQueue': 0, 'dropped.oversize': 0, 'dropped.closed': 0,
      'dropped.rxOversize': this.rxOversize, duplicated: 0, reordered: 0, corrupted: 0, delayed: 0,
    };
    for (const p of this.paths) {
      const ps = p.stats;
      s.txFrames += ps.frames; s.txBytes += ps.bytes;
      s['dropped.loss'] += ps['dropped.loss']; s['dropped.queueFull'] += ps['dropped.queueFull'];
      s['dropped.rateQueue'] += ps['dropped.rateQueue']; s['dropped.oversize'] += ps['dropped.oversize'];
      s['dropped.closed'] += ps['dropped.closed'];
      s.duplicated += ps.duplicated; s.reordered += ps.reordered; s.corrupted += ps.corrupted; s.delayed += ps.delayed;
    }
    return s;
  }

  /** The doorbell producers of this end's incoming rings ring (shared with hand-off rings). */
  get doorbell(): SharedArrayBuffer { return this.endpoint.bell; }

  attach(rings: FrameRings, wake: (atUs: number) => void): void {
    this.rings = rings;
    this.wake = wake;
    this.rx = new RxSlotWriter(rings);
    this.bell.watch(() => { if (!this.closed) wake(0); });
    if (this.incoming.some((r) => r.size > 0)) wake(0);
  }

  receive(nowUs: number): number {
    const rings = this.rings;
    if (rings === null || this.closed) return 0;
    this.flush(nowUs);
    rings.instance.refreshViews();
    const rx = this.rx!;
    const count = this.incoming.length;
    let k = 0;
    let idle = 0;
    // Round robin over the incoming rings, one frame each turn, so no sender starves another.
    while (k < rings.rxSlots && idle < count) {
      const ring = this.incoming[this.nextIncoming];
      this.nextIncoming = this.nextIncoming + 1 === count ? 0 : this.nextIncoming + 1;
      const at = ring.peek();
      if (at < 0) { idle++; continue; }
      idle = 0;
      const len = ring.lengthAt(at);
      if (len > rings.rxSlotBytes) {
        this.rxOversize++;
        ring.shift();
        continue;
      }
      rx.put(k, ring.bytes.subarray(at, at + len));
      ring.shift();
      this.rxFrames++;
      this.rxBytes += len;
      k++;
    }
    return k;
  }

  transmit(count: number, nowUs: number): void {
    const rings = this.rings;
    if (rings === null) return;
    if (this.closed) {
      for (const p of this.paths) { p.stats.frames += count; p.stats['dropped.closed'] += count; break; }
      return;
    }
    const inst = rings.instance;
    inst.refreshViews();
    const dv = inst.dv;
    const u8 = inst.u8;
    for (let i = 0; i < count; i++) {
      const d = rings.txDesc + i * Desc.SIZE;
      const addr = dv.getUint32(d + Desc.ADDR, true);
      const len = dv.getUint32(d + Desc.LEN, true);
      const q = this.steer === null ? 0 : this.steer(u8, addr, len);
      this.paths[q].push(u8, addr, len, 0, 0, 0, nowUs);
    }
    this.flush(nowUs);
  }

  /** Moves frames that are due from the impairment paths into the shared rings; rings the doorbells. */
  private flush(nowUs: number): void {
    let blocked = false;
    for (let q = 0; q < this.paths.length; q++) {
      const path = this.paths[q];
      const ring = this.outgoing[q];
      for (let slot = path.peek(nowUs); slot >= 0; slot = path.peek(nowUs)) {
        if (!ring.push(path.data, slot * path.slotBytes, path.len[slot], 0)) { blocked = true; break; }
        path.shift();
        this.rung[q] = 1;
      }
    }
    for (let q = 0; q < this.rung.length; q++) {
      if (this.rung[q]) { this.rung[q] = 0; this.peerBells[q].ring(); }
    }
    // A full ring is drained by its consumer soon: look again shortly.
    if (blocked && this.wake) this.wake(nowUs + 50);
  }

  pendingUs(): number {
    if (this.closed) return Infinity;
    let next = Infinity;
    for (const p of this.paths) next = Math.min(next, p.pendingUs());
    for (const r of this.incoming) if (r.size > 0) return 0;
    return next;
  }

  /** Stops this end: frames it already put in the rings still reach the peer. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.bell.close();
    }
    return Promise.resolve();
  }
}
