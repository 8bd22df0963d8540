// Types of the native addon build/Release/wasm_tcpip_dpdk.node (the DPDK shim), written by
// hand from shim/*.cc. Load it through src/dpdk/addon.ts, which turns a missing build or a
// missing libdpdk into ERR_WASM_TCPIP_NO_DPDK.
//
// Every error thrown carries `code`: ERR_WASM_TCPIP_DPDK_{EAL, EAL_STARTED, EAL_NOT_STARTED,
// PERMISSION, NO_HUGEPAGES, PROBE, NO_PORT, QUEUES, PORT, STATE, MEMORY}, ERR_INVALID_ARG_TYPE
// or ERR_INVALID_ARG_VALUE, and a message that names the fix.

export interface PortSummary {
  portId: number;
  name: string;
  driver: string;
}

export interface EalStartResult {
  /** True when this call ran rte_eal_init; false when EAL was already up (vdevs hot-plugged). */
  initialisedNow: boolean;
  iovaMode: 'va' | 'pa' | 'dc';
  ports: PortSummary[];
}

export interface Eal {
  /** `args` start with a program name; `vdevs` are `--vdev` specs ("net_ring0", "net_tap0,iface=wtap0"). */
  start(args: string[], vdevs: string[], echoLog: boolean): EalStartResult;
  isStarted(): boolean;
  /** Hot-plugs a virtual device; returns its port id. */
  attachVdev(spec: string): number;
  detachVdev(name: string): void;
  ports(): PortSummary[];
  /** The last lines DPDK logged (kept even when not echoed). */
  recentLog(): string;
  /** rte_thread_register for the calling thread (idempotent); returns its lcore id. */
  registerThread(): number;
}

export interface PortInfo {
  portId: number;
  name: string;
  driver: string;
  mac?: Buffer;
  maxRxQueues: number;
  maxTxQueues: number;
  minMtu: number;
  maxMtu: number;
  /** RTE_ETH_RX_OFFLOAD_* bits. */
  rxOffloadCapa: number;
  /** RTE_ETH_TX_OFFLOAD_* bits. */
  txOffloadCapa: number;
  /** RTE_ETH_RSS_* flow types the port can hash. */
  rssOffloads: number;
  rssKeyBytes: number;
  retaSize: number;
  socket: number;
}

export interface PortConfig {
  /** Queue pairs (one per worker), default 1. */
  queues?: number;
  /** IP MTU, default 1500. */
  mtu?: number;
  rxDescs?: number;
  txDescs?: number;
  /** Enable every checksum/TSO offload the port has (default true). */
  offloads?: boolean;
  /** Spread flows over queues with symmetric RSS when queues > 1 (default true). */
  rss?: boolean;
  promiscuous?: boolean;
  /** Configure RX queue interrupts so Queue.waitForFrames can sleep until traffic (default false). */
  rxInterrupts?: boolean;
}

export interface RssInfo {
  enabled: boolean;
  /** The Toeplitz key in use, null when RSS is off. */
  key: Buffer | null;
  /** RTE_ETH_RSS_* bits hashed. */
  hashFunctions: number;
  /** Redirection table: entry i is the queue of hashes whose low bits are i. */
  reta: number[];
}

export interface PortConfigured {
  queues: number;
  mtu: number;
  rxDescs: number;
  txDescs: number;
  /** Offload bits of assembly/abi/config.ts `Offload` now enabled on the port. */
  offloads: number;
  rxInterrupts: boolean;
  rss: RssInfo;
}

export interface PortState {
  configured: boolean;
  started: boolean;
  queues: number;
  mtu: number;
  offloads: number;
  rxInterrupts: boolean;
  queuesAttached: boolean[];
}

export interface LinkStatus {
  up: boolean;
  /** -1 when the driver does not know. */
  speedMbps: number;
  fullDuplex: boolean;
  autoneg: boolean;
}

export interface PortStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxMissed: number;
  rxErrors: number;
  txErrors: number;
  rxNoMbuf: number;
}

export declare class Port {
  constructor(portId: number);
  readonly portId: number;
  /** Port id of a device name ("net_ring0", "net_ring_<name>" for ring ports). */
  static byName(name: string): number;
  info(): PortInfo;
  configure(config?: PortConfig): PortConfigured;
  state(): PortState;
  /** Starts the port; every queue must be attached first. */
  start(): void;
  /** Starts the port if every queue is attached; returns whether it is started. */
  startIfReady(): boolean;
  stop(): void;
  /** Stops and closes the port; every queue must be closed first. */
  close(): void;
  isStarted(): boolean;
  link(): LinkStatus;
  /** Resolves once the link is up or the timeout passed (default 5000 ms), with the last status. */
  waitForLink(timeoutMs?: number): Promise<LinkStatus>;
  stats(): PortStats;
  xstats(): Record<string, number>;
  resetStats(): void;
  rss(): RssInfo;
}

/** Where the stack's rings are (src/links/link.ts FrameRings has these fields). */
export interface QueueLayout {
  rxDesc: number;
  rxSlots: number;
  rxSlotBytes: number;
  txDesc: number;
  txSlots: number;
  txSlotBytes: number;
}

export interface QueueOptions {
  /** Mbufs in the queue's pool (default: Queue.plan's). */
  mbufs?: number;
  /** Page-aligned offset in linear memory of a region for mbuf data (zero-copy RX); 0 = copy. */
  zeroCopyOffset?: number;
  zeroCopyBytes?: number;
  /** Send a TX frame that lies inside a received zero-copy frame in that frame's mbuf (default true). */
  inPlaceTx?: boolean;
}

export interface QueuePlan {
  mbufs: number;
  /** Bytes of data room per mbuf, headroom included. */
  dataRoom: number;
  /** Bytes the zero-copy region needs. */
  zeroCopyBytes: number;
  /** Alignment the zero-copy region needs. */
  zeroCopyAlign: number;
}

export interface QueueStats {
  rxFrames: number;
  rxBytes: number;
  rxZeroCopy: number;
  rxCopied: number;
  rxDropOversize: number;
  txFrames: number;
  txBytes: number;
  /** Frames sent in the mbuf they were received in (rewritten in place), without a copy. */
  txInPlace: number;
  txDropBadDescriptor: number;
  txDropNoMbuf: number;
  txDropBadOffload: number;
  txDropTsoUnsupported: number;
  /** TSO frames the driver refused (net_tap: a piece and its headers over the MTU), dropped alone. */
  txDropTsoRefused: number;
  txDropPrepare: number;
  txDropQueueFull: number;
  /** Frames handed over while the port was stopped (receive then returns 0). */
  txDropPortStopped: number;
  txSoftwareIpCsum: number;
  txSoftwareL4Csum: number;
  mbufsFree?: number;
}

export declare class Queue {
  /** Sets up queue `queue` of a configured, stopped port, on the calling thread. */
  constructor(portId: number, queue: number, memory: ArrayBuffer | Uint8Array, layout: QueueLayout, options?: QueueOptions);
  static plan(portId: number, layout: QueueLayout, mbufs?: number): QueuePlan;
  /** Receives a burst into RX descriptors 0..n-1; returns n. */
  rx(): number;
  /** Sends TX descriptors 0..count-1; returns how many the port took. */
  tx(count: number): number;
  /** Gives the queue the memory's new ArrayBuffer after a memory.grow. */
  attachMemory(memory: ArrayBuffer | Uint8Array): void;
  stats(): QueueStats;
  close(): void;
  /**
   * Sleeps off the event loop until the queue has traffic (true) or `timeoutMs` passed
   * (false). The port must be configured with rxInterrupts and started.
   */
  waitForFrames(timeoutMs: number): Promise<boolean>;
  readonly zeroCopy: boolean;
  /** Why the queue copies, or null when it is zero-copy. */
  readonly zeroCopyReason: string | null;
}

export interface RingPortOptions {
  queues?: number;
  /** Entries per ring, a power of two (default 1024). */
  ringSize?: number;
}

export interface RingPorts {
  /** A port whose queue i receives what queue i sent; named "net_ring_<name>". */
  createLoopback(name: string, options?: RingPortOptions): number;
  /** Two ports with crossed rings; returns their ids. */
  createPair(nameA: string, nameB: string, options?: RingPortOptions): [number, number];
}

export interface Binding {
  eal: Eal;
  Port: typeof Port;
  Queue: typeof Queue;
  ringPorts: RingPorts;
  abiVersion: number;
}
