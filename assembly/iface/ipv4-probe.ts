// Address conflict detection before using an address (RFC 5227 2.1, asked for by RFC 2131
// 4.4.1 after a DHCPACK): ARP probes for a candidate address, and whether anyone else uses it.
//
// Guarantees:
// - `ipv4ProbeStart(addr)` begins watching `addr` (host order) afresh; 0 stops watching (the
//   host does so once the address is ours, when our own ARP carries it).
// - `ipv4ProbeSend()` queues one ARP probe for it, sent in the next burst (`ipv4ProbeFlush`,
//   from the stack's timers; `ipv4ProbeDeadline` says a burst is due): a broadcast request
//   with our MAC, sender IP 0.0.0.0, target MAC zero, target IP the address (RFC 5227
//   2.1.1). Returns 0, or -EINVAL when nothing is watched. A probe still waiting for TX room
//   when the next is asked for is sent once.
// - While watching, `ipv4ProbeConflict()` is 1 once an ARP packet showed the address in use
//   (RFC 5227 2.1.1): any request or reply whose sender IP is `addr`, or another host's probe
//   (sender IP 0, another MAC) for `addr`. iface/arp.ts shows every valid ARP packet to
//   `ipv4ProbeObserve` first. The host times the probes (PROBE_WAIT, PROBE_NUM, ANNOUNCE_WAIT
//   are its business: src/dhcp/client.ts).
// - Nothing allocates or traps.

import { defineCounter, bump } from "../abi/counters";
import { txReserve } from "../frame/rings";
import { now, NEVER } from "../util/time";
import { arpEmit, ArpOp, ARP_PACKET_LEN } from "../wire/arp";
import { ethernetEmit, EtherType, ETH_HEADER_LEN, ETH_DST } from "../wire/ethernet";
import { macStoreBroadcast } from "../wire/addr";
import { ethOwnMac, ethernetCommit } from "./ethernet";

const TX_PROBE = defineCounter("arp.tx.conflict_probe");
const CONFLICT = defineCounter("arp.rx.conflict_seen");

const EINVAL: i32 = 22;

/** Six zero bytes: the target hardware address of a probe. */
const ZERO_MAC = memory.data(8);

/** The address being probed (0: none) and whether a conflict was seen for it. */
let probed: u32 = 0;
let conflict: u32 = 0;
/** A probe asked for and not sent yet. */
let pending = false;

/** Watches `addr` for conflicts from now on (0: stop). */
export function ipv4ProbeStart(addr: u32): void {
  probed = addr;
  conflict = 0;
  pending = false;
}

/** Queues one ARP probe for the watched address. */
export function ipv4ProbeSend(): i32 {
  if (probed == 0) return -EINVAL;
  pending = true;
  return 0;
}

/** When a burst has a probe to send: now, or NEVER. */
export function ipv4ProbeDeadline(): i64 { return pending ? now() : NEVER; }

/** Sends the queued probe if the TX ring has room (called in every burst). */
export function ipv4ProbeFlush(): void {
  if (!pending) return;
  const addr = probed;
  const frame = txReserve();
  if (frame == 0) return;
  pending = false;
  const own = ethOwnMac();
  macStoreBroadcast(frame + ETH_DST);
  ethernetEmit(frame, frame + ETH_DST, own, EtherType.ARP);
  arpEmit(frame + ETH_HEADER_LEN, ArpOp.REQUEST, own, 0, ZERO_MAC, addr);
  ethernetCommit(frame, ETH_HEADER_LEN + ARP_PACKET_LEN, 0, 0, 0, 0, 0);
  bump(TX_PROBE);
}

/** 1 when the address last probed is in use by someone else, else 0. */
export function ipv4ProbeConflict(): u32 { return conflict; }

/** Looks at one valid ARP packet for the address being probed (called by iface/arp.ts). */
export function ipv4ProbeObserve(senderIp: u32, targetIp: u32, senderMac: usize): void {
  if (probed == 0 || conflict != 0) return;
  const own = ethOwnMac();
  const fromUs = load<u32>(senderMac) == load<u32>(own) && load<u16>(senderMac, 4) == load<u16>(own, 4);
  if (senderIp == probed || (senderIp == 0 && targetIp == probed && !fromUs)) {
    conflict = 1;
    bump(CONFLICT);
  }
}
