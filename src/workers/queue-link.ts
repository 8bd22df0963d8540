// The link a worker's stack runs on when a port has several queues: the worker's own queue
// (any link: a shared-memory queue, a DPDK queue) plus what makes several queues behave as one
// interface (DESIGN.md "Threads and queues"):
// - RSS: the stack gets the port's key and redirection table and its queue number, so its
//   outgoing connections take local ports whose replies hash back to this queue;
// - hand-off: frames the stack lists as another queue's (assembly/frame/handoff.ts) go to that
//   worker through a single-producer single-consumer ring, and frames other workers hand over
//   are received here like frames from the wire;
// - neighbours: ARP entries the stack learned are published to the shared table
//   (src/workers/neighbours.ts) and entries other workers learned are given to the stack
//   before each burst.
//
// Guarantees: `close()` leaves the queue open until `release()` (see there); frames listed for hand-off are passed on before the RX slots that hold them are
// reused (at the burst's transmit, else at the next receive); a hand-off ring that is full is
// a counted drop (`handoff.ring_full`), never a silent one; received hand-offs are counted by
// the stack (`handoff.in`). Nothing allocates per frame.

import { Desc, type FrameRings, type Link, type TsoLimits } from '../links/link.js';
import type { StackInstance } from '../wasm/instance.js';
import { Doorbell, FrameRing, type FrameRingDescription } from './frame-ring.js';
import { SharedNeighbourTable } from './neighbours.js';

export interface QueueSetup {
  /** This worker's queue. */
  queue: number;
  queues: number;
  /** RSS key (40 bytes) and redirection table the port uses. */
  rssKey: Uint8Array;
  rssReta: Uint8Array;
  /** Shared neighbour table. */
  neighbours: SharedArrayBuffer;
  /** Hand-off rings into this worker, by sending worker (null for itself). */
  handoffIn: (FrameRingDescription | null)[];
  /** Hand-off rings out of this worker, by receiving worker (null for itself). */
  handoffOut: (FrameRingDescription | null)[];
  /** Doorbell of this worker, and of every worker by index. */
  bells: SharedArrayBuffer[];
}

/** Entry sizes of the stack's lists (assembly/frame/handoff.ts, assembly/iface/neighbour-share.ts). */
const HANDOFF_ENTRY = 8;
const NEIGHBOUR_ENTRY = 12;

interface QueueExports {
  rssKeyPtr(): number;
  rssRetaPtr(): number;
  rssConfigure(queue: number, queues: number, retaSize: number): number;
  handoffOutCount(): number;
  handoffOutPtr(): number;
  handoffOutClear(): void;
  handoffCountIn(n: number): void;
  neighbourShareEnable(on: number): void;
  neighbourLearnedCount(): number;
  neighbourLearnedPtr(): number;
  neighbourLearnedClear(): void;
  neighbourImportPtr(): number;
  neighbourImportMax(): number;
  neighbourImport(n: number, nowUs: number): void;
}

export class QueueLink implements Link {
  private rings: FrameRings | null = null;
  private instance: StackInstance | null = null;
  private ex: QueueExports | null = null;
  private rxSlotAddr = new Uint32Array(0);
  private readonly handoffIn: (FrameRing | null)[];
  private readonly handoffOut: (FrameRing | null)[];
  private readonly bells: Doorbell[];
  private readonly rung: Uint8Array;
  private readonly neighbours: SharedNeighbourTable;
  private readonly ownBell: Doorbell | null;
  private nextIn = 0;
  /** Host-side counters, merged into the worker's counters. */
  readonly stats = { 'handoff.ring_full': 0 };

  /**
   * `inner` is this worker's queue. `innerWatchesBell` is true when the inner link already
   * wakes the driver on this worker's doorbell (a shared-memory queue whose doorbell is it).
   */
  constructor(private readonly inner: Link, private readonly setup: QueueSetup, innerWatchesBell: boolean) {
    this.handoffIn = setup.handoffIn.map((d) => (d ? FrameRing.open(d) : null));
    this.handoffOut = setup.handoffOut.map((d) => (d ? FrameRing.open(d) : null));
    this.bells = setup.bells.map((b) => new Doorbell(b));
    this.rung = new Uint8Array(setup.queues);
    this.neighbours = new SharedNeighbourTable(setup.neighbours, setup.queue);
    this.ownBell = innerWatchesBell ? null : new Doorbell(setup.bells[setup.queue]);
  }

  get kind(): string { return this.inner.kind; }
  get mtu(): number { return this.inner.mtu; }
  get mac(): Uint8Array | undefined { return this.inner.mac; }
  get offloads(): number { return this.inner.offloads; }
  get tsoLimits(): TsoLimits | null { return this.inner.tsoLimits; }
  get polled(): boolean { return this.inner.polled; }

  attach(rings: FrameRings, wake: (atUs: number) => void): void {
    this.rings = rings;
    const inst = rings.instance;
    this.instance = inst;
    const ex = inst.exports as unknown as QueueExports;
    this.ex = ex;
    inst.refreshViews();
    inst.u8.set(this.setup.rssKey, ex.rssKeyPtr());
    inst.u8.set(this.setup.rssReta, ex.rssRetaPtr());
    if (ex.rssConfigure(this.setup.queue, this.setup.queues, this.setup.rssReta.length) !== 0) {
      throw Object.assign(new RangeError(`wasm-tcpip: the stack refused the RSS setup of queue ${this.setup.queue} of ${this.setup.queues} (a redirection table of ${this.setup.rssReta.length} entries must be a power of two up to 512 naming existing queues)`), { code: 'ERR_WASM_TCPIP_RSS' });
    }
    ex.neighbourShareEnable(this.setup.queues > 1 ? 1 : 0);
    const dv = inst.dv;
    this.rxSlotAddr = new Uint32Array(rings.rxSlots);
    for (let i = 0; i < rings.rxSlots; i++) this.rxSlotAddr[i] = dv.getUint32(rings.rxDesc + i * Desc.SIZE + Desc.ADDR, true);
    this.inner.attach(rings, wake);
    this.ownBell?.watch(() => wake(0));
  }

  receive(nowUs: number): number {
    const rings = this.rings;
    if (rings === null) return 0;
    this.passOn();
    this.adoptNeighbours(nowUs);
    const n = this.inner.receive(nowUs);
    const handed = this.receiveHandoffs(n);
    return n + handed;
  }

  transmit(count: number, nowUs: number): void {
    this.passOn();
    this.inner.transmit(count, nowUs);
  }

  pendingUs(): number {
    for (const r of this.handoffIn) if (r !== null && r.size > 0) return 0;
    return this.inner.pendingUs();
  }

  /**
   * Stops this worker's use of the queue (the stack's driver has stopped by now); the queue
   * itself is released by `release()`, once every worker of the port stopped, so that no
   * worker's queue goes (and, on DPDK, the port stops) while another still polls.
   */
  close(): Promise<void> {
    this.ownBell?.close();
    return Promise.resolve();
  }

  /** Releases the inner queue (after every worker's `close`). */
  release(): Promise<void> {
    return this.inner.close();
  }

  /** Hands listed frames to their owners and publishes learned neighbours. */
  private passOn(): void {
    const ex = this.ex!;
    const inst = this.instance!;
    const rings = this.rings!;
    const handed = ex.handoffOutCount();
    const learned = ex.neighbourLearnedCount();
    if (handed === 0 && learned === 0) return;
    inst.refreshViews();
    const dv = inst.dv;
    const u8 = inst.u8;
    if (learned > 0) {
      const base = ex.neighbourLearnedPtr();
      for (let i = 0; i < learned; i++) {
        const e = base + i * NEIGHBOUR_ENTRY;
        this.neighbours.publish(dv.getUint32(e, true), u8, e + 4);
      }
      ex.neighbourLearnedClear();
      // Other workers may hold frames waiting for this very address: let them look now.
      for (let q = 0; q < this.bells.length; q++) if (q !== this.setup.queue) this.bells[q].ring();
    }
    if (handed > 0) {
      const base = ex.handoffOutPtr();
      for (let i = 0; i < handed; i++) {
        const rx = dv.getUint32(base + i * HANDOFF_ENTRY, true);
        const target = dv.getUint32(base + i * HANDOFF_ENTRY + 4, true);
        const ring = this.handoffOut[target];
        const d = rings.rxDesc + rx * Desc.SIZE;
        if (ring && ring.push(u8, dv.getUint32(d + Desc.ADDR, true), dv.getUint32(d + Desc.LEN, true), dv.getUint32(d + Desc.FLAGS, true))) {
          this.rung[target] = 1;
        } else {
          this.stats['handoff.ring_full']++;
        }
      }
      ex.handoffOutClear();
      for (let q = 0; q < this.rung.length; q++) {
        if (this.rung[q]) { this.rung[q] = 0; this.bells[q].ring(); }
      }
    }
  }

  /** Gives the stack the entries other workers learned since the last burst. */
  private adoptNeighbours(nowUs: number): void {
    if (!this.neighbours.changed()) return;
    const ex = this.ex!;
    const inst = this.instance!;
    inst.refreshViews();
    const dv = inst.dv;
    const base = ex.neighbourImportPtr();
    let k = 0;
    const n = this.neighbours.read(ex.neighbourImportMax(), (ip, hi, lo) => {
      const e = base + k * NEIGHBOUR_ENTRY;
      dv.setUint32(e, ip, true);
      dv.setUint8(e + 4, hi >>> 8); dv.setUint8(e + 5, hi & 0xff);
      dv.setUint32(e + 6, lo, false);
      k++;
    });
    if (n > 0) ex.neighbourImport(n, nowUs);
  }

  /** Fills RX descriptors from `first` on with frames other workers handed over. */
  private receiveHandoffs(first: number): number {
    const rings = this.rings!;
    const inst = this.instance!;
    const count = this.handoffIn.length;
    let k = first;
    let idle = 0;
    let dv: DataView | null = null;
    while (k < rings.rxSlots && idle < count) {
      const ring = this.handoffIn[this.nextIn];
      this.nextIn = this.nextIn + 1 === count ? 0 : this.nextIn + 1;
      const at = ring === null ? -1 : ring.peek();
      if (at < 0) { idle++; continue; }
      idle = 0;
      if (dv === null) { inst.refreshViews(); dv = inst.dv; }
      const len = ring!.lengthAt(at);
      const addr = this.rxSlotAddr[k];
      const d = rings.rxDesc + k * Desc.SIZE;
      inst.u8.set(ring!.bytes.subarray(at, at + Math.min(len, rings.rxSlotBytes)), addr);
      dv.setUint32(d + Desc.ADDR, addr, true);
      dv.setUint32(d + Desc.LEN, Math.min(len, rings.rxSlotBytes), true);
      dv.setUint32(d + Desc.FLAGS, ring!.flagsAt(at), true);
      dv.setUint32(d + Desc.RSS, 0, true);
      ring!.shift();
      k++;
    }
    const handed = k - first;
    if (handed > 0) this.ex!.handoffCountIn(handed);
    return handed;
  }
}
