// Explicit Congestion Notification for TCP (RFC 3168 6.1): negotiation in the handshake,
// ECT(0) on new data, the receiver's ECN-Echo latch and the sender's once-per-window
// reaction. Cfg.TcpEcn chooses the policy, as Linux's net.ipv4.tcp_ecn: 0 never, 1 request
// on outgoing connections and accept on incoming ones, 2 accept only (the default).
//
// Rules, with the sections they implement:
// - An ECN-setup SYN carries ECE and CWR (6.1.1); only the first transmission does: SYN
//   retransmissions go without them (6.1.1.1 allows it; Linux's tcp_ecn_clear_syn, with its
//   default tcp_ecn_fallback = 1), so a path that drops ECN-setup SYNs still connects.
// - A listener (Cfg.TcpEcn 1 or 2) answers an ECN-setup SYN, and only such a SYN, with an
//   ECN-setup SYN-ACK: ECE without CWR (6.1.1), on every transmission of the SYN-ACK.
// - The active side uses ECN when its SYN was ECN-setup and the SYN-ACK has ECE without CWR;
//   a SYN-ACK with both is not ECN-setup (6.1.1).
// - With ECN in use (TF.ECN), new data goes out ECT(0); pure ACKs, SYNs and SYN-ACKs
//   (6.1.4, 6.1.1), retransmissions (6.1.5) and window probes (6.1.6) go Not-ECT.
// - Receiver (6.1.3): a segment arriving with CE sets TF.ECN_ECHO, and from then on every
//   segment we send carries ECE, until a segment with CWR arrives (CWR is applied before
//   the CE of the same segment, so CE on the CWR segment keeps the echo going). The CE
//   segment is acknowledged at once (as Linux's quick-ACK mode), so the echo is not delayed.
// - Sender (6.1.2): an ACK with ECE reduces the window through the congestion-control hook
//   (ccOnCongestionEvent CC_ECN: ssthresh from FlightSize, cwnd = ssthresh) at most once per
//   window of data: not again until an ACK covers data sent after the reduction (beyond
//   `Tcb.ecnHigh`, the SND.MAX of that moment), and not while loss recovery (which reduced
//   the window already) or a retransmission timeout is in progress. The next new data
//   segment then carries CWR (6.1.2), once.
//
// Guarantees: nothing allocates; a connection without TF.ECN never sees ECE/CWR set by us,
// never sends ECT, and ignores ECE, CWR and CE from the peer.
//
// Counters: tcp.ecn.negotiated (connections that use ECN), tcp.ecn.ce_received (segments
// that arrived CE-marked), tcp.ecn.ece_received (ACKs with ECE), tcp.ecn.cwnd_reductions
// (reactions, at most one per window), tcp.ecn.cwr_sent, tcp.ecn.cwr_received.

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { ipv4OutputSetTos } from "../iface/ipv4";
import { TCP_ECE, TCP_CWR, TCP_SYN, TCP_ACK_FLAG } from "../wire/tcp";
import { Tcb, TF, tcbCc } from "./tcb";
import { seqLt, seqGt } from "./seq";
import { ccOnCongestionEvent, CC_ECN } from "./cc/hooks";

const NEGOTIATED = defineCounter("tcp.ecn.negotiated");
const CE_RECEIVED = defineCounter("tcp.ecn.ce_received");
const ECE_RECEIVED = defineCounter("tcp.ecn.ece_received");
const CWND_REDUCTIONS = defineCounter("tcp.ecn.cwnd_reductions");
const CWR_SENT = defineCounter("tcp.ecn.cwr_sent");
const CWR_RECEIVED = defineCounter("tcp.ecn.cwr_received");

/** The ECN field of the IP header (RFC 3168 5). */
@inline export const ECN_NOT_ECT: u32 = 0;
@inline export const ECN_ECT1: u32 = 1;
@inline export const ECN_ECT0: u32 = 2;
@inline export const ECN_CE: u32 = 3;

/** Cfg.TcpEcn values. */
@inline export const TCP_ECN_OFF: u32 = 0;
@inline export const TCP_ECN_ON: u32 = 1;
@inline export const TCP_ECN_ACCEPT: u32 = 2;

/**
 * Passive open: the peer's SYN had control bits `flags`. ECN is in use from here when it was
 * an ECN-setup SYN (ECE and CWR) and Cfg.TcpEcn is 1 or 2; the SYN-ACK then says so.
 */
export function ecnOnSyn(t: Tcb, flags: u32): void {
  if ((flags & (TCP_ECE | TCP_CWR)) != (TCP_ECE | TCP_CWR) || cfg(Cfg.TcpEcn) == TCP_ECN_OFF) return;
  t.flags |= TF.ECN;
  bump(NEGOTIATED);
}

/** Active open: the SYN-ACK had control bits `flags` (6.1.1: ECE without CWR). */
export function ecnOnSynAck(t: Tcb, flags: u32): void {
  if ((t.flags & TF.ECN_SETUP_SENT) == 0 || (flags & (TCP_ECE | TCP_CWR)) != TCP_ECE) return;
  t.flags |= TF.ECN;
  bump(NEGOTIATED);
}

/**
 * The ECN part of a segment `t` is about to send (between ipv4OutputBegin and Finish):
 * returns the control bits to add (ECE, CWR) and sets the IP ECN field. `seq` and `dataLen`
 * describe the segment, `flags` its other control bits.
 */
export function ecnOutput(t: Tcb, seq: u32, flags: u32, dataLen: u32): u32 {
  if ((flags & TCP_SYN) != 0) {
    if ((flags & TCP_ACK_FLAG) != 0) return (t.flags & TF.ECN) != 0 ? TCP_ECE : 0;
    if (t.backoff == 0 && cfg(Cfg.TcpEcn) == TCP_ECN_ON) {
      t.flags |= TF.ECN_SETUP_SENT;
      return TCP_ECE | TCP_CWR;
    }
    return 0;
  }
  if ((t.flags & TF.ECN) == 0) return 0;
  let add: u32 = (t.flags & TF.ECN_ECHO) != 0 ? TCP_ECE : 0;
  // New data only: seq below SND.MAX is a retransmission (6.1.5); probes carry no data.
  if (dataLen > 0 && !seqLt(seq, t.sndMax)) {
    ipv4OutputSetTos(<u8>ECN_ECT0);
    if ((t.flags & TF.ECN_CWR_PENDING) != 0) {
      t.flags &= ~TF.ECN_CWR_PENDING;
      bump(CWR_SENT);
      add |= TCP_CWR;
    }
  }
  return add;
}

/**
 * An acceptable segment with control bits `flags` (ACK among them) arrived for `t` in
 * SYN-RECEIVED or a synchronized state with IP ECN field `ipEcn`; `ack` is its ACK field.
 * Returns true when the segment was CE-marked (the caller acknowledges it at once).
 */
export function ecnInput(t: Tcb, flags: u32, ipEcn: u32, ack: u32): bool {
  if ((t.flags & TF.ECN) == 0) return false;
  if ((flags & TCP_CWR) != 0) {
    bump(CWR_RECEIVED);
    t.flags &= ~TF.ECN_ECHO;
  }
  const ce = ipEcn == ECN_CE;
  if (ce) {
    bump(CE_RECEIVED);
    t.flags |= TF.ECN_ECHO;
  }
  // The reduction's window ends when an ACK covers data sent after it.
  if ((t.flags & TF.ECN_REDUCED) != 0 && seqGt(ack, t.ecnHigh)) t.flags &= ~TF.ECN_REDUCED;
  if ((flags & TCP_ECE) != 0) {
    bump(ECE_RECEIVED);
    if ((t.flags & (TF.IN_RECOVERY | TF.ECN_REDUCED)) == 0 && t.backoff == 0) {
      ccOnCongestionEvent(tcbCc(t), CC_ECN, t.sndMax - t.sndUna);
      bump(CWND_REDUCTIONS);
      t.ecnHigh = t.sndMax;
      t.flags |= TF.ECN_REDUCED | TF.ECN_CWR_PENDING;
    }
  }
  return ce;
}
