// ICMP errors about UDP datagrams we sent (RFC 1122 4.1.3.3: "UDP MUST pass to the
// application layer all ICMP error messages that it receives from the IP layer").
//
// Guarantees: an error is matched to the socket bound to the quoted datagram's source port
// (the quote must hold its IP header from our address and the first 8 bytes of UDP), turned
// into the errno Linux uses for it (icmp_err_convert: port unreachable ECONNREFUSED, ...),
// kept on the socket until the host takes it with `udpTakeError`, and the socket is put on
// the notify list. Source quench (deprecated, RFC 6633) and unmatched errors change nothing
// and are counted. Nothing allocates; nothing traps on any quoted bytes.

import { defineCounter, bump } from "../abi/counters";
import { notify, HandleKind } from "../abi/notify";
import { cfg, Cfg } from "../abi/config";
import { IcmpType } from "../wire/icmpv4";
import { IpProto, IPV4_HEADER_LEN, IP_VER_IHL, IP_PROTO, IP_SRC } from "../wire/ipv4";
import { UDP_HEADER_LEN, UDP_SRC_PORT } from "../wire/udp";
import { IP_ADDR_SIZE, ipAddrSetV4 } from "../wire/addr";
import { udpLookup, udpSetError } from "./socket";

const RX_ERROR = defineCounter("udp.rx.icmp_error");
const RX_ERROR_UNMATCHED = defineCounter("udp.rx.icmp_error_unmatched");

namespace Errno {
  export const ENONET: u32 = 64;
  export const EPROTO: u32 = 71;
  export const EMSGSIZE: u32 = 90;
  export const ENOPROTOOPT: u32 = 92;
  export const EOPNOTSUPP: u32 = 95;
  export const ENETUNREACH: u32 = 101;
  export const ECONNREFUSED: u32 = 111;
  export const EHOSTDOWN: u32 = 112;
  export const EHOSTUNREACH: u32 = 113;
}

/** Destination unreachable codes 0-15 to errno, as Linux's icmp_err_convert table. */
function unreachableErrno(code: u8): u32 {
  switch (code) {
    case 0: case 6: case 9: case 11: return Errno.ENETUNREACH;
    case 2: return Errno.ENOPROTOOPT;
    case 3: return Errno.ECONNREFUSED;
    case 4: return Errno.EMSGSIZE;
    case 5: return Errno.EOPNOTSUPP;
    case 7: return Errno.EHOSTDOWN;
    case 8: return Errno.ENONET;
    default: return Errno.EHOSTUNREACH;
  }
}

const localSlot = memory.data(IP_ADDR_SIZE, 8);

/**
 * An ICMP error of `type`/`code` quoting `quoteLen` bytes at `quote` (the offending datagram,
 * from its IP header); anything but a UDP datagram from our address is not UDP's business.
 */
export function udpIcmpError(type: u8, code: u8, quote: usize, quoteLen: u32): void {
  if (quoteLen < IPV4_HEADER_LEN) return;
  const headerLen = (<u32>load<u8>(quote, IP_VER_IHL) & 0xF) << 2;
  if (headerLen < IPV4_HEADER_LEN || quoteLen < headerLen + UDP_HEADER_LEN) return;
  if (load<u8>(quote, IP_PROTO) != IpProto.UDP) return;
  const local = bswap<u32>(load<u32>(quote, IP_SRC));
  if (local != cfg(Cfg.Ipv4Addr)) return;
  let errno: u32;
  if (type == IcmpType.DEST_UNREACHABLE) errno = unreachableErrno(code);
  else if (type == IcmpType.TIME_EXCEEDED) errno = Errno.EHOSTUNREACH;
  else if (type == IcmpType.PARAMETER_PROBLEM) errno = Errno.EPROTO;
  else return;
  ipAddrSetV4(localSlot, local);
  const port = bswap<u16>(load<u16>(quote + headerLen, UDP_SRC_PORT));
  const sock = udpLookup(localSlot, port);
  if (sock < 0) { bump(RX_ERROR_UNMATCHED); return; }
  bump(RX_ERROR);
  udpSetError(<u32>sock, errno);
  notify(HandleKind.UDP, <u32>sock);
}
