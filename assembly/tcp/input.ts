// TCP input: every segment IPv4 hands up (checksum already verified) goes through the
// "SEGMENT ARRIVES" rules of RFC 9293 3.10.7, in their order.
//
// Guarantees: the header length is checked once, then fields are read without checks; a
// malformed segment (truncated, bad data offset, bad options, port 0) is dropped with a named
// counter and never traps. A segment for no connection gets the reset of RFC 9293 3.10.7.1. In synchronized states RSTs and SYNs are accepted only per RFC 5961
// (exact sequence number, else a rate-limited challenge ACK) and ACKs only within
// [SND.UNA - MAX.SND.WND, SND.NXT] (RFC 5961 5.2). Out-of-window data is answered with an ACK
// and dropped; accepted data lands in the receive ring in place (out-of-order too).
// Loss recovery is RFC 6582 NewReno, or with SACK negotiated RFC 6675: every ACK's SACK
// blocks update the scoreboard (tcp/sack.ts), recovery starts on the third duplicate ACK or
// IsLost(SND.UNA) and ends at a cumulative ACK of RecoveryPoint. With Cfg.TcpRack, RACK-TLP
// (RFC 8985) reads every ACK too: RACK marks segments lost by send time (tcp/rack.ts; it
// starts recovery or feeds NextSeg rule 1), and the TLP episode is settled (tcp/tlp.ts).
// Nothing allocates.
//
// Not implemented: the urgent pointer (RFC 9293 3.10.7.4 "sixth") is not reported to the
// host; urgent bytes stay in the byte stream, as Linux delivers them with SO_OOBINLINE (Node's
// sockets have no out-of-band data). We never send URG.

import { defineCounter, bump } from "../abi/counters";
import { now, NEVER } from "../util/time";
import {
  TcpOptions, tcpCheckHeader, tcpHeaderLen, tcpParseOptions, tcpSrcPort, tcpDstPort, tcpSeq,
  tcpAckNum, tcpFlags, tcpWindow, TcpHeaderError,
  TCP_FIN, TCP_SYN, TCP_RST, TCP_ACK_FLAG, HAS_TIMESTAMP,
} from "../wire/tcp";
import { ringLength, ringFree, ringWriteAt, ringCommit, ringConsume } from "../util/bytering";
import { reasmAdd, reasmCount, reasmCovers, REASM_FULL } from "./reassembly";
import {
  sackUpdate, sackPrune, sackCount, sackIsLost, sackRecoveryStart, sackLostRetransmission,
  sackPipe, sackedBytes,
} from "./sack";
import { rttSample, rttOnAck, rttHandshakeDone, rttSrtt, rttOnRetransmit, rttRto } from "./rtt";
import {
  ccOnAck, ccOnDupAck, ccOnCongestionEvent, ccOnRecoveryExit, ccRateLimited, CC_DUPACK,
  ccPrrActive, ccRecoveryAck,
} from "./cc/hooks";
import { Tcb, TF, tcbAt, tcbLookup, tcbCc, tcbRtt, tcbSendRing, tcbRecvRing } from "./tcb";
import { TcpState } from "./state";
import { seqLt, seqLeq, seqGt, seqGeq } from "./seq";
import {
  outputSchedule, ackNow, sendChallengeAck, sendResetOrCount, flightSize, tsNow, ourMss,
  segmentPayloadMax, ackImmediately,
} from "./output";
import { rexmtArm, rexmtStop, delackArm, keepaliveArm, timeWaitArm, rackReoArm } from "./timers";
import { tlpArm, tlpOnAck } from "./tlp";
import { rackActive, rackOnAck, rackDetectLoss, rackMarked } from "./rack";
import { listenerFor, listenerSyn, listenerChildEstablished, listenerCookieAck, CookieAck } from "./listen";
import { applySynOptions, connectionStartCc } from "./connect";
import { ecnOnSynAck, ecnInput } from "./ecn";
import { ipv4InputEcn } from "../iface/ipv4";
import { fastOpenSyn, fastOpenChildDone, fastOpenSynAck } from "./fastopen";
import { connectionFail, connectionFree, enterTimeWait, finAfterHandshake, notifyHost } from "./close";
import { Errno } from "./api";
import { handoffClaim } from "../frame/handoff";

const SEGS_IN = defineCounter("tcp.rx.segments");
const DROP_TRUNCATED = defineCounter("drop.tcp.truncated");
const DROP_BAD_OFFSET = defineCounter("drop.tcp.bad_offset");
const DROP_BAD_OPTIONS = defineCounter("drop.tcp.bad_options");
const DROP_BAD_PORT = defineCounter("drop.tcp.port_zero");
const DROP_NO_CONNECTION = defineCounter("drop.tcp.no_connection");
const DROP_RST_NO_CONNECTION = defineCounter("drop.tcp.rst_no_connection");
const DROP_LISTEN_NOT_SYN = defineCounter("drop.tcp.listen_not_syn");
const DROP_SYN_SENT_BAD_ACK = defineCounter("drop.tcp.syn_sent_bad_ack");
const DROP_SYN_SENT_NO_SYN = defineCounter("drop.tcp.syn_sent_no_syn");
const DROP_PAWS = defineCounter("drop.tcp.paws");
const DROP_OUT_OF_WINDOW = defineCounter("drop.tcp.out_of_window");
const DROP_RST_NOT_EXACT = defineCounter("drop.tcp.rst_challenged");
const DROP_SYN_CHALLENGED = defineCounter("drop.tcp.syn_challenged");
const DROP_NO_ACK = defineCounter("drop.tcp.no_ack_flag");
const DROP_ACK_TOO_NEW = defineCounter("drop.tcp.ack_unsent");
const DROP_ACK_TOO_OLD = defineCounter("drop.tcp.ack_too_old");
const DROP_SYN_RECEIVED_BAD_ACK = defineCounter("drop.tcp.syn_received_bad_ack");
const DROP_OOO_FULL = defineCounter("drop.tcp.ooo_ranges_full");
const DROP_DATA_AFTER_CLOSE = defineCounter("drop.tcp.data_after_close");
const FIN_OUT_OF_ORDER = defineCounter("tcp.rx.fin_out_of_order");
const DROP_DATA_AFTER_FIN = defineCounter("drop.tcp.data_after_fin");
const RST_RECEIVED = defineCounter("tcp.rx.rst");
const DUP_ACKS = defineCounter("tcp.rx.dup_ack");
const FAST_RETRANSMITS = defineCounter("tcp.fast_retransmit");
const OOO_SEGMENTS = defineCounter("tcp.rx.out_of_order");
/** Loss recovery episodes entered with SACK (RFC 6675 5), also counted in tcp.fast_retransmit. */
const SACK_RECOVERIES = defineCounter("tcp.sack.recovery_episodes");
/** Retransmissions found lost from SACKs of later data (see tcp/sack.ts), sent again without an RTO. */
const SACK_LOST_RETRANSMITS = defineCounter("tcp.sack.lost_retransmits");
const ESTABLISHED = defineCounter("tcp.conn.established");
const TIME_WAIT_REUSED = defineCounter("tcp.conn.time_wait_reused");

/** Options of the segment being processed (created once). */
const inOpts = new TcpOptions();

/** 24 days in µs: TS.Recent older than this is invalid (RFC 7323 5.5). */
const PAWS_IDLE_US: i64 = 24 * 24 * 3600 * 1000000;

/** Entry point from IPv4: one segment of `segLen` bytes at `seg`, from `src` to `dst` (host order). */
export function tcpInput(src: u32, dst: u32, seg: usize, segLen: u32, rxFlags: u32): void {
  bump(SEGS_IN);
  const check = tcpCheckHeader(seg, segLen);
  if (check != TcpHeaderError.OK) {
    bump(check == TcpHeaderError.TRUNCATED ? DROP_TRUNCATED : DROP_BAD_OFFSET);
    return;
  }
  const hl = tcpHeaderLen(seg);
  if (tcpParseOptions(seg, hl, inOpts) < 0) { bump(DROP_BAD_OPTIONS); return; }
  const srcPort = tcpSrcPort(seg);
  const dstPort = tcpDstPort(seg);
  if (srcPort == 0 || dstPort == 0) { bump(DROP_BAD_PORT); return; }
  const flags = tcpFlags(seg);
  const dataLen = segLen - hl;
  let t = tcbLookup(dst, dstPort, src, srcPort);
  if (t !== null && t.state == TcpState.TIME_WAIT && (flags & (TCP_SYN | TCP_ACK_FLAG | TCP_RST)) == TCP_SYN &&
      timeWaitAcceptsSyn(t, tcpSeq(seg))) {
    // RFC 9293 3.10.7.4 / RFC 6191: a new incarnation may reuse a TIME-WAIT tuple when its SYN
    // is beyond the old connection (sequence, or timestamp when both used them).
    bump(TIME_WAIT_REUSED);
    // The new incarnation's ISS lies well beyond the old one's sequence space (as Linux's
    // tcp_timewait_state_process: old SND.NXT + 65535 + 2), whatever the clock says.
    const iss = t.sndMax + 65537;
    connectionFree(t);
    const l = listenerFor(dst, dstPort);
    if (l !== null) {
      const child = listenerSyn(l, src, dst, seg, srcPort, inOpts);
      if (child !== null) {
        child.iss = iss;
        child.sndUna = iss;
        child.sndNxt = iss;
        child.sndMax = iss;
        child.sndWl2 = iss;
        child.recover = iss;
      }
    }
    return;
  }
  if (t === null) {
    // Several queues: a flow another queue owns goes to its owner (frame/handoff.ts).
    if (handoffClaim(src, dst, srcPort, dstPort)) return;
    const l = listenerFor(dst, dstPort);
    if (l !== null) listenInput(l, src, dst, seg, srcPort, flags, seg + hl, dataLen);
    else closedInput(dstPort, src, srcPort, seg, flags, dataLen);
    return;
  }
  if (t.state == TcpState.SYN_SENT) {
    synSentInput(t, seg, flags, seg + hl, dataLen);
    return;
  }
  segmentArrives(t, seg, flags, seg + hl, dataLen);
}

function timeWaitAcceptsSyn(t: Tcb, seq: u32): bool {
  if (listenerFor(t.localAddr, t.localPort) === null) return false;
  if ((t.flags & TF.TIMESTAMPS) != 0 && (inOpts.present & HAS_TIMESTAMP) != 0) {
    return seqGt(inOpts.tsVal, t.tsRecent);
  }
  return seqGt(seq, t.rcvNxt);
}

/** RFC 9293 3.10.7.1: no connection. */
function closedInput(localPort: u32, src: u32, srcPort: u32, seg: usize, flags: u32, dataLen: u32): void {
  if ((flags & TCP_RST) != 0) { bump(DROP_RST_NO_CONNECTION); return; }
  bump(DROP_NO_CONNECTION);
  if ((flags & TCP_ACK_FLAG) != 0) {
    sendResetOrCount(localPort, src, srcPort, tcpAckNum(seg), 0, false);
  } else {
    const segLenSeq = dataLen + ((flags & TCP_SYN) != 0 ? 1 : 0) + ((flags & TCP_FIN) != 0 ? 1 : 0);
    sendResetOrCount(localPort, src, srcPort, 0, tcpSeq(seg) + segLenSeq, true);
  }
}

/** RFC 9293 3.10.7.2: LISTEN. */
function listenInput(l: Tcb, src: u32, dst: u32, seg: usize, srcPort: u32, flags: u32, data: usize, dataLen: u32): void {
  if ((flags & TCP_RST) != 0) { bump(DROP_RST_NO_CONNECTION); return; }
  if ((flags & TCP_ACK_FLAG) != 0) {
    // RFC 4987 3.6: the ACK may complete a SYN cookie handshake (tcp/syncookie.ts).
    const child = (flags & TCP_SYN) == 0 ? listenerCookieAck(l, src, dst, seg, srcPort, inOpts) : CookieAck.NOT_COOKIE;
    if (child >= 0) { segmentArrives(tcbAt(<u32>child), seg, flags, data, dataLen); return; }
    if (child == CookieAck.DROPPED) return;
    bump(DROP_LISTEN_NOT_SYN);
    sendResetOrCount(l.localPort, src, srcPort, tcpAckNum(seg), 0, false);
    return;
  }
  if ((flags & TCP_SYN) == 0) { bump(DROP_LISTEN_NOT_SYN); return; }
  // Data on a SYN is kept only with a valid Fast Open cookie (RFC 7413 4.2.2); otherwise the
  // SYN-ACK acknowledges the SYN alone and the peer sends the data again after the handshake.
  const child = listenerSyn(l, src, dst, seg, srcPort, inOpts);
  if (child !== null) fastOpenSyn(l, child, inOpts, data, dataLen);
}

/**
 * A pure duplicate ACK overtaken by a later one (as Linux's tcp_disordered_ack): its timestamp
 * is older than TS.Recent by at most one RTO, it carries nothing and changes nothing, so PAWS
 * lets it through and it still counts towards fast retransmit.
 */
function disorderedAck(t: Tcb, seg: usize, seq: u32, flags: u32, dataLen: u32): bool {
  if (dataLen != 0 || (flags & (TCP_SYN | TCP_FIN | TCP_ACK_FLAG)) != TCP_ACK_FLAG) return false;
  if (seq != t.rcvNxt || tcpAckNum(seg) != t.sndUna) return false;
  if ((tcpWindow(seg) << t.sndShift) != t.sndWnd) return false;
  return t.tsRecent - inOpts.tsVal <= rttRto(tcbRtt(t)) / 1000;
}

/** Longest RTT taken from a timestamp echo, ms (beyond it the echo is not plausible). */
const TS_SAMPLE_MAX_MS: u32 = 3600000;

/**
 * Feeds an RTT sample from the segment's timestamp echo (RFC 7323 4.1) when timestamps are in
 * use and the echo is plausible (not from the future, under an hour old). True when it did.
 */
function timestampSample(t: Tcb, rtt: usize): bool {
  if ((t.flags & TF.TIMESTAMPS) == 0 || (inOpts.present & HAS_TIMESTAMP) == 0 || inOpts.tsEcr == 0) return false;
  const elapsedMs = tsNow() - inOpts.tsEcr;
  if (elapsedMs > TS_SAMPLE_MAX_MS) return false;
  rttSample(rtt, elapsedMs * 1000);
  return true;
}

/** The handshake is complete (SYN-SENT or SYN-RECEIVED to ESTABLISHED). */
function established(t: Tcb, ack: u32): void {
  t.state = TcpState.ESTABLISHED;
  t.sndUna = ack;
  if (seqLt(t.sndNxt, ack)) t.sndNxt = ack;
  t.backoff = 0;
  const rtt = tcbRtt(t);
  if (!timestampSample(t, rtt)) rttOnAck(rtt, ack, now());
  rttHandshakeDone(rtt);
  connectionStartCc(t);
  t.unackedSinceUs = NEVER;
  rexmtStop(t);
  t.lastRecvUs = now();
  keepaliveArm(t);
  bump(ESTABLISHED);
}

/** RFC 9293 3.10.7.3: SYN-SENT. */
function synSentInput(t: Tcb, seg: usize, flags: u32, data: usize, dataLen: u32): void {
  const hasAck = (flags & TCP_ACK_FLAG) != 0;
  const ack = tcpAckNum(seg);
  if (hasAck && (seqLeq(ack, t.iss) || seqGt(ack, t.sndMax))) {
    bump(DROP_SYN_SENT_BAD_ACK);
    if ((flags & TCP_RST) == 0) sendResetOrCount(t.localPort, t.remoteAddr, t.remotePort, ack, 0, false);
    return;
  }
  if ((flags & TCP_RST) != 0) {
    bump(RST_RECEIVED);
    if (hasAck) connectionFail(t, Errno.ECONNREFUSED);
    else bump(DROP_SYN_SENT_BAD_ACK);
    return;
  }
  if ((flags & TCP_SYN) == 0) { bump(DROP_SYN_SENT_NO_SYN); return; }
  const seq = tcpSeq(seg);
  t.irs = seq;
  t.rcvNxt = seq + 1;
  t.rcvAdv = t.rcvNxt;
  applySynOptions(t, inOpts);
  // RFC 7323 2.2: the window of a SYN is not scaled.
  t.sndWnd = tcpWindow(seg);
  t.maxSndWnd = t.sndWnd;
  t.sndWl1 = seq;
  t.sndWl2 = ack;
  if (hasAck) {
    ecnOnSynAck(t, flags);
    const resendSynData = fastOpenSynAck(t, inOpts, ack);
    established(t, ack);
    // RFC 7413 4.2.2: SYN data the SYN-ACK did not acknowledge goes again at once.
    if (resendSynData) { t.sndNxt = t.sndUna; outputSchedule(t); }
    ackNow(t);
    notifyHost(t);
    if (dataLen > 0 || (flags & TCP_FIN) != 0) receiveSegment(t, seq + 1, flags, data, dataLen);
    return;
  }
  // Simultaneous open (RFC 9293 3.5 figure 8): SYN-RECEIVED, and our SYN goes again with an ACK.
  t.state = TcpState.SYN_RECEIVED;
  t.sndNxt = t.iss;
  rexmtStop(t);
  outputSchedule(t);
}

/** RFC 9293 3.10.7.4: SYN-RECEIVED and the synchronized states. */
function segmentArrives(t: Tcb, seg: usize, flags: u32, data: usize, dataLen: u32): void {
  let seq = tcpSeq(seg);
  const state = t.state;
  if (state == TcpState.SYN_RECEIVED && (flags & TCP_SYN) != 0 && seq == t.irs) {
    const ack = tcpAckNum(seg);
    if ((flags & TCP_ACK_FLAG) != 0 && seqGt(ack, t.sndUna) && seqLeq(ack, t.sndMax)) {
      // Simultaneous open (RFC 9293 3.5 figure 8): the peer's SYN-ACK acknowledges our SYN;
      // its SYN was taken already, the rest is the handshake's ACK.
      seq++;
      flags &= ~TCP_SYN;
      ackNow(t); // RFC 9293 3.5 figure 8 line 7
    } else {
      // The peer did not get our SYN-ACK and sent its SYN again: answer with the SYN-ACK.
      t.sndNxt = t.iss;
      outputSchedule(t);
      return;
    }
  }
  const hasTs = (inOpts.present & HAS_TIMESTAMP) != 0;
  // RFC 7323 5.3 PAWS: an older timestamp than TS.Recent marks an old duplicate. A segment
  // without the option although it was negotiated is accepted (as Linux; RFC 7323 3.2 says
  // SHOULD drop).
  if ((t.flags & TF.TIMESTAMPS) != 0 && hasTs && (flags & TCP_RST) == 0 &&
      seqLt(inOpts.tsVal, t.tsRecent) && now() - t.tsRecentAtUs <= PAWS_IDLE_US &&
      !disorderedAck(t, seg, seq, flags, dataLen)) {
    bump(DROP_PAWS);
    ackNow(t);
    return;
  }

  // First: sequence number acceptability (RFC 9293 3.10.7.4 table).
  const segSeqLen = dataLen + ((flags & TCP_SYN) != 0 ? 1 : 0) + ((flags & TCP_FIN) != 0 ? 1 : 0);
  const wnd = seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0;
  let acceptable: bool;
  if (segSeqLen == 0) {
    acceptable = wnd == 0 ? seq == t.rcvNxt : seqGeq(seq, t.rcvNxt) && seqLt(seq, t.rcvNxt + wnd);
  } else if (wnd == 0) {
    acceptable = false;
  } else {
    const last = seq + segSeqLen - 1;
    acceptable = (seqGeq(seq, t.rcvNxt) && seqLt(seq, t.rcvNxt + wnd)) ||
                 (seqGeq(last, t.rcvNxt) && seqLt(last, t.rcvNxt + wnd));
  }
  if (!acceptable) {
    if ((flags & TCP_RST) != 0) { bump(DROP_OUT_OF_WINDOW); return; }
    if ((flags & TCP_SYN) != 0) {
      // RFC 5961 4.2: a SYN gets a (rate-limited) challenge ACK whatever its sequence number.
      bump(DROP_SYN_CHALLENGED);
      sendChallengeAck(t);
      return;
    }
    // A zero-window probe or an old duplicate: ACK (RFC 9293 3.10.7.4 "first"), naming an
    // old duplicate in a D-SACK block (RFC 2883 4.1).
    bump(DROP_OUT_OF_WINDOW);
    if (dataLen > 0 && seqLeq(seq + dataLen, t.rcvNxt)) dsackSet(t, seq, seq + dataLen);
    if (state == TcpState.TIME_WAIT && (flags & TCP_FIN) != 0) timeWaitArm(t); // FIN again: restart 2*MSL
    ackNow(t);
    return;
  }

  // Second: RST (RFC 5961 3.2: only the exact next sequence number resets).
  if ((flags & TCP_RST) != 0) {
    if (seq != t.rcvNxt) { bump(DROP_RST_NOT_EXACT); sendChallengeAck(t); return; }
    bump(RST_RECEIVED);
    if (state == TcpState.SYN_RECEIVED) {
      // Passive: the half-open child just goes (the listener is untouched), unless it is a
      // Fast Open child the application may hold already (reset); active: refused.
      if ((t.flags & TF.FASTOPEN) != 0) connectionFail(t, Errno.ECONNRESET);
      else if ((t.flags & TF.PASSIVE) != 0) connectionFree(t);
      else connectionFail(t, Errno.ECONNREFUSED);
    } else if (state == TcpState.CLOSING || state == TcpState.LAST_ACK || state == TcpState.TIME_WAIT) {
      connectionFree(t);
    } else {
      connectionFail(t, Errno.ECONNRESET);
    }
    return;
  }

  // Fourth: SYN in a synchronized state or SYN-RECEIVED (RFC 5961 4.2): challenge ACK.
  if ((flags & TCP_SYN) != 0) {
    bump(DROP_SYN_CHALLENGED);
    sendChallengeAck(t);
    return;
  }

  // Fifth: ACK.
  if ((flags & TCP_ACK_FLAG) == 0) { bump(DROP_NO_ACK); return; }
  const ack = tcpAckNum(seg);
  t.lastRecvUs = now();
  t.keepProbesSent = 0;
  // RFC 7323 4.3: remember the timestamp to echo.
  if ((t.flags & TF.TIMESTAMPS) != 0 && hasTs && seqLeq(seq, t.lastAckSent) && seqGeq(inOpts.tsVal, t.tsRecent)) {
    t.tsRecent = inOpts.tsVal;
    t.tsRecentAtUs = now();
  }
  const segWnd = tcpWindow(seg) << t.sndShift;
  if (state == TcpState.SYN_RECEIVED) {
    if (!(seqGt(ack, t.sndUna) && seqLeq(ack, t.sndMax))) {
      bump(DROP_SYN_RECEIVED_BAD_ACK);
      sendResetOrCount(t.localPort, t.remoteAddr, t.remotePort, ack, 0, false);
      return;
    }
    // A Fast Open child is in the accept queue (or accepted) already.
    if ((t.flags & (TF.PASSIVE | TF.FASTOPEN)) == TF.PASSIVE && !listenerChildEstablished(t)) return;
    fastOpenChildDone(t);
    established(t, ack);
    t.sndWnd = segWnd;
    t.maxSndWnd = segWnd;
    t.sndWl1 = seq;
    t.sndWl2 = ack;
    notifyHost(t);
    finAfterHandshake(t);
    outputSchedule(t);
  } else if (!processAck(t, seq, ack, segWnd, flags, dataLen)) {
    return;
  }
  if ((t.flags & TF.IN_USE) == 0 || t.state == TcpState.CLOSED) return;
  // RFC 3168 6.1.2, 6.1.3: ECN-Echo, CWR and CE, before the ACK of this segment is made.
  if (ecnInput(t, flags, ipv4InputEcn(), ack)) ackNow(t);
  receiveSegment(t, seq, flags, data, dataLen);
}

/**
 * The ACK field in a synchronized state (RFC 9293 3.10.7.4 "fifth"; RFC 5961 5.2; RFC 5681,
 * RFC 6582, RFC 6298). Returns false when the segment must be dropped.
 */
function processAck(t: Tcb, seq: u32, ack: u32, segWnd: u32, flags: u32, dataLen: u32): bool {
  if (seqGt(ack, t.sndMax)) {
    // Acknowledges something not yet sent: ACK and drop.
    bump(DROP_ACK_TOO_NEW);
    ackNow(t);
    return false;
  }
  if (seqLt(ack, t.sndUna - t.maxSndWnd)) {
    bump(DROP_ACK_TOO_OLD);
    sendChallengeAck(t);
    return false;
  }
  const windowChanged = segWnd != t.sndWnd;
  const sackOn = (t.flags & TF.SACK) != 0;
  // RFC 6937 3.1 DeliveredData: the change in snd.una plus the change in SACKed bytes.
  const unaBefore = t.sndUna;
  const dupAcksBefore = t.dupAcks;
  const sackedBefore = sackOn && (t.flags & TF.IN_RECOVERY) != 0 ? sackedBytes(t.sack) : 0;
  // RFC 6675 5: every ACK's SACK blocks update the scoreboard first.
  const newlySacked = sackOn ? sackUpdate(t.sack, inOpts, seqGt(ack, t.sndUna) ? ack : t.sndUna, t.sndMax) : 0;
  const advances = seqGt(ack, t.sndUna);
  // RFC 5681 2 "duplicate acknowledgment"; with SACK also any ACK that SACKs new data (RFC 6675 2).
  const duplicate = !advances && ack == t.sndUna && t.sndMax != t.sndUna &&
    ((dataLen == 0 && (flags & TCP_FIN) == 0 && !windowChanged) || newlySacked > 0);
  // RFC 8985 7.4.2: the TLP episode sees the ACK before SND.UNA moves.
  tlpOnAck(t, inOpts, ack, advances, duplicate);
  if (advances) {
    newAck(t, ack);
  } else if (duplicate) {
    duplicateAck(t, ack);
  }
  const rackOn = rackActive(t);
  if (rackOn) {
    // RFC 8985 6.2: RACK reads every ACK, then marks what it finds lost.
    rackOnAck(t.rack, t, inOpts, ack);
    rackReact(t);
  }
  if (!rackOn && newlySacked > 0 && (t.flags & TF.IN_RECOVERY) != 0 &&
      sackLostRetransmission(t.sack, t.sndUna, segmentPayloadMax(t))) {
    bump(SACK_LOST_RETRANSMITS);
    outputSchedule(t);
  }
  // RFC 6675 5: recovery also starts when IsLost(HighACK + 1), before three duplicates.
  if (sackOn && (t.flags & TF.IN_RECOVERY) == 0 && t.sndMax != t.sndUna && sackCount(t.sack) > 0 &&
      seqGeq(t.sndUna, t.recover) && sackIsLost(t.sack, t.sndUna, segmentPayloadMax(t))) {
    sackEnterRecovery(t);
  }
  if ((t.flags & TF.IN_RECOVERY) != 0 && ccPrrActive(tcbCc(t))) {
    prrAck(t, unaBefore, sackedBefore, newlySacked, t.dupAcks > dupAcksBefore);
  }
  // RFC 9293 3.10.7.4: window update from a newer segment (SND.WL1, SND.WL2).
  if (seqLt(t.sndWl1, seq) || (t.sndWl1 == seq && seqLeq(t.sndWl2, ack))) {
    const grew = segWnd > t.sndWnd;
    t.sndWnd = segWnd;
    t.sndWl1 = seq;
    t.sndWl2 = ack;
    if (segWnd > t.maxSndWnd) t.maxSndWnd = segWnd;
    if (grew) {
      // The window opened: probing ends (RFC 9293 3.8.6.1) and waiting data may go.
      if ((t.flags & TF.PERSIST) != 0) rexmtStop(t);
      outputSchedule(t);
    }
  }
  // Our FIN acknowledged?
  if ((t.flags & TF.FIN_SENT) != 0 && t.sndUna == t.sndFinSeq + 1) {
    const state = t.state;
    if (state == TcpState.FIN_WAIT_1) {
      t.state = TcpState.FIN_WAIT_2;
      // An orphan waits for the peer's FIN only so long (as Linux's tcp_fin_timeout).
      if ((t.flags & TF.HOST_OWNED) == 0) timeWaitArm(t);
      notifyHost(t);
    } else if (state == TcpState.CLOSING) {
      enterTimeWait(t);
    } else if (state == TcpState.LAST_ACK) {
      connectionFree(t);
      return false;
    }
  }
  return true;
}

/** SND.UNA advances to `ack`: free acknowledged bytes, RTT, congestion control, timers. */
function newAck(t: Tcb, ack: u32): void {
  let acked = ack - t.sndUna;
  const flightBefore = flightSize(t);
  const finAcked = (t.flags & TF.FIN_SENT) != 0 && seqGt(ack, t.sndFinSeq);
  const dataAcked = finAcked ? acked - 1 : acked;
  const sendRing = tcbSendRing(t);
  const wasFull = ringFree(sendRing) == 0;
  ringConsume(sendRing, dataAcked);
  t.bytesOut += dataAcked;
  t.sndUna = ack;
  if (seqLt(t.sndNxt, ack)) t.sndNxt = ack;
  const rtt = tcbRtt(t);
  // RFC 7323 4.1: with timestamps every ACK that advances SND.UNA gives an unambiguous sample.
  if (!timestampSample(t, rtt)) rttOnAck(rtt, ack, now());
  const cc = tcbCc(t);
  const sackOn = (t.flags & TF.SACK) != 0;
  if (sackOn) sackPrune(t.sack, ack);
  if ((t.flags & TF.IN_RECOVERY) != 0) {
    if (seqGeq(ack, t.recover)) {
      // RFC 6582 3.2 step 3 / RFC 6675 5 step A: a cumulative ACK at RecoveryPoint ends recovery.
      t.flags &= ~TF.IN_RECOVERY;
      ccOnRecoveryExit(cc, flightSize(t));
    } else if (sackOn) {
      // RFC 6675 5: cwnd stays at ssthresh; pipe and NextSeg choose what goes next.
    } else {
      // Step 5: partial acknowledgment: retransmit the next hole, deflate.
      ccOnAck(cc, dataAcked, rttSrtt(rtt), true, false);
      t.flags |= TF.REXMT_FIRST;
    }
  } else {
    // RFC 7661 4.3 / RFC 9438 5.8: cwnd grows only when the flight used it.
    ccOnAck(cc, dataAcked, rttSrtt(rtt), false, ccRateLimited(cc, flightBefore));
  }
  t.dupAcks = 0;
  t.backoff = 0;
  // RFC 6298 5.2, 5.3: stop the timer when everything is acknowledged, else restart it.
  if (t.sndUna == t.sndMax) {
    rexmtStop(t);
    t.unackedSinceUs = NEVER;
  } else {
    // RFC 8985 7.2: the PTO restarts on an ACK of new data when allowed, else the RTO.
    if (!tlpArm(t)) rexmtArm(t);
    t.unackedSinceUs = now();
  }
  if (wasFull || (t.flags & TF.WANT_WRITABLE) != 0) {
    t.flags &= ~TF.WANT_WRITABLE;
    notifyHost(t);
  }
  outputSchedule(t);
}

/** RFC 5681 3.2 / RFC 6582 3.2: a duplicate acknowledgment. */
function duplicateAck(t: Tcb, ack: u32): void {
  bump(DUP_ACKS);
  t.dupAcks++;
  const cc = tcbCc(t);
  const sackOn = (t.flags & TF.SACK) != 0;
  if ((t.flags & TF.IN_RECOVERY) != 0) {
    // RFC 6675 5: no window inflation with SACK; the smaller pipe lets NextSeg send.
    if (!sackOn) ccOnDupAck(cc);
    outputSchedule(t);
    return;
  }
  if (t.dupAcks == 3 && sackOn) {
    // RFC 6675 5: the DupThresh-th duplicate ACK, once the previous episode's RecoveryPoint is
    // acknowledged: the hole at snd.una then holds data sent after that episode began, a new
    // loss (as Linux, which starts recovery from the Open state whatever high_seq was).
    if (seqGeq(ack, t.recover)) sackEnterRecovery(t);
    outputSchedule(t);
    return;
  }
  if (t.dupAcks == 3) {
    // RFC 6582 3.2 step 2: only when the ACK covers more than the last recovery point.
    if (!seqGt(ack, t.recover)) return;
    bump(FAST_RETRANSMITS);
    t.flags |= TF.IN_RECOVERY | TF.REXMT_FIRST;
    ccOnCongestionEvent(cc, CC_DUPACK, flightSize(t));
    t.recover = t.sndMax;
    rttOnRetransmit(tcbRtt(t));
  }
  // Dup ACKs 1 and 2: limited transmit (RFC 3042) may send one new segment each.
  outputSchedule(t);
}

/**
 * RFC 6675 5 steps 1-4: RecoveryPoint = HighData, ssthresh from the congestion hook (cwnd is
 * then held at ssthresh by output), the first unacknowledged segment goes at once.
 */
function sackEnterRecovery(t: Tcb): void {
  bump(FAST_RETRANSMITS);
  bump(SACK_RECOVERIES);
  t.flags |= TF.IN_RECOVERY | TF.REXMT_FIRST;
  ccOnCongestionEvent(tcbCc(t), CC_DUPACK, flightSize(t));
  t.recover = t.sndMax;
  sackRecoveryStart(t.sack, t.sndUna);
  rttOnRetransmit(tcbRtt(t));
  outputSchedule(t);
}

/**
 * RFC 6937 3.1, each ACK of a PRR recovery (the entering one included): DeliveredData and
 * pipe for the congestion hooks, which size what this ACK lets out. With SACK, DeliveredData
 * is snd.una's advance plus the change in SACKed bytes (`sackedBefore` is 0 on the entering
 * ACK, where all of `newlySacked` is new) and pipe is RFC 6675's; without SACK, a duplicate
 * ACK delivered one SMSS (RFC 6937 3.1) and pipe is FlightSize less one SMSS per duplicate
 * ACK since the last advance (each stands for a segment that left the network).
 */
function prrAck(t: Tcb, unaBefore: u32, sackedBefore: u32, newlySacked: u32, duplicate: bool): void {
  const smss = segmentPayloadMax(t);
  const advanced = t.sndUna - unaBefore;
  let delivered: u32;
  let pipe: u32;
  if ((t.flags & TF.SACK) != 0) {
    const sackedNow = sackedBefore == 0 ? newlySacked : sackedBytes(t.sack);
    const change = <i64>advanced + <i64>sackedNow - <i64>sackedBefore;
    delivered = change > 0 ? <u32>change : 0;
    pipe = sackPipe(t.sack, t.sndUna, t.sndMax, smss);
  } else {
    delivered = advanced > 0 ? advanced : duplicate ? smss : 0;
    const flight = <u64>(t.sndMax - t.sndUna);
    const left = <u64>t.dupAcks * <u64>smss;
    pipe = <u32>(left < flight ? flight - left : 0);
  }
  ccRecoveryAck(tcbCc(t), delivered, pipe, advanced > 0);
}

/**
 * RFC 8985 6.2 step 5 and its reaction: segments RACK finds lost start SACK recovery (RFC 6675
 * 5, when the previous episode's RecoveryPoint is acknowledged) or, within one, go by NextSeg
 * rule 1; segments still inside the reordering window arm the reordering timer (RFC 8985 6.3).
 * From the timer (`timer`) inside a PRR recovery, where no ACK sized what may go, PRR is told
 * one SMSS was delivered so the lost segment can leave (as Linux's tcp_rack_reo_timeout).
 */
export function rackReact(t: Tcb, timer: bool = false): void {
  if (t.sndMax == t.sndUna) return;
  const smss = segmentPayloadMax(t);
  const timeout = rackDetectLoss(t.rack, t, smss);
  if (rackMarked > 0) {
    if ((t.flags & TF.IN_RECOVERY) == 0 && seqGeq(t.sndUna, t.recover)) {
      sackEnterRecovery(t);
    } else {
      if (timer && (t.flags & TF.IN_RECOVERY) != 0 && ccPrrActive(tcbCc(t))) {
        ccRecoveryAck(tcbCc(t), smss, sackPipe(t.sack, t.sndUna, t.sndMax, smss), false);
      }
      outputSchedule(t);
    }
  }
  if (timeout > 0) rackReoArm(t, timeout);
}

/** Sixth to eighth: the segment text and FIN (RFC 9293 3.10.7.4). */
function receiveSegment(t: Tcb, seq: u32, flags: u32, data: usize, dataLen: u32): void {
  const state = t.state;
  const takesData = state == TcpState.ESTABLISHED || state == TcpState.FIN_WAIT_1 ||
    state == TcpState.FIN_WAIT_2;
  if (dataLen > 0) {
    if (!takesData) {
      // After the peer's FIN no data can come (CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT).
      bump(DROP_DATA_AFTER_FIN);
    } else if ((t.flags & TF.HOST_OWNED) == 0 && t.listener < 0) {
      // RFC 1122 4.2.2.13 (as Linux): new data after the application closed: reset.
      bump(DROP_DATA_AFTER_CLOSE);
      sendResetOrCount(t.localPort, t.remoteAddr, t.remotePort, t.sndMax, 0, false);
      connectionFree(t);
      return;
    } else {
      receiveData(t, seq, data, dataLen);
    }
  }
  if ((flags & TCP_FIN) == 0) {
    if ((t.flags & TF.PEER_FIN_PENDING) != 0 && t.rcvNxt == t.rcvFinSeq) finReceived(t);
    return;
  }
  if ((t.flags & TF.PEER_FIN) != 0) { ackNow(t); return; }
  const finSeq = seq + dataLen;
  if (finSeq != t.rcvNxt) {
    if (takesData && seqGt(finSeq, t.rcvNxt) && seqLeq(finSeq, t.rcvAdv)) {
      // Beyond a hole (RFC 9293 3.10.7.4 "eighth": only in-order FINs count): remembered
      // until the hole fills, as Linux keeps it in its out-of-order queue.
      bump(FIN_OUT_OF_ORDER);
      t.flags |= TF.PEER_FIN_PENDING;
      t.rcvFinSeq = finSeq;
    }
    ackNow(t);
    return;
  }
  finReceived(t);
}

/** Eighth: the peer's FIN, in order (RFC 9293 3.10.7.4). */
function finReceived(t: Tcb): void {
  const state = t.state;
  t.flags &= ~TF.PEER_FIN_PENDING;
  t.rcvNxt++;
  t.flags |= TF.PEER_FIN;
  ackNow(t);
  if (state == TcpState.ESTABLISHED) {
    t.state = TcpState.CLOSE_WAIT;
  } else if (state == TcpState.FIN_WAIT_1) {
    if ((t.flags & TF.FIN_SENT) != 0 && t.sndUna == t.sndFinSeq + 1) enterTimeWait(t);
    else t.state = TcpState.CLOSING;
  } else if (state == TcpState.FIN_WAIT_2) {
    enterTimeWait(t);
  }
  notifyHost(t);
}

/** Records a duplicate range for the next ACK's D-SACK block (RFC 2883 4), SACK connections only. */
function dsackSet(t: Tcb, start: u32, end: u32): void {
  if ((t.flags & TF.SACK) == 0 || !seqLt(start, end)) return;
  t.dsackStart = start;
  t.dsackEnd = end;
  t.flags |= TF.DSACK;
}

/** In-window data: into the receive ring at its offset, in order or not (RFC 9293 3.10.7.4 "seventh"). */
function receiveData(t: Tcb, seq: u32, data: usize, dataLen: u32): void {
  let start = seq;
  let len = dataLen;
  let p = data;
  if (seqLt(start, t.rcvNxt)) {
    const skip = t.rcvNxt - start;
    // RFC 2883 4.1.1: the part already received is reported as a duplicate.
    dsackSet(t, start, skip >= len ? start + len : t.rcvNxt);
    if (skip >= len) { ackNow(t); return; }
    p += skip;
    len -= skip;
    start = t.rcvNxt;
  }
  const ring = tcbRecvRing(t);
  const offset = start - t.rcvNxt;
  // Trim to the advertised window and to the ring's room (they agree unless the host
  // shrank nothing: the ring is the window's storage).
  const room = ringFree(ring);
  if (offset >= room) { bump(DROP_OUT_OF_WINDOW); ackNow(t); return; }
  if (len > room - offset) len = room - offset;
  const edge = t.rcvAdv - start;
  if (seqGt(t.rcvAdv, start) && len > edge) len = edge;
  const holesBefore = reasmCount(t.ooo);
  if ((t.flags & TF.READ_SHUT) != 0) {
    // SHUT_RD: acknowledged and discarded, in order only.
    if (offset != 0) { ackNow(t); return; }
    t.rcvNxt += len;
    t.bytesIn += len;
    ackNow(t);
    return;
  }
  // RFC 2883 4.1.2: a segment wholly inside out-of-order data held is a duplicate too.
  if (offset != 0 && reasmCovers(t.ooo, start, start + len)) dsackSet(t, start, start + len);
  ringWriteAt(ring, offset, p, len);
  const inOrder = reasmAdd(t.ooo, t.rcvNxt, start, len);
  if (inOrder == REASM_FULL) { bump(DROP_OOO_FULL); ackNow(t); return; }
  if (offset != 0) {
    // RFC 5681 4.2: an out-of-order segment is acknowledged at once (duplicate ACK). With
    // SACK, each one gets its own ACK, before the next segment of the burst is read (RFC 2018
    // 4: the first block names this segment), so one lost ACK does not hide a whole flight.
    bump(OOO_SEGMENTS);
    if ((t.flags & TF.SACK) != 0) ackImmediately(t);
    else ackNow(t);
    return;
  }
  ringCommit(ring, <u32>inOrder);
  t.rcvNxt += <u32>inOrder;
  t.bytesIn += <u32>inOrder;
  notifyHost(t);
  if (holesBefore > 0) { ackNow(t); return; } // a hole filled: ACK at once (RFC 5681 4.2)
  // Delayed ACK (RFC 1122 4.2.3.2, RFC 5681 4.2): at least every second full-sized segment.
  t.rcvUnackedBytes += <u32>inOrder;
  // A duplicate part to report (D-SACK) goes at once too.
  if (t.rcvUnackedBytes >= 2 * ourMss(t.remoteAddr) - 24 || (t.flags & TF.DSACK) != 0) ackNow(t);
  else delackArm(t);
}

/**
 * The host consumed received bytes. A pending delayed ACK leaves once the reader has drained
 * everything (as Linux) and carries the new window; without one, a window update goes out
 * when the window grew by two MSS or half the buffer since it was last offered
 * (RFC 1122 4.2.3.3: no update for a small increase).
 */
export function windowOpened(t: Tcb): void {
  const readable = ringLength(tcbRecvRing(t));
  if (t.tDelack != NEVER) {
    if (readable == 0) ackNow(t);
    return;
  }
  const freeNow = t.rcvBufSize - readable;
  const advertised = seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0;
  const mss = ourMss(t.remoteAddr);
  if (freeNow >= advertised + 2 * mss || freeNow >= advertised + t.rcvBufSize / 2) ackNow(t);
}
