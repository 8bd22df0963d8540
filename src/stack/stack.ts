// `createStack(options)`: one stack instance on one link, with Node-shaped `net` and `dgram`
// modules on top, and its graceful close.
//
// Guarantees:
// - Options are validated before anything starts (TypeError/RangeError naming the option);
//   a value the stack's own validation rejects is reported under the option's name too.
// - The stack's notifications reach the socket objects registered under their handles; an
//   exception thrown by application code inside an event handler is rethrown on the next
//   tick (as an uncaught exception, like Node's own event handlers), so one handler cannot
//   stop the other sockets of the same burst from hearing about their changes.
// - `close({ timeoutMs })` stops accepting, ends every open connection (FIN after everything
//   written) and waits until its FIN handshake finished both ways (our FIN and the bytes
//   before it acknowledged, the peer's FIN received); connections the application already
//   closed are waited for until their FIN is acknowledged, as a kernel's orphans. Whatever
//   has not finished when the timeout passes (on the stack's clock) is reset. It resolves
//   with `{ drained, reset }` after the last frames went out, the driver stopped and the
//   link closed.
//
// - With `address: 'dhcp'` the stack starts unconfigured and `createStack` resolves once a
//   lease is bound (src/dhcp/client.ts), or rejects with ERR_WASM_TCPIP_DHCP_TIMEOUT after
//   closing it; `address`/`prefix` follow the lease; `close()` sends the DHCPRELEASE after
//   the connections finished, before the driver stops.
//
// Structure: one `Stack` is one instance on one thread; a `workers: N` option would start N
// of these in worker threads from a separate module and leave this one unchanged.

import { StackInstance, StackConfigError } from '../wasm/instance.js';
import { StackDriver } from './driver.js';
import { optionForSlot, resolveOptions, type ResolvedOptions, type StackOptions } from './options.js';
import type { Clock, TimerHandle } from '../clock/clock.js';
import type { Link } from '../links/link.js';
import type { ClosableConnection, Endpoint, NetContext } from '../net/context.js';
import { TcpAbi } from '../net/tcp-abi.js';
import { Lingerer } from '../net/linger.js';
import { createNet, socketClassFor, type Net, type SocketClass } from '../net/net.js';
import { formatIpv4, formatMac } from '../net/ipv4.js';
import { nodeCodeError } from '../net/errors.js';
import { UdpAbi } from '../dgram/udp-abi.js';
import { createDgram, type Dgram, type DgramContext, type UdpSocket } from '../dgram/socket.js';
import { createWorkerStack, type WorkerPoolOptions, type WorkerStack } from '../workers/pool.js';
import { DhcpClient } from '../dhcp/client.js';

/** The exports of the stack this module calls beyond the socket ABIs (assembly/index.ts). */
interface AddressExports {
  ipv4Configure(addr: number, prefix: number, gateway: number): number;
  udpSendQueued(): number;
  arpPendingFree(): number;
  ipv4ProbeStart(addr: number): void;
  ipv4ProbeSend(): number;
  ipv4ProbeConflict(): number;
}
/** How often `flushed()` looks whether queued datagrams left, µs of the stack's clock. */
const FLUSH_CHECK_US = 10_000;
/** Longest `flushed()` waits: ARP's 3 requests 1 s apart, and a margin. */
const FLUSH_LIMIT_US = 4_000_000;

/** Handle kinds of the notify list (assembly/abi/notify.ts). */
const HANDLE_KIND_TCP = 1;
const HANDLE_KIND_UDP = 2;
const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;

export interface CloseOptions {
  /** How long connections may take to deliver and finish, on the stack's clock (default 10,000). */
  timeoutMs?: number;
}

export interface CloseResult {
  /** Connections that delivered everything and finished their FIN handshake. */
  drained: number;
  /** Connections reset because the timeout passed first. */
  reset: number;
}

export class Stack {
  /** The `node:net` of this stack. */
  readonly net: Net;
  /** The `node:dgram` of this stack. */
  readonly dgram: Dgram;
  /** The clock the stack runs on. */
  readonly clock: Clock;
  /** The DHCP client when the stack was created with `address: 'dhcp'`, else null. */
  readonly dhcp: DhcpClient | null;
  /** Own MAC ('02:..'). */
  readonly mac: string;
  readonly mtu: number;
  /** The seed in use (chosen at random when not given with a real clock: note it to repeat a run). */
  readonly seed: number;
  readonly link: Link;
  /** @internal */ readonly instance: StackInstance;
  /** @internal */ readonly driver: StackDriver;

  private readonly options: ResolvedOptions;
  private readonly tcpEndpoints = new Map<number, Endpoint>();
  private readonly udpEndpoints = new Map<number, Endpoint>();
  private readonly connections = new Set<ClosableConnection>();
  private readonly servers = new Set<{ close(): unknown }>();
  private readonly udpSockets = new Set<UdpSocket>();
  /** UDP sockets with datagrams waiting for room in the stack's send queue. */
  private readonly udpWaiting = new Set<UdpSocket>();
  private tcpAbi: TcpAbi | null = null;
  private udpAbi: UdpAbi | null = null;
  private lingerer: Lingerer | null = null;
  private closing = false;
  private closePromise: Promise<CloseResult> | null = null;
  private closeCheck: (() => void) | null = null;
  /** Own address (host order, 0 = none yet), prefix and gateway, as the stack has them. */
  private currentAddress: number;
  private currentPrefix: number;

  /** @internal Use `createStack()`. */
  constructor(options: ResolvedOptions) {
    this.options = options;
    this.clock = options.clock;
    this.link = options.link;
    this.currentAddress = options.address;
    this.currentPrefix = options.prefix;
    this.mac = formatMac(options.mac);
    this.mtu = options.mtu;
    this.seed = options.seed;
    this.instance = new StackInstance({ debug: options.debug });
    configure(this.instance, options);
    this.driver = new StackDriver(this.instance, options.link, options.clock, {
      poll: options.poll,
      onNotify: (handle) => this.dispatch(handle),
      onIdle: () => this.afterBurst(),
    });

    const stack = this;
    // The Socket class closes over the context it is made for: bound right after.
    let StackSocket: SocketClass | null = null;
    const netContext: NetContext = {
      get tcp() { return stack.tcp(); },
      clock: this.clock,
      get localAddress() { return stack.currentAddress; },
      noDelay: options.noDelay,
      seed: options.seed,
      get closing() { return stack.closing; },
      get Socket() { return StackSocket!; },
      kick: () => this.driver.kick(),
      registerTcp: (h, e) => { this.tcpEndpoints.set(h, e); },
      unregisterTcp: (h) => { this.tcpEndpoints.delete(h); },
      releaseTcp: (h) => this.linger().release(h),
      trackConnection: (c) => { this.connections.add(c); },
      untrackConnection: (c) => { this.connections.delete(c); this.closeCheck?.(); },
      trackServer: (s) => { this.servers.add(s); },
      untrackServer: (s) => { this.servers.delete(s); },
    };
    StackSocket = socketClassFor(netContext);
    this.net = createNet(netContext);

    const dgramContext: DgramContext = {
      get udp() { return stack.udp(); },
      get closing() { return stack.closing; },
      kick: () => this.driver.kick(),
      registerUdp: (h, e) => { this.udpEndpoints.set(h, e); },
      unregisterUdp: (h) => { this.udpEndpoints.delete(h); },
      trackUdp: (s) => { this.udpSockets.add(s); },
      untrackUdp: (s) => { this.udpSockets.delete(s); this.udpWaiting.delete(s); },
      retryAfterBurst: (s) => { this.udpWaiting.add(s); },
    };
    this.dgram = createDgram(dgramContext);
    this.dhcp = options.dhcp === null ? null : new DhcpClient({
      clock: this.clock,
      mac: options.mac,
      seed: options.seed,
      createSocket: () => this.dgram.createSocket('udp4'),
      configure: (address, prefix, gateway) => this.setAddress(address, prefix, gateway),
      flushed: () => this.flushed(),
      probeStart: (address) => { this.addressExports().ipv4ProbeStart(address); },
      probeSend: () => {
        // Queued in the stack (the address is watched, so it is taken): it leaves in the next burst.
        this.addressExports().ipv4ProbeSend();
        this.driver.kick();
      },
      probeConflict: () => this.addressExports().ipv4ProbeConflict() !== 0,
    }, options.dhcp);
  }

  /** Own IPv4 address ('10.0.0.1'); '0.0.0.0' while a DHCP stack has no lease. */
  get address(): string { return formatIpv4(this.currentAddress); }

  /** Prefix length of the own network (0 while a DHCP stack has no lease). */
  get prefix(): number { return this.currentPrefix; }

  private addressExports(): AddressExports {
    return this.instance.exports as unknown as AddressExports;
  }

  /** Gives the stack a new address (DHCP): connections of the old one are aborted by the stack. */
  private setAddress(address: number, prefix: number, gateway: number): void {
    const r = (this.instance.exports as unknown as AddressExports).ipv4Configure(address, prefix, gateway);
    if (r < 0) throw new RangeError(`ipv4Configure(${formatIpv4(address)}/${prefix}, gateway ${formatIpv4(gateway)}) refused: ${r}`);
    this.currentAddress = address;
    this.currentPrefix = prefix;
    this.driver.kick();
  }

  /** Resolves once no datagram waits in the stack (sent, or dropped after ARP failed). */
  private flushed(): Promise<void> {
    const ex = this.instance.exports as unknown as AddressExports;
    const poolFull = this.instance.getConfig('arpPendingFrames');
    const limit = this.clock.nowUs() + FLUSH_LIMIT_US;
    this.driver.kick();
    return new Promise((resolve) => {
      const check = (): void => {
        if ((ex.udpSendQueued() === 0 && ex.arpPendingFree() === poolFull) || this.clock.nowUs() >= limit) resolve();
        else this.clock.setTimer(this.clock.nowUs() + FLUSH_CHECK_US, check);
      };
      this.clock.setTimer(this.clock.nowUs() + FLUSH_CHECK_US, check);
    });
  }

  /** Every counter of the stack by name ('tcp.conn.closed', 'drop.ipv4.bad_checksum', ...). */
  counters(): Record<string, number> {
    return this.instance.counters();
  }

  /**
   * Stops accepting, lets open connections deliver what was written and finish their FIN
   * handshake (resetting those still busy after `timeoutMs`), then stops the stack and
   * closes the link. Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<CloseResult> {
    if (this.closePromise) return this.closePromise;
    const timeoutMs = options.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(nodeCodeError('ERR_OUT_OF_RANGE', `options.timeoutMs must be a non-negative number of milliseconds, got ${String(timeoutMs)}`, RangeError));
    }
    this.closePromise = this.runClose(timeoutMs);
    return this.closePromise;
  }

  private async runClose(timeoutMs: number): Promise<CloseResult> {
    this.closing = true;
    for (const server of [...this.servers]) server.close();
    for (const socket of [...this.udpSockets]) if (socket !== this.dhcp?.socket) socket.close();
    const open = [...this.connections];
    const total = open.length + (this.lingerer?.size ?? 0);
    for (const c of open) c.endForClose();
    this.driver.kick();

    const finished = (): boolean => open.every((c) => c.drained()) && (this.lingerer?.size ?? 0) === 0;
    let reset = 0;
    if (!finished()) {
      await new Promise<void>((resolve) => {
        let timer: TimerHandle | null = null;
        const done = (): void => {
          this.closeCheck = null;
          if (timer) this.clock.clearTimer(timer);
          resolve();
        };
        this.closeCheck = () => { if (finished()) done(); };
        timer = this.clock.setTimer(this.clock.nowUs() + timeoutMs * 1000, () => {
          timer = null;
          for (const c of open) {
            if (!c.drained()) { reset++; c.resetAndDestroy(); }
          }
          reset += this.lingerer?.abortAll() ?? 0;
          done();
        });
      });
    }
    // Those left are finished (both FINs exchanged): let them go gracefully.
    for (const c of open) if (!c.destroyed) c.destroy();
    if (this.dhcp) {
      await this.dhcp.release();
      this.dhcp.socket.close();
    }
    // The last FINs, ACKs and RSTs go out before the driver stops.
    this.driver.pump();
    this.driver.stop();
    await this.link.close();
    if (this.options.ownsClock) this.clock.dispose();
    return { drained: total - reset, reset };
  }

  private tcp(): TcpAbi {
    if (!this.tcpAbi) this.tcpAbi = new TcpAbi(this.instance);
    return this.tcpAbi;
  }

  private udp(): UdpAbi {
    if (!this.udpAbi) this.udpAbi = new UdpAbi(this.instance);
    return this.udpAbi;
  }

  private linger(): Lingerer {
    if (!this.lingerer) {
      this.lingerer = new Lingerer(
        this.tcp(),
        (h, e) => { this.tcpEndpoints.set(h, e); },
        (h) => { this.tcpEndpoints.delete(h); },
        () => this.driver.kick(),
      );
    }
    return this.lingerer;
  }

  private dispatch(handle: number): void {
    const kind = handle >>> 24;
    const endpoint = kind === HANDLE_KIND_TCP
      ? this.tcpEndpoints.get(handle & 0xffffff)
      : kind === HANDLE_KIND_UDP ? this.udpEndpoints.get(handle) : undefined;
    if (!endpoint) return;
    try {
      endpoint.onNotify();
    } catch (error) {
      process.nextTick(() => { throw error; });
    }
  }

  private afterBurst(): void {
    for (const socket of this.udpWaiting) {
      if (socket.retrySends()) this.udpWaiting.delete(socket);
    }
    this.lingerer?.checkAll();
    this.closeCheck?.();
  }
}

/** Writes the resolved options into the instance's config table and initialises it. */
function configure(instance: StackInstance, options: ResolvedOptions): void {
  try {
    for (const [key, value] of options.slots) instance.setConfig(key, value);
    instance.init();
  } catch (error) {
    if (error instanceof StackConfigError && error.key !== undefined) {
      const name = optionForSlot(error.key);
      if (name !== undefined) {
        const value = options.slots.get(error.key);
        throw nodeCodeError('ERR_WASM_TCPIP_CONFIG', `${name} is out of the range the stack accepts (got ${value ?? 'the default'}; config slot ${error.key}): see the option's documentation in StackOptions`, RangeError);
      }
    }
    throw error;
  }
}

/**
 * Creates a stack on `options.link` with address `options.address` and returns it once it is
 * initialised. Rejects with a TypeError/RangeError naming the option for a bad option.
 */
export async function createStack(options: WorkerPoolOptions): Promise<WorkerStack>;
export async function createStack(options: StackOptions): Promise<Stack>;
export async function createStack(options: StackOptions | WorkerPoolOptions): Promise<Stack | WorkerStack> {
  // `workers: N` starts N worker threads, one stack per queue (src/workers/pool.ts).
  if (options !== null && typeof options === 'object' && 'workers' in options && options.workers !== undefined) {
    return createWorkerStack(options as WorkerPoolOptions);
  }
  const resolved = resolveOptions(options);
  const stack = new Stack(resolved);
  if (stack.dhcp) {
    try {
      await stack.dhcp.start();
    } catch (error) {
      await stack.close({ timeoutMs: 0 });
      throw error;
    }
  }
  return stack;
}
