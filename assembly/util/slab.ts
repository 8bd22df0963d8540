// The buffer slab: one region of Cfg.TcpSlabBytes, allocated at init, from which connections
// take their send and receive rings and give them back when freed, so memory follows live
// connections rather than the configured maximum (DESIGN.md "Memory").
//
// It is a binary buddy allocator. Size classes are powers of two from 1 KiB (order 0) up
// to the region; each class has a free list. An allocation takes a chunk of the smallest
// class that fits, splitting a larger chunk in halves when its own list is empty; a free
// merges a chunk with its buddy (the other half of the same parent) while the buddy is free,
// so after any churn that frees everything the region is back to its starting chunks.
//
// Layout:
//
//   region  [ chunk | chunk | ...                                       ]  slabBytes
//            ^ a free chunk stores its list links in its first 8 bytes: next, prev (u32)
//   marks   [ u8 per 1 KiB block ]  0 = not the first block of a chunk,
//                                   FREE | order = first block of a free chunk,
//                                   USED | order = first block of an allocated chunk
//
// A region that is not a power of two is cut into the largest aligned power-of-two chunks
// that fit (its binary decomposition); its last KiB fraction is unused.
//
// Guarantees: `slabAlloc` returns a chunk of at least `size` bytes aligned to 1 KiB within
// the region, or 0 (counted in `slab.exhausted`); chunks never overlap; `slabFree` checks
// that the pointer is the start of an allocated chunk of that size class, and ignores (and
// counts in `slab.bad_free`) anything else instead of corrupting the lists. Nothing allocates
// after `slabInit`. Chunk contents are not cleared.

import { defineCounter, bump } from "../abi/counters";

const SLAB_EXHAUSTED = defineCounter("slab.exhausted");
const SLAB_BAD_FREE = defineCounter("slab.bad_free");

/** log2 of the smallest chunk. */
@inline export const SLAB_MIN_SHIFT: u32 = 10;
/** Smallest chunk, bytes. */
@inline export const SLAB_MIN_CHUNK: u32 = 1 << SLAB_MIN_SHIFT;
/** Orders 0..20: 1 KiB .. 1 GiB (Cfg.TcpSlabBytes is at most 1 GiB). */
@inline export const SLAB_ORDERS: u32 = 21;

@inline const FREE: u8 = 0x40;
@inline const USED: u8 = 0x80;
@inline const ORDER_MASK: u8 = 0x3F;
@inline const LINK_NEXT: usize = 0;
@inline const LINK_PREV: usize = 4;

let base: usize = 0;
let regionBytes: u32 = 0;
let marks: usize = 0;
let freeBytes: u32 = 0;
const heads = new StaticArray<u32>(SLAB_ORDERS);   // first free chunk per order, 0 = none
const freeCount = new StaticArray<u32>(SLAB_ORDERS);
let usedChunks: u32 = 0;

/** Allocates the region (bytes rounded down to 1 KiB) and its mark map; call once at init. */
export function slabInit(bytes: u32): void {
  regionBytes = bytes & ~(SLAB_MIN_CHUNK - 1);
  const blocks = regionBytes >> SLAB_MIN_SHIFT;
  base = heap.alloc(regionBytes + SLAB_MIN_CHUNK);
  base = (base + SLAB_MIN_CHUNK - 1) & ~(<usize>SLAB_MIN_CHUNK - 1);
  marks = heap.alloc(blocks);
  memory.fill(marks, 0, blocks);
  for (let k: u32 = 0; k < SLAB_ORDERS; k++) {
    unchecked(heads[k] = 0);
    unchecked(freeCount[k] = 0);
  }
  // Binary decomposition, largest chunks first: each lands aligned to its own size.
  let offset: u32 = 0;
  for (let k = <i32>SLAB_ORDERS - 1; k >= 0; k--) {
    const size = SLAB_MIN_CHUNK << <u32>k;
    if (regionBytes - offset >= size) {
      pushFree(offset, <u32>k);
      offset += size;
    }
  }
  freeBytes = regionBytes;
  usedChunks = 0;
}

@inline function mark(offset: u32): u8 { return load<u8>(marks + (offset >> SLAB_MIN_SHIFT)); }
@inline function setMark(offset: u32, m: u8): void { store<u8>(marks + (offset >> SLAB_MIN_SHIFT), m); }

function pushFree(offset: u32, k: u32): void {
  const p = base + offset;
  const head = unchecked(heads[k]);
  store<u32>(p, head, LINK_NEXT);
  store<u32>(p, 0, LINK_PREV);
  if (head != 0) store<u32>(<usize>head, <u32>p, LINK_PREV);
  unchecked(heads[k] = <u32>p);
  unchecked(freeCount[k] += 1);
  setMark(offset, FREE | <u8>k);
}

function unlinkFree(p: usize, k: u32): void {
  const next = load<u32>(p, LINK_NEXT);
  const prev = load<u32>(p, LINK_PREV);
  if (prev != 0) store<u32>(<usize>prev, next, LINK_NEXT);
  else unchecked(heads[k] = next);
  if (next != 0) store<u32>(<usize>next, prev, LINK_PREV);
  unchecked(freeCount[k] -= 1);
  setMark(<u32>(p - base), 0);
}

/** The order (size class) of a request: the smallest k with 1 KiB << k >= size. */
@inline function orderOf(size: u32): u32 {
  if (size <= SLAB_MIN_CHUNK) return 0;
  return 32 - clz<u32>(size - 1) - SLAB_MIN_SHIFT;
}

/** Bytes actually given for a request of `size` bytes (its class's chunk size). */
export function slabChunkSize(size: u32): u32 {
  return SLAB_MIN_CHUNK << orderOf(size);
}

/** A chunk of at least `size` bytes (1 .. region), or 0 when no chunk that large is free. */
export function slabAlloc(size: u32): usize {
  if (size == 0 || size > regionBytes) { bump(SLAB_EXHAUSTED); return 0; }
  const k = orderOf(size);
  let j = k;
  while (j < SLAB_ORDERS && unchecked(heads[j]) == 0) j++;
  if (j >= SLAB_ORDERS) { bump(SLAB_EXHAUSTED); return 0; }
  const p = <usize>unchecked(heads[j]);
  unlinkFree(p, j);
  const offset = <u32>(p - base);
  while (j > k) {  // keep the low half, free the high half
    j--;
    pushFree(offset + (SLAB_MIN_CHUNK << j), j);
  }
  setMark(offset, USED | <u8>k);
  freeBytes -= SLAB_MIN_CHUNK << k;
  usedChunks++;
  return p;
}

/** Returns a chunk from `slabAlloc(size)`; anything else is ignored and counted. */
export function slabFree(ptr: usize, size: u32): void {
  if (size == 0 || size > regionBytes || ptr < base || ptr >= base + regionBytes) { bump(SLAB_BAD_FREE); return; }
  let offset = <u32>(ptr - base);
  let k = orderOf(size);
  if ((offset & (SLAB_MIN_CHUNK - 1)) != 0 || mark(offset) != (USED | <u8>k)) { bump(SLAB_BAD_FREE); return; }
  setMark(offset, 0);
  freeBytes += SLAB_MIN_CHUNK << k;
  usedChunks--;
  while (k + 1 < SLAB_ORDERS) {
    const size = SLAB_MIN_CHUNK << k;
    const buddy = offset ^ size;
    if (<u64>buddy + <u64>size > <u64>regionBytes || mark(buddy) != (FREE | <u8>k)) break;
    unlinkFree(base + buddy, k);
    offset &= ~size;
    k++;
  }
  pushFree(offset, k);
}

/** Bytes in free chunks. */
export function slabFreeBytes(): u32 { return freeBytes; }

/** Usable bytes of the region. */
export function slabTotalBytes(): u32 { return regionBytes; }

/** Chunks handed out and not yet freed. */
export function slabUsedChunks(): u32 { return usedChunks; }

/** Free chunks of order k (1 KiB << k bytes); 0 for k out of range. */
export function slabFreeChunks(k: u32): u32 {
  return k < SLAB_ORDERS ? unchecked(freeCount[k]) : 0;
}

/** Start of the region (tests check that chunks stay inside it). */
export function slabBase(): usize { return base; }
