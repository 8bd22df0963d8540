// The options of `createStack`: their types, their defaults, and their validation.
//
// Guarantees: every option is checked before any instance exists; a wrong type or an unknown
// key throws a TypeError, a value out of range a RangeError, each naming the option path
// ('options.tcp.sendBuffer') and the form expected. Options that are stack configuration
// slots (assembly/abi/config.ts) are listed once, in `SLOT_OPTIONS`, with their slot key;
// the range of those is checked by the stack's own `init` and reported under the option's
// name (see `optionForSlot`). Defaults: the stack's slot defaults, the link's MTU and MAC,
// a real clock, a random seed (0 with a virtual clock, so runs repeat).

import { createHash, randomBytes, randomInt } from 'node:crypto';
import { RealClock, type Clock } from '../clock/clock.js';
import type { Link } from '../links/link.js';
import type { PollPolicy } from './driver.js';
import { nodeCodeError } from '../net/errors.js';
import { formatIpv4, parseIpv4, parseMac, sameNetwork } from '../net/ipv4.js';

/** Congestion control algorithms this build has, by name, with their ids (assembly/tcp/cc/hooks.ts CcAlgo). */
const CONGESTION_ALGORITHMS = { newreno: 1, cubic: 2 } as const;
export type CongestionControl = keyof typeof CONGESTION_ALGORITHMS;

/** TCP settings; sizes in bytes, times in milliseconds. Each maps to a stack config slot. */
export interface TcpSettings {
  /** Connection table size (listeners included). Default 1024, at most 1,048,576. */
  maxConnections?: number;
  /** Send ring per connection (default 256 KiB; 1 KiB .. 1 GiB, rounded up to a power of two). */
  sendBuffer?: number;
  /** Receive ring per connection (default 256 KiB; 1 KiB .. 1 GiB). */
  recvBuffer?: number;
  /** Bytes of the slab all live connections take their rings from (default 64 MiB). */
  slabBytes?: number;
  /** Out-of-order byte ranges kept per connection (default 64, 1 .. 1024). */
  maxOutOfOrderRanges?: number;
  /** Lower bound of the retransmission timeout (RFC 6298 2.4; default 200, as Linux). */
  minRtoMs?: number;
  /** Upper bound of the retransmission timeout (default 120,000, 1,000 .. 3,600,000). */
  maxRtoMs?: number;
  /** TIME-WAIT duration, 2*MSL (RFC 9293 3.10.7.4; default 60,000, as Linux). */
  timeWaitMs?: number;
  /** Delayed ACK timer (RFC 1122 4.2.3.2; default 40, as Linux). */
  delayedAckMs?: number;
  /** SYN retransmissions before a connect fails with ETIMEDOUT (default 6). */
  synRetries?: number;
  /** SYN-ACK retransmissions before a half-open connection is dropped (default 5). */
  synAckRetries?: number;
  /** Time sent data may stay unacknowledged before the connection fails (RFC 9293 3.8.3; default 900,000). */
  userTimeoutMs?: number;
  /** Challenge ACKs sent per second at most (RFC 5961 7; default 1,000). */
  challengeAcksPerSec?: number;
  /** Local ports for outgoing connections (RFC 6056), inclusive (default [49152, 65535]). */
  ephemeralPorts?: [number, number];
  /**
   * Congestion control of new connections: 'newreno' (RFC 5681, RFC 6582; the default) or
   * 'cubic' (RFC 9438, on the same loss recovery; what Linux uses by default).
   */
  congestion?: CongestionControl;
  /** Offer and accept selective acknowledgments (RFC 2018) on new connections (default true). */
  sack?: boolean;
  /**
   * Proportional Rate Reduction (RFC 6937) in fast recovery: each ACK lets out a share of what
   * it delivered, so the flight comes down to ssthresh over one round trip and recovery ends
   * with cwnd = ssthresh (as Linux). Off: RFC 6582 / RFC 6675 recovery (default false).
   */
  prr?: boolean;
  /**
   * RFC 8985 RACK-TLP loss detection: with SACK, a segment is lost once one sent after it was
   * delivered and a reordering window passed; when the tail of a flight is lost, a probe goes
   * after about two round trips instead of waiting for the retransmission timeout (default
   * true, as Linux's net.ipv4.tcp_recovery).
   */
  rack?: boolean;
  /**
   * ECN (RFC 3168) on new connections, as Linux's net.ipv4.tcp_ecn: 0 never; 1 request it on
   * outgoing connections and accept it on incoming ones; 2 (the default) accept it only
   * when the peer asks.
   */
  ecn?: 0 | 1 | 2;
  /**
   * TCP Fast Open (RFC 7413; default false): true for both sides, or 'server' / 'client'.
   * Server: servers created with `createServer({ fastOpen: { queue } })` give cookies and
   * take data on SYNs that carry a valid one (the cookie key is derived from the seed with a
   * virtual clock, else random). Client: `net.connect({ ..., fastOpen: true })` sockets ask
   * for a cookie, and once one is cached for the server, what is written before the
   * connection completes goes in the SYN.
   */
  fastOpen?: boolean | 'server' | 'client';
  /** Default of `socket.setNoDelay()` for new sockets (default false: Nagle on). */
  noDelay?: boolean;
  /**
   * SYN cookies (RFC 4987 3.6), as Linux's net.ipv4.tcp_syncookies: 0 never (a SYN that finds
   * a listener's SYN queue full is dropped); 1 (the default) answer it with a cookie; 2 answer
   * every SYN with a cookie. Window scale and SACK survive a cookie only when the client
   * sends timestamps.
   */
  synCookies?: 0 | 1 | 2;
}

export interface DhcpSettings {
  /** Time createStack waits for the first lease, ms on the stack's clock (default 30,000). */
  timeoutMs?: number;
  /** Renew this long after each binding instead of at T1 (ms; for tests and long leases). Default: T1. */
  renewAfterMs?: number;
}

export interface ArpSettings {
  /** Neighbour table entries (default 256). */
  entries?: number;
  /** Lifetime of a learned entry, seconds (default 60). */
  ttlSec?: number;
  /** Frames held while their next hop is resolved (default 64). */
  pendingFrames?: number;
}

export interface UdpSettings {
  /** UDP sockets at most (default 64). */
  maxSockets?: number;
  /** Receive queue bytes per socket (default 256 KiB). */
  recvBuffer?: number;
}

export interface RingSettings {
  /** RX ring slots (frames per burst in), 1 .. 4096, default 256. */
  rxSlots?: number;
  /** TX ring slots (frames per burst out), 1 .. 4096, default 256. */
  txSlots?: number;
}

export interface StackOptions {
  /** Where frames come from and go to (a MemoryLink end, a DpdkLink, a PcapLink...). Required. */
  link: Link;
  /**
   * The stack's IPv4 address with its prefix length, like '10.0.0.1/24', or 'dhcp' to lease
   * one (RFC 2131; createStack then resolves once bound, see `dhcp`). Required.
   */
  address: string;
  /** With address 'dhcp': how long createStack waits for a lease, and an early renewal. */
  dhcp?: DhcpSettings;
  /** Default gateway for off-link destinations, inside the address's network. Default: none. */
  gateway?: string;
  /** MAC address 'aa:bb:cc:dd:ee:ff'. Default: the link's, else one derived from seed + address. */
  mac?: string;
  /** Largest IP packet, bytes (68 .. 9000, at most the link's). Default: the link's MTU. */
  mtu?: number;
  /** 'real' (default) or a clock object such as `new VirtualClock()`. */
  clock?: 'real' | Clock;
  /** Seed of initial sequence numbers and port choice: an integer 0 .. 2^53-1. */
  seed?: number;
  /** Load build/stack.debug.wasm (unoptimised, with assertions). */
  debug?: boolean;
  /** Idle policy for polled links (DPDK): 'busy' or 'adaptive' (default). */
  poll?: PollPolicy;
  /**
   * Hand the port multi-segment TCP frames when the link has TSO (default true); false sends
   * single segments (checksum offloads stay on).
   */
  tso?: boolean;
  tcp?: TcpSettings;
  arp?: ArpSettings;
  udp?: UdpSettings;
  /** ICMP error messages per second at most (RFC 1122 3.2.2; default 100). */
  icmpErrorsPerSec?: number;
  rings?: RingSettings;
}

/** Offload bit of a link that segments TCP itself (assembly/abi/config.ts Offload.TX_TSO). */
const OFFLOAD_TX_TSO = 1 << 3;
/** TX slot bytes when the link does TSO: the largest slot the stack accepts (65536 + 128). */
const TSO_TX_SLOT_BYTES = 65536 + 128;

/** Options after validation, with every default filled in. */
export interface ResolvedOptions {
  link: Link;
  /** Own address, host order (0 with DHCP until a lease is bound). */
  address: number;
  prefix: number;
  gateway: number;
  mac: Uint8Array;
  mtu: number;
  clock: Clock;
  /** True when the stack made the clock (and disposes of it on close). */
  ownsClock: boolean;
  seed: number;
  debug: boolean;
  poll: PollPolicy;
  noDelay: boolean;
  /** Set when the address comes from DHCP. */
  dhcp: { timeoutMs: number; renewAfterMs: number | null } | null;
  /** Config slot values to write, by slot key. */
  slots: Map<string, number>;
}

/** Options that are stack config slots: option path -> slot key. */
const SLOT_OPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  tcp: {
    maxConnections: 'tcpMaxConnections',
    sendBuffer: 'tcpSendBuffer',
    recvBuffer: 'tcpRecvBuffer',
    slabBytes: 'tcpSlabBytes',
    maxOutOfOrderRanges: 'tcpMaxOooRanges',
    minRtoMs: 'tcpMinRtoMs',
    maxRtoMs: 'tcpMaxRtoMs',
    timeWaitMs: 'tcpTimeWaitMs',
    delayedAckMs: 'tcpDelayedAckMs',
    synRetries: 'tcpSynRetries',
    synAckRetries: 'tcpSynAckRetries',
    userTimeoutMs: 'tcpUserTimeoutMs',
    challengeAcksPerSec: 'tcpChallengeAcksPerSec',
  },
  arp: { entries: 'arpEntries', ttlSec: 'arpTtlSec', pendingFrames: 'arpPendingFrames' },
  udp: { maxSockets: 'udpMaxSockets', recvBuffer: 'udpRecvBuffer' },
  rings: { rxSlots: 'rxSlots', txSlots: 'txSlots' },
  '': { icmpErrorsPerSec: 'icmpErrorsPerSec' },
};

/** Options handled by the host, per group (not config slots). */
const HOST_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  tcp: ['ephemeralPorts', 'congestion', 'sack', 'prr', 'rack', 'ecn', 'noDelay', 'fastOpen', 'synCookies'],
  arp: [],
  udp: [],
  rings: [],
  '': ['link', 'address', 'dhcp', 'gateway', 'mac', 'mtu', 'clock', 'seed', 'debug', 'poll', 'tso', 'tcp', 'arp', 'udp', 'rings'],
};

/** Largest slot value the config table takes (0xFFFFFFFF means "unset"). */
const SLOT_MAX = 0xfffffffe;

/** The option path ('options.tcp.sendBuffer') that sets a config slot, for init's errors. */
export function optionForSlot(key: string): string | undefined {
  if (key === 'ephemeralLow' || key === 'ephemeralHigh') return 'options.tcp.ephemeralPorts';
  if (key === 'mtu' || key === 'rxSlotSize' || key === 'txSlotSize') return 'options.mtu';
  if (key === 'ipv4Prefix') return 'options.address';
  for (const [group, slots] of Object.entries(SLOT_OPTIONS)) {
    for (const [name, slot] of Object.entries(slots)) {
      if (slot === key) return group ? `options.${group}.${name}` : `options.${name}`;
    }
  }
  return undefined;
}

/** A wrong type: TypeError with Node's code. */
function typeError(message: string): Error {
  return nodeCodeError('ERR_INVALID_ARG_TYPE', message, TypeError);
}

/** A value out of range: RangeError with Node's code. */
function rangeError(message: string): Error {
  return nodeCodeError('ERR_OUT_OF_RANGE', message, RangeError);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(obj: Record<string, unknown>, group: string): void {
  const known = new Set([...Object.keys(SLOT_OPTIONS[group]), ...HOST_OPTIONS[group]]);
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) {
      const where = group ? `options.${group}` : 'options';
      throw nodeCodeError('ERR_WASM_TCPIP_UNKNOWN_OPTION', `${where}.${key} is not an option of createStack; known: ${[...known].join(', ')}`, TypeError);
    }
  }
}

function integerOption(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw typeError(`${path} must be an integer, got ${describe(value)}`);
  }
  if (value < min || value > max) throw rangeError(`${path} must be from ${min} to ${max}, got ${value}`);
  return value;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (v === null || v === undefined || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return typeof v;
}

function isLink(v: unknown): v is Link {
  if (!isPlainObjectLike(v)) return false;
  const l = v as Record<string, unknown>;
  return ['attach', 'receive', 'transmit', 'pendingUs', 'close'].every((f) => typeof l[f] === 'function')
    && typeof l.mtu === 'number';
}

function isPlainObjectLike(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

function isClock(v: unknown): v is Clock {
  if (!isPlainObjectLike(v)) return false;
  const c = v as Record<string, unknown>;
  return ['nowUs', 'setTimer', 'clearTimer', 'dispose'].every((f) => typeof c[f] === 'function');
}

/** A locally administered unicast MAC derived from the seed and the address (stable). */
export function derivedMac(seed: number, address: number): Uint8Array {
  const h = createHash('sha256').update(`wasm-tcpip mac ${seed} ${formatIpv4(address)}`).digest();
  return Uint8Array.of(0x02, h[0], h[1], h[2], h[3], h[4]);
}

/** Validates `createStack` options and fills defaults; throws TypeError/RangeError naming the option. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (!isPlainObject(options)) throw typeError(`options must be an object like { link, address: '10.0.0.1/24' }, got ${describe(options)}`);
  checkKeys(options, '');
  const o = options as Record<string, unknown>;

  if (!isLink(o.link)) {
    throw typeError('options.link is required: a link such as one end of MemoryLink.pair() (an object with attach, receive, transmit, pendingUs, close and mtu)');
  }
  const link = o.link;

  const dhcp = o.address === 'dhcp' ? resolveDhcp(o.dhcp) : null;
  if (dhcp === null && o.dhcp !== undefined) throw typeError(`options.dhcp applies to address: 'dhcp' only, got address ${describe(o.address)}`);
  const addressMatch = typeof o.address === 'string' ? /^([^/]+)\/(\d{1,2})$/.exec(o.address) : null;
  const address = dhcp ? 0 : addressMatch ? parseIpv4(addressMatch[1]) : null;
  const prefix = dhcp ? 0 : addressMatch ? Number(addressMatch[2]) : NaN;
  if (address === null || !(prefix >= 0 && prefix <= 32)) {
    const message = `options.address must be an IPv4 address with a prefix, like '10.0.0.1/24', got ${describe(o.address)}`;
    throw typeof o.address === 'string' ? nodeCodeError('ERR_INVALID_ARG_VALUE', message, RangeError) : typeError(message);
  }
  if (address === 0 && !dhcp) throw rangeError(`options.address must not be 0.0.0.0, got '${o.address}' (use 'dhcp' to lease an address)`);
  if (dhcp && o.gateway !== undefined) throw rangeError(`options.gateway must be left out with address: 'dhcp': the lease's router becomes the gateway`);

  let gateway = 0;
  if (o.gateway !== undefined) {
    const g = typeof o.gateway === 'string' ? parseIpv4(o.gateway) : null;
    if (g === null) throw typeError(`options.gateway must be an IPv4 address like '10.0.0.254', got ${describe(o.gateway)}`);
    if (!sameNetwork(g, address, prefix) || g === address) {
      throw rangeError(`options.gateway ${o.gateway} must be another address inside ${o.address}`);
    }
    gateway = g;
  }

  let clock: Clock;
  let ownsClock = false;
  if (o.clock === undefined || o.clock === 'real') {
    clock = new RealClock();
    ownsClock = true;
  } else if (isClock(o.clock)) {
    clock = o.clock;
  } else {
    throw typeError(`options.clock must be 'real' or a clock object such as new VirtualClock(), got ${describe(o.clock)}`);
  }

  let seed: number;
  if (o.seed === undefined) seed = clock.virtual ? 0 : randomInt(0, 2 ** 48 - 1);
  else seed = integerOption(o.seed, 'options.seed', 0, Number.MAX_SAFE_INTEGER);

  let mac: Uint8Array;
  if (o.mac !== undefined) {
    const m = typeof o.mac === 'string' ? parseMac(o.mac) : null;
    if (m === null) throw typeError(`options.mac must be a MAC address like '02:00:0a:00:00:01', got ${describe(o.mac)}`);
    if (m[0] & 1) throw rangeError(`options.mac ${o.mac} is a multicast address; use a unicast one (first byte even)`);
    mac = m;
  } else if (link.mac instanceof Uint8Array && link.mac.length === 6) {
    mac = Uint8Array.from(link.mac);
  } else {
    mac = derivedMac(seed, address);
  }

  let mtu = link.mtu;
  if (o.mtu !== undefined) mtu = integerOption(o.mtu, 'options.mtu', 68, Math.min(9000, link.mtu));

  if (o.debug !== undefined && typeof o.debug !== 'boolean') throw typeError(`options.debug must be a boolean, got ${describe(o.debug)}`);
  if (o.poll !== undefined && o.poll !== 'busy' && o.poll !== 'adaptive') {
    throw typeError(`options.poll must be 'busy' or 'adaptive', got ${describe(o.poll)}`);
  }
  if (o.tso !== undefined && typeof o.tso !== 'boolean') throw typeError(`options.tso must be a boolean, got ${describe(o.tso)}`);

  const slots = new Map<string, number>();
  slots.set('ipv4Addr', address);
  slots.set('ipv4Prefix', prefix);
  slots.set('ipv4Gateway', gateway);
  slots.set('macHi', (mac[0] << 8) | mac[1]);
  slots.set('macLo', ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0);
  slots.set('mtu', mtu);
  // Frame slots hold the largest frame: MTU + Ethernet header, an 802.1Q tag and the FCS.
  const slotBytes = Math.max(2048, Math.ceil((mtu + 22) / 64) * 64);
  slots.set('rxSlotSize', slotBytes);
  // A port that segments TCP (TSO) takes frames up to the IPv4 limit: TX slots that large let
  // the stack hand it ~64 KiB at once, unless the user sized the rings themselves or said
  // `tso: false` (the stack is then told the port has no TSO).
  const tso = (link.offloads & OFFLOAD_TX_TSO) !== 0 && o.rings === undefined && o.tso !== false;
  slots.set('txSlotSize', tso ? TSO_TX_SLOT_BYTES : slotBytes);
  // The seed's low word must not be the "unset" marker: that one value moves to bit 31 of the
  // high word, which a safe integer never sets, so distinct seeds stay distinct.
  let seedLo = seed % 2 ** 32;
  let seedHi = Math.floor(seed / 2 ** 32);
  if (seedLo === 0xffffffff) { seedLo = SLOT_MAX; seedHi = (seedHi | 0x80000000) >>> 0; }
  slots.set('seedLo', seedLo);
  slots.set('seedHi', seedHi);
  slots.set('offloads', (tso ? link.offloads : link.offloads & ~OFFLOAD_TX_TSO) >>> 0);
  if (tso && link.tsoLimits) {
    slots.set('tsoMaxWirePacket', link.tsoLimits.maxWirePacket);
    slots.set('tsoMaxSegments', link.tsoLimits.maxSegments);
  }

  let noDelay = false;
  for (const group of Object.keys(SLOT_OPTIONS)) {
    const source = group ? o[group] : o;
    if (source === undefined) continue;
    if (!isPlainObject(source)) throw typeError(`options.${group} must be an object, got ${describe(source)}`);
    if (group) checkKeys(source, group);
    for (const [name, key] of Object.entries(SLOT_OPTIONS[group])) {
      const v = source[name];
      if (v === undefined) continue;
      slots.set(key, integerOption(v, group ? `options.${group}.${name}` : `options.${name}`, 0, SLOT_MAX));
    }
  }
  const tcp = (o.tcp ?? {}) as Record<string, unknown>;
  if (tcp.ephemeralPorts !== undefined) {
    const r = tcp.ephemeralPorts;
    if (!Array.isArray(r) || r.length !== 2) throw typeError(`options.tcp.ephemeralPorts must be [low, high], got ${describe(r)}`);
    const low = integerOption(r[0], 'options.tcp.ephemeralPorts[0]', 1, 65535);
    const high = integerOption(r[1], 'options.tcp.ephemeralPorts[1]', low, 65535);
    slots.set('ephemeralLow', low);
    slots.set('ephemeralHigh', high);
  }
  if (tcp.congestion !== undefined) {
    const algo = typeof tcp.congestion === 'string' ? CONGESTION_ALGORITHMS[tcp.congestion as CongestionControl] : undefined;
    if (algo === undefined) {
      throw rangeError(`options.tcp.congestion must be one of ${Object.keys(CONGESTION_ALGORITHMS).map((k) => `'${k}'`).join(', ')}, got ${describe(tcp.congestion)}`);
    }
    slots.set('tcpCongestion', algo);
  }
  if (tcp.sack !== undefined) {
    if (typeof tcp.sack !== 'boolean') throw typeError(`options.tcp.sack must be a boolean, got ${describe(tcp.sack)}`);
    slots.set('tcpSack', tcp.sack ? 1 : 0);
  }
  if (tcp.prr !== undefined) {
    if (typeof tcp.prr !== 'boolean') throw typeError(`options.tcp.prr must be a boolean, got ${describe(tcp.prr)}`);
    slots.set('tcpPrr', tcp.prr ? 1 : 0);
  }
  if (tcp.rack !== undefined) {
    if (typeof tcp.rack !== 'boolean') throw typeError(`options.tcp.rack must be a boolean, got ${describe(tcp.rack)}`);
    slots.set('tcpRack', tcp.rack ? 1 : 0);
  }
  if (tcp.ecn !== undefined) {
    if (tcp.ecn !== 0 && tcp.ecn !== 1 && tcp.ecn !== 2) {
      throw rangeError(`options.tcp.ecn must be 0 (off), 1 (request and accept) or 2 (accept only), got ${describe(tcp.ecn)}`);
    }
    slots.set('tcpEcn', tcp.ecn);
  }
  if (tcp.fastOpen !== undefined) {
    const bits = tcp.fastOpen === true ? 3 : tcp.fastOpen === false ? 0 : tcp.fastOpen === 'server' ? 2 : tcp.fastOpen === 'client' ? 1 : -1;
    if (bits < 0) throw typeError(`options.tcp.fastOpen must be true, false, 'server' or 'client', got ${describe(tcp.fastOpen)}`);
    // Cfg.TcpFastOpen bits as Linux's tcp_fastopen: 1 client, 2 server.
    slots.set('tcpFastOpen', bits);
    if ((bits & 2) !== 0) {
      // The 128-bit SipHash key of the cookies (RFC 7413 4.1.2): repeatable from the seed on
      // a virtual clock, else random.
      const key = clock.virtual
        ? createHash('sha256').update(`wasm-tcpip tcp fast open key ${seed}`).digest()
        : randomBytes(16);
      for (let i = 0; i < 4; i++) slots.set(`tcpFastOpenKey${i}`, Math.min(key.readUInt32LE(i * 4), SLOT_MAX));
    }
  }
  if (tcp.synCookies !== undefined) {
    if (tcp.synCookies !== 0 && tcp.synCookies !== 1 && tcp.synCookies !== 2) {
      throw rangeError(`options.tcp.synCookies must be 0 (never), 1 (when a SYN queue is full) or 2 (always), got ${describe(tcp.synCookies)}`);
    }
    slots.set('tcpSynCookies', tcp.synCookies);
  }
  if (tcp.noDelay !== undefined) {
    if (typeof tcp.noDelay !== 'boolean') throw typeError(`options.tcp.noDelay must be a boolean, got ${describe(tcp.noDelay)}`);
    noDelay = tcp.noDelay;
  }

  return {
    link,
    address,
    prefix,
    gateway,
    mac,
    mtu,
    clock,
    ownsClock,
    seed,
    debug: o.debug === true,
    poll: (o.poll as PollPolicy | undefined) ?? 'adaptive',
    noDelay,
    dhcp,
    slots,
  };
}

/** The `dhcp` settings of address 'dhcp', defaults filled in. */
function resolveDhcp(value: unknown): { timeoutMs: number; renewAfterMs: number | null } {
  if (value === undefined) return { timeoutMs: DEFAULT_DHCP_TIMEOUT_MS, renewAfterMs: null };
  if (!isPlainObject(value)) throw typeError(`options.dhcp must be an object like { timeoutMs: 30000 }, got ${describe(value)}`);
  for (const key of Object.keys(value)) {
    if (key !== 'timeoutMs' && key !== 'renewAfterMs') {
      throw nodeCodeError('ERR_WASM_TCPIP_UNKNOWN_OPTION', `options.dhcp.${key} is not an option of createStack; known: timeoutMs, renewAfterMs`, TypeError);
    }
  }
  const timeoutMs = value.timeoutMs === undefined ? DEFAULT_DHCP_TIMEOUT_MS : integerOption(value.timeoutMs, 'options.dhcp.timeoutMs', 1, 2 ** 31 - 1);
  const renewAfterMs = value.renewAfterMs === undefined ? null : integerOption(value.renewAfterMs, 'options.dhcp.renewAfterMs', 1, 2 ** 31 - 1);
  return { timeoutMs, renewAfterMs };
}

/** How long createStack waits for a DHCP lease by default. */
const DEFAULT_DHCP_TIMEOUT_MS = 30_000;
