// IPv4 input and output (RFC 791, RFC 1122 3.2.1 and 3.3).
//
// Input guarantees: a datagram reaches an upper layer only after its header has been
// validated (`ipv4Parse`: length, version, IHL, total length, checksum unless the port
// vouched for it), it is addressed to us or to a broadcast address, its source could be a
// host (RFC 1122 3.2.1.3) and it is not a fragment. Fragments are dropped with a counter that
// says so (`drop.ipv4.fragment_no_reassembly`): this stack does no reassembly (its TCP sets
// DF and its MSS fits the MTU). TCP segments have their checksum verified here
// (pseudo-header, RFC 9293 3.1) before `tcpInput`, which then gets RxFlag.L4_CSUM_GOOD.
// Everything else is dropped with a named counter; nothing traps.
//
// Unconfigured (address 0, before a DHCP lease; RFC 2131 4.1, RFC 1122 3.3.6): input takes
// datagrams to 255.255.255.255, and unicast ones only when they are UDP to port 68 (the
// server may answer to the offered address before the client has it, which Linux's DHCP
// clients accept through a raw socket); others are dropped as `drop.ipv4.unconfigured`.
// Output is only UDP to 255.255.255.255 from 0.0.0.0 (to the broadcast MAC, no ARP);
// anything else is -ENETUNREACH, so no ICMP error leaves either. ARP answers nothing while
// we have no address (iface/arp.ts: a request must target our address).
//
// Output API (used by TCP, UDP, ICMP). Between the two calls nothing else may be sent:
//
//   const l4 = ipv4OutputBegin(dst, proto);   // 0: no buffer now, retry at the next poll
//   if (l4 != 0) { write the L4 header + data at l4; const r = ipv4OutputFinish(l4Len); }
//
//   `ipv4OutputBegin` routes (on-link, or the gateway, or broadcast/multicast) and returns a
//   place in a TX slot when the next hop's MAC is known, or in an ARP pending buffer while it
//   is being resolved. `ipv4OutputFinish` writes the Ethernet and IPv4 headers and the L4
//   checksum (software, or left to the port when Cfg.Offloads says it can) and sends or queues:
//   0 sent, 1 queued until ARP answers, -ENETUNREACH no route (off-link without a gateway,
//   or our own address: there is no loopback), -EHOSTUNREACH resolution failed, -EMSGSIZE
//   larger than the MTU allows.

import { defineCounter, bump } from "../abi/counters";
import { cfg, Cfg, Offload } from "../abi/config";
import { txReserve, RxFlag, TxFlag } from "../frame/rings";
import {
  ipv4Parse, ipv4EmitHeader, ipv4Repr, ipv4IsFragment, Ipv4Error, IpProto, IPV4_HEADER_LEN,
} from "../wire/ipv4";
import { ethernetEmit, EtherType, ETH_HEADER_LEN, ETH_DST } from "../wire/ethernet";
import {
  checksumSum, checksumAdd, checksumFinish, ipv4PseudoHeaderSum,
} from "../wire/checksum";
import {
  ipv4IsMulticast, ipv4SameSubnet, ipv4DirectedBroadcast, ipv4IsValidSource, IPV4_BROADCAST,
  macCopy, macStoreBroadcast, macStoreIpv4Multicast,
} from "../wire/addr";
import { UDP_CSUM } from "../wire/udp";
import { ICMP_CSUM, UnreachCode } from "../wire/icmpv4";
import { allocAligned, txMaxFrame } from "../frame/rings";
import { ethOwnMac, ethernetCommit, ethRxWasLinkBroadcast } from "./ethernet";
import {
  arpFind, arpResolve, arpDrainBeforeSend, arpFailureReported, arpNoteUse, arpState, arpMac, arpPendingReserve, arpPendingCommit, ArpState,
} from "./arp";
import { icmpInput, icmpSendUnreachable } from "./icmpv4";
import { udpInput } from "../udp/input";
import { tcpInput } from "../tcp/input";

const DROP_TRUNCATED = defineCounter("drop.ipv4.truncated");
const DROP_BAD_VERSION = defineCounter("drop.ipv4.bad_version");
const DROP_BAD_IHL = defineCounter("drop.ipv4.bad_ihl");
const DROP_TOTAL_LENGTH = defineCounter("drop.ipv4.total_length_exceeds_frame");
const DROP_BAD_CHECKSUM = defineCounter("drop.ipv4.bad_checksum");
const DROP_BAD_SOURCE = defineCounter("drop.ipv4.bad_source");
const DROP_NOT_FOR_US = defineCounter("drop.ipv4.not_for_us");
const DROP_UNCONFIGURED = defineCounter("drop.ipv4.unconfigured");
const DROP_MULTICAST = defineCounter("drop.ipv4.multicast_not_joined");
const DROP_LINK_BROADCAST = defineCounter("drop.ipv4.unicast_in_link_broadcast");
const DROP_FRAGMENT = defineCounter("drop.ipv4.fragment_no_reassembly");
const DROP_UNKNOWN_PROTOCOL = defineCounter("drop.ipv4.unknown_protocol");
const DROP_TCP_BROADCAST = defineCounter("drop.ipv4.tcp_to_broadcast");
const DROP_TCP_CHECKSUM = defineCounter("drop.ipv4.tcp_bad_checksum");
const DELIVER_TCP = defineCounter("deliver.tcp");
const TX_PACKETS = defineCounter("ipv4.tx.packets");
const TX_QUEUED = defineCounter("ipv4.tx.queued_for_arp");
const TX_DROP_NO_ROUTE = defineCounter("drop.ipv4_tx.no_route");
const TX_DROP_HOST_UNREACHABLE = defineCounter("drop.ipv4_tx.host_unreachable");
const TX_DROP_PENDING_FULL = defineCounter("drop.ipv4_tx.arp_pending_full");
const TX_DROP_TOO_BIG = defineCounter("drop.ipv4_tx.too_big");

/** Linux errno values returned (negated) by `ipv4OutputFinish`. */
export namespace Errno {
  export const EMSGSIZE: i32 = 90;
  export const ENOBUFS: i32 = 105;
  export const ENETUNREACH: i32 = 101;
  export const EHOSTUNREACH: i32 = 113;
}

/** TTL of every datagram we originate (RFC 1700 default, as Linux). */
export const DEFAULT_TTL: u8 = 64;

/** Where the L4 header goes: after a 14-byte Ethernet header and a 20-byte IPv4 header. */
const L4_OFFSET: u32 = ETH_HEADER_LEN + IPV4_HEADER_LEN;

let nextIdent: u16 = 0;
/** A frame-sized scratch buffer for output that cannot be sent (its error is reported by Finish). */
let scratch: usize = 0;

// The output in progress between Begin and Finish.
let outFrame: usize = 0;
let outDst: u32 = 0;
let outProto: u8 = 0;
/** 0 to a TX slot, 1 to a pending buffer, or a negative errno to report at Finish. */
let outStatus: i32 = 0;
let outArpEntry: u32 = 0;
/** Type of service of the datagram in progress: 0 unless `ipv4OutputSetTos` says otherwise. */
let outTos: u8 = 0;
/** Why the last Begin returned 0: true for a full TX ring (retry), false for a full ARP pool. */
let outRingFull = false;

export function ipv4Init(): void {
  nextIdent = <u16>(cfg(Cfg.SeedLo) ^ (cfg(Cfg.SeedHi) >>> 16));
  scratch = allocAligned(txMaxFrame(), 64);
}

/** Our IPv4 address (host order); 0 when none is configured. */
export function ipv4LocalAddr(): u32 { return cfg(Cfg.Ipv4Addr); }

/** Largest L4 length (header + data) of one unfragmented datagram to `dst`: MTU - 20. */
export function ipv4MaxPayload(dst: u32): u32 { return cfg(Cfg.Mtu) - IPV4_HEADER_LEN; }

/**
 * Largest L4 length (header + data) of one TCP datagram the port segments (TSO): what a TX
 * slot holds after the Ethernet and IPv4 headers, and at most what the IPv4 total length
 * field can say (RFC 791 3.1). Only meaningful when Cfg.Offloads has TX_TSO.
 */
export function ipv4MaxSegmentedPayload(): u32 {
  const slot = txMaxFrame() > L4_OFFSET ? txMaxFrame() - L4_OFFSET : 0;
  const field: u32 = 0xFFFF - IPV4_HEADER_LEN;
  return slot < field ? slot : field;
}

/** True when `a` is the limited broadcast or our subnet's directed broadcast (none unconfigured). */
export function ipv4IsBroadcast(a: u32): bool {
  if (a == IPV4_BROADCAST) return true;
  const local = cfg(Cfg.Ipv4Addr);
  const prefix = cfg(Cfg.Ipv4Prefix);
  return local != 0 && prefix < 31 && a == ipv4DirectedBroadcast(local, prefix);
}

/** The UDP port a DHCP client listens on (RFC 2131 4.1). */
const DHCP_CLIENT_PORT: u16 = 68;

/** Unconfigured, the one thing that may leave: UDP to the limited broadcast (a DHCP client's). */
@inline function unconfiguredMaySend(dst: u32, proto: u8): bool {
  return dst == IPV4_BROADCAST && proto == IpProto.UDP;
}

/**
 * Starts a datagram to `dst` carrying `proto`; returns where the L4 header must be written,
 * or 0 when no buffer can be had now (TX ring full: retry at the next poll; or the ARP
 * pending pool is full: counted in drop.ipv4_tx.arp_pending_full). When there is no route or
 * the neighbour is unreachable a scratch buffer is returned and Finish reports the error.
 */
export function ipv4OutputBegin(dst: u32, proto: u8): usize {
  outFrame = 0;
  outDst = dst;
  outProto = proto;
  outTos = 0;
  if (cfg(Cfg.Ipv4Addr) == 0 && !unconfiguredMaySend(dst, proto)) return fail(-Errno.ENETUNREACH);
  if (ipv4IsBroadcast(dst)) return toSlotWithMac(0, true, dst);
  if (ipv4IsMulticast(dst)) return toSlotWithMac(0, false, dst);
  const nextHop = nextHopFor(dst);
  if (nextHop == 0) return fail(-Errno.ENETUNREACH);
  const entry = <u32>arpFind(nextHop, true);
  const state = arpState(entry);
  if (state == ArpState.REACHABLE) arpNoteUse(entry);
  if (state == ArpState.REACHABLE && !arpDrainBeforeSend(entry)) return toSlotWithMac(arpMac(entry), false, dst);
  if (state == ArpState.FAILED) {
    arpFailureReported(entry);
    return fail(-Errno.EHOSTUNREACH);
  }
  arpResolve(entry);
  const frame = arpPendingReserve(entry);
  if (frame == 0) { bump(TX_DROP_PENDING_FULL); outRingFull = false; return 0; }
  outFrame = frame;
  outStatus = 1;
  outArpEntry = entry;
  return frame + L4_OFFSET;
}

/**
 * What `ipv4OutputFinish` would answer for `dst`, without sending anything: 0 when a datagram
 * can be routed (now or after ARP), -ENETUNREACH with no route, -EHOSTUNREACH when the next
 * hop's resolution failed (which, after the hold, also starts it again: see iface/arp.ts).
 */
export function ipv4RouteCheck(dst: u32): i32 {
  if (cfg(Cfg.Ipv4Addr) == 0) return -Errno.ENETUNREACH;
  if (ipv4IsBroadcast(dst) || ipv4IsMulticast(dst)) return 0;
  const nextHop = nextHopFor(dst);
  if (nextHop == 0) return -Errno.ENETUNREACH;
  const entry = arpFind(nextHop, false);
  if (entry < 0 || arpState(<u32>entry) != ArpState.FAILED) return 0;
  arpFailureReported(<u32>entry);
  return -Errno.EHOSTUNREACH;
}

/** `ipv4RouteCheck` for a UDP datagram: unconfigured, the limited broadcast is routable too. */
export function ipv4UdpRouteCheck(dst: u32): i32 {
  if (cfg(Cfg.Ipv4Addr) == 0 && unconfiguredMaySend(dst, IpProto.UDP)) return 0;
  return ipv4RouteCheck(dst);
}

/**
 * The next hop for unicast `dst`: itself when on-link, else the gateway; 0 when there is none.
 * Our own address has none: this stack has no loopback path, and asking the wire who has our
 * address would only fail after 3 s.
 */
function nextHopFor(dst: u32): u32 {
  const local = cfg(Cfg.Ipv4Addr);
  if (dst == local) return 0;
  return ipv4SameSubnet(dst, local, cfg(Cfg.Ipv4Prefix)) ? dst : cfg(Cfg.Ipv4Gateway);
}

/** Sets the TOS byte of the datagram in progress (between Begin and Finish). */
export function ipv4OutputSetTos(tos: u8): void { outTos = tos; }

/** True when the last `ipv4OutputBegin` that returned 0 did so because the TX ring was full. */
export function ipv4OutputRingFull(): bool { return outRingFull; }

function fail(errno: i32): usize {
  outFrame = scratch;
  outStatus = errno;
  return scratch + L4_OFFSET;
}

/** Output into a TX slot, destination MAC from `mac`, or broadcast, or the group's multicast MAC. */
function toSlotWithMac(mac: usize, broadcast: bool, dst: u32): usize {
  const frame = txReserve();
  if (frame == 0) { outRingFull = true; return 0; }
  if (mac != 0) macCopy(frame + ETH_DST, mac);
  else if (broadcast) macStoreBroadcast(frame + ETH_DST);
  else macStoreIpv4Multicast(frame + ETH_DST, dst);
  outFrame = frame;
  outStatus = 0;
  return frame + L4_OFFSET;
}

/**
 * Completes the datagram started by `ipv4OutputBegin` with `l4Len` bytes of L4 header and
 * data. `tsoMss` > 0 asks the port to segment a TCP payload larger than the MTU (only when
 * Cfg.Offloads has TX_TSO). `l4ChecksumDone` says the caller already stored the L4 checksum
 * (ICMP messages built with their checksum; TCP/UDP computed here otherwise).
 * Returns 0 sent, 1 queued awaiting ARP, or a negative errno (-ENOBUFS when there is no
 * datagram in progress: Begin returned 0).
 */
export function ipv4OutputFinish(l4Len: u32, tsoMss: u32 = 0, l4ChecksumDone: bool = false): i32 {
  // Finish without a buffer (Begin returned 0, or this datagram was already finished) sends nothing.
  if (outFrame == 0) return -Errno.ENOBUFS;
  if (outStatus < 0) {
    outFrame = 0;
    bump(outStatus == -Errno.ENETUNREACH ? TX_DROP_NO_ROUTE : TX_DROP_HOST_UNREACHABLE);
    return outStatus;
  }
  const offloads = cfg(Cfg.Offloads);
  const tso = tsoMss > 0 && outProto == IpProto.TCP && (offloads & Offload.TX_TSO) != 0;
  if ((!tso && l4Len > ipv4MaxPayload(outDst)) || L4_OFFSET + l4Len > txMaxFrame() || IPV4_HEADER_LEN + l4Len > 0xFFFF) {
    bump(TX_DROP_TOO_BIG);
    outFrame = 0;
    return -Errno.EMSGSIZE;
  }
  const frame = outFrame;
  outFrame = 0;
  const src = cfg(Cfg.Ipv4Addr);
  ethernetEmit(frame, frame + ETH_DST, ethOwnMac(), EtherType.IPV4);
  const ipOffload = (offloads & Offload.TX_IPV4_CSUM) != 0;
  // RFC 1122 3.3.5 / RFC 1191: TCP sets DF (path MTU discovery); UDP and ICMP may be fragmented on the way.
  ipv4EmitHeader(frame + ETH_HEADER_LEN, src, outDst, outProto, DEFAULT_TTL, nextIdent++,
    outProto == IpProto.TCP, l4Len, !ipOffload, outTos);
  let flags: u32 = TxFlag.IPV4 | (ipOffload ? TxFlag.IP_CSUM : 0);
  const l4 = frame + L4_OFFSET;
  let l4HeaderLen: u32 = 0;
  if (outProto == IpProto.TCP) {
    l4HeaderLen = l4Len >= 20 ? (<u32>load<u8>(l4, 12) >>> 4) << 2 : 0;
    if (tso || (offloads & Offload.TX_TCP_CSUM) != 0) {
      // DPDK's convention: the checksum field holds the pseudo-header sum, without the
      // length when segmenting (the port adds each segment's own).
      const pseudo = ipv4PseudoHeaderSum(src, outDst, IpProto.TCP, tso ? 0 : l4Len);
      store<u16>(l4, bswap<u16>(<u16>pseudo), TCP_CSUM);
      flags |= TxFlag.TCP_CSUM | (tso ? TxFlag.TSO : 0);
    } else if (!l4ChecksumDone) {
      store<u16>(l4, 0, TCP_CSUM);
      const pseudo = ipv4PseudoHeaderSum(src, outDst, IpProto.TCP, l4Len);
      store<u16>(l4, bswap<u16>(checksumFinish(checksumAdd(checksumSum(l4, l4Len), pseudo))), TCP_CSUM);
    }
  } else if (outProto == IpProto.UDP) {
    l4HeaderLen = 8;
    if ((offloads & Offload.TX_UDP_CSUM) != 0) {
      const pseudo = ipv4PseudoHeaderSum(src, outDst, IpProto.UDP, l4Len);
      store<u16>(l4, bswap<u16>(<u16>pseudo), UDP_CSUM);
      flags |= TxFlag.UDP_CSUM;
    } else if (!l4ChecksumDone) {
      store<u16>(l4, 0, UDP_CSUM);
      const pseudo = ipv4PseudoHeaderSum(src, outDst, IpProto.UDP, l4Len);
      let c = checksumFinish(checksumAdd(checksumSum(l4, l4Len), pseudo));
      // RFC 768: a computed checksum of zero is sent as all ones (zero means "none").
      if (c == 0) c = 0xFFFF;
      store<u16>(l4, bswap<u16>(c), UDP_CSUM);
    }
  } else if (outProto == IpProto.ICMP && !l4ChecksumDone) {
    store<u16>(l4, 0, ICMP_CSUM);
    store<u16>(l4, bswap<u16>(checksumFinish(checksumSum(l4, l4Len))), ICMP_CSUM);
  }
  const len = L4_OFFSET + l4Len;
  const tsoSize = tso ? tsoMss : 0;
  if (outStatus == 1) {
    arpPendingCommit(outArpEntry, len, flags, ETH_HEADER_LEN, IPV4_HEADER_LEN, l4HeaderLen, tsoSize);
    bump(TX_QUEUED);
    return 1;
  }
  ethernetCommit(frame, len, flags, ETH_HEADER_LEN, IPV4_HEADER_LEN, l4HeaderLen, tsoSize);
  bump(TX_PACKETS);
  return 0;
}

/**
 * Unconfigured, a unicast datagram is taken only when it is UDP to the DHCP client port
 * (RFC 2131 4.1: the server may send its OFFER/ACK to the offered address). `l4`/`l4Len` are
 * the datagram's payload; UDP input checks the rest of the header.
 */
function unconfiguredAccepts(proto: u8, l4: usize, l4Len: u32): bool {
  return proto == IpProto.UDP && l4Len >= 8 && bswap<u16>(load<u16>(l4, 2)) == DHCP_CLIENT_PORT;
}

/** Offset of the TCP checksum field (RFC 9293 3.1). */
const TCP_CSUM: u32 = 16;

/**
 * The ECN field (RFC 3168 5: the low two bits of the TOS byte) of the datagram being
 * delivered; valid while its upper-layer input runs (TCP reads it, RFC 3168 6.1.3).
 */
export function ipv4InputEcn(): u32 { return <u32>ipv4Repr.tos & 3; }

/** Handles one IPv4 datagram (`len` bytes after the Ethernet header) with the port's RX flags. */
export function ipv4Input(p: usize, len: u32, rxFlags: u32): void {
  if ((rxFlags & RxFlag.IP_CSUM_BAD) != 0) { bump(DROP_BAD_CHECKSUM); return; }
  const headerLen = ipv4Parse(p, len, (rxFlags & RxFlag.IP_CSUM_GOOD) == 0);
  if (headerLen < 0) {
    if (headerLen == Ipv4Error.TRUNCATED) bump(DROP_TRUNCATED);
    else if (headerLen == Ipv4Error.BAD_VERSION) bump(DROP_BAD_VERSION);
    else if (headerLen == Ipv4Error.BAD_IHL) bump(DROP_BAD_IHL);
    else if (headerLen == Ipv4Error.TOTAL_LENGTH_EXCEEDS_FRAME) bump(DROP_TOTAL_LENGTH);
    else bump(DROP_BAD_CHECKSUM);
    return;
  }
  const src = ipv4Repr.src;
  const dst = ipv4Repr.dst;
  const proto = ipv4Repr.protocol;
  const local = cfg(Cfg.Ipv4Addr);
  // RFC 1122 3.2.1.3; 0.0.0.0 only for UDP (a host learning its address, e.g. DHCP); our own
  // address from the wire is a spoof or a loop (a "martian" to Linux).
  if (!ipv4IsValidSource(src) || ipv4IsBroadcast(src) || (src == 0 && proto != IpProto.UDP) || (src == local && local != 0)) {
    bump(DROP_BAD_SOURCE);
    return;
  }
  const broadcast = ipv4IsBroadcast(dst);
  if (!broadcast) {
    if (ipv4IsMulticast(dst)) { bump(DROP_MULTICAST); return; }
    if (local == 0) {
      if (!unconfiguredAccepts(proto, p + <usize>headerLen, ipv4Repr.totalLen - <u32>headerLen)) { bump(DROP_UNCONFIGURED); return; }
    } else if (dst != local) { bump(DROP_NOT_FOR_US); return; }
    // RFC 1122 3.3.6: a unicast datagram that came in a link-layer broadcast is discarded.
    if (ethRxWasLinkBroadcast()) { bump(DROP_LINK_BROADCAST); return; }
  }
  if (ipv4IsFragment()) { bump(DROP_FRAGMENT); return; }
  const payload = p + <usize>headerLen;
  const payloadLen = ipv4Repr.totalLen - <u32>headerLen;
  if (proto == IpProto.TCP) {
    if (broadcast) { bump(DROP_TCP_BROADCAST); return; }
    if ((rxFlags & RxFlag.L4_CSUM_BAD) != 0) { bump(DROP_TCP_CHECKSUM); return; }
    if ((rxFlags & RxFlag.L4_CSUM_GOOD) == 0) {
      const pseudo = ipv4PseudoHeaderSum(src, dst, IpProto.TCP, payloadLen);
      if (checksumFinish(checksumAdd(checksumSum(payload, payloadLen), pseudo)) != 0) {
        bump(DROP_TCP_CHECKSUM);
        return;
      }
    }
    bump(DELIVER_TCP);
    tcpInput(src, dst, payload, payloadLen, rxFlags | RxFlag.L4_CSUM_GOOD);
  } else if (proto == IpProto.UDP) {
    udpInput(src, dst, payload, payloadLen, rxFlags, p, ipv4Repr.totalLen, broadcast);
  } else if (proto == IpProto.ICMP) {
    icmpInput(src, dst, payload, payloadLen, p, broadcast);
  } else {
    bump(DROP_UNKNOWN_PROTOCOL);
    // RFC 1122 3.2.2.1: a host SHOULD send Protocol Unreachable.
    icmpSendUnreachable(UnreachCode.PROTOCOL, p, ipv4Repr.totalLen);
  }
}
