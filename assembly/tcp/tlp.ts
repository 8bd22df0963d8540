// Tail Loss Probe (RFC 8985 7): when the last segments of a flight (or every ACK for them) are
// lost, no later segment reveals it and only the RTO would. TLP sends one probe after a probe
// timeout (PTO) of about two round trips, so the peer's ACK (with SACK blocks, or a
// cumulative ACK) starts ordinary recovery instead.
//
// Guarantees (Cfg.TcpRack = 1; with 0 nothing here arms, fires or changes any state):
// - The PTO is armed in `tRexmt` (TF2.PTO_ARMED) instead of the RTO only in a synchronized
//   state with data outstanding and an RTT sample, outside fast recovery, RTO recovery and
//   zero-window probing, and when no TLP episode is open (RFC 8985 7.2: one probe per
//   episode). PTO = 2*SRTT, + WCDelAckT (200 ms) when one segment is in flight, + 2 ms
//   otherwise (as Linux's TCP_TIMEOUT_MIN, for timer granularity), never later than the RTO.
// - When it fires (RFC 8985 7.3) the probe is new data if the peer's window allows a
//   segment, else the last segment sent again; the RTO is then armed as usual. No backoff, no
//   congestion response at the probe.
// - ACKs end the episode (RFC 8985 7.4.2): at or above TLP.end_seq, a probe of new data ends
//   it; a D-SACK of the retransmitted probe ends it (nothing was lost); an ACK above
//   TLP.end_seq means the probe repaired a loss: the congestion response of fast recovery
//   (ccOnCongestionEvent CC_DUPACK, then at once ccOnRecoveryExit); a duplicate ACK at
//   TLP.end_seq without SACK blocks ends it without loss. Fast recovery or an RTO ends it too
//   (their own response covers the loss, as Linux's tcp_init_cwnd_reduction / tcp_enter_loss).
// Nothing allocates; every function is O(SACK blocks).

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { now } from "../util/time";
import { TcpOptions, HAS_SACK } from "../wire/tcp";
import { Tcb, TF, TF2, tcbRtt, tcbCc } from "./tcb";
import { TcpState } from "./state";
import { rttSrtt, rttRto, rttHasSample } from "./rtt";
import { ccOnCongestionEvent, ccOnRecoveryExit, CC_DUPACK } from "./cc/hooks";
import { seqLt, seqLeq, seqGt, seqGeq } from "./seq";
import { timerUpdate, rexmtArm } from "./timers";
import { outputSchedule, flightSize, segmentPayloadMax } from "./output";

/** Loss probes sent (RFC 8985 7.3). */
const TLP_PROBES = defineCounter("tcp.tlp.probes");
/** TLP episodes whose retransmitted probe repaired a loss (RFC 8985 7.4.2): congestion response taken. */
const TLP_RECOVERIES = defineCounter("tcp.tlp.recoveries");
/** TLP episodes a D-SACK showed needless (original and probe both arrived). */
const TLP_SPURIOUS = defineCounter("tcp.tlp.spurious");

/** RFC 8985 7.2 WCDelAckT: the worst-case delayed ACK a single segment may wait for. */
@inline const WC_DEL_ACK_US: i64 = 200_000;
/** Added with more than one segment in flight (as Linux's TCP_TIMEOUT_MIN). */
@inline const PTO_SLACK_US: i64 = 2_000;

@inline function probingState(state: u32): bool {
  return state == TcpState.ESTABLISHED || state == TcpState.CLOSE_WAIT ||
    state == TcpState.FIN_WAIT_1 || state == TcpState.CLOSING || state == TcpState.LAST_ACK;
}

/** RFC 8985 7.2: may `t` have a PTO now? */
function ptoAllowed(t: Tcb): bool {
  if (cfg(Cfg.TcpRack) == 0) return false;
  if (!probingState(t.state)) return false;
  if ((t.flags & (TF.IN_RECOVERY | TF.PERSIST)) != 0 || t.backoff != 0) return false;
  if ((t.flags2 & TF2.TLP_EPISODE) != 0) return false;
  if (t.sndMax == t.sndUna || t.sndNxt != t.sndMax) return false;
  return rttHasSample(tcbRtt(t));
}

/**
 * Arms (or re-arms) the PTO in place of the RTO when RFC 8985 7.2 allows it; true when armed.
 * Called after new data went out (not while the RACK reordering timer holds `tRexmt`) and on
 * an ACK of new data with data still outstanding (RACK then re-arms its timer if it needs it).
 */
export function tlpArm(t: Tcb): bool {
  if (!ptoAllowed(t)) return false;
  const rtt = tcbRtt(t);
  let pto = <i64>rttSrtt(rtt) * 2;
  pto += flightSize(t) <= segmentPayloadMax(t) ? WC_DEL_ACK_US : PTO_SLACK_US;
  const rto = <i64>rttRto(rtt);
  if (pto >= rto) return false;
  t.flags &= ~TF.PERSIST;
  t.flags2 |= TF2.PTO_ARMED;
  t.tRexmt = now() + pto;
  timerUpdate(t);
  return true;
}

/**
 * The PTO fired (RFC 8985 7.3): the next output sends the probe, and the RTO takes over the
 * timer. When the conditions no longer hold the timer just becomes the RTO.
 */
export function tlpFired(t: Tcb): void {
  t.flags2 &= ~TF2.PTO_ARMED;
  const allowed = ptoAllowed(t);
  rexmtArm(t);
  if (!allowed) return;
  t.flags2 |= TF2.TLP_SEND;
  outputSchedule(t);
}

/**
 * Records the probe just sent (RFC 8985 7.3): TLP.end_seq = SND.NXT after it, TLP.is_retrans.
 */
export function tlpProbeSent(t: Tcb, retransmitted: bool): void {
  bump(TLP_PROBES);
  t.tlpEndSeq = t.sndMax;
  t.flags2 = (t.flags2 & ~TF2.TLP_IS_RETRANS) | TF2.TLP_EPISODE | (retransmitted ? TF2.TLP_IS_RETRANS : 0);
}

/** Ends the TLP episode and drops a pending probe (an RTO, or fast recovery, took over). */
export function tlpEpisodeEnd(t: Tcb): void {
  t.flags2 &= ~(TF2.TLP_EPISODE | TF2.TLP_IS_RETRANS | TF2.TLP_SEND);
}

/**
 * True when the ACK's first SACK block is a D-SACK (RFC 2883 4: below the cumulative ACK, or
 * inside the second block) that ends within the probe's last segment.
 */
function dsackOfProbe(t: Tcb, o: TcpOptions, ack: u32): bool {
  if ((o.present & HAS_SACK) == 0 || o.sackCount == 0) return false;
  const left = o.sackLeft(0);
  const right = o.sackRight(0);
  const isDsack = seqLeq(right, ack) ||
    (o.sackCount > 1 && seqGeq(left, o.sackLeft(1)) && seqLeq(right, o.sackRight(1)));
  if (!isDsack) return false;
  const end = t.tlpEndSeq;
  return seqLt(left, end) && seqGeq(right, end - segmentPayloadMax(t) - 1);
}

/**
 * RFC 8985 7.4.2 on every acceptable ACK, before SND.UNA moves: `ack` is SEG.ACK, `advances`
 * whether it acknowledges new data, `duplicate` whether it is a duplicate ACK (RFC 5681 2).
 */
export function tlpOnAck(t: Tcb, o: TcpOptions, ack: u32, advances: bool, duplicate: bool): void {
  if ((t.flags2 & TF2.TLP_EPISODE) == 0) return;
  if ((t.flags & TF.IN_RECOVERY) != 0) { tlpEpisodeEnd(t); return; }
  const end = t.tlpEndSeq;
  if (seqLt(ack, end)) return;
  if ((t.flags2 & TF2.TLP_IS_RETRANS) == 0) { tlpEpisodeEnd(t); return; }
  if (dsackOfProbe(t, o, ack)) {
    bump(TLP_SPURIOUS);
    tlpEpisodeEnd(t);
    return;
  }
  if (seqGt(ack, end)) {
    // The probe repaired a loss: the response fast recovery would have given, for a
    // recovery that is already over.
    bump(TLP_RECOVERIES);
    tlpEpisodeEnd(t);
    const cc = tcbCc(t);
    ccOnCongestionEvent(cc, CC_DUPACK, flightSize(t));
    ccOnRecoveryExit(cc, flightSize(t));
    return;
  }
  if (!advances && duplicate && (o.present & HAS_SACK) == 0) tlpEpisodeEnd(t);
}
