// Test-only entry: the wire formats (assembly/wire/*, TCP aside) with their parse results,
// exposed to tests/wire.test.mjs. Compiled to build/wire-test.wasm; never part of the stack.
//
// Bytes go in and out through the scratch area at `scratchPtr()` (`SCRATCH_SIZE` bytes).
// Each `*Parse` fills its module's repr; the getters below read the repr's fields.

import { ethRepr } from "../wire/ethernet";
import { ipv4Repr } from "../wire/ipv4";
import { arpRepr } from "../wire/arp";
import { icmpv4Repr } from "../wire/icmpv4";
import { udpRepr } from "../wire/udp";

export {
  checksumSum, checksumUpdate16, checksumUpdate32, pseudoHeaderSum,
} from "../wire/checksum";
export { ethernetParse, ethernetEmit, ethernetEmitTagged } from "../wire/ethernet";
export { ipv4Parse } from "../wire/ipv4";
export { arpParse, arpEmit } from "../wire/arp";
export { icmpv4Parse, icmpv4EmitEcho, icmpv4EmitError, icmpIsError } from "../wire/icmpv4";
export { udpParse, udpEmitHeader } from "../wire/udp";
export { ipAddrSetV4, ipAddrFamily, ipAddrGetV4, ipv4DirectedBroadcast, ipv4IsValidSource } from "../wire/addr";

import { ipv4PseudoHeaderSum as pseudoV4, checksumFinish as finish } from "../wire/checksum";
import { ipv4EmitHeader as emitIpv4 } from "../wire/ipv4";

const SCRATCH_SIZE: u32 = 1 << 20;
const scratch = heap.alloc(SCRATCH_SIZE);

export function scratchPtr(): usize { return scratch; }
export function scratchSize(): u32 { return SCRATCH_SIZE; }

export function ipv4PseudoHeaderSum(src: u32, dst: u32, proto: u32, len: u32): u32 { return pseudoV4(src, dst, proto, len); }
export function checksumFinish(sum: u32): u32 { return finish(sum); }
/** ipv4EmitHeader with every argument explicit (JS cannot leave out an optional one). */
export function ipv4EmitHeader(
  p: usize, src: u32, dst: u32, protocol: u8, ttl: u8, ident: u16, dontFragment: bool,
  payloadLen: u32, withChecksum: bool, tos: u8,
): void {
  emitIpv4(p, src, dst, protocol, ttl, ident, dontFragment, payloadLen, withChecksum, tos);
}

export function ethType(): u32 { return ethRepr.etherType; }
export function ethTagged(): bool { return ethRepr.tagged; }
export function ethStacked(): bool { return ethRepr.stacked; }
export function ethVlanId(): u32 { return ethRepr.vlanId; }
export function ethPcp(): u32 { return ethRepr.pcp; }
export function ethHeaderLen(): u32 { return ethRepr.headerLen; }

export function ipSrc(): u32 { return ipv4Repr.src; }
export function ipDst(): u32 { return ipv4Repr.dst; }
export function ipProtocol(): u32 { return ipv4Repr.protocol; }
export function ipTtl(): u32 { return ipv4Repr.ttl; }
export function ipTos(): u32 { return ipv4Repr.tos; }
export function ipIdent(): u32 { return ipv4Repr.ident; }
export function ipDontFragment(): bool { return ipv4Repr.dontFragment; }
export function ipMoreFragments(): bool { return ipv4Repr.moreFragments; }
export function ipFragOffset(): u32 { return ipv4Repr.fragOffset; }
export function ipHeaderLen(): u32 { return ipv4Repr.headerLen; }
export function ipTotalLen(): u32 { return ipv4Repr.totalLen; }

export function arpOperation(): u32 { return arpRepr.operation; }
export function arpSenderMac(): usize { return arpRepr.senderMac; }
export function arpSenderIp(): u32 { return arpRepr.senderIp; }
export function arpTargetMac(): usize { return arpRepr.targetMac; }
export function arpTargetIp(): u32 { return arpRepr.targetIp; }

export function icmpType(): u32 { return icmpv4Repr.type; }
export function icmpCode(): u32 { return icmpv4Repr.code; }
export function icmpIdent(): u32 { return icmpv4Repr.ident; }
export function icmpSeq(): u32 { return icmpv4Repr.seq; }
export function icmpRest(): u32 { return icmpv4Repr.rest; }
export function icmpDataLen(): u32 { return icmpv4Repr.dataLen; }

export function udpSrcPort(): u32 { return udpRepr.srcPort; }
export function udpDstPort(): u32 { return udpRepr.dstPort; }
export function udpPayloadLen(): u32 { return udpRepr.payloadLen; }
export function udpHasChecksum(): bool { return udpRepr.hasChecksum; }
