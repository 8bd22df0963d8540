// RACK (RFC 8985 6): time-based loss detection. A segment is lost once a segment sent after
// it has been delivered (SACKed or cumulatively acknowledged) and a reordering window has
// passed since then; the reordering timer fires when that window runs out with no further ACK.
//
// State (RACK_STATE_BYTES per connection, at a pointer the owner allocates once per connection
// slot at init, as the SACK scoreboard's):
//
//   0 u32 head      index of the oldest transmission record
//   4 u32 count     records held, 0 .. RACK_RECORDS_MAX
//   8 i64 xmitTs    RACK.xmit_ts: send time of the most recently sent delivered segment (valid with HAS_XMIT)
//  16 u32 endSeq    RACK.end_seq of that segment
//  20 u32 rtt       RACK.rtt, µs: its round trip
//  24 u32 minRtt    lowest round trip seen on a segment sent once, µs (valid with HAS_MIN_RTT)
//  28 u32 bits      HAS_XMIT, HAS_MIN_RTT, REORDERING (RACK.reord), DSACK_ROUND, WAS_RECOVERY
//  32 u32 fack      RACK.fack: highest delivered sequence + 1
//  36 u32 reoMult   RACK.reo_wnd_mult, 1 .. REO_MULT_MAX
//  40 u32 reoPersist recoveries left before reoMult returns to 1 (RACK.reo_wnd_persist)
//  44 u32 dsackRound SND.NXT when reoMult last grew (RACK.dsack_round, valid with DSACK_ROUND)
//  48 records[RACK_RECORDS_MAX] { u32 start; u32 end; u32 flags; u32 pad; i64 sentAt }
//     a ring in transmission order: one record per data segment or TSO frame sent (new data or
//     retransmission), [start, end) in sequence space; a retransmission marks older records of
//     the same bytes SUPERSEDED.
//
// Guarantees: used only with Cfg.TcpRack and SACK negotiated (RACK needs SACK to see delivery
// out of order); nothing allocates; every function is O(RACK_RECORDS_MAX). When the ring is
// full a new transmission is not recorded (counted in tcp.rack.untracked): RACK then cannot
// mark it lost, and RFC 6675's DupThresh rules (always on) and the RTO still cover it. A
// retransmission delivered sooner than min RTT after it left is not trusted for RACK.xmit_ts
// (RFC 8985 6.2 step 2: the ACK was likely for the original). The reordering window is
// min(minRtt * reoMult / 4, SRTT), 0 before any reordering was seen while in recovery or with
// DupThresh segments SACKed, and grows by one quarter min RTT per round trip that saw a D-SACK
// (RFC 8985 6.2 step 4). An RTO forgets the records (RFC 8985 6.3: after it every outstanding
// segment goes again, the go-back-N of tcp/output.ts).

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { now } from "../util/time";
import { TcpOptions, HAS_SACK } from "../wire/tcp";
import { Tcb, TF, tcbRtt } from "./tcb";
import { rttSrtt } from "./rtt";
import { sackCovers, sackOverlaps, sackMarkLost, sackedBytes, DUP_THRESH } from "./sack";
import { seqLt, seqLeq, seqGt, seqGeq } from "./seq";

/** Segments (or TSO frames) RACK marked lost (RFC 8985 6.2 step 5). */
const LOST_MARKED = defineCounter("tcp.rack.lost_marked");
/** Reordering timer expiries (RFC 8985 6.3). */
const REO_TIMER_FIRED = defineCounter("tcp.rack.reo_timer_fired");
/** Transmissions not recorded because the connection's record ring was full (RFC 6675 rules only for them). */
const UNTRACKED = defineCounter("tcp.rack.untracked");

/** Transmission records per connection (a TSO frame is one). */
@inline export const RACK_RECORDS_MAX: u32 = 128;
@inline const R_HEAD: usize = 0;
@inline const R_COUNT: usize = 4;
@inline const R_XMIT_TS: usize = 8;
@inline const R_END_SEQ: usize = 16;
@inline const R_RTT: usize = 20;
@inline const R_MIN_RTT: usize = 24;
@inline const R_BITS: usize = 28;
@inline const R_FACK: usize = 32;
@inline const R_REO_MULT: usize = 36;
@inline const R_REO_PERSIST: usize = 40;
@inline const R_DSACK_ROUND: usize = 44;
@inline const R_RECORDS: usize = 48;
@inline const RECORD: usize = 24;
@inline const E_START: usize = 0;
@inline const E_END: usize = 4;
@inline const E_FLAGS: usize = 8;
@inline const E_SENT_AT: usize = 16;
/** Bytes of RACK state per connection. */
@inline export const RACK_STATE_BYTES: u32 = <u32>R_RECORDS + RACK_RECORDS_MAX * <u32>RECORD;

// R_BITS
@inline const HAS_XMIT: u32 = 1;
@inline const HAS_MIN_RTT: u32 = 2;
@inline const REORDERING: u32 = 4;
@inline const DSACK_ROUND: u32 = 8;
@inline const WAS_RECOVERY: u32 = 16;
// E_FLAGS
@inline const RETRANSMITTED: u32 = 1;
@inline const SUPERSEDED: u32 = 2;
@inline const DELIVERED: u32 = 4;
@inline const LOST: u32 = 8;

/** RFC 8985 6.2 step 4: the multiplier's ceiling, and the recoveries it persists for. */
@inline const REO_MULT_MAX: u32 = 4;
@inline const REO_PERSIST: u32 = 16;

/** RACK runs on `t`: Cfg.TcpRack and SACK negotiated. */
@inline export function rackActive(t: Tcb): bool {
  return cfg(Cfg.TcpRack) != 0 && (t.flags & TF.SACK) != 0;
}

@inline function recordAt(r: usize, i: u32): usize {
  return r + R_RECORDS + <usize>(i % RACK_RECORDS_MAX) * RECORD;
}

/** Resets every field (a new connection). */
export function rackReset(r: usize): void {
  memory.fill(r, 0, R_RECORDS);
  store<u32>(r, 1, R_REO_MULT);
}

/** Forgets the transmission records and RACK.xmit_ts (after an RTO); min RTT and the window stay. */
export function rackForgetRecords(r: usize): void {
  store<u32>(r, 0, R_COUNT);
  store<u32>(r, load<u32>(r, R_BITS) & ~HAS_XMIT, R_BITS);
}

/**
 * Records a transmission of [start, end) at now (RFC 8985 6.1 Segment.xmit_ts);
 * `retransmission` marks older records of those bytes SUPERSEDED.
 */
export function rackOnSend(r: usize, start: u32, end: u32, retransmission: bool): void {
  const head = load<u32>(r, R_HEAD);
  const n = load<u32>(r, R_COUNT);
  if (retransmission) {
    for (let i: u32 = 0; i < n; i++) {
      const e = recordAt(r, head + i);
      if (seqLt(load<u32>(e, E_START), end) && seqLt(start, load<u32>(e, E_END))) {
        store<u32>(e, load<u32>(e, E_FLAGS) | SUPERSEDED, E_FLAGS);
      }
    }
  }
  if (n >= RACK_RECORDS_MAX) { bump(UNTRACKED); return; }
  const e = recordAt(r, head + n);
  store<u32>(e, start, E_START);
  store<u32>(e, end, E_END);
  store<u32>(e, retransmission ? RETRANSMITTED : 0, E_FLAGS);
  store<i64>(e, now(), E_SENT_AT);
  store<u32>(r, n + 1, R_COUNT);
}

/** True when (ts1, end1) was sent after (ts2, end2) (RFC 8985 6.2 RACK_sent_after). */
@inline function sentAfter(ts1: i64, end1: u32, ts2: i64, end2: u32): bool {
  return ts1 > ts2 || (ts1 == ts2 && seqGt(end1, end2));
}

/** True when the ACK's first SACK block is a D-SACK (RFC 2883 4). */
function hasDsack(o: TcpOptions, ack: u32): bool {
  if ((o.present & HAS_SACK) == 0 || o.sackCount == 0) return false;
  const left = o.sackLeft(0);
  const right = o.sackRight(0);
  return seqLeq(right, ack) ||
    (o.sackCount > 1 && seqGeq(left, o.sackLeft(1)) && seqLeq(right, o.sackRight(1)));
}

/** RFC 8985 6.2 step 4: RACK.reo_wnd, µs. */
function reoWindow(r: usize, t: Tcb, inRecovery: bool, sackBoard: usize, smss: u32): i64 {
  const bits = load<u32>(r, R_BITS);
  if ((bits & REORDERING) == 0) {
    if (inRecovery) return 0;
    if (sackedBytes(sackBoard) >= DUP_THRESH * smss) return 0;
  }
  if ((bits & HAS_MIN_RTT) == 0) return 0;
  const wnd = (<i64>load<u32>(r, R_MIN_RTT) * <i64>load<u32>(r, R_REO_MULT)) >> 2;
  const srtt = <i64>rttSrtt(tcbRtt(t));
  return wnd < srtt ? wnd : srtt;
}

/**
 * RFC 8985 6.2 steps 1-4 for one ACK (after the SACK scoreboard and SND.UNA took it): updates
 * RACK.xmit_ts / end_seq / rtt / fack, min RTT, the reordering flag and the D-SACK window
 * multiplier, and drops the records SND.UNA now covers.
 */
export function rackOnAck(r: usize, t: Tcb, o: TcpOptions, ack: u32): void {
  const una = t.sndUna;
  const b = t.sack;
  const t0 = now();
  let bits = load<u32>(r, R_BITS);
  // Step 4's persistence: a recovery that ended counts down the grown multiplier.
  const inRecovery = (t.flags & TF.IN_RECOVERY) != 0;
  if ((bits & WAS_RECOVERY) != 0 && !inRecovery) {
    const left = load<u32>(r, R_REO_PERSIST);
    if (left <= 1) store<u32>(r, 1, R_REO_MULT);
    store<u32>(r, left > 0 ? left - 1 : 0, R_REO_PERSIST);
  }
  bits = inRecovery ? bits | WAS_RECOVERY : bits & ~WAS_RECOVERY;
  // Step 4: one step of growth per round trip that saw a D-SACK.
  if ((bits & DSACK_ROUND) != 0 && seqGeq(una, load<u32>(r, R_DSACK_ROUND))) bits &= ~DSACK_ROUND;
  if ((bits & DSACK_ROUND) == 0 && hasDsack(o, ack)) {
    bits |= DSACK_ROUND | REORDERING;
    store<u32>(r, t.sndNxt, R_DSACK_ROUND);
    const mult = load<u32>(r, R_REO_MULT);
    if (mult < REO_MULT_MAX) store<u32>(r, mult + 1, R_REO_MULT);
    store<u32>(r, REO_PERSIST, R_REO_PERSIST);
  }
  const head = load<u32>(r, R_HEAD);
  const n = load<u32>(r, R_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const e = recordAt(r, head + i);
    const flags = load<u32>(e, E_FLAGS);
    if ((flags & (DELIVERED | SUPERSEDED)) != 0) continue;
    const start = load<u32>(e, E_START);
    const end = load<u32>(e, E_END);
    const whole = seqLeq(end, una) || sackCovers(b, start, end);
    if (!whole && !seqLt(start, una) && !sackOverlaps(b, start, end)) continue;
    if (whole) store<u32>(e, flags | DELIVERED, E_FLAGS);
    const sentAt = load<i64>(e, E_SENT_AT);
    const rtt = t0 - sentAt;
    const rtt32: u32 = rtt > <i64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>rtt;
    if ((flags & RETRANSMITTED) != 0) {
      // Step 2: too soon after the retransmission: the ACK is likely for the original.
      if ((bits & HAS_MIN_RTT) != 0 && rtt32 < load<u32>(r, R_MIN_RTT)) continue;
    } else {
      if ((bits & HAS_MIN_RTT) == 0 || rtt32 < load<u32>(r, R_MIN_RTT)) store<u32>(r, rtt32, R_MIN_RTT);
      bits |= HAS_MIN_RTT;
      // Step 3: a never-retransmitted segment delivered below RACK.fack arrived out of order.
      if ((bits & HAS_XMIT) != 0 && seqLt(end, load<u32>(r, R_FACK))) bits |= REORDERING;
    }
    if ((bits & HAS_XMIT) == 0 || seqGt(end, load<u32>(r, R_FACK))) store<u32>(r, end, R_FACK);
    if ((bits & HAS_XMIT) == 0 ||
        sentAfter(sentAt, end, load<i64>(r, R_XMIT_TS), load<u32>(r, R_END_SEQ))) {
      store<i64>(r, sentAt, R_XMIT_TS);
      store<u32>(r, end, R_END_SEQ);
      store<u32>(r, rtt32, R_RTT);
      bits |= HAS_XMIT;
    }
  }
  store<u32>(r, bits, R_BITS);
  // Records wholly below SND.UNA are done.
  let h = head;
  let left = n;
  while (left > 0 && seqLeq(load<u32>(recordAt(r, h), E_END), una)) { h++; left--; }
  store<u32>(r, h % RACK_RECORDS_MAX, R_HEAD);
  store<u32>(r, left, R_COUNT);
}

/** Set by rackDetectLoss: how many records it marked lost. */
export let rackMarked: u32 = 0;

/**
 * RFC 8985 6.2 step 5: marks lost every undelivered record sent before RACK.xmit_ts whose
 * reordering window has passed (on the SACK scoreboard, for NextSeg), sets `rackMarked`, and
 * returns the reordering timeout in µs for the rest (0: none pending).
 */
export function rackDetectLoss(r: usize, t: Tcb, smss: u32): i64 {
  rackMarked = 0;
  const bits = load<u32>(r, R_BITS);
  if ((bits & HAS_XMIT) == 0) return 0;
  const b = t.sack;
  const xmitTs = load<i64>(r, R_XMIT_TS);
  const endSeq = load<u32>(r, R_END_SEQ);
  const reo = reoWindow(r, t, (t.flags & TF.IN_RECOVERY) != 0, b, smss);
  const wait = <i64>load<u32>(r, R_RTT) + reo;
  const t0 = now();
  let timeout: i64 = 0;
  const head = load<u32>(r, R_HEAD);
  const n = load<u32>(r, R_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const e = recordAt(r, head + i);
    const flags = load<u32>(e, E_FLAGS);
    const sentAt = load<i64>(e, E_SENT_AT);
    const end = load<u32>(e, E_END);
    // Records are in transmission order: the rest were sent after RACK.xmit_ts.
    if (!sentAfter(xmitTs, endSeq, sentAt, end)) break;
    if ((flags & (DELIVERED | SUPERSEDED | LOST)) != 0) continue;
    const remaining = sentAt + wait - t0;
    if (remaining <= 0) {
      store<u32>(e, flags | LOST, E_FLAGS);
      sackMarkLost(b, load<u32>(e, E_START), end);
      bump(LOST_MARKED);
      rackMarked++;
    } else if (remaining > timeout) {
      timeout = remaining;
    }
  }
  return timeout;
}

/** Counts a reordering timer expiry (the caller runs rackDetectLoss). */
export function rackReoTimerFired(): void {
  bump(REO_TIMER_FIRED);
}
