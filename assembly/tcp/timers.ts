// TCP timers: one deadline per connection in an indexed binary min-heap, and what each timer
// does when it fires.
//
// Guarantees: `tcpTimersNext()` is O(1) and `timerUpdate` O(log n), so a poll costs the number
// of expired connections times log n, never a scan of the table. Each connection has at most
// one heap entry, keyed by the earliest of its timers (tRexmt, tDelack, tKeep); when a
// connection's timers change, `timerUpdate(t)` re-keys it.
//
// Timers (RFC 9293 3.8, RFC 6298, RFC 1122 4.2.2.17, 4.2.3.6, RFC 7323):
// - tRexmt, one of: retransmission (RFC 6298 5), tail loss probe timeout (RFC 8985 7.2,
//   TF2.PTO_ARMED, tcp/tlp.ts), RACK reordering timer (RFC 8985 6.3, TF2.REO_ARMED,
//   tcp/rack.ts), SYN / SYN-ACK retry, persist (zero-window probe, RFC 9293 3.8.6.1), TIME-WAIT expiry (2*MSL), orphaned FIN-WAIT-2 expiry (as Linux);
// - tDelack: the delayed ACK (RFC 9293 3.8.6.3, RFC 1122 4.2.3.2);
// - tKeep: keepalive idle / probe interval (RFC 1122 4.2.3.6).

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { allocZeroed } from "../frame/rings";
import { now, NEVER } from "../util/time";
import { Tcb, TF, TF2, tcbAt, tcbRtt, tcbCc } from "./tcb";
import { TcpState } from "./state";
import { Errno } from "./api";
import { rttRto, rttBackoff, rttOnRetransmit } from "./rtt";
import { ccOnCongestionEvent, CC_RTO } from "./cc/hooks";
import { sackClear } from "./sack";
import { outputSchedule, sendProbe, sendRstInConnection, flightSize } from "./output";
import { connectionFail, connectionFree } from "./close";
import { fastOpenSynTimeout } from "./fastopen";
import { tlpFired, tlpEpisodeEnd, tlpArm } from "./tlp";
import { rackActive, rackForgetRecords, rackReoTimerFired } from "./rack";
import { rackReact } from "./input";

const RTO_FIRED = defineCounter("tcp.timer.rto");
const PERSIST_FIRED = defineCounter("tcp.timer.persist");
const DELACK_FIRED = defineCounter("tcp.timer.delack");
const KEEPALIVE_PROBES = defineCounter("tcp.timer.keepalive_probe");
const TIMEOUTS = defineCounter("tcp.conn.timed_out");

let heapIdx: usize = 0;    // u32 record index per heap position
let heapKey: usize = 0;    // i64 deadline per heap position
let heapPos: usize = 0;    // i32 heap position per record, -1 = not in the heap
let heapLen: u32 = 0;

export function timersInit(capacity: u32): void {
  heapIdx = allocZeroed(<usize>capacity << 2);
  heapKey = allocZeroed(<usize>capacity << 3);
  heapPos = allocZeroed(<usize>capacity << 2);
  for (let i: u32 = 0; i < capacity; i++) store<i32>(heapPos + (<usize>i << 2), -1);
  heapLen = 0;
}

@inline function keyAt(p: u32): i64 { return load<i64>(heapKey + (<usize>p << 3)); }
@inline function idxAt(p: u32): u32 { return load<u32>(heapIdx + (<usize>p << 2)); }
@inline function posOf(i: u32): i32 { return load<i32>(heapPos + (<usize>i << 2)); }

@inline function place(p: u32, idx: u32, key: i64): void {
  store<u32>(heapIdx + (<usize>p << 2), idx);
  store<i64>(heapKey + (<usize>p << 3), key);
  store<i32>(heapPos + (<usize>idx << 2), <i32>p);
}

function siftUp(p: u32, idx: u32, key: i64): void {
  while (p > 0) {
    const parent = (p - 1) >> 1;
    const pk = keyAt(parent);
    if (pk <= key) break;
    place(p, idxAt(parent), pk);
    p = parent;
  }
  place(p, idx, key);
}

function siftDown(p: u32, idx: u32, key: i64): void {
  for (;;) {
    let child: u32 = 2 * p + 1;
    if (child >= heapLen) break;
    let ck = keyAt(child);
    if (child + 1 < heapLen) {
      const rk = keyAt(child + 1);
      if (rk < ck) { child++; ck = rk; }
    }
    if (key <= ck) break;
    place(p, idxAt(child), ck);
    p = child;
  }
  place(p, idx, key);
}

function heapRemoveAt(p: u32): void {
  const removed = idxAt(p);
  store<i32>(heapPos + (<usize>removed << 2), -1);
  heapLen--;
  if (p == heapLen) return;
  const idx = idxAt(heapLen);
  const key = keyAt(heapLen);
  if (p > 0 && keyAt((p - 1) >> 1) > key) siftUp(p, idx, key);
  else siftDown(p, idx, key);
}

/** The earliest of `t`'s timers. */
@inline function earliest(t: Tcb): i64 {
  let d = t.tRexmt;
  if (t.tDelack < d) d = t.tDelack;
  if (t.tKeep < d) d = t.tKeep;
  return d;
}

/** Re-keys `t` in the heap after any of its timers changed (removes it when none is set). */
export function timerUpdate(t: Tcb): void {
  const key = earliest(t);
  const p = posOf(t.index);
  if (key == NEVER) {
    if (p >= 0) heapRemoveAt(<u32>p);
    return;
  }
  if (p < 0) {
    heapLen++;
    siftUp(heapLen - 1, t.index, key);
  } else if (key < keyAt(<u32>p)) {
    siftUp(<u32>p, t.index, key);
  } else {
    siftDown(<u32>p, t.index, key);
  }
}

/** Stops every timer of `t` and takes it out of the heap. */
export function timersCancel(t: Tcb): void {
  t.tRexmt = NEVER;
  t.tDelack = NEVER;
  t.tKeep = NEVER;
  t.flags &= ~TF.PERSIST;
  t.flags2 &= ~(TF2.PTO_ARMED | TF2.REO_ARMED);
  const p = posOf(t.index);
  if (p >= 0) heapRemoveAt(<u32>p);
}

/** Earliest TCP deadline (µs), NEVER when none. */
export function tcpTimersNext(): i64 {
  return heapLen == 0 ? NEVER : keyAt(0);
}

/** Fires every timer due at `now()`. */
export function tcpTimersRun(): void {
  const t0 = now();
  while (heapLen > 0 && keyAt(0) <= t0) {
    const t = tcbAt(idxAt(0));
    if (t.tDelack <= t0) {
      t.tDelack = NEVER;
      bump(DELACK_FIRED);
      t.flags |= TF.ACK_NOW;
      outputSchedule(t);
    }
    if (t.tKeep <= t0) {
      t.tKeep = NEVER;
      keepaliveFired(t);
    }
    if ((t.flags & TF.IN_USE) != 0 && t.tRexmt <= t0) {
      t.tRexmt = NEVER;
      rexmtFired(t);
    }
    if ((t.flags & TF.IN_USE) != 0) timerUpdate(t);
    else if (posOf(t.index) >= 0) heapRemoveAt(<u32>posOf(t.index));
  }
}

/**
 * Arms (or re-arms) the retransmission timer at the current RTO, backed off, but no later
 * than the user timeout of the oldest unacknowledged data (as Linux clamps it).
 */
export function rexmtArm(t: Tcb): void {
  t.flags &= ~TF.PERSIST;
  t.flags2 &= ~(TF2.PTO_ARMED | TF2.REO_ARMED);
  let at = now() + <i64>rttRto(tcbRtt(t));
  if (t.unackedSinceUs != NEVER) {
    const limit = t.unackedSinceUs + <i64>t.userTimeoutMs * 1000;
    if (limit < at) at = limit;
  }
  t.tRexmt = at;
  timerUpdate(t);
}

/** Arms the RACK reordering timer `timeoutUs` from now in place of the RTO (RFC 8985 6.3). */
export function rackReoArm(t: Tcb, timeoutUs: i64): void {
  t.flags &= ~TF.PERSIST;
  t.flags2 = (t.flags2 & ~TF2.PTO_ARMED) | TF2.REO_ARMED;
  t.tRexmt = now() + timeoutUs;
  timerUpdate(t);
}

/** Stops the retransmission / persist timer. */
export function rexmtStop(t: Tcb): void {
  t.flags &= ~TF.PERSIST;
  t.flags2 &= ~(TF2.PTO_ARMED | TF2.REO_ARMED);
  t.tRexmt = NEVER;
  timerUpdate(t);
}

/** Arms the persist timer (zero window with data waiting), RTO-based with backoff. */
export function persistArm(t: Tcb): void {
  t.flags |= TF.PERSIST;
  t.flags2 &= ~(TF2.PTO_ARMED | TF2.REO_ARMED);
  t.tRexmt = now() + <i64>rttRto(tcbRtt(t));
  timerUpdate(t);
}

/** Arms the keepalive timer for the idle period (only with TF.KEEPALIVE). */
export function keepaliveArm(t: Tcb): void {
  if ((t.flags & TF.KEEPALIVE) == 0) {
    t.tKeep = NEVER;
  } else {
    t.tKeep = t.lastRecvUs + <i64>t.keepIdleMs * 1000;
    if (t.keepProbesSent > 0) t.tKeep = now() + <i64>t.keepIntvlMs * 1000;
  }
  timerUpdate(t);
}

/** Arms the delayed-ACK timer unless it is running (RFC 1122 4.2.3.2: at most 500 ms). */
export function delackArm(t: Tcb): void {
  if (t.tDelack != NEVER) return;
  t.tDelack = now() + <i64>cfg(Cfg.TcpDelayedAckMs) * 1000;
  timerUpdate(t);
}

/** TIME-WAIT for 2*MSL (RFC 9293 3.6.1; Cfg.TcpTimeWaitMs, 60 s as Linux). */
export function timeWaitArm(t: Tcb): void {
  t.flags &= ~TF.PERSIST;
  t.flags2 &= ~(TF2.PTO_ARMED | TF2.REO_ARMED);
  t.tDelack = NEVER;
  t.tKeep = NEVER;
  t.tRexmt = now() + <i64>cfg(Cfg.TcpTimeWaitMs) * 1000;
  timerUpdate(t);
}

function keepaliveFired(t: Tcb): void {
  if ((t.flags & TF.KEEPALIVE) == 0) return;
  if (t.state != TcpState.ESTABLISHED && t.state != TcpState.CLOSE_WAIT) return;
  const t0 = now();
  const idleEnd = t.lastRecvUs + <i64>t.keepIdleMs * 1000;
  if (t.keepProbesSent == 0 && idleEnd > t0) { t.tKeep = idleEnd; return; }
  if (t.keepProbesSent >= t.keepCnt) {
    // RFC 1122 4.2.3.6: the peer is dead. As Linux, reset it and report ETIMEDOUT.
    bump(TIMEOUTS);
    sendRstInConnection(t);
    connectionFail(t, Errno.ETIMEDOUT);
    return;
  }
  bump(KEEPALIVE_PROBES);
  t.keepProbesSent++;
  // A probe is a segment the peer must answer: SEG.SEQ = SND.UNA - 1, no data (as Linux).
  sendProbe(t);
  t.tKeep = t0 + <i64>t.keepIntvlMs * 1000;
}

function rexmtFired(t: Tcb): void {
  const state = t.state;
  if (state == TcpState.TIME_WAIT || state == TcpState.FIN_WAIT_2) {
    // TIME-WAIT over (2*MSL), or an orphaned FIN-WAIT-2 gave up waiting for the peer's FIN.
    connectionFree(t);
    return;
  }
  if ((t.flags & TF.PERSIST) != 0) {
    // RFC 9293 3.8.6.1: probe the zero window; back off like the RTO.
    bump(PERSIST_FIRED);
    rttBackoff(tcbRtt(t));
    sendProbe(t);
    persistArm(t);
    return;
  }
  if ((t.flags2 & TF2.REO_ARMED) != 0) {
    // RFC 8985 6.3: the reordering window ran out: detect losses again, the RTO behind it.
    t.flags2 &= ~TF2.REO_ARMED;
    rackReoTimerFired();
    if (!tlpArm(t)) rexmtArm(t);
    rackReact(t, true);
    return;
  }
  if ((t.flags2 & TF2.PTO_ARMED) != 0) {
    // RFC 8985 7.3: the probe timeout, not the RTO.
    tlpFired(t);
    return;
  }
  bump(RTO_FIRED);
  const t0 = now();
  if (state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED) {
    const limit = state == TcpState.SYN_SENT ? cfg(Cfg.TcpSynRetries) : cfg(Cfg.TcpSynAckRetries);
    if (t.backoff >= limit) {
      bump(TIMEOUTS);
      connectionFail(t, Errno.ETIMEDOUT);
      return;
    }
    // RFC 7413 4.1.3: a SYN with Fast Open data that timed out goes again without it.
    if (state == TcpState.SYN_SENT) fastOpenSynTimeout(t);
  } else if (t.unackedSinceUs != NEVER && t0 - t.unackedSinceUs >= <i64>t.userTimeoutMs * 1000) {
    // RFC 9293 3.8.3: the user timeout expired with data unacknowledged.
    bump(TIMEOUTS);
    connectionFail(t, Errno.ETIMEDOUT);
    return;
  }
  // RFC 6298 5.4-5.6: retransmit the earliest unacknowledged segment, back off the timer.
  t.backoff++;
  rttBackoff(tcbRtt(t));
  if (state != TcpState.SYN_SENT && state != TcpState.SYN_RECEIVED) {
    // RFC 5681 3.1: once per loss episode, not per backoff (ssthresh keeps its first value).
    if (t.backoff == 1) ccOnCongestionEvent(tcbCc(t), CC_RTO, flightSize(t));
  }
  rttOnRetransmit(tcbRtt(t));
  t.flags &= ~TF.IN_RECOVERY;
  tlpEpisodeEnd(t);
  if (rackActive(t)) rackForgetRecords(t.rack);
  // RFC 2018 8, RFC 6675 5.1: after a timeout the SACK information is not trusted.
  sackClear(t.sack);
  t.dupAcks = 0;
  t.recover = t.sndMax;
  t.sndNxt = t.sndUna;
  rexmtArm(t);
  outputSchedule(t);
}
