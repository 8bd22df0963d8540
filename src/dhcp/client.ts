// The DHCP client state machine (RFC 2131 4.4): INIT -> SELECTING -> REQUESTING -> BOUND ->
// RENEWING -> REBINDING, over the stack's own UDP socket on port 68.
//
// Guarantees:
// - Time is the stack's clock and randomness the seed's (src/util/prng.ts, its own stream):
//   on a virtual clock the same seed and the same server answers give the same messages at
//   the same times. xids are drawn from it; the client identifier is htype 1 + the MAC
//   (RFC 2132 9.14).
// - DISCOVER and REQUEST are retransmitted after 4, 8, 16, 32, then every 64 s, each delay
//   moved by a uniform -1..+1 s (RFC 2131 4.1). DISCOVER goes on until a lease (or `stop`);
//   a REQUEST unanswered after 5 sends, or answered with a NAK, sends the client back to INIT
//   (RFC 2131 3.1 step 5, 4.4.1), which starts over at once with a new xid.
// - The first acceptable OFFER is taken (RFC 2131 4.4.1 allows any choice). An answer counts
//   only with our xid and MAC, from port 67, of a type the state expects; anything else is
//   dropped and counted (`drop.dhcp.<reason>`), never thrown.
// - Lease times run from the moment the REQUEST that got the ACK was sent (RFC 2131 4.4.1).
//   T1/T2 come from options 58/59, else 0.5 and 0.875 of the lease (RFC 2131 4.4.5); kept
//   only when T1 < T2 < lease. An infinite lease (0xffffffff) has no timers.
// - Before using a newly ACKed address (not on renewals) the client checks that nobody has it
//   (RFC 2131 4.4.1, RFC 5227 2.1): state CHECKING, 3 ARP probes after a random 0-1 s, 1-2 s
//   apart, then 2 s more; an ARP packet from the address (or another host probing it) makes
//   it send a DHCPDECLINE (broadcast, options 50 and 54) and start over after 10 s (RFC 2131
//   3.1 step 5), emitting 'declined'.
// - BOUND: the stack's address, prefix and gateway are set (the first router inside the
//   subnet; a mask-less ACK keeps the address's classful prefix, as ISC dhclient). At T1 a
//   REQUEST goes unicast to the server (RENEWING), at T2 broadcast (REBINDING), retransmitted
//   after half the time left to T2 / to expiry, at least 60 s (RFC 2131 4.4.5). An ACK
//   renews ('renewed'; one for another address is checked first, as a new one); a NAK
//   ('nak') or the expiry ('expired') unconfigures the stack (TCP connections of the address
//   are aborted by the stack) and restarts from INIT.
// - `release()` sends a DHCPRELEASE unicast to the server (RFC 2131 4.4.6) and resolves once
//   the stack has sent it (its ARP resolution included, or failed); the client then stops.
// - Not done: the initial random 1-10 s wait of RFC 2131 4.4.1 (as most embedded clients), and
//   RFC 5227's announcements and defence once bound.

import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock/clock.js';
import type { UdpSocket, RemoteInfo } from '../dgram/socket.js';
import { projectError } from '../net/errors.js';
import { formatIpv4, sameNetwork } from '../net/ipv4.js';
import { Prng } from '../util/prng.js';
import { decodeServerMessage, encodeClientMessage, MessageType, type ServerMessage } from './message.js';

export const DHCP_CLIENT_PORT = 68;
export const DHCP_SERVER_PORT = 67;
const LIMITED_BROADCAST = '255.255.255.255';
/** PRNG stream of the DHCP client (other host-side users draw from other streams). */
const PRNG_STREAM = 0x64686370; // 'dhcp'
const FIRST_RETRY_US = 4_000_000;
const MAX_RETRY_US = 64_000_000;
const JITTER_US = 1_000_000;
const REQUEST_SENDS = 5;
/** RFC 2131 4.4.5: RENEWING/REBINDING retransmissions are at least this far apart. */
const MIN_RENEW_RETRY_US = 60_000_000;
const INFINITE_LEASE = 0xffffffff;
// RFC 5227 1.1 constants.
const PROBE_WAIT_US = 1_000_000;
const PROBE_NUM = 3;
const PROBE_MIN_US = 1_000_000;
const PROBE_MAX_US = 2_000_000;
const ANNOUNCE_WAIT_US = 2_000_000;
/** RFC 2131 3.1 step 5: wait at least this long after a DECLINE before starting over. */
const DECLINE_RESTART_US = 10_000_000;


/** RFC 2131 figure 5's states, plus CHECKING (RFC 5227 probing of the ACKed address) and STOPPED. */
export type DhcpState = 'INIT' | 'SELECTING' | 'REQUESTING' | 'CHECKING' | 'BOUND' | 'RENEWING' | 'REBINDING' | 'STOPPED';

/** A lease as the stack uses it. Times are µs on the stack's clock. */
export interface DhcpLease {
  address: string;
  prefix: number;
  /** The router used as the stack's gateway, or null. */
  gateway: string | null;
  /** DNS servers of option 6, in the server's order. */
  dns: string[];
  /** The server that granted the lease (option 54). */
  server: string;
  leaseSec: number;
  /** When the lease started (the REQUEST's send time). */
  obtainedUs: number;
  /** T1, T2 and expiry; Infinity for an infinite lease. */
  renewAtUs: number;
  rebindAtUs: number;
  expiresAtUs: number;
}

/** What the client needs from its stack. */
export interface DhcpHost {
  readonly clock: Clock;
  readonly mac: Uint8Array;
  readonly seed: number;
  /** A fresh UDP socket of the stack (the client binds it to port 68). */
  createSocket(): UdpSocket;
  /** Sets the stack's address (host order; 0 = none), prefix and gateway (0 = none). */
  configure(address: number, prefix: number, gateway: number): void;
  /** Resolves once the datagrams queued so far have left the stack (or failed ARP). */
  flushed(): Promise<void>;
  /** RFC 5227 probing (assembly/iface/ipv4-probe.ts): watch an address (0: stop), queue a probe for it, conflict seen. */
  probeStart(address: number): void;
  probeSend(): void;
  probeConflict(): boolean;
}

export interface DhcpClientOptions {
  /** Give up `start()` after this long on the stack's clock (ms). */
  timeoutMs: number;
  /** Renew this long after each binding instead of at T1 (ms), when that is before T2; null: T1. */
  renewAfterMs: number | null;
}

interface Binding {
  address: number;
  prefix: number;
  gateway: number;
  dns: number[];
  server: number;
  leaseSec: number;
  obtainedUs: number;
  renewAtUs: number;
  rebindAtUs: number;
  expiresAtUs: number;
}

export interface DhcpClient {
  on(event: 'bound' | 'renewed', listener: (lease: DhcpLease) => void): this;
  on(event: 'expired', listener: () => void): this;
  on(event: 'nak', listener: (reason: string | null) => void): this;
  on(event: 'declined', listener: (address: string) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'bound' | 'renewed', listener: (lease: DhcpLease) => void): this;
  once(event: 'expired', listener: () => void): this;
  once(event: 'nak', listener: (reason: string | null) => void): this;
  once(event: 'declined', listener: (address: string) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class DhcpClient extends EventEmitter {
  private readonly host: DhcpHost;
  private readonly options: DhcpClientOptions;
  private readonly prng: Prng;
  private readonly stats: Record<string, number> = {};
  /** @internal The client's socket (the stack leaves it open while closing, for the release). */
  readonly socket: UdpSocket;
  private current: DhcpState = 'INIT';
  private xid = 0;
  /** Start of the current acquisition or renewal: the `secs` field counts from here. */
  private exchangeStartUs = 0;
  /** Send time of the last REQUEST: a lease it gets runs from here. */
  private requestSentUs = 0;
  private sends = 0;
  private retryUs = FIRST_RETRY_US;
  private offered: ServerMessage | null = null;
  private binding: Binding | null = null;
  private timer: TimerHandle | null = null;
  private firstLease: { resolve(l: DhcpLease): void; reject(e: Error): void; timer: TimerHandle } | null = null;

  constructor(host: DhcpHost, options: DhcpClientOptions) {
    super();
    this.host = host;
    this.options = options;
    this.prng = new Prng(host.seed, PRNG_STREAM);
    this.socket = host.createSocket();
    this.socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onMessage(msg, rinfo));
    this.socket.on('error', () => this.count('dhcp.socket.error'));
    this.socket.bind(DHCP_CLIENT_PORT);
    this.socket.setBroadcast(true);
  }

  /** The state of RFC 2131 figure 5 ('STOPPED' after `release()`/`stop()`). */
  get state(): DhcpState { return this.current; }

  /** The lease in use, or null when the stack has none. */
  lease(): DhcpLease | null {
    const b = this.binding;
    if (!b) return null;
    return {
      address: formatIpv4(b.address),
      prefix: b.prefix,
      gateway: b.gateway ? formatIpv4(b.gateway) : null,
      dns: b.dns.map(formatIpv4),
      server: formatIpv4(b.server),
      leaseSec: b.leaseSec,
      obtainedUs: b.obtainedUs,
      renewAtUs: b.renewAtUs,
      rebindAtUs: b.rebindAtUs,
      expiresAtUs: b.expiresAtUs,
    };
  }

  /** Messages sent and received, renewals, and what was dropped, by name. */
  counters(): Record<string, number> { return { ...this.stats }; }

  /**
   * Starts from INIT; resolves with the first lease, or rejects with
   * ERR_WASM_TCPIP_DHCP_TIMEOUT after `timeoutMs` on the stack's clock (the client keeps
   * trying until `stop()`).
   */
  start(): Promise<DhcpLease> {
    return new Promise((resolve, reject) => {
      const timer = this.host.clock.setTimer(this.host.clock.nowUs() + this.options.timeoutMs * 1000, () => {
        this.firstLease = null;
        reject(projectError('ERR_WASM_TCPIP_DHCP_TIMEOUT', `no DHCP lease within ${this.options.timeoutMs} ms `
          + `(state ${this.current}, ${this.stats['dhcp.tx.discover'] ?? 0} DISCOVER sent, ${this.stats['dhcp.rx.offer'] ?? 0} OFFER received): `
          + 'check that a DHCP server serves this link and that UDP ports 67/68 pass, raise options.dhcp.timeoutMs, '
          + "or give a static address such as address: '10.0.0.2/24'"));
      });
      this.firstLease = { resolve, reject, timer };
      this.restart();
    });
  }

  /** Sends DHCPRELEASE when a lease is held (RFC 2131 4.4.6) and stops; resolves once it left the stack. */
  async release(): Promise<void> {
    const b = this.binding;
    this.stop();
    if (!b) return;
    this.xid = this.prng.nextU32();
    this.send(MessageType.RELEASE, formatIpv4(b.server), { ciaddr: b.address, serverId: b.server, secs: 0 });
    this.count('dhcp.tx.release');
    await this.host.flushed();
  }

  /** Stops every timer and answer; the stack keeps its address. */
  stop(): void {
    this.current = 'STOPPED';
    this.clearTimer();
    if (this.firstLease) {
      this.host.clock.clearTimer(this.firstLease.timer);
      this.firstLease.reject(projectError('ERR_WASM_TCPIP_DHCP_STOPPED', 'the stack was closed before a DHCP lease was obtained'));
      this.firstLease = null;
    }
  }

  /** INIT (RFC 2131 4.4.1): a new xid and a DISCOVER. */
  private restart(): void {
    this.offered = null;
    this.current = 'SELECTING';
    this.xid = this.prng.nextU32();
    this.exchangeStartUs = this.host.clock.nowUs();
    this.sends = 0;
    this.retryUs = FIRST_RETRY_US;
    this.transmitAndArm();
  }

  /** Sends the message of the current state and arms its retransmission. */
  private transmitAndArm(): void {
    const now = this.host.clock.nowUs();
    const secs = (now - this.exchangeStartUs) / 1e6;
    this.sends++;
    if (this.current === 'SELECTING') {
      this.send(MessageType.DISCOVER, LIMITED_BROADCAST, { secs });
      this.count('dhcp.tx.discover');
    } else if (this.current === 'REQUESTING') {
      const offer = this.offered!;
      this.requestSentUs = now;
      this.send(MessageType.REQUEST, LIMITED_BROADCAST, { secs, requestedAddress: offer.yiaddr, serverId: offer.serverId! });
      this.count('dhcp.tx.request');
    } else {
      const b = this.binding!;
      this.requestSentUs = now;
      // RFC 2131 4.3.2 / table 4: RENEWING unicast to the server, REBINDING broadcast; ciaddr set, no 50/54.
      const to = this.current === 'RENEWING' ? formatIpv4(b.server) : LIMITED_BROADCAST;
      this.send(MessageType.REQUEST, to, { secs, ciaddr: b.address });
      this.count(this.current === 'RENEWING' ? 'dhcp.tx.renew' : 'dhcp.tx.rebind');
      const end = this.current === 'RENEWING' ? b.rebindAtUs : b.expiresAtUs;
      this.arm(Math.min(end, now + Math.max(MIN_RENEW_RETRY_US, (end - now) / 2)), () => this.leaseTimer());
      return;
    }
    const jitter = this.prng.below(2 * JITTER_US + 1) - JITTER_US;
    const delay = this.retryUs + jitter;
    this.retryUs = Math.min(MAX_RETRY_US, this.retryUs * 2);
    this.arm(now + delay, () => {
      if (this.current === 'REQUESTING' && this.sends >= REQUEST_SENDS) {
        this.count('dhcp.request.unanswered');
        this.restart();
        return;
      }
      this.transmitAndArm();
    });
  }

  /** A RENEWING/REBINDING retransmission, T2, or the expiry came. */
  private leaseTimer(): void {
    const b = this.binding!;
    const now = this.host.clock.nowUs();
    if (now >= b.expiresAtUs) { this.expire(); return; }
    if (this.current === 'RENEWING' && now >= b.rebindAtUs) this.enter('REBINDING');
    this.transmitAndArm();
  }

  /** BOUND -> RENEWING at T1 (new xid: a new exchange). */
  private renew(): void {
    this.enter('RENEWING');
    this.xid = this.prng.nextU32();
    this.exchangeStartUs = this.host.clock.nowUs();
    this.transmitAndArm();
  }

  private enter(state: DhcpState): void { this.current = state; }

  private expire(): void {
    this.count('dhcp.expired');
    this.dropBinding();
    this.emit('expired');
    this.restart();
  }

  private dropBinding(): void {
    if (this.binding) this.host.configure(0, 0, 0);
    this.binding = null;
  }

  private onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.current === 'STOPPED') return;
    if (rinfo.port !== DHCP_SERVER_PORT) { this.count('drop.dhcp.not_from_server_port'); return; }
    const decoded = decodeServerMessage(msg);
    for (const p of decoded.problems) this.count(`dhcp.option.${p}`);
    const m = decoded.message;
    if (!m) { this.count(`drop.dhcp.${decoded.problem}`); return; }
    if (m.xid !== this.xid) { this.count('drop.dhcp.wrong_xid'); return; }
    if (!m.chaddr.every((b, i) => b === this.host.mac[i])) { this.count('drop.dhcp.wrong_chaddr'); return; }
    if (m.type === MessageType.OFFER) this.onOffer(m);
    else if (m.type === MessageType.ACK) this.onAck(m);
    else this.onNak(m);
  }

  private onOffer(m: ServerMessage): void {
    if (this.current !== 'SELECTING') { this.count('drop.dhcp.unexpected_offer'); return; }
    if (m.yiaddr === 0 || m.serverId === null) { this.count('drop.dhcp.bad_offer'); return; }
    this.count('dhcp.rx.offer');
    this.offered = m;
    this.current = 'REQUESTING';
    this.sends = 0;
    this.retryUs = FIRST_RETRY_US;
    this.transmitAndArm();
  }

  private onAck(m: ServerMessage): void {
    const state = this.current;
    if (state !== 'REQUESTING' && state !== 'RENEWING' && state !== 'REBINDING') { this.count('drop.dhcp.unexpected_ack'); return; }
    if (state === 'REQUESTING' && m.serverId !== null && m.serverId !== this.offered!.serverId) { this.count('drop.dhcp.other_server'); return; }
    if (m.yiaddr === 0 || m.leaseSec === null) { this.count('drop.dhcp.bad_ack'); return; }
    this.count('dhcp.rx.ack');
    if (state === 'REQUESTING' || m.yiaddr !== this.binding?.address) this.check(m, state);
    else this.bind(m, state);
  }

  /** CHECKING (RFC 5227 2.1.1): PROBE_NUM probes for the ACKed address, then ANNOUNCE_WAIT, then bind or decline. */
  private check(m: ServerMessage, from: DhcpState): void {
    this.current = 'CHECKING';
    this.host.probeStart(m.yiaddr);
    let sent = 0;
    const step = (): void => {
      if (this.host.probeConflict()) { this.decline(m); return; }
      const now = this.host.clock.nowUs();
      if (sent === PROBE_NUM) { this.host.probeStart(0); this.bind(m, from); return; }
      this.host.probeSend();
      sent++;
      this.count('dhcp.tx.probe');
      this.arm(now + (sent === PROBE_NUM ? ANNOUNCE_WAIT_US : PROBE_MIN_US + this.prng.below(PROBE_MAX_US - PROBE_MIN_US + 1)), step);
    };
    this.arm(this.host.clock.nowUs() + this.prng.below(PROBE_WAIT_US + 1), step);
  }

  /** The ACKed address is in use: DHCPDECLINE (RFC 2131 4.4.1), then INIT after DECLINE_RESTART_US. */
  private decline(m: ServerMessage): void {
    this.host.probeStart(0);
    this.count('dhcp.conflict');
    this.dropBinding();
    this.send(MessageType.DECLINE, LIMITED_BROADCAST, { secs: 0, requestedAddress: m.yiaddr, serverId: m.serverId ?? this.offered!.serverId! });
    this.count('dhcp.tx.decline');
    this.current = 'INIT';
    this.emit('declined', formatIpv4(m.yiaddr));
    this.arm(this.host.clock.nowUs() + DECLINE_RESTART_US, () => this.restart());
  }

  /** BOUND with the lease `m` grants (RFC 2131 4.4.1, 4.4.5). */
  private bind(m: ServerMessage, state: DhcpState): void {
    const server = m.serverId ?? this.offered?.serverId ?? this.binding!.server;
    const prefix = m.prefix ?? classfulPrefix(m.yiaddr);
    const gateway = m.routers.find((r) => r !== m.yiaddr && sameNetwork(r, m.yiaddr, prefix)) ?? 0;
    if (m.routers.length > 0 && gateway === 0) this.count('dhcp.router_off_link');
    const start = this.requestSentUs;
    const times = leaseTimes(m, start, this.host.clock.nowUs(), this.options.renewAfterMs);
    const renewal = this.binding !== null && state !== 'REQUESTING';
    this.binding = { address: m.yiaddr, prefix, gateway, dns: m.dns, server, leaseSec: m.leaseSec!, obtainedUs: start, ...times };
    this.host.configure(m.yiaddr, prefix, gateway);
    this.current = 'BOUND';
    this.clearTimer();
    if (Number.isFinite(times.renewAtUs)) this.arm(times.renewAtUs, () => this.renew());
    const lease = this.lease()!;
    if (renewal) {
      this.count(state === 'RENEWING' ? 'dhcp.renewed' : 'dhcp.rebound');
      this.emit('renewed', lease);
    } else {
      this.emit('bound', lease);
    }
    if (this.firstLease) {
      this.host.clock.clearTimer(this.firstLease.timer);
      this.firstLease.resolve(lease);
      this.firstLease = null;
    }
  }

  private onNak(m: ServerMessage): void {
    const state = this.current;
    if (state !== 'REQUESTING' && state !== 'RENEWING' && state !== 'REBINDING') { this.count('drop.dhcp.unexpected_nak'); return; }
    this.count('dhcp.rx.nak');
    this.clearTimer();
    this.dropBinding();
    this.emit('nak', m.text);
    this.restart();
  }

  private send(type: number, to: string, fields: { secs: number; ciaddr?: number; requestedAddress?: number; serverId?: number }): void {
    const bytes = encodeClientMessage({ type, xid: this.xid, mac: this.host.mac, ciaddr: 0, ...fields });
    this.socket.send(bytes, DHCP_SERVER_PORT, to, (error) => { if (error) this.count(`dhcp.tx.error.${(error as { code?: string }).code ?? 'unknown'}`); });
  }

  private arm(atUs: number, fn: () => void): void {
    this.clearTimer();
    this.timer = this.host.clock.setTimer(atUs, () => { this.timer = null; fn(); });
  }

  private clearTimer(): void {
    if (this.timer) this.host.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private count(name: string): void {
    this.stats[name] = (this.stats[name] ?? 0) + 1;
  }
}

/**
 * T1, T2 and expiry of a lease granted by `m` whose REQUEST left at `startUs` (RFC 2131 4.4.5);
 * with `renewAfterMs`, T1 is that long after `boundUs` instead, when that is before T2.
 */
function leaseTimes(m: ServerMessage, startUs: number, boundUs: number, renewAfterMs: number | null): { renewAtUs: number; rebindAtUs: number; expiresAtUs: number } {
  const lease = m.leaseSec!;
  if (lease === INFINITE_LEASE) return { renewAtUs: Infinity, rebindAtUs: Infinity, expiresAtUs: Infinity };
  let t1 = m.renewalSec ?? lease * 0.5;
  let t2 = m.rebindingSec ?? lease * 0.875;
  if (!(t1 < t2 && t2 < lease)) { t1 = lease * 0.5; t2 = lease * 0.875; }
  let renewAtUs = startUs + t1 * 1e6;
  const rebindAtUs = startUs + t2 * 1e6;
  if (renewAfterMs !== null && boundUs + renewAfterMs * 1000 < rebindAtUs) renewAtUs = boundUs + renewAfterMs * 1000;
  return { renewAtUs, rebindAtUs, expiresAtUs: startUs + lease * 1e6 };
}

/** The prefix of `address`'s class (RFC 791 3.2), for an ACK without a subnet mask. */
function classfulPrefix(address: number): number {
  const first = address >>> 24;
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}
