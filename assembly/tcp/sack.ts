// The sender's SACK scoreboard (RFC 2018, RFC 6675 2-4): which ranges above SND.UNA the peer
// reported holding, and the RFC 6675 recovery bookkeeping read from it (IsLost, pipe, NextSeg).
//
// State (SACK_BOARD_BYTES per connection, at a pointer the owner allocates once per
// connection slot at init, as reassembly's):
//
//   0 u32 count      ranges held, 0 .. SACK_RANGES_MAX
//   4 u32 rxtEnd     RFC 6675 HighRxt + 1: bytes below it were retransmitted in this recovery
//   8 u32 rescueRxt  RFC 6675 RescueRxt (valid with RESCUE_SET)
//  12 u32 bits       RESCUE_SET
//  16 u32 rxtMark    SND.MAX when the latest retransmission of this recovery left
//  20 u32 lostEnd    RFC 8985 (tcp/rack.ts): unSACKed bytes below it are lost (valid with RACK_LOST)
//  24 ranges[SACK_RANGES_MAX]  { u32 start; u32 end }  sorted by sequence, disjoint,
//                   non-adjacent, [start, end) in sequence space, within (SND.UNA, SND.MAX]
//
// Guarantees: the scoreboard is advisory (RFC 2018 8 "reneging"): nothing here frees send
// data, which leaves only at SND.UNA; blocks that are empty, inverted or reach beyond
// SND.MAX are ignored and counted (drop.tcp.bad_sack); blocks wholly below SND.UNA (old, or
// RFC 2883 D-SACK) are ignored; when the list is full a new range above every held one is
// dropped and one below evicts the highest (the scoreboard under-reports, never over-reports).
// Every function is O(SACK_RANGES_MAX), never traps on any block values and never allocates.
//
// Lost retransmissions without RACK (Cfg.TcpRack 0; beyond RFC 6675, as Linux's
// tcp_mark_lost_retrans before RACK, which replaces it when on, tcp/rack.ts): when
// more than (DupThresh - 1) * SMSS bytes sent after the latest retransmission are SACKed while
// retransmitted holes are still unSACKed, those retransmissions are taken as lost too, and
// the holes become eligible for NextSeg rule 1 again instead of waiting for the RTO.
//
// RACK (RFC 8985 6.2, tcp/rack.ts) marks segments lost by time: `sackMarkLost` raises lostEnd,
// and IsLost, pipe and NextSeg rule 1 treat unSACKed bytes below it as lost, beside the
// DupThresh rule.
//
// Holes: the unSACKed gaps between SND.UNA and the highest SACKed byte (HighSACK). Every byte
// of one hole has the same SACKed ranges above it, so RFC 6675 IsLost holds for a whole hole
// or for none of it; it is evaluated per hole.

import { defineCounter, bump, bumpBy } from "../abi/counters";
import { TcpOptions, HAS_SACK } from "../wire/tcp";
import { seqLt, seqLeq, seqGt, seqGeq } from "./seq";

/** SACK blocks read from the peer's ACKs (valid or not). */
const BLOCKS_RECEIVED = defineCounter("tcp.sack.blocks_received");
/** Blocks ignored as impossible: empty, inverted, or beyond SND.MAX. */
const DROP_BAD_SACK = defineCounter("drop.tcp.bad_sack");

/** Ranges kept per connection: a peer holding more out-of-order ranges is rare (Linux keeps 4 to report). */
@inline export const SACK_RANGES_MAX: u32 = 16;
@inline const S_COUNT: usize = 0;
@inline const S_RXT_END: usize = 4;
@inline const S_RESCUE: usize = 8;
@inline const S_BITS: usize = 12;
@inline const S_RXT_MARK: usize = 16;
@inline const S_LOST_END: usize = 20;
@inline const S_RANGES: usize = 24;
@inline const ENTRY: usize = 8;
@inline const RESCUE_SET: u32 = 1;
@inline const RACK_LOST: u32 = 2;
/** RFC 6675 2: DupThresh. */
@inline export const DUP_THRESH: u32 = 3;
/** Bytes of scoreboard per connection. */
@inline export const SACK_BOARD_BYTES: u32 = <u32>S_RANGES + SACK_RANGES_MAX * <u32>ENTRY;

@inline function entryAt(b: usize, i: u32): usize { return b + S_RANGES + <usize>i * ENTRY; }
@inline export function sackCount(b: usize): u32 { return load<u32>(b, S_COUNT); }
@inline export function sackStart(b: usize, i: u32): u32 { return load<u32>(entryAt(b, i)); }
@inline export function sackEnd(b: usize, i: u32): u32 { return load<u32>(entryAt(b, i), 4); }

/** Forgets every range and the recovery marks (a new connection; RFC 2018 8 / RFC 6675 5.1 after an RTO). */
export function sackClear(b: usize): void {
  store<u32>(b, 0, S_COUNT);
  store<u32>(b, 0, S_BITS);
}

/** Starts a recovery episode at SND.UNA `una`: nothing retransmitted yet, RescueRxt undefined (RFC 6675 5 step 4). */
export function sackRecoveryStart(b: usize, una: u32): void {
  store<u32>(b, una, S_RXT_END);
  store<u32>(b, load<u32>(b, S_BITS) & RACK_LOST, S_BITS);
}

/**
 * RACK found [start, end) lost (RFC 8985 6.2 step 5): its unSACKed bytes count as lost, and
 * when part of it was retransmitted in this recovery (a lost retransmission) it becomes
 * eligible for NextSeg rule 1 again.
 */
export function sackMarkLost(b: usize, start: u32, end: u32): void {
  const bits = load<u32>(b, S_BITS);
  if ((bits & RACK_LOST) == 0 || seqGt(end, load<u32>(b, S_LOST_END))) store<u32>(b, end, S_LOST_END);
  store<u32>(b, bits | RACK_LOST, S_BITS);
  if (seqLt(start, load<u32>(b, S_RXT_END))) store<u32>(b, start, S_RXT_END);
}

/** True when RACK marked `seq` lost. */
@inline function rackLost(b: usize, seq: u32): bool {
  return (load<u32>(b, S_BITS) & RACK_LOST) != 0 && seqLt(seq, load<u32>(b, S_LOST_END));
}

/** The first byte of [from, to) that RACK did not mark lost (`from` when none is marked). */
@inline function notRackLost(b: usize, from: u32, to: u32): u32 {
  if (!rackLost(b, from)) return from;
  const lostEnd = load<u32>(b, S_LOST_END);
  return seqLt(lostEnd, to) ? lostEnd : to;
}

/** True when [start, end) lies inside one SACKed range. */
export function sackCovers(b: usize, start: u32, end: u32): bool {
  const n = sackCount(b);
  for (let i: u32 = 0; i < n; i++) {
    if (seqLeq(sackStart(b, i), start) && seqLeq(end, sackEnd(b, i))) return true;
  }
  return false;
}

/** True when some byte of [start, end) is SACKed. */
export function sackOverlaps(b: usize, start: u32, end: u32): bool {
  const n = sackCount(b);
  for (let i: u32 = 0; i < n; i++) {
    if (seqLt(sackStart(b, i), end) && seqLt(start, sackEnd(b, i))) return true;
  }
  return false;
}

/** HighRxt + 1, never below `una`. */
export function sackRxtEnd(b: usize, una: u32): u32 {
  const e = load<u32>(b, S_RXT_END);
  return seqLt(e, una) ? una : e;
}

/**
 * Records that bytes below `end` were retransmitted in this recovery (RFC 6675 5 step C.2),
 * with SND.MAX `sndMax` at that moment.
 */
export function sackRetransmitted(b: usize, end: u32, sndMax: u32): void {
  if (seqGt(end, load<u32>(b, S_RXT_END))) store<u32>(b, end, S_RXT_END);
  store<u32>(b, sndMax, S_RXT_MARK);
}

/**
 * True (and the retransmitted holes become unretransmitted again) when a retransmission of
 * this recovery is lost: more than (DupThresh - 1) * SMSS bytes, or DupThresh ranges, sent
 * after the latest retransmission are SACKed while a retransmitted hole is still unSACKed.
 */
export function sackLostRetransmission(b: usize, una: u32, smss: u32): bool {
  if (!seqGt(sackRxtEnd(b, una), una)) return false;
  const mark = load<u32>(b, S_RXT_MARK);
  const n = sackCount(b);
  let ranges: u32 = 0;
  let bytes: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const s = sackStart(b, i);
    const e = sackEnd(b, i);
    if (!seqGt(e, mark)) continue;
    ranges++;
    bytes += seqLt(s, mark) ? e - mark : e - s;
  }
  if (ranges < DUP_THRESH && bytes <= <u64>(DUP_THRESH - 1) * <u64>smss) return false;
  store<u32>(b, una, S_RXT_END);
  return true;
}

/** Highest SACKed byte + 1 (RFC 6675 HighSACK + 1), or `una` when nothing is SACKed. */
export function sackHighEnd(b: usize, una: u32): u32 {
  const n = sackCount(b);
  return n == 0 ? una : sackEnd(b, n - 1);
}

function removeRanges(b: usize, from: u32, to: u32): void {
  const n = sackCount(b);
  if (to > from) {
    memory.copy(entryAt(b, from), entryAt(b, to), <usize>(n - to) * ENTRY);
    store<u32>(b, n - (to - from), S_COUNT);
  }
}

/** Adds [start, end) (already valid and above SND.UNA); returns the bytes newly SACKed. */
function addRange(b: usize, start: u32, end: u32): u32 {
  const n = sackCount(b);
  let i: u32 = 0;
  while (i < n && seqLt(sackEnd(b, i), start)) i++;
  let j = i;
  let covered: u32 = 0;
  while (j < n && seqLeq(sackStart(b, j), end)) {
    // Bytes of range j inside [start, end) were SACKed before.
    const s = sackStart(b, j);
    const e = sackEnd(b, j);
    const lo = seqLt(s, start) ? start : s;
    const hi = seqGt(e, end) ? end : e;
    if (seqLt(lo, hi)) covered += hi - lo;
    j++;
  }
  const fresh = (end - start) - covered;
  if (j > i) {
    if (seqLt(sackStart(b, i), start)) start = sackStart(b, i);
    if (seqGt(sackEnd(b, j - 1), end)) end = sackEnd(b, j - 1);
    removeRanges(b, i + 1, j);
  } else {
    if (n >= SACK_RANGES_MAX) {
      // Full: keep the lower ranges, they matter first for recovery.
      if (i == n) return 0;
      store<u32>(b, n - 1, S_COUNT);
    }
    const m = sackCount(b);
    memory.copy(entryAt(b, i + 1), entryAt(b, i), <usize>(m - i) * ENTRY);
    store<u32>(b, m + 1, S_COUNT);
  }
  const e = entryAt(b, i);
  store<u32>(e, start);
  store<u32>(e, end, 4);
  return fresh;
}

/** Drops what SND.UNA `una` now covers (RFC 6675 5 "HighACK"). */
export function sackPrune(b: usize, una: u32): void {
  const n = sackCount(b);
  let i: u32 = 0;
  while (i < n && seqLeq(sackEnd(b, i), una)) i++;
  removeRanges(b, 0, i);
  if (sackCount(b) > 0 && seqLt(sackStart(b, 0), una)) store<u32>(entryAt(b, 0), una);
}

/**
 * Takes the SACK blocks of an ACK (RFC 2018 4, RFC 6675 5): `una` is SND.UNA after this ACK,
 * `sndMax` the highest sequence sent + 1. Returns the bytes newly SACKed.
 */
export function sackUpdate(b: usize, o: TcpOptions, una: u32, sndMax: u32): u32 {
  if ((o.present & HAS_SACK) == 0) return 0;
  sackPrune(b, una);
  const n = o.sackCount;
  bumpBy(BLOCKS_RECEIVED, n);
  let fresh: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let left = o.sackLeft(i);
    const right = o.sackRight(i);
    if (!seqLt(left, right) || seqGt(right, sndMax) || seqGt(left, sndMax)) { bump(DROP_BAD_SACK); continue; }
    if (seqLeq(right, una)) continue; // old or D-SACK (RFC 2883): nothing to learn for recovery
    if (seqLt(left, una)) left = una;
    fresh += addRange(b, left, right);
  }
  return fresh;
}

/** True when `seq` lies inside a SACKed range. */
export function sackHas(b: usize, seq: u32): bool {
  const n = sackCount(b);
  for (let i: u32 = 0; i < n; i++) {
    if (seqGeq(seq, sackStart(b, i)) && seqLt(seq, sackEnd(b, i))) return true;
  }
  return false;
}

/** End of the SACKed range holding `seq`, or `seq` when it is not SACKed. */
export function sackSkip(b: usize, seq: u32): u32 {
  const n = sackCount(b);
  for (let i: u32 = 0; i < n; i++) {
    if (seqGeq(seq, sackStart(b, i)) && seqLt(seq, sackEnd(b, i))) return sackEnd(b, i);
  }
  return seq;
}

/** Start of the first SACKed range above `seq`, or `limit` when none starts before it. */
export function sackNextStart(b: usize, seq: u32, limit: u32): u32 {
  const n = sackCount(b);
  for (let i: u32 = 0; i < n; i++) {
    const s = sackStart(b, i);
    if (seqGt(s, seq)) return seqLt(s, limit) ? s : limit;
  }
  return limit;
}

@inline export function sackedBytes(b: usize): u32 {
  const n = sackCount(b);
  let total: u32 = 0;
  for (let i: u32 = 0; i < n; i++) total += sackEnd(b, i) - sackStart(b, i);
  return total;
}

/**
 * RFC 6675 4 IsLost for an unSACKed `seq`: DupThresh discontiguous SACKed ranges above it, or
 * more than (DupThresh - 1) * SMSS SACKed bytes above it.
 */
export function sackIsLost(b: usize, seq: u32, smss: u32): bool {
  if (rackLost(b, seq)) return true;
  const n = sackCount(b);
  let ranges: u32 = 0;
  let bytes: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const s = sackStart(b, i);
    const e = sackEnd(b, i);
    if (seqLt(seq, s)) { ranges++; bytes += e - s; }
    else if (seqLt(seq, e)) bytes += e - seq - 1;
  }
  return ranges >= DUP_THRESH || bytes > <u64>(DUP_THRESH - 1) * <u64>smss;
}

/** Bytes of [from, to) below `rxtEnd` (retransmitted in this recovery). */
@inline function retransmittedIn(from: u32, to: u32, rxtEnd: u32): u32 {
  if (!seqLt(from, rxtEnd)) return 0;
  return seqLt(rxtEnd, to) ? rxtEnd - from : to - from;
}

/**
 * RFC 6675 4 SetPipe, in bytes: each unSACKed byte between `una` and `sndMax` counts once when
 * not lost and once more when retransmitted in this recovery.
 */
export function sackPipe(b: usize, una: u32, sndMax: u32, smss: u32): u32 {
  const n = sackCount(b);
  const rxtEnd = sackRxtEnd(b, una);
  let above = sackedBytes(b);
  let rangesAbove = n;
  let pipe: u32 = 0;
  let from = una;
  for (let i: u32 = 0; i < n; i++) {
    const s = sackStart(b, i);
    if (seqLt(from, s)) {
      const lost = rangesAbove >= DUP_THRESH || <u64>above > <u64>(DUP_THRESH - 1) * <u64>smss;
      if (!lost) pipe += s - notRackLost(b, from, s);
      pipe += retransmittedIn(from, s, rxtEnd);
    }
    above -= sackEnd(b, i) - s;
    rangesAbove--;
    from = sackEnd(b, i);
  }
  if (seqLt(from, sndMax)) pipe += (sndMax - from) + retransmittedIn(from, sndMax, rxtEnd);
  return pipe;
}

/** The segment NextSeg chose: [nextSegStart, nextSegEnd). */
export let nextSegStart: u32 = 0;
export let nextSegEnd: u32 = 0;

/**
 * RFC 6675 4 NextSeg rule 1 (`lostOnly`) or rule 3: the first unSACKed bytes above HighRxt
 * and below HighSACK (rule 1: that IsLost), up to `smss` bytes. False when there are none.
 */
export function sackNextHole(b: usize, una: u32, smss: u32, lostOnly: bool): bool {
  const n = sackCount(b);
  const rxtEnd = sackRxtEnd(b, una);
  let above = sackedBytes(b);
  let rangesAbove = n;
  let from = una;
  for (let i: u32 = 0; i < n; i++) {
    const s = sackStart(b, i);
    const lo = seqLt(from, rxtEnd) ? rxtEnd : from;
    if (seqLt(lo, s)) {
      const lostByDupThresh = rangesAbove >= DUP_THRESH || <u64>above > <u64>(DUP_THRESH - 1) * <u64>smss;
      const lostByRack = rackLost(b, lo);
      if (lostByDupThresh || lostByRack || !lostOnly) {
        let end = s - lo > smss ? lo + smss : s;
        // Lost by RACK alone: the bytes RACK marked, not the rest of the hole.
        if (lostOnly && !lostByDupThresh) {
          const lostEnd = load<u32>(b, S_LOST_END);
          if (seqLt(lostEnd, end)) end = lostEnd;
        }
        nextSegStart = lo;
        nextSegEnd = end;
        return true;
      }
    }
    above -= sackEnd(b, i) - s;
    rangesAbove--;
    from = sackEnd(b, i);
  }
  return false;
}

/**
 * RFC 6675 4 NextSeg rule 4 (rescue retransmission), once per recovery: one segment of up to
 * `smss` bytes ending at the highest outstanding unSACKed byte (below `dataEnd`, the end of
 * the data sent), when HighACK `una` is above RescueRxt or RescueRxt is unset, and that byte
 * was not retransmitted in this recovery already (above HighRxt). Sets RescueRxt to
 * RecoveryPoint `recover`. False when it does not apply.
 */
export function sackRescue(b: usize, una: u32, dataEnd: u32, recover: u32, smss: u32): bool {
  if ((load<u32>(b, S_BITS) & RESCUE_SET) != 0 && !seqGt(una, load<u32>(b, S_RESCUE))) return false;
  // Highest unSACKed byte + 1: the end of the data unless the last range reaches it.
  let top = dataEnd;
  let floor = una;
  const n = sackCount(b);
  let i = <i32>n - 1;
  while (i >= 0 && seqGeq(sackEnd(b, <u32>i), top)) {
    top = sackStart(b, <u32>i);
    i--;
  }
  if (i >= 0) floor = sackEnd(b, <u32>i);
  // Not bytes this recovery already retransmitted (rules 1 and 3 sent them once).
  const rxtEnd = sackRxtEnd(b, una);
  if (seqLt(floor, rxtEnd)) floor = rxtEnd;
  if (!seqLt(una, top) || !seqLt(floor, top)) return false;
  nextSegEnd = top;
  nextSegStart = top - floor > smss ? top - smss : floor;
  store<u32>(b, recover, S_RESCUE);
  store<u32>(b, load<u32>(b, S_BITS) | RESCUE_SET, S_BITS);
  return true;
}
