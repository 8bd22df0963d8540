// One stack instance driven step by step on a virtual time line, with a scripted peer on the
// other side of its link: the runner's "tiny link".
//
// Guarantees: frames are injected into the RX ring and TX frames collected exactly at the
// time the caller names; time only moves forward, to the times the caller asks for or to the
// stack's own deadlines (`nextDeadlineUs`), so a run is a pure function of the script and the
// seed. The peer answers the stack's ARP requests for the peer's addresses at once (packetdrill
// scripts never mention ARP); those exchanges are recorded but never offered to the checker.

import { StackInstance } from '../wasm/instance.js';
import { Desc } from '../links/link.js';
import { buildArpReply, decodeFrame, ETH_ARP } from '../testing/frames.js';

export interface HarnessOptions {
  localIp: number;
  prefix: number;
  gateway: number;
  /** Addresses the peer answers ARP for (its own, the gateway's). */
  peerIps: number[];
  localMac: Uint8Array;
  peerMac: Uint8Array;
  mtu: number;
  seed: number;
  /** Extra configuration slots (from sysctl lines), by key. */
  config: Array<[string, number]>;
  debug?: boolean;
}

export interface CapturedFrame { timeUs: number; bytes: Uint8Array }

/** Largest frame a script can inject. */
const RX_SLOT_BYTES = 16384;
/** Polls at one instant before the harness decides the stack is stuck. */
const MAX_POLLS_AT_ONE_TIME = 10_000;

export class StackHarness {
  readonly instance: StackInstance;
  nowUs = 0;
  /** Frames sent by the stack, oldest first, not yet taken by the checker (ARP excluded). */
  readonly outbound: CapturedFrame[] = [];
  /** Every frame in and out, in order, for traces and pcaps. */
  readonly trace: Array<{ dir: 'in' | 'out'; timeUs: number; bytes: Uint8Array }> = [];
  /** Called after every burst (blocked system calls re-check themselves here). */
  afterBurst: () => void = () => {};
  private pollsAtNow = 0;
  private lastPollUs = -1;

  constructor(private readonly opts: HarnessOptions) {
    const inst = new StackInstance({ debug: opts.debug });
    const mac = opts.localMac;
    inst.setConfig('macHi', (mac[0] << 8) | mac[1]);
    inst.setConfig('macLo', ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0);
    inst.setConfig('ipv4Addr', opts.localIp >>> 0);
    inst.setConfig('ipv4Prefix', opts.prefix);
    inst.setConfig('ipv4Gateway', opts.gateway >>> 0);
    inst.setConfig('mtu', opts.mtu);
    inst.setConfig('seedLo', opts.seed >>> 0);
    inst.setConfig('seedHi', 0);
    // Scripts may inject segments larger than the MTU (packetdrill's do, as a tun device
    // with offloads delivers them): RX slots take up to RX_SLOT_BYTES; a few suffice, the
    // harness injects one frame at a time.
    inst.setConfig('rxSlots', 16);
    inst.setConfig('rxSlotSize', RX_SLOT_BYTES);
    for (const [key, value] of opts.config) inst.setConfig(key, value);
    inst.init();
    this.instance = inst;
  }

  /** Delivers one frame to the stack at the current time. */
  inject(frame: Uint8Array): void {
    const inst = this.instance;
    const ex = inst.exports;
    if (frame.length > ex.rxSlotBytes()) {
      throw new Error(`an inbound frame of ${frame.length} bytes is larger than the runner's RX slots (${ex.rxSlotBytes()} bytes): split the segment`);
    }
    inst.refreshViews();
    const desc = ex.rxDescBase();
    const addr = inst.dv.getUint32(desc + Desc.ADDR, true);
    inst.u8.set(frame, addr);
    inst.dv.setUint32(desc + Desc.LEN, frame.length, true);
    inst.dv.setUint32(desc + Desc.FLAGS, 0, true);
    inst.dv.setUint32(desc + Desc.RSS, 0, true);
    this.trace.push({ dir: 'in', timeUs: this.nowUs, bytes: frame.slice() });
    this.collect(ex.input(1, this.nowUs));
  }

  /** Runs the stack's timers and pending output at the current time. */
  pollNow(): void {
    if (this.lastPollUs === this.nowUs) {
      if (++this.pollsAtNow > MAX_POLLS_AT_ONE_TIME) {
        throw new Error(`the stack asked to be polled again at ${this.nowUs} µs ${MAX_POLLS_AT_ONE_TIME} times without its deadline moving (nextDeadlineUs stuck)`);
      }
    } else {
      this.lastPollUs = this.nowUs;
      this.pollsAtNow = 0;
    }
    this.collect(this.instance.exports.poll(this.nowUs));
  }

  /** The stack's next deadline in µs, or Infinity. */
  nextDeadline(): number {
    const d = this.instance.exports.nextDeadlineUs();
    return d < 0 ? Infinity : d;
  }

  /**
   * Moves time to `targetUs`, polling at every stack deadline on the way (and at each time in
   * `extraWake`, for blocked calls with their own timeouts). With `stopWhen`, returns as soon
   * as it is true after a burst (time then stays at that burst). Returns whether it stopped early.
   */
  advanceTo(targetUs: number, stopWhen?: () => boolean, extraWake?: () => number): boolean {
    for (;;) {
      if (stopWhen?.()) return true;
      const wake = Math.min(this.nextDeadline(), extraWake ? extraWake() : Infinity);
      if (wake > targetUs) break;
      this.nowUs = Math.max(this.nowUs, wake);
      this.pollNow();
    }
    this.nowUs = Math.max(this.nowUs, targetUs);
    return stopWhen?.() ?? false;
  }

  private collect(m: number): void {
    const inst = this.instance;
    inst.refreshViews();
    const desc = inst.exports.txDescBase();
    const arpReplies: Uint8Array[] = [];
    for (let i = 0; i < m; i++) {
      const d = desc + i * Desc.SIZE;
      const addr = inst.dv.getUint32(d + Desc.ADDR, true);
      const len = inst.dv.getUint32(d + Desc.LEN, true);
      const bytes = inst.u8.slice(addr, addr + len);
      this.trace.push({ dir: 'out', timeUs: this.nowUs, bytes });
      const reply = this.arpReplyFor(bytes);
      if (reply === undefined) this.outbound.push({ timeUs: this.nowUs, bytes });
      else if (reply !== null) arpReplies.push(reply);
    }
    this.instance.exports.notifyClear();
    this.afterBurst();
    for (const r of arpReplies) this.inject(r);
  }

  /** undefined: not ARP; null: ARP that needs no answer; else the reply to send. */
  private arpReplyFor(bytes: Uint8Array): Uint8Array | null | undefined {
    if (bytes.length < 14 || ((bytes[12] << 8) | bytes[13]) !== ETH_ARP) return undefined;
    const f = decodeFrame(bytes);
    if (!f.arp || f.arp.op !== 1 || !this.opts.peerIps.includes(f.arp.targetIp)) return null;
    return buildArpReply(this.opts.peerMac, f.arp.targetIp, f.arp.senderMac, f.arp.senderIp);
  }
}
