// Ethernet input and output: the first look at every received frame, the last touch on
// every sent one.
//
// Guarantees: every received frame is either handed to exactly one upper layer (ARP or IPv4)
// or dropped with a named counter; nothing here traps on any byte sequence. A frame is
// accepted when addressed to our MAC or to broadcast; 802.1Q-tagged frames are accepted
// only when priority-tagged (VLAN ID 0, IEEE 802.1Q 9.6), since this stack joins no VLAN.
// Every sent frame is padded to the 60-byte Ethernet minimum before it is committed.

import { defineCounter, bump } from "../abi/counters";
import { cfg, Cfg } from "../abi/config";
import { txCommit } from "../frame/rings";
import { ethernetParse, ethRepr, EtherType, ETH_DST, ETH_SRC } from "../wire/ethernet";
import { macEquals, macIsBroadcast, macIsGroup, macStore } from "../wire/addr";
import { arpInput } from "./arp";
import { ipv4Input } from "./ipv4";

const RX_FRAMES = defineCounter("eth.rx.frames");
const DROP_TRUNCATED = defineCounter("drop.eth.truncated");
const DROP_OTHER_HOST = defineCounter("drop.eth.other_host");
const DROP_MULTICAST = defineCounter("drop.eth.multicast");
const DROP_BAD_SOURCE = defineCounter("drop.eth.bad_source");
const DROP_VLAN = defineCounter("drop.eth.vlan");
const DROP_IPV6 = defineCounter("drop.eth.ipv6_unsupported");
const DROP_LLC = defineCounter("drop.eth.llc");
const DROP_ETHERTYPE = defineCounter("drop.eth.ethertype");

/** Smallest Ethernet frame without FCS (IEEE 802.3 minimum 64 bytes with it). */
export const ETH_MIN_FRAME: u32 = 60;

/** Our MAC address, 6 bytes (8 reserved), set at init from Cfg.MacHi/MacLo. */
let ownMac: usize = 0;

/** True while the frame being processed was sent to the broadcast MAC (RFC 1122 3.3.6). */
let rxLinkBroadcast = false;

export function ethernetInit(): void {
  ownMac = heap.alloc(8);
  store<u64>(ownMac, 0);
  macStore(ownMac, cfg(Cfg.MacHi), cfg(Cfg.MacLo));
}

/** Address of our 6-byte MAC. */
@inline export function ethOwnMac(): usize { return ownMac; }

/** True when the frame now being handled arrived as a link-layer broadcast. */
@inline export function ethRxWasLinkBroadcast(): bool { return rxLinkBroadcast; }

/** Handles one received frame at `frame` (`len` bytes) with the port's RX flags. */
export function ethernetInput(frame: usize, len: u32, flags: u32, rss: u32): void {
  bump(RX_FRAMES);
  const headerLen = ethernetParse(frame, len);
  if (headerLen < 0) { bump(DROP_TRUNCATED); return; }
  if (macIsGroup(frame + ETH_SRC)) { bump(DROP_BAD_SOURCE); return; }
  const dst = frame + ETH_DST;
  if (macIsBroadcast(dst)) {
    rxLinkBroadcast = true;
  } else if (macEquals(dst, ownMac)) {
    rxLinkBroadcast = false;
  } else {
    bump(macIsGroup(dst) ? DROP_MULTICAST : DROP_OTHER_HOST);
    return;
  }
  // IEEE 802.1Q: VLAN ID 0 carries only a priority; any other VLAN (or a stacked tag) is not ours.
  if (ethRepr.tagged && (ethRepr.vlanId != 0 || ethRepr.stacked)) { bump(DROP_VLAN); return; }
  const etherType = ethRepr.etherType;
  const payload = frame + <usize>headerLen;
  const payloadLen = len - <u32>headerLen;
  if (etherType == EtherType.IPV4) ipv4Input(payload, payloadLen, flags);
  else if (etherType == EtherType.ARP) arpInput(payload, payloadLen);
  else if (etherType == EtherType.IPV6) bump(DROP_IPV6);
  else if (etherType < 0x0600) bump(DROP_LLC);
  else bump(DROP_ETHERTYPE);
}

/**
 * Pads a frame written in the TX slot from `txReserve` to the Ethernet minimum and commits
 * it with its offload flags and header lengths.
 */
export function ethernetCommit(frame: usize, len: u32, flags: u32, l2: u32, l3: u32, l4: u32, tsoMss: u32): void {
  if (len < ETH_MIN_FRAME) {
    memory.fill(frame + len, 0, ETH_MIN_FRAME - len);
    len = ETH_MIN_FRAME;
  }
  txCommit(len, flags, l2, l3, l4, tsoMss);
}
