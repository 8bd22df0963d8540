// ARP for IPv4 over Ethernet (RFC 826): the neighbour table, answering, learning, resolving,
// and the frames that wait for a resolution.
//
// Guarantees:
// - The table is a plain array of fixed-size entries (`ENTRY_SIZE` bytes, layout below) with
//   one lookup-or-insert function, `arpFind`, so it can later live in shared memory and be
//   published to other workers. It holds at most Cfg.ArpEntries entries; inserting into a
//   full table evicts the entry closest to expiry (the least recently confirmed).
// - A learned entry lives Cfg.ArpTtlSec seconds from its last confirmation (a request or
//   reply from that address refreshes it). At expiry an entry nobody sent through is
//   forgotten (resolved again on next use); one in use is kept and refreshed with unicast
//   requests to the known MAC, up to `MAX_TRIES` 1 s apart, while traffic keeps flowing (as
//   Linux's PROBE state), and forgotten only when none is answered.
// - Resolution sends a broadcast request at once and every `RETRY_US` (1 s) after, at most
//   `MAX_TRIES` (3) times; then the entry is FAILED, its waiting frames are dropped (counted),
//   and senders get -EHOSTUNREACH (from `ipv4OutputFinish`, or `ipv4RouteCheck`) during
//   `FAILED_HOLD_US`. After the hold the entry stays FAILED until someone sends again: that
//   first sender is still told -EHOSTUNREACH (so a TCP retransmission that comes late still
//   learns of the failure, as Linux reports it through a local ICMP error) and resolution
//   starts over for the senders after it. A FAILED entry needs no timer.
// - Frames waiting for a resolution take buffers from a pool of Cfg.ArpPendingFrames; one
//   neighbour may hold at most a quarter of the pool (at least one frame), so a dead host
//   cannot starve the others. Waiting frames leave in FIFO order once the address is known,
//   and new frames to that neighbour queue behind any that found no TX room: none overtakes.
// - Lookups try a hashed hint before scanning; timers keep their next due time as a bound
//   that is never late, so a burst with nothing due costs no table scan.
// - Input follows RFC 826's packet reception algorithm: a known sender is refreshed whatever
//   the target (this is how gratuitous ARP updates us); an unknown sender is added only when
//   the packet targets our address; a request for our address is answered.
// - Nothing allocates after init; no input traps.
//
// Entry layout (32 bytes):
//
//   0      4     5     6        8        14   15  16          24            28
//   +------+-----+-----+--------+--------+----+---+-----------+-------------+-------------+
//   | ip   |state|tries|pending | mac    |used| - | deadline  | pendingHead | pendingTail |
//   +------+-----+-----+--------+--------+----+---+-----------+-------------+-------------+
//   ip host order; tries: requests sent (broadcast while INCOMPLETE, unicast probes while a
//   REACHABLE entry is refreshed); used: 1 when output went through the entry since its last
//   confirmation; deadline (i64 µs): INCOMPLETE next retry, REACHABLE expiry (or next probe),
//   FAILED end of the hold; pending: frames queued; head/tail: pool indices, -1 when empty.
//
// Pending buffer: `PENDING_META` bytes of metadata, then a frame of up to TxSlotSize bytes:
//   0 next (i32)  4 len  8 tx flags  12 tsoMss  16 l2  17 l3  18 l4

import { defineCounter, bump } from "../abi/counters";
import { cfg, Cfg } from "../abi/config";
import { txReserve, txMaxFrame, allocZeroed } from "../frame/rings";
import { now, NEVER } from "../util/time";
import { arpParse, arpEmit, arpRepr, ArpError, ArpOp, ARP_PACKET_LEN } from "../wire/arp";
import { ethernetEmit, EtherType, ETH_HEADER_LEN, ETH_DST } from "../wire/ethernet";
import { macCopy, macIsGroup, macStoreBroadcast, ipv4IsValidSource } from "../wire/addr";
import { ethOwnMac, ethernetCommit } from "./ethernet";
import { neighbourLearned } from "./neighbour-share";
import { ipv4ProbeObserve } from "./ipv4-probe";

const DROP_TRUNCATED = defineCounter("drop.arp.truncated");
const DROP_UNSUPPORTED = defineCounter("drop.arp.unsupported_type");
const DROP_BAD_OPCODE = defineCounter("drop.arp.bad_opcode");
const DROP_BAD_SENDER_MAC = defineCounter("drop.arp.bad_sender_mac");
const DROP_BAD_SENDER_IP = defineCounter("drop.arp.bad_sender_ip");
const DROP_CONFLICT = defineCounter("drop.arp.address_conflict");
const DROP_NOT_FOR_US = defineCounter("drop.arp.not_for_us");
const DELIVER_REQUEST = defineCounter("deliver.arp.request");
const DELIVER_REPLY = defineCounter("deliver.arp.reply");
const DELIVER_UPDATE = defineCounter("deliver.arp.update");
const RX_GRATUITOUS = defineCounter("arp.rx.gratuitous");
const TX_REQUEST = defineCounter("arp.tx.request");
const TX_REPLY = defineCounter("arp.tx.reply");
const TX_PROBE = defineCounter("arp.tx.probe");
const RESOLVE_FAILED = defineCounter("arp.resolve.failed");
const EVICTED = defineCounter("arp.table.evicted");
const TX_DROP_REPLY_RING_FULL = defineCounter("drop.arp_tx.reply_ring_full");
const TX_DROP_UNRESOLVED = defineCounter("drop.arp_tx.unresolved");
const TX_DROP_EVICTED = defineCounter("drop.arp_tx.evicted");

export namespace ArpState {
  export const FREE: u8 = 0;
  export const INCOMPLETE: u8 = 1;
  export const REACHABLE: u8 = 2;
  export const FAILED: u8 = 3;
}

@inline const E_IP: u32 = 0;
@inline const E_STATE: u32 = 4;
@inline const E_TRIES: u32 = 5;
@inline const E_PENDING: u32 = 6;
@inline const E_MAC: u32 = 8;
@inline const E_USED: u32 = 14;
@inline const E_DEADLINE: u32 = 16;
@inline const E_HEAD: u32 = 24;
@inline const E_TAIL: u32 = 28;
export const ENTRY_SIZE: u32 = 32;

@inline const P_NEXT: u32 = 0;
@inline const P_LEN: u32 = 4;
@inline const P_FLAGS: u32 = 8;
@inline const P_TSO: u32 = 12;
@inline const P_L2: u32 = 16;
@inline const P_L3: u32 = 17;
@inline const P_L4: u32 = 18;
const PENDING_META: u32 = 24;

/** Interval between requests while resolving (RFC 1122 2.3.2.1: at most one per second). */
export const RETRY_US: i64 = 1_000_000;
/** Requests sent before a resolution fails. */
export const MAX_TRIES: u8 = 3;
/** How long a failed resolution answers -EHOSTUNREACH before it is tried again. */
export const FAILED_HOLD_US: i64 = 1_000_000;

let table: usize = 0;
let entryCount: u32 = 0;
/**
 * When `arpPoll` next has work. Invariant: never later than the due time of any
 * entry (an INCOMPLETE or REACHABLE deadline, or now for waiting frames with TX room to find),
 * so `arpPoll` can skip its scan and `arpNextDeadline` answers without one.
 */
let nextDue: i64 = NEVER;
/**
 * Lookup hints: for a hash of the address, the index of the entry last found or inserted for
 * it. A hint is only a guess (checked against the entry), so a stale one costs a scan, never
 * a wrong answer; with many neighbours most lookups then skip the scan.
 */
const HINT_BITS: u32 = 8;
const hints = memory.data(<i32>((1 << HINT_BITS) << 2), 4);

let pool: usize = 0;
let poolCount: u32 = 0;
let poolStride: u32 = 0;
let poolFree: i32 = -1;
let pendingPerEntry: u32 = 0;

export function arpInit(): void {
  entryCount = cfg(Cfg.ArpEntries);
  table = allocZeroed(<usize>entryCount * ENTRY_SIZE);
  memory.fill(hints, 0xFF, (1 << HINT_BITS) << 2);
  poolCount = cfg(Cfg.ArpPendingFrames);
  poolStride = (PENDING_META + txMaxFrame() + 7) & ~7;
  pool = allocZeroed(<usize>poolCount * poolStride + 8);
  poolFree = -1;
  for (let i = <i32>poolCount - 1; i >= 0; i--) {
    store<i32>(pendingAt(i), poolFree, P_NEXT);
    poolFree = i;
  }
  const quarter = poolCount >>> 2;
  pendingPerEntry = quarter > 0 ? quarter : (poolCount > 0 ? 1 : 0);
  nextDue = NEVER;
  for (let i: u32 = 0; i < entryCount; i++) {
    store<i32>(entryAt(i), -1, E_HEAD);
    store<i32>(entryAt(i), -1, E_TAIL);
  }
}

@inline function entryAt(i: u32): usize { return table + <usize>i * ENTRY_SIZE; }
/** The hint slot of `ip` (Fibonacci hashing: the top bits of ip * 2^32/phi). */
@inline function hintAt(ip: u32): usize { return hints + (<usize>((ip * 0x9E3779B1) >>> (32 - HINT_BITS)) << 2); }

/** Sets entry `e`'s deadline to `t`, and `arpPoll`'s next run no later than it. */
@inline function setDeadline(e: usize, t: i64): void {
  store<i64>(e, t, E_DEADLINE);
  if (t < nextDue) nextDue = t;
}
@inline function pendingAt(i: i32): usize { return pool + <usize>i * poolStride; }

/** Six zero bytes: the unknown target hardware address of a request. */
const ZERO_MAC = memory.data(8);

/** State of entry `i` (an index from `arpFind`). */
@inline export function arpState(i: u32): u8 { return load<u8>(entryAt(i), E_STATE); }
/** Address of entry `i`'s 6-byte MAC (valid when REACHABLE). */
@inline export function arpMac(i: u32): usize { return entryAt(i) + E_MAC; }
/** Output is going through REACHABLE entry `i`: at expiry it is refreshed, not forgotten. */
@inline export function arpNoteUse(i: u32): void { store<u8>(entryAt(i), 1, E_USED); }

/**
 * The one lookup-or-insert function. Returns the index of the entry for `ip`, or -1 when it
 * is absent and `insert` is false. With `insert`, a missing entry is created INCOMPLETE
 * (evicting the entry closest to expiry if the table is full), its request due now.
 */
export function arpFind(ip: u32, insert: bool): i32 {
  const hint = hintAt(ip);
  const guess = load<u32>(hint);
  if (guess < entryCount) {
    const e = entryAt(guess);
    if (load<u32>(e, E_IP) == ip && load<u8>(e, E_STATE) != ArpState.FREE) return <i32>guess;
  }
  let free: i32 = -1;
  // Eviction candidates: the learned (or failed) entry closest to expiry, else the oldest resolving one.
  let victim: i32 = -1;
  let victimDeadline: i64 = NEVER;
  let resolving: i32 = -1;
  let resolvingDeadline: i64 = NEVER;
  for (let i: u32 = 0; i < entryCount; i++) {
    const e = entryAt(i);
    const state = load<u8>(e, E_STATE);
    if (state == ArpState.FREE) {
      if (free < 0) free = <i32>i;
      continue;
    }
    if (load<u32>(e, E_IP) == ip) { store<u32>(hint, i); return <i32>i; }
    const deadline = load<i64>(e, E_DEADLINE);
    if (state == ArpState.INCOMPLETE) {
      if (resolving < 0 || deadline < resolvingDeadline) { resolving = <i32>i; resolvingDeadline = deadline; }
    } else if (victim < 0 || deadline < victimDeadline) {
      victim = <i32>i;
      victimDeadline = deadline;
    }
  }
  if (!insert) return -1;
  let slot = free;
  if (slot < 0) {
    slot = victim >= 0 ? victim : resolving;
    bump(EVICTED);
    dropPending(<u32>slot, TX_DROP_EVICTED);
  }
  const e = entryAt(<u32>slot);
  store<u32>(e, ip, E_IP);
  store<u8>(e, ArpState.INCOMPLETE, E_STATE);
  store<u8>(e, 0, E_TRIES);
  store<u64>(e, 0, E_MAC);
  setDeadline(e, now());
  store<u32>(hint, <u32>slot);
  return slot;
}

/** Starts resolving entry `i` if it is INCOMPLETE and no request has gone out yet. */
export function arpResolve(i: u32): void {
  const e = entryAt(i);
  if (load<u8>(e, E_STATE) == ArpState.INCOMPLETE && load<u8>(e, E_TRIES) == 0) sendRequestIfDue(i);
}

/**
 * Reserves a pending buffer for a frame to entry `i` (INCOMPLETE). Returns the frame address
 * inside it, or 0 when the pool or the entry's share of it is exhausted.
 */
export function arpPendingReserve(i: u32): usize {
  if (poolFree < 0) return 0;
  if (<u32>load<u16>(entryAt(i), E_PENDING) >= pendingPerEntry) return 0;
  return pendingAt(poolFree) + PENDING_META;
}

/** Queues the buffer from the last `arpPendingReserve(i)` with the frame's TX metadata. */
export function arpPendingCommit(i: u32, len: u32, flags: u32, l2: u32, l3: u32, l4: u32, tsoMss: u32): void {
  const index = poolFree;
  const p = pendingAt(index);
  poolFree = load<i32>(p, P_NEXT);
  store<i32>(p, -1, P_NEXT);
  store<u32>(p, len, P_LEN);
  store<u32>(p, flags, P_FLAGS);
  store<u32>(p, tsoMss, P_TSO);
  store<u8>(p, <u8>l2, P_L2);
  store<u8>(p, <u8>l3, P_L3);
  store<u8>(p, <u8>l4, P_L4);
  const e = entryAt(i);
  const tail = load<i32>(e, E_TAIL);
  if (tail < 0) store<i32>(e, index, E_HEAD);
  else store<i32>(pendingAt(tail), index, P_NEXT);
  store<i32>(e, index, E_TAIL);
  store<u16>(e, load<u16>(e, E_PENDING) + 1, E_PENDING);
  // Queued behind frames of a known neighbour that found no TX room: the next burst sends them.
  if (load<u8>(e, E_STATE) == ArpState.REACHABLE && now() < nextDue) nextDue = now();
}

/**
 * For output to REACHABLE entry `i`: sends its waiting frames first and answers whether some
 * still wait (no TX room), in which case new frames must queue behind them to keep their order.
 */
export function arpDrainBeforeSend(i: u32): bool {
  const e = entryAt(i);
  if (load<i32>(e, E_HEAD) < 0) return false;
  flushPending(i);
  return load<i32>(e, E_HEAD) >= 0;
}

/** Frees every frame waiting on entry `i`, counting each on `counter`. */
function dropPending(i: u32, counter: i32): void {
  const e = entryAt(i);
  let index = load<i32>(e, E_HEAD);
  while (index >= 0) {
    const p = pendingAt(index);
    const next = load<i32>(p, P_NEXT);
    store<i32>(p, poolFree, P_NEXT);
    poolFree = index;
    bump(counter);
    index = next;
  }
  store<i32>(e, -1, E_HEAD);
  store<i32>(e, -1, E_TAIL);
  store<u16>(e, 0, E_PENDING);
}

/** Sends entry `i`'s waiting frames, oldest first, while the TX ring has room. */
function flushPending(i: u32): void {
  const e = entryAt(i);
  let index = load<i32>(e, E_HEAD);
  while (index >= 0) {
    const slot = txReserve();
    if (slot == 0) break;
    const p = pendingAt(index);
    const len = load<u32>(p, P_LEN);
    memory.copy(slot, p + PENDING_META, len);
    macCopy(slot + ETH_DST, e + E_MAC);
    ethernetCommit(slot, len, load<u32>(p, P_FLAGS), load<u8>(p, P_L2), load<u8>(p, P_L3),
      load<u8>(p, P_L4), load<u32>(p, P_TSO));
    const next = load<i32>(p, P_NEXT);
    store<i32>(p, poolFree, P_NEXT);
    poolFree = index;
    index = next;
    store<u16>(e, load<u16>(e, E_PENDING) - 1, E_PENDING);
  }
  store<i32>(e, index, E_HEAD);
  if (index < 0) store<i32>(e, -1, E_TAIL);
  else if (now() < nextDue) nextDue = now();
}

/** Records `mac` for entry `i` as confirmed now, and releases its waiting frames. */
function confirm(i: u32, mac: usize): void {
  const e = entryAt(i);
  macCopy(e + E_MAC, mac);
  store<u8>(e, ArpState.REACHABLE, E_STATE);
  store<u8>(e, 0, E_TRIES);
  store<u8>(e, 0, E_USED);
  setDeadline(e, now() + <i64>cfg(Cfg.ArpTtlSec) * 1_000_000);
  if (load<i32>(e, E_HEAD) >= 0) flushPending(i);
}

/**
 * Sends a request for entry `i` if its retry time has come and the TX ring has room:
 * broadcast while resolving, unicast to the known MAC when refreshing a REACHABLE entry.
 */
function sendRequestIfDue(i: u32): void {
  const e = entryAt(i);
  if (load<i64>(e, E_DEADLINE) > now()) return;
  const frame = txReserve();
  if (frame == 0) return;
  const own = ethOwnMac();
  const refresh = load<u8>(e, E_STATE) == ArpState.REACHABLE;
  if (refresh) macCopy(frame + ETH_DST, e + E_MAC);
  else macStoreBroadcast(frame + ETH_DST);
  ethernetEmit(frame, frame + ETH_DST, own, EtherType.ARP);
  arpEmit(frame + ETH_HEADER_LEN, ArpOp.REQUEST, own, cfg(Cfg.Ipv4Addr), ZERO_MAC, load<u32>(e, E_IP));
  ethernetCommit(frame, ETH_HEADER_LEN + ARP_PACKET_LEN, 0, 0, 0, 0, 0);
  bump(refresh ? TX_PROBE : TX_REQUEST);
  store<u8>(e, load<u8>(e, E_TRIES) + 1, E_TRIES);
  setDeadline(e, now() + RETRY_US);
}

/** Handles one ARP packet (`len` bytes after the Ethernet header). */
export function arpInput(p: usize, len: u32): void {
  const r = arpParse(p, len);
  if (r != 0) {
    bump(r == ArpError.TRUNCATED ? DROP_TRUNCATED : r == ArpError.UNSUPPORTED_TYPE ? DROP_UNSUPPORTED : DROP_BAD_OPCODE);
    return;
  }
  const sender = arpRepr.senderIp;
  const target = arpRepr.targetIp;
  if (macIsGroup(arpRepr.senderMac)) { bump(DROP_BAD_SENDER_MAC); return; }
  if (!ipv4IsValidSource(sender)) { bump(DROP_BAD_SENDER_IP); return; }
  // RFC 5227 2.1.1: a probe of ours for an address (iface/ipv4-probe.ts) sees every valid packet.
  ipv4ProbeObserve(sender, target, arpRepr.senderMac);
  const own = cfg(Cfg.Ipv4Addr);
  if (sender != 0 && sender == own) { bump(DROP_CONFLICT); return; }
  if (sender != 0 && sender == target) bump(RX_GRATUITOUS);
  // RFC 826 "Packet Reception": merge a known sender whatever the target.
  let merged = false;
  if (sender != 0) {
    const i = arpFind(sender, false);
    if (i >= 0) {
      confirm(<u32>i, arpRepr.senderMac);
      neighbourLearned(sender, arpRepr.senderMac);
      merged = true;
    }
  }
  const forUs = own != 0 && target == own;
  if (!forUs) {
    bump(merged ? DELIVER_UPDATE : DROP_NOT_FOR_US);
    return;
  }
  // An ARP probe (sender 0.0.0.0, RFC 5227 2.1.1) is answered but teaches nothing.
  if (!merged && sender != 0) {
    const i = arpFind(sender, true);
    confirm(<u32>i, arpRepr.senderMac);
    neighbourLearned(sender, arpRepr.senderMac);
  }
  if (arpRepr.operation == ArpOp.REQUEST) {
    bump(DELIVER_REQUEST);
    sendReply(arpRepr.senderMac, sender);
  } else {
    bump(DELIVER_REPLY);
  }
}

/**
 * Takes an entry another worker of the same port learned (iface/neighbour-share.ts): found or
 * inserted, then confirmed as if its reply had arrived here. An unusable address is ignored.
 */
export function arpAdopt(ip: u32, mac: usize): void {
  if (ip == 0 || ip == cfg(Cfg.Ipv4Addr) || !ipv4IsValidSource(ip) || macIsGroup(mac)) return;
  confirm(<u32>arpFind(ip, true), mac);
}

/** Answers a request for our address, unicast to the asker. */
function sendReply(toMac: usize, toIp: u32): void {
  const frame = txReserve();
  if (frame == 0) { bump(TX_DROP_REPLY_RING_FULL); return; }
  const own = ethOwnMac();
  ethernetEmit(frame, toMac, own, EtherType.ARP);
  arpEmit(frame + ETH_HEADER_LEN, ArpOp.REPLY, own, cfg(Cfg.Ipv4Addr), toMac, toIp);
  ethernetCommit(frame, ETH_HEADER_LEN + ARP_PACKET_LEN, 0, 0, 0, 0, 0);
  bump(TX_REPLY);
}

/** Runs ARP timers at `now()`: retries, failures, expiries, and frames still waiting for TX room. */
export function arpPoll(): void {
  const t = now();
  if (t < nextDue) return;
  nextDue = NEVER;
  for (let i: u32 = 0; i < entryCount; i++) {
    const e = entryAt(i);
    const state = load<u8>(e, E_STATE);
    if (state == ArpState.FREE || state == ArpState.FAILED) continue;
    if (state == ArpState.REACHABLE) {
      if (load<i32>(e, E_HEAD) >= 0) flushPending(i);
      if (load<i64>(e, E_DEADLINE) <= t && load<i32>(e, E_HEAD) < 0) {
        if (load<u8>(e, E_USED) != 0 && load<u8>(e, E_TRIES) < MAX_TRIES) sendRequestIfDue(i);
        else store<u8>(e, ArpState.FREE, E_STATE);
      }
    } else if (state == ArpState.INCOMPLETE) {
      if (load<i64>(e, E_DEADLINE) > t) {
        if (load<i64>(e, E_DEADLINE) < nextDue) nextDue = load<i64>(e, E_DEADLINE);
        continue;
      }
      if (load<u8>(e, E_TRIES) >= MAX_TRIES) {
        bump(RESOLVE_FAILED);
        dropPending(i, TX_DROP_UNRESOLVED);
        store<u8>(e, ArpState.FAILED, E_STATE);
        store<i64>(e, t + FAILED_HOLD_US, E_DEADLINE);
      } else {
        sendRequestIfDue(i);
      }
    }
    // What is left due for this entry (the calls above may have lowered nextDue already).
    const left = load<u8>(e, E_STATE);
    if (left == ArpState.FREE || left == ArpState.FAILED) continue;
    const due = left == ArpState.REACHABLE && load<i32>(e, E_HEAD) >= 0 ? t : load<i64>(e, E_DEADLINE);
    if (due < nextDue) nextDue = due;
  }
}

/**
 * Entry `i` is FAILED and a sender was just told -EHOSTUNREACH: once the hold is over, start
 * resolving again so the next sender's frames wait for a fresh answer.
 */
export function arpFailureReported(i: u32): void {
  const e = entryAt(i);
  if (load<u8>(e, E_STATE) != ArpState.FAILED || load<i64>(e, E_DEADLINE) > now()) return;
  store<u8>(e, ArpState.INCOMPLETE, E_STATE);
  store<u8>(e, 0, E_TRIES);
  setDeadline(e, now());
}

/** Earliest time `arpPoll` has work to do, or NEVER. */
export function arpNextDeadline(): i64 {
  return nextDue;
}

/** Entries in use (any state but FREE); for tests and statistics. */
export function arpEntriesInUse(): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i < entryCount; i++) if (load<u8>(entryAt(i), E_STATE) != ArpState.FREE) n++;
  return n;
}

/** Free pending buffers; for tests (must return to Cfg.ArpPendingFrames when idle). */
export function arpPendingFree(): u32 {
  let n: u32 = 0;
  let i = poolFree;
  while (i >= 0) { n++; i = load<i32>(pendingAt(i), P_NEXT); }
  return n;
}
