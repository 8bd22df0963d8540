// UDP input (RFC 768, RFC 1122 4.1.3): from a validated IPv4 datagram to a socket's queue.
//
// Guarantees: a datagram is queued only after its length and checksum verify (checksum
// skipped when the port vouched for it, absent when the sender sent 0); it is queued whole
// on the one socket bound to its port and address, or dropped with a named counter. With
// several queues, a unicast datagram no socket here takes, of a flow another queue owns, is
// handed to that queue's worker (frame/handoff.ts; counted in `udp.rx.handed_off` and
// `handoff.out`). A datagram to a port closed on its owning queue gets ICMP Port Unreachable
// (RFC 1122 4.1.3.1) within the ICMP rules and rate limit. The socket is put on the host's
// notify list when it becomes readable.

import { defineCounter, bump } from "../abi/counters";
import { notify, HandleKind } from "../abi/notify";
import { RxFlag } from "../frame/rings";
import { udpParse, udpRepr, UdpError, UDP_HEADER_LEN } from "../wire/udp";
import { ipv4PseudoHeaderSum } from "../wire/checksum";
import { IpProto } from "../wire/ipv4";
import { UnreachCode } from "../wire/icmpv4";
import { ipAddrSetV4 } from "../wire/addr";
import { IP_ADDR_SIZE } from "../wire/addr";
import { icmpSendUnreachable } from "../iface/icmpv4";
import { udpLookup, udpEnqueue } from "./socket";
import { handoffClaim } from "../frame/handoff";

const DROP_TRUNCATED = defineCounter("drop.udp.truncated");
const DROP_BAD_LENGTH = defineCounter("drop.udp.bad_length");
const DROP_BAD_CHECKSUM = defineCounter("drop.udp.bad_checksum");
const DROP_PORT_CLOSED = defineCounter("drop.udp.port_closed");
const DROP_QUEUE_FULL = defineCounter("drop.udp.recv_queue_full");
const DELIVER = defineCounter("deliver.udp");
const HANDED_OFF = defineCounter("udp.rx.handed_off");

/** 16-byte address slots for the datagram being handled. */
const srcSlot = memory.data(IP_ADDR_SIZE, 8);
const dstSlot = memory.data(IP_ADDR_SIZE, 8);

/**
 * Handles the UDP datagram of `len` bytes at `p` from `src` to `dst` (host order); `ip` and
 * `ipLen` are the whole IP datagram (quoted in ICMP errors); `toBroadcast` when `dst` is a
 * broadcast address.
 */
export function udpInput(src: u32, dst: u32, p: usize, len: u32, rxFlags: u32, ip: usize, ipLen: u32, toBroadcast: bool): void {
  if ((rxFlags & RxFlag.L4_CSUM_BAD) != 0) { bump(DROP_BAD_CHECKSUM); return; }
  const verify = (rxFlags & RxFlag.L4_CSUM_GOOD) == 0;
  const r = udpParse(p, len, verify, ipv4PseudoHeaderSum(src, dst, IpProto.UDP, 0), true);
  if (r != 0) {
    bump(r == UdpError.TRUNCATED ? DROP_TRUNCATED : r == UdpError.BAD_LENGTH ? DROP_BAD_LENGTH : DROP_BAD_CHECKSUM);
    return;
  }
  ipAddrSetV4(dstSlot, dst);
  const sock = udpLookup(dstSlot, udpRepr.dstPort);
  if (sock < 0) {
    if (!toBroadcast && handoffClaim(src, dst, udpRepr.srcPort, udpRepr.dstPort)) { bump(HANDED_OFF); return; }
    bump(DROP_PORT_CLOSED);
    if (!toBroadcast) icmpSendUnreachable(UnreachCode.PORT, ip, ipLen);
    return;
  }
  ipAddrSetV4(srcSlot, src);
  if (!udpEnqueue(<u32>sock, p + UDP_HEADER_LEN, udpRepr.payloadLen, srcSlot, udpRepr.srcPort)) {
    bump(DROP_QUEUE_FULL);
    return;
  }
  bump(DELIVER);
  notify(HandleKind.UDP, <u32>sock);
}
