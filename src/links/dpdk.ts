// DpdkLink: a stack's frames through one queue pair of a DPDK port (a NIC or a virtual
// device: net_tap, net_ring, net_pcap, net_memif, net_null).
//
// Guarantees: one native call per burst each way (`Queue.rx`, `Queue.tx`); zero-copy receive
// when the port allows it (mbuf data buffers lent from the stack's linear memory, reserved
// once with `extbufReserve`), the copying path otherwise, with the reason in `stats()`; the
// offloads the port has are announced in `offloads` so the stack leaves that work to it; the
// port starts once every one of its queues is attached (unless `autoStart: false`); `close()`
// releases the queue, and a device that DMAs into the stack's memory has its queue (or port)
// stopped first, before that memory can go; a port `DpdkLink.open` configured is closed with
// its last link (a tap interface then goes away at once).
// Frames the shim cannot pass on are counted by reason in `stats()`.
//
// The stack's MAC: `mac` is the port's own address only when that address is the stack's to
// use. On drivers that front a kernel network interface (net_tap, net_af_packet, net_af_xdp)
// the port's MAC is that interface's, the kernel's own: net_tap even writes its port MAC
// onto the kernel's tap (measured: `ip link show wtapN` shows the port's MAC, and with the
// `mac=` devarg or rte_eth_dev_default_mac_addr_set both sides change together, so the port
// cannot be given an address of its own). The stack and the kernel would then be two hosts
// with one MAC on one link, which a Linux bridge with the tap as a port refuses (its own
// address as a source). So on those drivers `mac` is undefined and createStack derives a
// locally administered MAC from the seed and the address, as it does for a port without one
// (net_ring). A tap's kernel side receives every frame DPDK writes and hands DPDK every
// frame it sends, whatever the destination; on af_packet/af_xdp the interface itself filters
// unicast by MAC, so `open` configures those ports promiscuous unless told otherwise.

import type { Port, PortConfig, Queue, QueueStats } from '../../shim/binding.js';
import { loadDpdk } from '../dpdk/addon.js';
import { startEal, type EalOptions } from '../dpdk/eal.js';
import { DpdkError } from '../dpdk/errors.js';
import { resolvePortId } from '../dpdk/port.js';
import type { FrameRings, Link, TsoLimits } from './link.js';

export interface DpdkLinkOptions {
  /** A configured port: its id or its name ('net_tap0'). */
  port: number | string;
  /** The queue pair this link owns (default 0): one per worker. */
  queue?: number;
  /** Receive into mbufs placed in the stack's memory when the port allows (default true). */
  zeroCopy?: boolean;
  /** Mbufs in the queue's pool (default: enough for the port's rings and the stack's). */
  mbufs?: number;
  /** Start the port when its last queue is attached (default true). */
  autoStart?: boolean;
}

export interface DpdkOpenOptions extends Omit<DpdkLinkOptions, 'port'>, PortConfig {
  /** EAL options (vdevs, cores, hugepages...). */
  eal?: EalOptions;
  /** Port id, name, or vdev spec; a vdev spec not yet present is added (default: the first vdev). */
  device?: number | string;
}

/** Drivers whose port MAC is the address of a kernel network interface, not the stack's. */
const KERNEL_MAC_DRIVERS = new Set(['net_tap', 'net_af_packet', 'net_af_xdp']);
/** Of those, the ones whose interface drops unicast frames for other MACs unless promiscuous. */
const FILTERING_KERNEL_DRIVERS = new Set(['net_af_packet', 'net_af_xdp']);
/**
 * Drivers whose TSO limits the packets it makes (measured on DPDK 22.11 net_tap): a piece's
 * size plus every header, Ethernet included, must fit the MTU, and a frame may make ~64
 * pieces at most; the driver refuses any other TSO frame (the shim drops it alone, counted
 * as txDropTsoRefused). The link announces the limits and the stack cuts its TSO frames to
 * fit (1434-byte pieces with timestamps at MTU 1500; ordinary segments stay a full MSS).
 */
const TSO_LIMITED_DRIVERS = new Set(['net_tap']);
/** Pieces per TSO frame on those drivers: well under the ~64 they accept. */
const TSO_LIMITED_MAX_SEGMENTS = 32;
/** The TSO bit of `offloads` (assembly/abi/config.ts Offload.TX_TSO). */
const OFFLOAD_TX_TSO = 1 << 3;

/**
 * Ports `DpdkLink.open` configured in this thread: whichever of their links closes last (the
 * one `open` returned or one built on another queue) closes the port.
 */
const portsOpenedHere = new Set<number>();

export interface DpdkLinkStats extends QueueStats {
  zeroCopy: boolean;
  zeroCopyReason: string | null;
}

export class DpdkLink implements Link {
  readonly kind = 'dpdk';
  readonly polled = true;
  readonly mtu: number;
  /** The port's MAC when it is the stack's to use; undefined on a kernel interface's port (see above). */
  readonly mac?: Uint8Array;
  readonly offloads: number;
  readonly tsoLimits: TsoLimits | null = null;
  readonly portId: number;
  readonly queueId: number;
  readonly port: Port;
  private readonly options: DpdkLinkOptions;
  private queue: Queue | null = null;
  private rings: FrameRings | null = null;
  private memoryBuffer: ArrayBufferLike | null = null;
  private closed = false;
  /** Set once the port was seen started (checked per burst until then). */
  private portStarted = false;

  /**
   * Starts EAL (once per process), configures the port unless it already is, and returns a
   * link on `queue` (default 0). For several workers, configure the port once (openPort)
   * and build a `new DpdkLink({ port, queue })` in each.
   */
  static open(options: DpdkOpenOptions = {}): DpdkLink {
    const started = startEal(options.eal ?? {});
    const device = options.device ?? options.eal?.vdevs?.[0] ?? started.ports[0]?.portId;
    if (device === undefined) {
      throw new DpdkError('ERR_WASM_TCPIP_DPDK_NO_PORT', 'DPDK found no port: give a device (e.g. eal: { vdevs: [\'net_tap0,iface=wtap0\'] }) or a PCI allow-list');
    }
    const portId = resolvePortId(device);
    const port = new (loadDpdk().Port)(portId);
    const configureHere = !port.state().configured;
    if (configureHere) {
      port.configure({
        queues: options.queues, mtu: options.mtu, rxDescs: options.rxDescs, txDescs: options.txDescs,
        offloads: options.offloads, rss: options.rss, rxInterrupts: options.rxInterrupts,
        promiscuous: options.promiscuous ?? FILTERING_KERNEL_DRIVERS.has(port.info().driver),
      });
    }
    const link = new DpdkLink({ port: portId, queue: options.queue, zeroCopy: options.zeroCopy, mbufs: options.mbufs, autoStart: options.autoStart });
    if (configureHere) portsOpenedHere.add(portId);
    return link;
  }

  constructor(options: DpdkLinkOptions) {
    const dpdk = loadDpdk();
    this.options = options;
    this.portId = resolvePortId(options.port);
    this.port = new dpdk.Port(this.portId);
    const state = this.port.state();
    if (!state.configured) {
      throw new DpdkError('ERR_WASM_TCPIP_DPDK_STATE', `port ${this.portId} is not configured: call openPort() (src/dpdk) or use DpdkLink.open()`);
    }
    this.queueId = options.queue ?? 0;
    if (!Number.isInteger(this.queueId) || this.queueId < 0 || this.queueId >= state.queues) {
      throw new DpdkError('ERR_WASM_TCPIP_DPDK_QUEUES', `queue ${this.queueId} does not exist: port ${this.portId} has ${state.queues} (configure more queues, one per worker)`);
    }
    this.mtu = state.mtu;
    const info = this.port.info();
    this.offloads = state.offloads;
    if (TSO_LIMITED_DRIVERS.has(info.driver) && (state.offloads & OFFLOAD_TX_TSO) !== 0) {
      this.tsoLimits = { maxWirePacket: state.mtu, maxSegments: TSO_LIMITED_MAX_SEGMENTS };
    }
    const ownMac = info.mac && info.mac.some((b) => b !== 0) && !KERNEL_MAC_DRIVERS.has(info.driver);
    this.mac = ownMac ? new Uint8Array(info.mac!) : undefined;
  }

  attach(rings: FrameRings, wake: (atUs: number) => void): void {
    if (this.queue) throw new DpdkError('ERR_WASM_TCPIP_DPDK_STATE', 'this DpdkLink is already attached to a stack: create one link per stack');
    const dpdk = loadDpdk();
    const inst = rings.instance;
    const layout = {
      rxDesc: rings.rxDesc, rxSlots: rings.rxSlots, rxSlotBytes: rings.rxSlotBytes,
      txDesc: rings.txDesc, txSlots: rings.txSlots, txSlotBytes: rings.txSlotBytes,
    };
    let zeroCopyOffset = 0;
    let zeroCopyBytes = 0;
    const plan = dpdk.Queue.plan(this.portId, layout, this.options.mbufs);
    const reserve = inst.exports.extbufReserve as ((bytes: number, align: number) => number) | undefined;
    if ((this.options.zeroCopy ?? true) && typeof reserve === 'function') {
      zeroCopyOffset = reserve(plan.zeroCopyBytes, plan.zeroCopyAlign);
      zeroCopyBytes = zeroCopyOffset ? plan.zeroCopyBytes : 0;
      inst.refreshViews();
    }
    this.rings = rings;
    this.memoryBuffer = inst.exports.memory.buffer;
    this.queue = new dpdk.Queue(this.portId, this.queueId, memoryView(this.memoryBuffer), layout, {
      mbufs: plan.mbufs, zeroCopyOffset, zeroCopyBytes,
    });
    if (this.options.autoStart ?? true) this.port.startIfReady();
    // Frames arrive unannounced: ask for a first pump now; the driver's idle policy keeps
    // polling from then on.
    wake(0);
  }

  receive(_nowUs: number): number {
    const q = this.queue;
    if (!q || this.closed) return 0;
    // Until the port starts (its last queue attached, maybe from another worker) there is
    // nothing to receive, and DPDK's placeholder burst would log a stack dump.
    if (!this.portStarted) {
      if (!this.port.isStarted()) return 0;
      this.portStarted = true;
    }
    const buffer = this.rings!.instance.exports.memory.buffer;
    if (buffer !== this.memoryBuffer) {
      this.memoryBuffer = buffer;
      q.attachMemory(memoryView(buffer));
    }
    return q.rx();
  }

  transmit(count: number, _nowUs: number): void {
    if (this.queue && !this.closed) this.queue.tx(count);
  }

  pendingUs(): number {
    return Infinity;
  }

  /** True when the port raises RX interrupts, so `waitForFrames` can sleep until traffic. */
  get canWait(): boolean {
    return this.port.state().rxInterrupts;
  }

  /**
   * Sleeps without polling (off the event loop) until this queue has traffic (true) or
   * `timeoutMs` passed (false): the idle policy's deep sleep on ports configured with
   * `rxInterrupts: true`.
   */
  waitForFrames(timeoutMs: number): Promise<boolean> {
    const q = this.queue;
    if (!q || this.closed) return Promise.resolve(false);
    return q.waitForFrames(Math.max(0, Math.min(3_600_000, Math.ceil(timeoutMs))));
  }

  /** Queue counters (frames, drops by reason) and whether receive is zero-copy. */
  stats(): DpdkLinkStats {
    const q = this.queue;
    if (!q) throw new DpdkError('ERR_WASM_TCPIP_DPDK_STATE', 'this DpdkLink is not attached to a stack yet');
    return { ...q.stats(), zeroCopy: q.zeroCopy, zeroCopyReason: q.zeroCopyReason };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue?.close();
    if (portsOpenedHere.has(this.portId) && !this.port.state().queuesAttached.some(Boolean)) {
      portsOpenedHere.delete(this.portId);
      this.port.close();
    }
  }
}

/** What the shim takes for a memory: the ArrayBuffer, or a view when it is shared. */
function memoryView(buffer: ArrayBufferLike): ArrayBuffer | Uint8Array {
  return buffer instanceof ArrayBuffer ? buffer : new Uint8Array(buffer);
}
