// What feeds a stack frames. Every link (memory pair, pcap, DPDK, and wrappers such as the
// recorder and the impairment layer) looks the same to the driver.
//
// Guarantees a link makes: `receive` writes at most `rings.rxSlots` frames into RX
// descriptors 0..n-1 (their data at the descriptor's address, `len` and `flags` set) and
// returns n; `transmit(m)` takes TX descriptors 0..m-1 before the next stack call reuses
// them; neither allocates per frame. `pendingUs` tells the driver when the next received
// frame will be ready, so a driver on a virtual clock never polls blindly.

import type { StackInstance } from '../wasm/instance.js';

/** The stack's frame rings as a link sees them. Addresses are byte offsets in linear memory. */
export interface FrameRings {
  readonly instance: StackInstance;
  readonly rxDesc: number;
  readonly rxSlots: number;
  readonly rxSlotBytes: number;
  readonly txDesc: number;
  readonly txSlots: number;
  readonly txSlotBytes: number;
}

/** Byte offsets inside a 32-byte descriptor (assembly/frame/rings.ts). */
export const Desc = {
  SIZE: 32,
  ADDR: 0,
  LEN: 4,
  FLAGS: 8,
  RSS: 12,
  L2: 16,
  L3: 17,
  L4: 18,
  TSO_MSS: 20,
  OWNER: 24,
} as const;

/** What a port's TSO can do, where it cannot cut a full-MSS frame of any length. */
export interface TsoLimits {
  /** Largest packet one piece may make on the wire, Ethernet header included. */
  readonly maxWirePacket: number;
  /** Most pieces one frame may be cut into. */
  readonly maxSegments: number;
}

export interface Link {
  /** 'memory', 'pcap', 'dpdk', ... (wrappers report the inner kind). */
  readonly kind: string;
  /** Largest IP packet the link carries. */
  readonly mtu: number;
  /** A MAC the link imposes (a NIC's own), or undefined to let the stack choose. */
  readonly mac?: Uint8Array;
  /** Offload bits (assembly/abi/config.ts Offload) the link performs. */
  readonly offloads: number;
  /**
   * Limits of the port's TSO, when it has any (null: a full MSS per piece, no limit but the
   * frame size). Required, not optional, so that no link can forget to pass them on.
   */
  readonly tsoLimits: TsoLimits | null;
  /**
   * True when frames arrive without the link calling `wake` (a NIC): the driver must poll,
   * as its idle policy says. False for links that announce arrivals.
   */
  readonly polled: boolean;
  /** Connects the link to a stack's rings; `wake(atUs)` asks the driver to pump at `atUs`. */
  attach(rings: FrameRings, wake: (atUs: number) => void): void;
  /** Fills RX descriptors 0..n-1 with frames ready at `nowUs`; returns n. */
  receive(nowUs: number): number;
  /** Sends TX descriptors 0..count-1. */
  transmit(count: number, nowUs: number): void;
  /** Time (µs) at which the next frame will be ready to receive; Infinity when none is known. */
  pendingUs(): number;
  /** Stops the link; frames not yet delivered are dropped and counted by the link. */
  close(): Promise<void>;
  /**
   * Polled links that can sleep until traffic (a DPDK port with RX interrupts): true when
   * `waitForFrames` may be used. The adaptive idle policy then sleeps there instead of on
   * timers once it has backed off to its longest sleep.
   */
  readonly canWait?: boolean;
  /** Resolves when frames are ready (true) or after `timeoutMs` (false). */
  waitForFrames?(timeoutMs: number): Promise<boolean>;
}

/** Base for links that wrap another (recorder, impairment): forwards everything by default. */
export abstract class LinkWrapper implements Link {
  constructor(protected readonly inner: Link) {}
  get kind(): string { return this.inner.kind; }
  get mtu(): number { return this.inner.mtu; }
  get mac(): Uint8Array | undefined { return this.inner.mac; }
  get offloads(): number { return this.inner.offloads; }
  get tsoLimits(): TsoLimits | null { return this.inner.tsoLimits; }
  get polled(): boolean { return this.inner.polled; }
  attach(rings: FrameRings, wake: (atUs: number) => void): void { this.inner.attach(rings, wake); }
  receive(nowUs: number): number { return this.inner.receive(nowUs); }
  transmit(count: number, nowUs: number): void { this.inner.transmit(count, nowUs); }
  pendingUs(): number { return this.inner.pendingUs(); }
  close(): Promise<void> { return this.inner.close(); }
  get canWait(): boolean { return this.inner.canWait ?? false; }
  waitForFrames(timeoutMs: number): Promise<boolean> {
    return this.inner.waitForFrames ? this.inner.waitForFrames(timeoutMs) : Promise.resolve(false);
  }
}

/**
 * The copying receive path every JS link shares: remembers each RX slot's default address at
 * attach, and writes a received frame plus its descriptor into slot k. Call
 * `rings.instance.refreshViews()` once per burst before the first `put`.
 */
export class RxSlotWriter {
  private readonly slotAddr: Uint32Array;

  constructor(private readonly rings: FrameRings) {
    rings.instance.refreshViews();
    const dv = rings.instance.dv;
    this.slotAddr = new Uint32Array(rings.rxSlots);
    for (let i = 0; i < rings.rxSlots; i++) this.slotAddr[i] = dv.getUint32(rings.rxDesc + i * Desc.SIZE + Desc.ADDR, true);
  }

  /** Copies `frame` (at most rxSlotBytes long: the caller checks) into RX slot `k`. */
  put(k: number, frame: Uint8Array, flags = 0, rss = 0): void {
    const inst = this.rings.instance;
    const dv = inst.dv;
    const d = this.rings.rxDesc + k * Desc.SIZE;
    const addr = this.slotAddr[k];
    inst.u8.set(frame, addr);
    dv.setUint32(d + Desc.ADDR, addr, true);
    dv.setUint32(d + Desc.LEN, frame.length, true);
    dv.setUint32(d + Desc.FLAGS, flags, true);
    dv.setUint32(d + Desc.RSS, rss, true);
  }
}
