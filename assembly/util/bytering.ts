// A byte ring over a power-of-two buffer (a slab chunk): the storage of a TCP connection's
// send and receive queues.
//
// State (RING_BYTES = 16, at a pointer the owner provides, e.g. inside its TCB):
//
//   0 u32 buf    start of the buffer
//   4 u32 mask   capacity - 1 (capacity a power of two, 1 .. 2^30)
//   8 u32 head   position of the first byte held   (free-running, wraps modulo 2^32)
//  12 u32 tail   position just past the last byte  (length = tail - head <= capacity)
//
// Positions are free-running counters; a position p lives at buf + (p & mask). Two uses:
// - send ring: head is snd.una's byte; bytes [head, tail) are unacknowledged + unsent. TCP
//   reads at an offset from head without consuming (`ringReadAt`, for (re)transmission),
//   consumes on ACK (`ringConsume`); the host writes into `ringWritePtr`/`ringWriteRoom`
//   directly and then `ringCommit`s.
// - receive ring: [head, tail) is in-order data (tail is rcv.nxt's byte). The host reads
//   `ringReadPtr`/`ringReadAvail` in place and `ringConsume`s; TCP writes a segment at an
//   offset past tail (`ringWriteAt`; offset 0 for in-order data, more for out-of-order) and
//   `ringCommit`s the bytes that became in order (assembly/tcp/reassembly.ts says how many).
//
// Guarantees: no function reads or writes outside the buffer; a request that does not fit
// (commit or consume past the data, read past the data, write past the capacity) returns
// false and changes nothing. Contiguous areas never wrap: the second part of a wrapped area
// is offered after the first is committed or consumed. Nothing allocates.

@inline export const RING_BUF: usize = 0;
@inline export const RING_MASK: usize = 4;
@inline export const RING_HEAD: usize = 8;
@inline export const RING_TAIL: usize = 12;
/** Bytes of ring state. */
@inline export const RING_BYTES: u32 = 16;

/** Sets up an empty ring over `capacity` bytes (a power of two) at `buf`. */
export function ringInit(r: usize, buf: usize, capacity: u32): void {
  store<u32>(r, <u32>buf, RING_BUF);
  store<u32>(r, capacity - 1, RING_MASK);
  store<u32>(r, 0, RING_HEAD);
  store<u32>(r, 0, RING_TAIL);
}

@inline function bufOf(r: usize): usize { return <usize>load<u32>(r, RING_BUF); }
@inline function maskOf(r: usize): u32 { return load<u32>(r, RING_MASK); }
@inline function headOf(r: usize): u32 { return load<u32>(r, RING_HEAD); }
@inline function tailOf(r: usize): u32 { return load<u32>(r, RING_TAIL); }

@inline export function ringCapacity(r: usize): u32 { return maskOf(r) + 1; }
/** Bytes held. */
@inline export function ringLength(r: usize): u32 { return tailOf(r) - headOf(r); }
/** Bytes that can still be added. */
@inline export function ringFree(r: usize): u32 { return maskOf(r) + 1 - ringLength(r); }

/** Start of the contiguous free area after the data. */
export function ringWritePtr(r: usize): usize {
  return bufOf(r) + <usize>(tailOf(r) & maskOf(r));
}

/** Length of the contiguous free area at `ringWritePtr` (stops at the buffer's end). */
export function ringWriteRoom(r: usize): u32 {
  const toEnd = maskOf(r) + 1 - (tailOf(r) & maskOf(r));
  const free = ringFree(r);
  return free < toEnd ? free : toEnd;
}

/** Appends the n bytes already written after the data; false (no change) when n > free. */
export function ringCommit(r: usize, n: u32): bool {
  if (n > ringFree(r)) return false;
  store<u32>(r, tailOf(r) + n, RING_TAIL);
  return true;
}

/** Start of the contiguous data at the head. */
export function ringReadPtr(r: usize): usize {
  return bufOf(r) + <usize>(headOf(r) & maskOf(r));
}

/** Length of the contiguous data at `ringReadPtr` (stops at the buffer's end). */
export function ringReadAvail(r: usize): u32 {
  const toEnd = maskOf(r) + 1 - (headOf(r) & maskOf(r));
  const len = ringLength(r);
  return len < toEnd ? len : toEnd;
}

/** Drops n bytes from the head; false (no change) when n > length. */
export function ringConsume(r: usize, n: u32): bool {
  if (n > ringLength(r)) return false;
  store<u32>(r, headOf(r) + n, RING_HEAD);
  return true;
}

/** Copies n bytes starting `offset` bytes past the head to dst; false when past the data. */
export function ringReadAt(r: usize, offset: u32, dst: usize, n: u32): bool {
  const len = ringLength(r);
  if (offset > len || n > len - offset) return false;
  const mask = maskOf(r);
  const at = (headOf(r) + offset) & mask;
  const first = mask + 1 - at < n ? mask + 1 - at : n;
  memory.copy(dst, bufOf(r) + <usize>at, first);
  if (first < n) memory.copy(dst + first, bufOf(r), n - first);
  return true;
}

/**
 * Copies n bytes from src to `offset` bytes past the tail, without committing them; false
 * (no change) when length + offset + n would exceed the capacity.
 */
export function ringWriteAt(r: usize, offset: u32, src: usize, n: u32): bool {
  const free = ringFree(r);
  if (offset > free || n > free - offset) return false;
  const mask = maskOf(r);
  const at = (tailOf(r) + offset) & mask;
  const first = mask + 1 - at < n ? mask + 1 - at : n;
  memory.copy(bufOf(r) + <usize>at, src, first);
  if (first < n) memory.copy(bufOf(r), src + first, n - first);
  return true;
}
