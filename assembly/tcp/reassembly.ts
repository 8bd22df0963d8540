// Out-of-order bookkeeping for a connection's receive ring: which sequence ranges beyond
// rcv.nxt have arrived (their bytes are already written in the ring, past its tail).
//
// State (reasmStateBytes() bytes at a pointer the owner provides; the owner allocates it
// once per connection slot at init):
//
//   0 u32 count     ranges held, 0 .. cap
//   4 u32 cap       Cfg.TcpMaxOooRanges when initialised
//   8 u32 clock     change counter; each range changed gets the next value as its stamp
//  12 u32 (pad)
//  16 ranges[cap]   { u32 start; u32 end; u32 stamp }  sorted by sequence, disjoint,
//                   non-adjacent, all beyond rcv.nxt: [start, end) in sequence space
//
// `reasmAdd` is called for every accepted, window-trimmed segment with payload (in order or
// not) after its bytes were written in the ring. It merges the segment with the ranges it
// overlaps or touches; when the segment starts at rcv.nxt it returns how many bytes are now
// in order (the segment and every range it joins), which leave the list.
//
// SACK (RFC 2018 4): `reasmFillSack` writes blocks in the order the receiver must report
// them: first the range that changed most recently (it holds the segment that triggered this
// ACK), then the others, most recently changed first. `reasmFillSackFrom` writes them after a
// D-SACK block (RFC 2883 4); `reasmCovers` says whether a segment duplicates held data.
//
// Guarantees: the list never holds more than `cap` ranges; a segment that would need a new
// range when the list is full is refused (REASM_FULL; the caller drops the segment and counts
// it, as tcp/input.ts does in drop.tcp.ooo_ranges_full), and nothing changes; a segment that fills an existing hole or extends a range is always
// taken. Ranges lie within 2^31 of rcv.nxt (the receive window is at most 2^30, RFC 7323
// 2.3). Stamps compare by signed difference, so wrapping the change counter is harmless.
// Nothing allocates.

import { cfg, Cfg } from "../abi/config";
import { seqLt, seqLeq, seqGt } from "./seq";
import { TcpOptions, HAS_SACK } from "../wire/tcp";

@inline const R_COUNT: usize = 0;
@inline const R_CAP: usize = 4;
@inline const R_CLOCK: usize = 8;
@inline const R_RANGES: usize = 16;
@inline const ENTRY: usize = 12;
@inline const E_START: usize = 0;
@inline const E_END: usize = 4;
@inline const E_STAMP: usize = 8;

/** `reasmAdd`'s answer when the segment needs a new range and the list is full. */
export const REASM_FULL: i32 = -1;

/** Bytes of state per connection for the configured Cfg.TcpMaxOooRanges. */
export function reasmStateBytes(): u32 {
  return <u32>R_RANGES + cfg(Cfg.TcpMaxOooRanges) * <u32>ENTRY;
}

/** Empties the list; `r` has reasmStateBytes() bytes. */
export function reasmInit(r: usize): void {
  store<u32>(r, 0, R_COUNT);
  store<u32>(r, cfg(Cfg.TcpMaxOooRanges), R_CAP);
  store<u32>(r, 0, R_CLOCK);
}

/** Forgets every range (the connection was reset), keeping the capacity. */
export function reasmClear(r: usize): void {
  store<u32>(r, 0, R_COUNT);
}

@inline function entryAt(r: usize, i: u32): usize { return r + R_RANGES + <usize>i * ENTRY; }

@inline export function reasmCount(r: usize): u32 { return load<u32>(r, R_COUNT); }
/** Start of range i (0 = lowest sequence). */
@inline export function reasmStart(r: usize, i: u32): u32 { return load<u32>(entryAt(r, i), E_START); }
/** End (exclusive) of range i. */
@inline export function reasmEnd(r: usize, i: u32): u32 { return load<u32>(entryAt(r, i), E_END); }

function nextStamp(r: usize): u32 {
  const s = load<u32>(r, R_CLOCK) + 1;
  store<u32>(r, s, R_CLOCK);
  return s;
}

/** Removes ranges [from, to) by shifting the rest down. */
function removeRanges(r: usize, from: u32, to: u32): void {
  const n = reasmCount(r);
  if (to > from) {
    memory.copy(entryAt(r, from), entryAt(r, to), <usize>(n - to) * ENTRY);
    store<u32>(r, n - (to - from), R_COUNT);
  }
}

/**
 * Records segment bytes [start, start + len) given rcv.nxt. Returns the number of bytes
 * that are now in order from rcv.nxt (0 when the segment lies beyond a hole), or REASM_FULL.
 * Bytes before rcv.nxt are ignored (the caller trims; duplicates are harmless).
 */
export function reasmAdd(r: usize, rcvNxt: u32, start: u32, len: u32): i32 {
  let end = start + len;
  if (len == 0 || seqLeq(end, rcvNxt)) return 0;
  if (seqLt(start, rcvNxt)) start = rcvNxt;
  const n = reasmCount(r);
  // First range that ends at or after `start` (it may touch or overlap).
  let i: u32 = 0;
  while (i < n && seqLt(reasmEnd(r, i), start)) i++;
  // Ranges i .. j-1 overlap or touch [start, end].
  let j = i;
  while (j < n && seqLeq(reasmStart(r, j), end)) j++;
  if (j > i) {
    if (seqLt(reasmStart(r, i), start)) start = reasmStart(r, i);
    if (seqGt(reasmEnd(r, j - 1), end)) end = reasmEnd(r, j - 1);
  }
  if (start == rcvNxt) {
    removeRanges(r, i, j);
    return <i32>(end - rcvNxt);
  }
  if (j == i) {
    if (n >= load<u32>(r, R_CAP)) return REASM_FULL;
    memory.copy(entryAt(r, i + 1), entryAt(r, i), <usize>(n - i) * ENTRY);
    store<u32>(r, n + 1, R_COUNT);
  } else {
    removeRanges(r, i + 1, j);
  }
  const e = entryAt(r, i);
  store<u32>(e, start, E_START);
  store<u32>(e, end, E_END);
  store<u32>(e, nextStamp(r), E_STAMP);
  return 0;
}

/** Index of the most recently changed range, or -1 when the list is empty. */
export function reasmMostRecent(r: usize): i32 {
  const n = reasmCount(r);
  let best: i32 = -1;
  let bestStamp: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const s = load<u32>(entryAt(r, i), E_STAMP);
    if (best < 0 || <i32>(s - bestStamp) > 0) { best = <i32>i; bestStamp = s; }
  }
  return best;
}

/** True when [start, end) lies wholly inside one held range (a duplicate, RFC 2883 4). */
export function reasmCovers(r: usize, start: u32, end: u32): bool {
  const n = reasmCount(r);
  for (let i: u32 = 0; i < n; i++) {
    if (seqLeq(reasmStart(r, i), start) && seqLeq(end, reasmEnd(r, i))) return true;
  }
  return false;
}

/**
 * Writes up to `maxBlocks` SACK blocks (at most 4) into `o`, most recently changed range
 * first (RFC 2018 4), and sets or clears its HAS_SACK bit. Returns the number written.
 */
export function reasmFillSack(r: usize, o: TcpOptions, maxBlocks: u32): u32 {
  return reasmFillSackFrom(r, o, 0, maxBlocks);
}

/**
 * As reasmFillSack, after `first` blocks already in `o` (a D-SACK block, RFC 2883 4): at
 * most `maxBlocks` in all. Returns the number of range blocks written.
 */
export function reasmFillSackFrom(r: usize, o: TcpOptions, first: u32, maxBlocks: u32): u32 {
  const n = reasmCount(r);
  const most = maxBlocks < 4 ? maxBlocks : 4;
  const want = most > first ? most - first : 0;
  let written: u32 = 0;
  let lastStamp: u32 = 0;
  while (written < want && written < n) {
    let best: i32 = -1;
    let bestStamp: u32 = 0;
    for (let i: u32 = 0; i < n; i++) {
      const s = load<u32>(entryAt(r, i), E_STAMP);
      if (written > 0 && <i32>(s - lastStamp) >= 0) continue; // already reported
      if (best < 0 || <i32>(s - bestStamp) > 0) { best = <i32>i; bestStamp = s; }
    }
    o.setSack(first + written, reasmStart(r, <u32>best), reasmEnd(r, <u32>best));
    lastStamp = bestStamp;
    written++;
  }
  o.sackCount = first + written;
  if (first + written > 0) o.present |= HAS_SACK;
  else o.present &= ~HAS_SACK;
  return written;
}
