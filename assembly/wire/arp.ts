// ARP packets for Ethernet and IPv4 (RFC 826).
//
// Guarantees: `arpParse` checks the length once, then accepts only hardware type 1
// (Ethernet), protocol type 0x0800, address lengths 6 and 4, and opcodes 1 (request) and
// 2 (reply); anything else is reported, never traps. The repr keeps pointers to the MAC
// fields inside the packet (valid while the frame is), and IPv4 addresses in host order.
//
//   0      2      4    5    6      8       14      18      24      28
//   +------+------+----+----+------+-------+-------+-------+-------+
//   | htype| ptype|hlen|plen| oper | SHA   | SPA   | THA   | TPA   |
//   +------+------+----+----+------+-------+-------+-------+-------+

import { macCopy } from "./addr";

@inline export const ARP_HTYPE: u32 = 0;
@inline export const ARP_PTYPE: u32 = 2;
@inline export const ARP_HLEN: u32 = 4;
@inline export const ARP_PLEN: u32 = 5;
@inline export const ARP_OPER: u32 = 6;
@inline export const ARP_SHA: u32 = 8;
@inline export const ARP_SPA: u32 = 14;
@inline export const ARP_THA: u32 = 18;
@inline export const ARP_TPA: u32 = 24;
export const ARP_PACKET_LEN: u32 = 28;

export namespace ArpOp {
  export const REQUEST: u16 = 1;
  export const REPLY: u16 = 2;
}

export namespace ArpError {
  export const TRUNCATED: i32 = -1;
  /** Not Ethernet/IPv4 (hardware or protocol type, or address lengths). */
  export const UNSUPPORTED_TYPE: i32 = -2;
  /** Opcode other than request or reply (e.g. RARP). */
  export const BAD_OPCODE: i32 = -3;
}

@unmanaged export class ArpRepr {
  operation: u16 = 0;
  /** Address of the sender hardware address (6 bytes) inside the packet. */
  senderMac: usize = 0;
  /** Sender protocol address, host order. */
  senderIp: u32 = 0;
  /** Address of the target hardware address (6 bytes) inside the packet. */
  targetMac: usize = 0;
  /** Target protocol address, host order. */
  targetIp: u32 = 0;
}

export const arpRepr = new ArpRepr();

/** Parses the ARP packet of `len` bytes at `p` into `arpRepr`; returns 0 or an `ArpError`. */
export function arpParse(p: usize, len: u32): i32 {
  if (len < ARP_PACKET_LEN) return ArpError.TRUNCATED;
  if (bswap<u16>(load<u16>(p, ARP_HTYPE)) != 1 || bswap<u16>(load<u16>(p, ARP_PTYPE)) != 0x0800 ||
      load<u8>(p, ARP_HLEN) != 6 || load<u8>(p, ARP_PLEN) != 4) {
    return ArpError.UNSUPPORTED_TYPE;
  }
  const op = bswap<u16>(load<u16>(p, ARP_OPER));
  if (op != ArpOp.REQUEST && op != ArpOp.REPLY) return ArpError.BAD_OPCODE;
  arpRepr.operation = op;
  arpRepr.senderMac = p + ARP_SHA;
  arpRepr.senderIp = bswap<u32>(load<u32>(p, ARP_SPA));
  arpRepr.targetMac = p + ARP_THA;
  arpRepr.targetIp = bswap<u32>(load<u32>(p, ARP_TPA));
  return 0;
}

/** Writes a 28-byte Ethernet/IPv4 ARP packet at `p`. MACs are copied from the given addresses. */
export function arpEmit(p: usize, op: u16, senderMac: usize, senderIp: u32, targetMac: usize, targetIp: u32): void {
  store<u16>(p, bswap<u16>(1), ARP_HTYPE);
  store<u16>(p, bswap<u16>(0x0800), ARP_PTYPE);
  store<u8>(p, 6, ARP_HLEN);
  store<u8>(p, 4, ARP_PLEN);
  store<u16>(p, bswap<u16>(op), ARP_OPER);
  macCopy(p + ARP_SHA, senderMac);
  store<u32>(p, bswap<u32>(senderIp), ARP_SPA);
  macCopy(p + ARP_THA, targetMac);
  store<u32>(p, bswap<u32>(targetIp), ARP_TPA);
}
