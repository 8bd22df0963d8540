// Stack configuration: a flat table of u32 slots the host fills before `init()`.
//
// Guarantees: every slot has a documented default (applied by `init` when the host leaves
// it 0xFFFFFFFF, the "unset" marker), is validated once at init, and is read-only after,
// except the three IPv4 address slots, which `configSetIpv4` changes at run time (DHCP:
// assembly/iface/ipv4-configure.ts is its one caller).
// The slot names are exported to the host as a string (`configKeys`), so the table is
// defined here and only here.

import { ccAlgoBuilt } from "../tcp/cc/hooks";

/** Marker the host writes for "use the default". */
export const UNSET: u32 = 0xFFFFFFFF;

export enum Cfg {
  /** Own MAC address, bytes 0-1 (big-endian in the low 16 bits). */
  MacHi,
  /** Own MAC address, bytes 2-5 (big-endian). */
  MacLo,
  /** Own IPv4 address (host order). 0 = none. */
  Ipv4Addr,
  /** IPv4 prefix length, 0-32. */
  Ipv4Prefix,
  /** IPv4 default gateway (host order), 0 = none: off-link destinations are unreachable. */
  Ipv4Gateway,
  /** Link MTU in bytes (IP packet size), 68-9000. */
  Mtu,
  /** RX ring slots, 1-4096. */
  RxSlots,
  /** TX ring slots, 1-4096. */
  TxSlots,
  /** Bytes per RX slot (largest frame received), >= MTU + 18. */
  RxSlotSize,
  /** Bytes per TX slot (largest frame sent; larger than MTU only with TSO). */
  TxSlotSize,
  /** Seed, low 32 bits (ISNs, ephemeral ports, jitter: RFC 6528, RFC 6056). */
  SeedLo,
  /** Seed, high 32 bits. */
  SeedHi,
  /** Offloads the port does for us: bit set of `Offload`. */
  Offloads,
  /** ARP table entries. */
  ArpEntries,
  /** Lifetime of a learned ARP entry, seconds. */
  ArpTtlSec,
  /** Frames queued per stack while their next hop is being resolved. */
  ArpPendingFrames,
  /** ICMP errors sent per second at most (RFC 1122 3.2.2 rate limiting). */
  IcmpErrorsPerSec,
  /** TCP connections at most (connection table size). */
  TcpMaxConnections,
  /** TCP send ring bytes per connection (default). */
  TcpSendBuffer,
  /** TCP receive ring bytes per connection (default). */
  TcpRecvBuffer,
  /** Total bytes of the buffer slab shared by live connections' rings. */
  TcpSlabBytes,
  /** UDP sockets at most. */
  UdpMaxSockets,
  /** UDP receive queue bytes per socket. */
  UdpRecvBuffer,
  /** Number of slots in the host notification list (sockets that changed). */
  NotifySlots,
  /** Lowest ephemeral port (RFC 6056). Default 49152: the IANA dynamic range (RFC 6335 6). */
  EphemeralLow,
  /** Highest ephemeral port, >= EphemeralLow. Default 65535. */
  EphemeralHigh,
  /** Out-of-order ranges kept per TCP connection (holes in the receive ring), 1-1024. */
  TcpMaxOooRanges,
  /** Minimum TCP retransmission timeout, ms. Default 200, as Linux (RFC 6298 2.4 says 1000). */
  TcpMinRtoMs,
  /** Maximum TCP retransmission timeout, ms (RFC 6298 2.5: at least 60 s). Default 120000. */
  TcpMaxRtoMs,
  /** TIME-WAIT duration (2*MSL, RFC 9293 3.6.1), ms; also the orphaned FIN-WAIT-2 limit. Default 60000, as Linux. */
  TcpTimeWaitMs,
  /** Delayed-ACK timer, ms (RFC 1122 4.2.3.2: at most 500). Default 40, as Linux's minimum. */
  TcpDelayedAckMs,
  /** SYN retransmissions before connect fails with ETIMEDOUT. Default 6, as Linux. */
  TcpSynRetries,
  /** SYN-ACK retransmissions before a half-open connection is dropped. Default 5, as Linux. */
  TcpSynAckRetries,
  /** Default user timeout (RFC 9293 3.8.3), ms: unacknowledged data older than this fails the connection. Default 900000. */
  TcpUserTimeoutMs,
  /** Challenge ACKs (RFC 5961 7) sent per second at most, all connections together. Default 1000. */
  TcpChallengeAcksPerSec,
  /**
   * Largest packet a TSO piece may make on the wire, Ethernet header included (0 = a full
   * MSS): for ports whose segmentation counts L2 against the MTU (DPDK's net_tap).
   */
  TsoMaxWirePacket,
  /** Most pieces one TSO frame may be cut into (0 = no limit but the frame size). */
  TsoMaxSegments,
  /** Congestion control of new connections: a CcAlgo id (assembly/tcp/cc/hooks.ts). Default 1, NewReno. */
  TcpCongestion,
  /** 1: offer and accept SACK (RFC 2018) on new connections; 0: never. Default 1. */
  TcpSack,
  /**
   * TCP Fast Open (RFC 7413), bits as Linux's net.ipv4.tcp_fastopen: 1 = client (connections
   * that opt in with TcpOpt.FASTOPEN request cookies and send data in SYNs with one), 2 =
   * server (listeners that opt in with tcpListenFastOpen answer cookie requests and take data
   * on SYNs with a valid cookie), 3 = both. Default 0.
   */
  TcpFastOpen,
  /** Fast Open cookie key (SipHash-2-4, 128 bits), words 0-3; the host fills them (seed or random). */
  TcpFastOpenKey0,
  TcpFastOpenKey1,
  TcpFastOpenKey2,
  TcpFastOpenKey3,
  /**
   * ECN (RFC 3168) on new connections, as Linux's net.ipv4.tcp_ecn: 0 never; 1 request it on
   * outgoing connections and accept it on incoming ones; 2 accept it only. Default 2.
   */
  TcpEcn,
  /** Client Fast Open cookie cache entries (servers remembered, RFC 7413 4.1.3), 0-65536. Default 64. */
  TcpFastOpenCacheEntries,
  /**
   * SYN cookies (RFC 4987 3.6, assembly/tcp/syncookie.ts), as Linux's net.ipv4.tcp_syncookies:
   * 0 never (a SYN finding the SYN queue full is dropped); 1 when the SYN queue is full;
   * 2 for every SYN. Default 1.
   */
  TcpSynCookies,
  /**
   * 1: Proportional Rate Reduction (RFC 6937, assembly/tcp/cc/prr.ts) decides what goes out
   * during fast recovery and recovery ends with cwnd = ssthresh; 0: RFC 6582 window inflation
   * / RFC 6675 cwnd - pipe, and RFC 6582's exit window. Default 0.
   */
  TcpPrr,
  /**
   * 1: RFC 8985 RACK-TLP loss detection (assembly/tcp/rack.ts, tlp.ts): with SACK, segments
   * are found lost by send time (a later-sent one delivered and a reordering window passed);
   * with or without SACK, a tail loss probe goes out after about two round trips instead of
   * waiting for the RTO. 0: RFC 6675 / RFC 6582 loss detection and the RTO only. Default 1,
   * as Linux (net.ipv4.tcp_recovery = 1).
   */
  TcpRack,
  /** Count of slots; not a slot. */
  COUNT,
}

/** Offload capabilities of the port (Cfg.Offloads) and per-frame flags share these bits. */
export namespace Offload {
  export const TX_IPV4_CSUM: u32 = 1 << 0;
  export const TX_TCP_CSUM: u32 = 1 << 1;
  export const TX_UDP_CSUM: u32 = 1 << 2;
  export const TX_TSO: u32 = 1 << 3;
  export const RX_CSUM: u32 = 1 << 4;
}

// Names in slot order, exported for the host (src/wasm/abi.ts reads them).
const CONFIG_KEYS =
  "macHi,macLo,ipv4Addr,ipv4Prefix,ipv4Gateway,mtu,rxSlots,txSlots,rxSlotSize,txSlotSize," +
  "seedLo,seedHi,offloads,arpEntries,arpTtlSec,arpPendingFrames,icmpErrorsPerSec," +
  "tcpMaxConnections,tcpSendBuffer,tcpRecvBuffer,tcpSlabBytes,udpMaxSockets,udpRecvBuffer," +
  "notifySlots,ephemeralLow,ephemeralHigh,tcpMaxOooRanges,tcpMinRtoMs,tcpMaxRtoMs," +
  "tcpTimeWaitMs,tcpDelayedAckMs,tcpSynRetries,tcpSynAckRetries,tcpUserTimeoutMs,tcpChallengeAcksPerSec," +
  "tsoMaxWirePacket,tsoMaxSegments,tcpCongestion,tcpSack," +
  "tcpFastOpen,tcpFastOpenKey0,tcpFastOpenKey1,tcpFastOpenKey2,tcpFastOpenKey3,tcpEcn,tcpFastOpenCacheEntries," +
  "tcpSynCookies,tcpPrr,tcpRack";

/** Defaults, in slot order. */
const DEFAULTS: StaticArray<u32> = [
  0x0200, 0x00000001, 0, 24, 0, 1500, 256, 256, 2048, 2048,
  0, 0, 0, 256, 60, 64, 100,
  1024, 256 * 1024, 256 * 1024, 64 * 1024 * 1024, 64, 256 * 1024,
  2048, 49152, 65535, 64, 200, 120000,
  60000, 40, 6, 5, 900000, 1000,
  0, 0, 1, 1,
  0, 0, 0, 0, 0,
  2, 64,
  1, 0,
  1,
];

// The table itself, in static memory so its address is fixed before init.
const table = new StaticArray<u32>(Cfg.COUNT);

export function configTablePtr(): usize {
  return changetype<usize>(table);
}

export function configKeys(): string {
  return CONFIG_KEYS;
}

@inline export function cfg(slot: Cfg): u32 {
  return unchecked(table[slot]);
}

/** Sets the IPv4 address, prefix and gateway slots after init (validated by the caller). */
export function configSetIpv4(addr: u32, prefix: u32, gateway: u32): void {
  unchecked(table[Cfg.Ipv4Addr] = addr);
  unchecked(table[Cfg.Ipv4Prefix] = prefix);
  unchecked(table[Cfg.Ipv4Gateway] = gateway);
}

/** Reset the table to "unset" so the host only writes what it sets. */
export function configReset(): void {
  for (let i = 0; i < Cfg.COUNT; i++) unchecked(table[i] = UNSET);
}

/** Error codes of `init`; the host maps them to messages naming the slot. */
export enum ConfigError {
  OK = 0,
  BAD_MTU = 1,
  BAD_PREFIX = 2,
  BAD_RING = 3,
  BAD_SLOT_SIZE = 4,
  BAD_LIMIT = 5,
  ALREADY_INITIALISED = 6,
}

/** Fills defaults and checks ranges; returns the slot index + 1 of the first bad slot, 0 if fine. */
export function configValidate(): i32 {
  assert(DEFAULTS.length == Cfg.COUNT);
  for (let i = 0; i < Cfg.COUNT; i++) {
    if (unchecked(table[i]) == UNSET) unchecked(table[i] = DEFAULTS[i]);
  }
  const mtu = cfg(Cfg.Mtu);
  if (mtu < 68 || mtu > 9000) return Cfg.Mtu + 1;
  if (cfg(Cfg.Ipv4Prefix) > 32) return Cfg.Ipv4Prefix + 1;
  if (cfg(Cfg.RxSlots) < 1 || cfg(Cfg.RxSlots) > 4096) return Cfg.RxSlots + 1;
  if (cfg(Cfg.TxSlots) < 1 || cfg(Cfg.TxSlots) > 4096) return Cfg.TxSlots + 1;
  if (cfg(Cfg.RxSlotSize) < mtu + 18 || cfg(Cfg.RxSlotSize) > 65536) return Cfg.RxSlotSize + 1;
  if (cfg(Cfg.TxSlotSize) < mtu + 18 || cfg(Cfg.TxSlotSize) > 65536 + 128) return Cfg.TxSlotSize + 1;
  if (cfg(Cfg.ArpEntries) < 1 || cfg(Cfg.ArpEntries) > 65536) return Cfg.ArpEntries + 1;
  if (cfg(Cfg.ArpPendingFrames) > 65536) return Cfg.ArpPendingFrames + 1;
  if (cfg(Cfg.TcpMaxConnections) > 1 << 20) return Cfg.TcpMaxConnections + 1;
  if (cfg(Cfg.TcpSendBuffer) < 1024 || cfg(Cfg.TcpSendBuffer) > 1 << 30) return Cfg.TcpSendBuffer + 1;
  if (cfg(Cfg.TcpRecvBuffer) < 1024 || cfg(Cfg.TcpRecvBuffer) > 1 << 30) return Cfg.TcpRecvBuffer + 1;
  if (cfg(Cfg.UdpMaxSockets) > 65536) return Cfg.UdpMaxSockets + 1;
  if (cfg(Cfg.NotifySlots) < 16) return Cfg.NotifySlots + 1;
  if (cfg(Cfg.TcpSlabBytes) < 1024 || cfg(Cfg.TcpSlabBytes) > 1 << 30) return Cfg.TcpSlabBytes + 1;
  if (cfg(Cfg.EphemeralLow) < 1 || cfg(Cfg.EphemeralLow) > 65535) return Cfg.EphemeralLow + 1;
  if (cfg(Cfg.EphemeralHigh) < cfg(Cfg.EphemeralLow) || cfg(Cfg.EphemeralHigh) > 65535) return Cfg.EphemeralHigh + 1;
  if (cfg(Cfg.TcpMaxOooRanges) < 1 || cfg(Cfg.TcpMaxOooRanges) > 1024) return Cfg.TcpMaxOooRanges + 1;
  if (cfg(Cfg.TcpMaxRtoMs) < 1000 || cfg(Cfg.TcpMaxRtoMs) > 3600000) return Cfg.TcpMaxRtoMs + 1;
  if (cfg(Cfg.TcpMinRtoMs) < 1 || cfg(Cfg.TcpMinRtoMs) > cfg(Cfg.TcpMaxRtoMs)) return Cfg.TcpMinRtoMs + 1;
  if (cfg(Cfg.TcpTimeWaitMs) < 1 || cfg(Cfg.TcpTimeWaitMs) > 3600000) return Cfg.TcpTimeWaitMs + 1;
  if (cfg(Cfg.TcpDelayedAckMs) < 1 || cfg(Cfg.TcpDelayedAckMs) > 500) return Cfg.TcpDelayedAckMs + 1;
  if (cfg(Cfg.TcpSynRetries) < 1 || cfg(Cfg.TcpSynRetries) > 127) return Cfg.TcpSynRetries + 1;
  if (cfg(Cfg.TcpSynAckRetries) < 1 || cfg(Cfg.TcpSynAckRetries) > 127) return Cfg.TcpSynAckRetries + 1;
  if (cfg(Cfg.TcpUserTimeoutMs) < 1000 || cfg(Cfg.TcpUserTimeoutMs) > 86400000) return Cfg.TcpUserTimeoutMs + 1;
  if (cfg(Cfg.TcpChallengeAcksPerSec) < 1) return Cfg.TcpChallengeAcksPerSec + 1;
  if (cfg(Cfg.TsoMaxWirePacket) > 65535) return Cfg.TsoMaxWirePacket + 1;
  if (!ccAlgoBuilt(cfg(Cfg.TcpCongestion))) return Cfg.TcpCongestion + 1;
  if (cfg(Cfg.TcpFastOpen) > 3) return Cfg.TcpFastOpen + 1;
  if (cfg(Cfg.TcpFastOpenCacheEntries) > 65536) return Cfg.TcpFastOpenCacheEntries + 1;
  if (cfg(Cfg.TcpSack) > 1) return Cfg.TcpSack + 1;
  if (cfg(Cfg.TcpEcn) > 2) return Cfg.TcpEcn + 1;
  if (cfg(Cfg.TcpPrr) > 1) return Cfg.TcpPrr + 1;
  if (cfg(Cfg.TcpSynCookies) > 2) return Cfg.TcpSynCookies + 1;
  if (cfg(Cfg.TcpRack) > 1) return Cfg.TcpRack + 1;
  return 0;
}
