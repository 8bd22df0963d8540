// Ethernet II frames (IEEE 802.3 with EtherType), with 802.1Q / 802.1ad tags recognised.
//
// Guarantees: `ethernetParse` checks the length once and reads nothing beyond it; it never
// traps. It recognises one 802.1Q (0x8100) or 802.1ad (0x88A8) tag and reports a second,
// stacked tag (Q-in-Q) without reading past it. `ethernetEmit` writes an untagged header.
//
//   0        6        12     14
//   +--------+--------+------+----------
//   | dst    | src    | type | payload            untagged
//   +--------+--------+------+------+------+-----
//   | dst    | src    | TPID | TCI  | type | payload   802.1Q: TCI = PCP(3) DEI(1) VID(12)
//   +--------+--------+------+------+------+-----

@inline export const ETH_DST: u32 = 0;
@inline export const ETH_SRC: u32 = 6;
@inline export const ETH_TYPE: u32 = 12;
@inline export const ETH_VLAN_TCI: u32 = 14;
@inline export const ETH_VLAN_TYPE: u32 = 16;
export const ETH_HEADER_LEN: u32 = 14;
export const ETH_VLAN_HEADER_LEN: u32 = 18;

export namespace EtherType {
  export const IPV4: u16 = 0x0800;
  export const ARP: u16 = 0x0806;
  export const VLAN: u16 = 0x8100;
  export const QINQ: u16 = 0x88A8;
  export const IPV6: u16 = 0x86DD;
}

export namespace EthError {
  export const TRUNCATED: i32 = -1;
}

/** The parsed view of the last frame given to `ethernetParse`. */
@unmanaged export class EthernetRepr {
  /** EtherType of the payload (after any tag). */
  etherType: u16 = 0;
  /** True when an 802.1Q/802.1ad tag was present. */
  tagged: bool = false;
  /** True when a second tag follows the first (Q-in-Q); the payload is then not parsed. */
  stacked: bool = false;
  /** VLAN ID (12 bits) of the outer tag; 0 for priority-tagged or untagged frames. */
  vlanId: u16 = 0;
  /** Priority code point (3 bits) of the outer tag. */
  pcp: u8 = 0;
  /** Bytes before the payload: 14 untagged, 18 tagged. */
  headerLen: u32 = 0;
}

export const ethRepr = new EthernetRepr();

@inline function isTagType(t: u16): bool { return t == EtherType.VLAN || t == EtherType.QINQ; }

/** Parses the frame header into `ethRepr`; returns the header length or `EthError.TRUNCATED`. */
export function ethernetParse(frame: usize, len: u32): i32 {
  if (len < ETH_HEADER_LEN) return EthError.TRUNCATED;
  const outer = bswap<u16>(load<u16>(frame, ETH_TYPE));
  if (!isTagType(outer)) {
    ethRepr.etherType = outer;
    ethRepr.tagged = false;
    ethRepr.stacked = false;
    ethRepr.vlanId = 0;
    ethRepr.pcp = 0;
    ethRepr.headerLen = ETH_HEADER_LEN;
    return <i32>ETH_HEADER_LEN;
  }
  if (len < ETH_VLAN_HEADER_LEN) return EthError.TRUNCATED;
  const tci = bswap<u16>(load<u16>(frame, ETH_VLAN_TCI));
  const inner = bswap<u16>(load<u16>(frame, ETH_VLAN_TYPE));
  ethRepr.etherType = inner;
  ethRepr.tagged = true;
  ethRepr.stacked = isTagType(inner);
  ethRepr.vlanId = tci & 0x0FFF;
  ethRepr.pcp = <u8>(tci >>> 13);
  ethRepr.headerLen = ETH_VLAN_HEADER_LEN;
  return <i32>ETH_VLAN_HEADER_LEN;
}

/** Writes an untagged header: destination and source MACs copied from `dstMac`/`srcMac`. */
export function ethernetEmit(frame: usize, dstMac: usize, srcMac: usize, etherType: u16): void {
  store<u32>(frame, load<u32>(dstMac), ETH_DST);
  store<u16>(frame, load<u16>(dstMac, 4), ETH_DST + 4);
  store<u32>(frame, load<u32>(srcMac), ETH_SRC);
  store<u16>(frame, load<u16>(srcMac, 4), ETH_SRC + 4);
  store<u16>(frame, bswap<u16>(etherType), ETH_TYPE);
}

/** Writes an 802.1Q-tagged header (tests and VLAN-aware senders); returns 18. */
export function ethernetEmitTagged(frame: usize, dstMac: usize, srcMac: usize, vlanId: u16, pcp: u8, etherType: u16): u32 {
  ethernetEmit(frame, dstMac, srcMac, EtherType.VLAN);
  store<u16>(frame, bswap<u16>(<u16>((<u32>pcp & 7) << 13 | (<u32>vlanId & 0x0FFF))), ETH_VLAN_TCI);
  store<u16>(frame, bswap<u16>(etherType), ETH_VLAN_TYPE);
  return ETH_VLAN_HEADER_LEN;
}
