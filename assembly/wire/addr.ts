// Link and network addresses.
//
// Guarantees: an IP address at an API boundary that must outlive IPv4 is a 16-byte value in
// memory (`IP_ADDR_SIZE`), IPv4 held as an IPv4-mapped IPv6 address (RFC 4291 2.5.5.2,
// ::ffff:a.b.c.d), so IPv6 needs no new shape; inside the IPv4 layer an address is a u32 in
// host order. A MAC address is 6 bytes in network order; `MacAddr` keeps one in two
// integers for the config table. Nothing here allocates.

/** Bytes of an IP address slot (IPv4-mapped or IPv6). */
export const IP_ADDR_SIZE: u32 = 16;

export namespace AddrFamily {
  export const IPV4: u32 = 4;
  export const IPV6: u32 = 6;
}

/** Writes IPv4 `addr` (host order) at `slot` as ::ffff:a.b.c.d. */
export function ipAddrSetV4(slot: usize, addr: u32): void {
  store<u64>(slot, 0);
  store<u32>(slot, 0xFFFF0000, 8);
  store<u32>(slot, bswap<u32>(addr), 12);
}

/** The family of the address at `slot`. */
export function ipAddrFamily(slot: usize): u32 {
  return load<u64>(slot) == 0 && load<u32>(slot, 8) == 0xFFFF0000 ? AddrFamily.IPV4 : AddrFamily.IPV6;
}

/** The IPv4 address (host order) held at `slot`; meaningful when the family is IPV4. */
@inline export function ipAddrGetV4(slot: usize): u32 {
  return bswap<u32>(load<u32>(slot, 12));
}

/** True when both 16-byte address slots hold the same address. */
@inline export function ipAddrEquals(a: usize, b: usize): bool {
  return load<u64>(a) == load<u64>(b) && load<u64>(a, 8) == load<u64>(b, 8);
}

// ---- IPv4 (host order) ----

export const IPV4_ANY: u32 = 0;
export const IPV4_BROADCAST: u32 = 0xFFFFFFFF;

/** Class D, 224.0.0.0/4 (RFC 5771). */
@inline export function ipv4IsMulticast(a: u32): bool { return (a >>> 28) == 0xE; }

/** Network mask for a prefix length 0-32. */
@inline export function ipv4Mask(prefix: u32): u32 {
  return prefix == 0 ? 0 : 0xFFFFFFFF << (32 - prefix);
}

/** True when `a` and `b` are in the same `prefix`-bit subnet. */
@inline export function ipv4SameSubnet(a: u32, b: u32, prefix: u32): bool {
  const m = ipv4Mask(prefix);
  return (a & m) == (b & m);
}

/** The directed broadcast address of `a`'s subnet (RFC 919/922); none for /31 and /32 (RFC 3021). */
@inline export function ipv4DirectedBroadcast(a: u32, prefix: u32): u32 {
  return prefix >= 31 ? IPV4_BROADCAST : a | ~ipv4Mask(prefix);
}

/**
 * True when `a` may be a datagram's source (RFC 1122 3.2.1.3): not broadcast, multicast,
 * class E, loopback (127/8, "MUST NOT appear outside a host"), or in 0.0.0.0/8 other than
 * 0.0.0.0 itself (allowed while a host learns its address).
 */
export function ipv4IsValidSource(a: u32): bool {
  if (a == IPV4_ANY) return true;
  const first = a >>> 24;
  if (first == 0 || first == 127) return false;
  return (a >>> 28) < 0xE;
}

// ---- MAC (Ethernet) ----

/** True for ff:ff:ff:ff:ff:ff at `p`. */
@inline export function macIsBroadcast(p: usize): bool {
  return load<u32>(p) == 0xFFFFFFFF && load<u16>(p, 4) == 0xFFFF;
}

/** True when the group bit (I/G, bit 0 of the first byte) is set: multicast or broadcast. */
@inline export function macIsGroup(p: usize): bool {
  return (load<u8>(p) & 1) != 0;
}

/** True when the 6 bytes at `a` and `b` are equal. */
@inline export function macEquals(a: usize, b: usize): bool {
  return load<u32>(a) == load<u32>(b) && load<u16>(a, 4) == load<u16>(b, 4);
}

/** Copies 6 bytes. */
@inline export function macCopy(dst: usize, src: usize): void {
  store<u32>(dst, load<u32>(src));
  store<u16>(dst, load<u16>(src, 4), 4);
}

/** Writes a MAC given as `hi` (bytes 0-1 in the low 16 bits) and `lo` (bytes 2-5), big-endian. */
@inline export function macStore(dst: usize, hi: u32, lo: u32): void {
  store<u16>(dst, bswap<u16>(<u16>hi));
  store<u32>(dst, bswap<u32>(lo), 2);
}

/** The Ethernet multicast MAC for an IPv4 group (RFC 1112 6.4): 01:00:5e + low 23 bits. */
@inline export function macStoreIpv4Multicast(dst: usize, group: u32): void {
  macStore(dst, 0x0100, 0x5E000000 | (group & 0x7FFFFF));
}

/** Writes ff:ff:ff:ff:ff:ff. */
@inline export function macStoreBroadcast(dst: usize): void {
  store<u32>(dst, 0xFFFFFFFF);
  store<u16>(dst, 0xFFFF, 4);
}
