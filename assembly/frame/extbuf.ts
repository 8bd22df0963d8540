// A region of linear memory lent to the native DPDK shim for mbuf data buffers (zero-copy
// receive: the NIC or virtual device writes frames straight into the instance's memory and
// RX descriptors point at them).
//
// Guarantees: reserved at most once, before traffic, from the same heap as every other pool
// (so nothing allocated later can overlap it); aligned as asked (the shim asks for a page) and
// zeroed; it never moves or shrinks, and the stack itself never reads or writes it except
// through RX descriptors the host filled. Reserving may grow memory, so the host refreshes
// its views afterwards.

let regionBase: usize = 0;
let regionBytes: usize = 0;

/**
 * Reserves `bytes` bytes aligned to `align` (a power of two, at most 65536) and returns the
 * address, or 0 when a region was already reserved or the arguments are out of range.
 */
export function extbufReserve(bytes: u32, align: u32): usize {
  if (regionBase != 0) return 0;
  if (bytes == 0 || bytes > 0x40000000) return 0;
  if (align == 0 || align > 65536 || (align & (align - 1)) != 0) return 0;
  const raw = heap.alloc(<usize>bytes + align);
  const base = (raw + align - 1) & ~(<usize>align - 1);
  memory.fill(base, 0, bytes);
  regionBase = base;
  regionBytes = bytes;
  return base;
}

/** Address of the reserved region, 0 when none. */
export function extbufBase(): usize {
  return regionBase;
}

/** Size of the reserved region in bytes, 0 when none. */
export function extbufBytes(): usize {
  return regionBytes;
}
