// TCP output: decides what a connection may send now and writes the segments.
//
// Guarantees:
// - Connections with something to send are queued once on the pending-output list
//   (`outputSchedule`); `outputFlush` (from tcpPoll) sends for each while IPv4 gives frame
//   buffers, and stops cleanly when the TX ring is full: the rest stays queued for the next
//   poll. Nothing is lost and nothing allocates per segment.
// - A segment is sent only within the peer's window and the congestion window (RFC 9293
//   3.8.6.2.1, RFC 5681 3.1), plus RFC 3042 limited transmit; small segments obey Nagle
//   (RFC 1122 4.2.3.4, off with NODELAY) and sender SWS avoidance (RFC 1122 4.2.3.4).
// - The advertised window never shrinks (RFC 9293 3.8.6.2.2) and grows only by
//   min(buffer/2, MSS) steps (receiver SWS avoidance, RFC 1122 4.2.3.3).
// - Every ACK-bearing segment carries rcvNxt and clears the delayed-ACK state.
// - When the port segments TCP (Cfg.Offloads has TX_TSO), new data that the windows allow
//   for two or more full segments leaves as one frame of whole segments, which the port cuts
//   at segmentPayloadMax (each piece is then what the software path would have sent, with
//   PSH/FIN kept on the last piece only); retransmissions always go as single segments.
// - With SACK negotiated (RFC 2018): every ACK-bearing segment sent while out-of-order data
//   is held carries SACK blocks, most recently changed range first (RFC 2018 4), as many as
//   fit beside the timestamps and the payload within the send MSS (none on TSO frames).
//   In SACK loss recovery (RFC 6675 5) the congestion window is ssthresh, `pipe` says what
//   is in flight, and each segment sent is chosen by NextSeg (RFC 6675 4) rules 1-4;
//   retransmissions cover holes only, one segment each. After a timeout, going back over
//   the sequence space skips ranges the peer has SACKed again since.
// - A tail loss probe (RFC 8985 7.3, tcp/tlp.ts) goes before anything else once its timeout
//   fired: one new segment if the peer's window allows it (whatever cwnd says), else the last
//   segment sent again. After new data the PTO is (re)armed when tlp.ts allows it, else the RTO.

import { cfg, Cfg, Offload } from "../abi/config";
import { defineCounter, bump, bumpBy } from "../abi/counters";
import { now, NEVER } from "../util/time";
import { ipv4OutputBegin, ipv4OutputFinish, ipv4MaxPayload, ipv4MaxSegmentedPayload } from "../iface/ipv4";
import { txHasRoom } from "../frame/rings";
import {
  TcpOptions, tcpEmit, TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK_FLAG,
  HAS_MSS, HAS_WSCALE, HAS_TIMESTAMP, HAS_SACK_PERM,
} from "../wire/tcp";
import { ringLength, ringReadAt } from "../util/bytering";
import {
  ccWindow, ccSsthresh, ccLimitedTransmitRoom, ccAfterIdle, ccPrrActive, ccRecoveryRoom, ccRecoverySent,
} from "./cc/hooks";
import { ecnOutput } from "./ecn";
import { reasmCount, reasmFillSackFrom } from "./reassembly";
import {
  sackCount, sackSkip, sackNextStart, sackPipe, sackNextHole, sackRescue, sackRetransmitted,
  nextSegStart, nextSegEnd,
} from "./sack";
import { rttStartTiming, rttOnRetransmit, rttOnSynRetransmit, rttRto } from "./rtt";
import { tlpArm, tlpProbeSent } from "./tlp";
import { rackActive, rackOnSend } from "./rack";
import { Tcb, TF, TF2, tcbAt, tcbCc, tcbRtt, tcbSendRing, tcbRecvRing } from "./tcb";
import { TcpState, isSynchronized } from "./state";
import { seqGt, seqLt } from "./seq";
import { rexmtArm, persistArm, timerUpdate } from "./timers";
import { connectionFail, abortFlush } from "./close";
import { fastOpenAddCookie, fastOpenClientOption, fastOpenSynDataLen, fastOpenSynSent } from "./fastopen";

const SEGS_OUT = defineCounter("tcp.tx.segments");
const RETRANSMITS = defineCounter("tcp.tx.retransmits");
const RSTS_OUT = defineCounter("tcp.tx.rst");
const CHALLENGE_ACKS = defineCounter("tcp.tx.challenge_ack");
const CHALLENGE_ACK_LIMITED = defineCounter("tcp.challenge_ack.rate_limited");
const DROP_RST_NO_BUFFER = defineCounter("drop.tcp.rst_no_tx_buffer");
/** Frames handed to the port for segmentation (each also counts once in tcp.tx.segments). */
const TSO_FRAMES = defineCounter("tcp.tx.tso_frames");
/** Wire segments those frames stand for once the port has cut them. */
const TSO_SEGMENTS = defineCounter("tcp.tx.tso_segments");
/** SACK blocks written into the segments we sent (RFC 2018 4). */
const SACK_BLOCKS_SENT = defineCounter("tcp.sack.blocks_sent");
/** Of those, D-SACK blocks reporting a duplicate segment (RFC 2883). */
const DSACK_SENT = defineCounter("tcp.sack.dsack_sent");
/** Holes retransmitted during SACK loss recovery (RFC 6675 NextSeg rules 1, 3, 4; also in tcp.tx.retransmits). */
const SACK_RETRANSMITS = defineCounter("tcp.sack.retransmits");
/** Of those, rescue retransmissions (RFC 6675 NextSeg rule 4). */
const SACK_RESCUES = defineCounter("tcp.sack.rescue_retransmits");

/** IP protocol number of TCP. */
const PROTO_TCP: u8 = 6;
/** Bytes the timestamps option adds to every segment once negotiated (NOP NOP TS). */
const TS_OPTION_BYTES: u32 = 12;

/**
 * Smallest piece size handed to the port for segmentation: NICs refuse smaller ones (i40e's
 * rte_eth_tx_prepare rejects a TSO MSS below 256), so a peer with a tiny MSS gets single segments.
 */
const TSO_MIN_SEGMENT: u32 = 256;

/** Scratch options for emitted segments (created once at start). */
const outOpts = new TcpOptions();

let pendingHead: i32 = -1;
let pendingTail: i32 = -1;
/**
 * When pending output should be tried again: 0 = at once (something new was queued, or the
 * TX ring was full and the next burst brings fresh slots); otherwise a time a little later
 * (IPv4 had no buffer although the ring had room: the ARP pending pool is full), so the host
 * does not spin while a neighbour resolves.
 */
let retryAtUs: i64 = 0;
/** Retry delay when IPv4 refuses a buffer for another reason than a full TX ring. */
const OUTPUT_RETRY_US: i64 = 1000;

let challengeTokens: u32 = 0;
/** End of the current one-second challenge-ACK budget window, µs. */
let challengeWindowEndUs: i64 = 0;

/** Our MSS for a destination: MTU - 40 (RFC 6691 / RFC 9293 3.7.1). */
@inline export function ourMss(dst: u32): u32 {
  const p = ipv4MaxPayload(dst);
  return p > 20 ? p - 20 : 0;
}

/** Timestamp clock: milliseconds (RFC 7323 5.4: between 1 ms and 1 s per tick). */
@inline export function tsNow(): u32 { return <u32>(now() / 1000); }

/** Payload bytes per segment: send MSS minus the options every segment carries (as Linux). */
@inline export function segmentPayloadMax(t: Tcb): u32 {
  const ts = (t.flags & TF.TIMESTAMPS) != 0 ? TS_OPTION_BYTES : 0;
  return t.sndMss > ts + 8 ? t.sndMss - ts : 8;
}

/** TCP header bytes of a data segment of `t`: 20 plus the timestamps option once negotiated. */
@inline function dataHeaderLen(t: Tcb): u32 {
  return 20 + ((t.flags & TF.TIMESTAMPS) != 0 ? TS_OPTION_BYTES : 0);
}

/**
 * Payload of each piece the port cuts a TSO frame into: the segment payload `maxSeg`, or less
 * where the port limits the packets its segmentation makes (Cfg.TsoMaxWirePacket counts the
 * Ethernet, IPv4 and TCP headers); 0 when the port cannot segment for this connection.
 */
function tsoPiece(t: Tcb, maxSeg: u32): u32 {
  if ((cfg(Cfg.Offloads) & Offload.TX_TSO) == 0) return 0;
  let piece = maxSeg;
  const wire = cfg(Cfg.TsoMaxWirePacket);
  if (wire != 0) {
    const headers: u32 = 14 + 20 + dataHeaderLen(t);
    const fit = wire > headers ? wire - headers : 0;
    if (fit < piece) piece = fit;
  }
  return piece < TSO_MIN_SEGMENT ? 0 : piece;
}

/**
 * Payload of one frame the port segments (TSO) for `len` sendable new bytes: the largest
 * whole number k >= 2 of `piece`-byte segments within `len`, the TX slot, the IPv4 total
 * length and Cfg.TsoMaxSegments; 0 when fewer than two fit.
 */
function segmentedPayload(t: Tcb, len: u32, piece: u32): u32 {
  if (piece == 0) return 0;
  const room = ipv4MaxSegmentedPayload();
  const hl = dataHeaderLen(t);
  if (room <= hl) return 0;
  const limit = room - hl < len ? room - hl : len;
  let k = limit / piece;
  const most = cfg(Cfg.TsoMaxSegments);
  if (most != 0 && k > most) k = most;
  return k >= 2 ? k * piece : 0;
}

/** Bytes in flight: sent but not yet acknowledged (RFC 5681 "FlightSize"). */
@inline export function flightSize(t: Tcb): u32 { return t.sndMax - t.sndUna; }

/** Queues `t` for output at the next flush (idempotent). */
export function outputSchedule(t: Tcb): void {
  if ((t.flags & TF.OUT_QUEUED) != 0) return;
  t.flags |= TF.OUT_QUEUED;
  t.outNext = -1;
  t.outPrev = pendingTail;
  if (pendingTail < 0) pendingHead = <i32>t.index;
  else tcbAt(<u32>pendingTail).outNext = <i32>t.index;
  pendingTail = <i32>t.index;
  retryAtUs = 0;
}

/** Removes `t` from the pending-output list in O(1) (doubly linked). */
export function outputUnschedule(t: Tcb): void {
  if ((t.flags & TF.OUT_QUEUED) == 0) return;
  if (t.outPrev >= 0) tcbAt(<u32>t.outPrev).outNext = t.outNext;
  else pendingHead = t.outNext;
  if (t.outNext >= 0) tcbAt(<u32>t.outNext).outPrev = t.outPrev;
  else pendingTail = t.outPrev;
  t.outNext = -1;
  t.outPrev = -1;
  t.flags &= ~TF.OUT_QUEUED;
}

/** When pending output must be flushed (µs), or NEVER when nothing waits. */
export function outputDeadline(): i64 {
  if (pendingHead < 0) return NEVER;
  return retryAtUs == 0 ? now() : retryAtUs;
}

/** Sends for queued connections while frame buffers last; the rest waits for the next flush. */
export function outputFlush(): void {
  while (pendingHead >= 0) {
    const t = tcbAt(<u32>pendingHead);
    if (!tcpOutput(t)) {
      // No frame buffer: keep it (and the rest) queued for the next burst.
      retryAtUs = txHasRoom() ? now() + OUTPUT_RETRY_US : 0;
      return;
    }
    // tcpOutput may have freed t (then it is off the list already).
    outputUnschedule(t);
  }
}

/**
 * The window to advertise now, unscaled bytes. Receiver SWS avoidance (RFC 1122 4.2.3.3):
 * the right edge moves only by min(buffer/2, MSS) or more; it never moves left
 * (RFC 9293 3.8.6.2.2).
 */
export function receiveWindow(t: Tcb): u32 {
  const readable = ringLength(tcbRecvRing(t));
  const free = t.rcvBufSize > readable ? t.rcvBufSize - readable : 0;
  const maxWin: u32 = <u32>(<u64>0xFFFF << t.rcvShift);
  let win = free < maxWin ? free : maxWin;
  const current = seqGt(t.rcvAdv, t.rcvNxt) ? t.rcvAdv - t.rcvNxt : 0;
  if (win > current) {
    const mss = ourMss(t.remoteAddr);
    const step = t.rcvBufSize / 2 < mss ? t.rcvBufSize / 2 : mss;
    if (win - current < step) win = current;
  } else {
    win = current;
  }
  // Round down to what the scaled field can say exactly.
  return (win >> t.rcvShift) << t.rcvShift;
}

/**
 * Writes and sends one segment of `t`. `dataLen` payload bytes are copied from the send ring
 * at `seq - sndUna`; `tsoMss` > 0 asks the port to cut the payload into segments of that many
 * bytes (TSO). Returns 1 when handed to IPv4, 0 when no frame buffer is free now (the caller
 * retries later), or a negative errno when the destination is unreachable.
 */
function emit(t: Tcb, seq: u32, flags: u32, dataLen: u32, tsoMss: u32 = 0): i32 {
  const seg = ipv4OutputBegin(t.remoteAddr, PROTO_TCP);
  if (seg == 0) return 0;
  const o = outOpts;
  o.clear();
  const syn = (flags & TCP_SYN) != 0;
  let window: u32;
  if (syn) {
    // RFC 9293 3.7.1 MSS; RFC 7323 2.2, 3.2: offer WS and TS on a SYN; in a SYN-ACK only
    // what the peer offered.
    o.present = HAS_MSS;
    o.mss = ourMss(t.remoteAddr);
    const active = (flags & TCP_ACK_FLAG) == 0;
    if (active || (t.flags & TF.WSCALE) != 0) { o.present |= HAS_WSCALE; o.wscale = t.rcvShift; }
    // RFC 2018 2: offered when configured; in a SYN-ACK only when the SYN offered it too.
    if (active ? cfg(Cfg.TcpSack) == 1 : (t.flags & TF.SACK) != 0) o.present |= HAS_SACK_PERM;
    if (active || (t.flags & TF.TIMESTAMPS) != 0) {
      o.present |= HAS_TIMESTAMP;
      o.tsVal = tsNow();
      o.tsEcr = active ? 0 : t.tsRecent;
    }
    // RFC 7413 4.1.2: a SYN-ACK answering a cookie request or a bad cookie carries our cookie;
    // 4.1.3: our SYN carries a cached cookie or a request when the host asked for Fast Open.
    if (!active && (t.flags & TF.FASTOPEN_COOKIE) != 0) fastOpenAddCookie(t, o);
    if (active && t.foClient != 0) fastOpenClientOption(t, o);
    // RFC 7323 2.2: the window in a SYN segment is never scaled. The receive ring may hold
    // Fast Open data already (RFC 7413 4.2.2).
    const w = t.rcvBufSize - ringLength(tcbRecvRing(t));
    window = w > 0xFFFF ? 0xFFFF : w;
    t.rcvAdv = t.rcvNxt + window;
  } else {
    if ((t.flags & TF.TIMESTAMPS) != 0) {
      o.present = HAS_TIMESTAMP;
      o.tsVal = tsNow();
      o.tsEcr = t.tsRecent;
    }
    if ((t.flags & TF.SACK) != 0 && (flags & TCP_ACK_FLAG) != 0 &&
        ((t.flags & TF.DSACK) != 0 || reasmCount(t.ooo) > 0)) {
      const blocks = sackRoom(t, dataLen, tsoMss);
      let first: u32 = 0;
      if ((t.flags & TF.DSACK) != 0 && blocks > 0) {
        // RFC 2883 4: the duplicate range first, then the ordinary blocks; reported once.
        o.setSack(0, t.dsackStart, t.dsackEnd);
        first = 1;
        t.flags &= ~TF.DSACK;
        bump(DSACK_SENT);
      }
      if (blocks > 0) bumpBy(SACK_BLOCKS_SENT, first + reasmFillSackFrom(t.ooo, o, first, blocks));
    }
    const win = receiveWindow(t);
    window = win >> t.rcvShift;
    if ((flags & TCP_ACK_FLAG) != 0 && seqGt(t.rcvNxt + win, t.rcvAdv)) t.rcvAdv = t.rcvNxt + win;
  }
  const ack = (flags & TCP_ACK_FLAG) != 0 ? t.rcvNxt : 0;
  flags |= ecnOutput(t, seq, flags, dataLen);
  const hl = tcpEmit(seg, t.localPort, t.remotePort, seq, ack, flags, window, o);
  if (dataLen > 0) ringReadAt(tcbSendRing(t), seq - t.sndUna, seg + hl, dataLen);
  const r = ipv4OutputFinish(hl + dataLen, tsoMss);
  if (r < 0) return r;
  bump(SEGS_OUT);
  // RFC 8985 6.1: the send time of every data segment (or TSO frame) and FIN.
  if ((dataLen > 0 || (flags & TCP_FIN) != 0) && (flags & TCP_SYN) == 0 && rackActive(t)) {
    rackOnSend(t.rack, seq, seq + dataLen + ((flags & TCP_FIN) != 0 ? 1 : 0), seqLt(seq, t.sndMax));
  }
  // RFC 6937 3.1: data sent during recovery counts in prr_out.
  if (dataLen > 0 && (t.flags & TF.IN_RECOVERY) != 0) ccRecoverySent(tcbCc(t), dataLen);
  if (tsoMss > 0) {
    bump(TSO_FRAMES);
    bumpBy(TSO_SEGMENTS, <u64>(dataLen / tsoMss));
  }
  if ((flags & TCP_ACK_FLAG) != 0) {
    t.lastAckSent = t.rcvNxt;
    t.flags &= ~TF.ACK_NOW;
    t.rcvUnackedBytes = 0;
    if (t.tDelack != NEVER) { t.tDelack = NEVER; timerUpdate(t); }
  }
  return 1;
}

/**
 * SACK blocks a segment of `t` with `dataLen` payload bytes can carry (RFC 2018 3): 4, or 3
 * beside timestamps; on a data segment only what fits in the send MSS with the payload; none
 * on a TSO frame (every piece would repeat them).
 */
function sackRoom(t: Tcb, dataLen: u32, tsoMss: u32): u32 {
  const most: u32 = (t.flags & TF.TIMESTAMPS) != 0 ? 3 : 4;
  if (dataLen == 0) return most;
  if (tsoMss > 0) return 0;
  const max = segmentPayloadMax(t);
  const spare = max > dataLen ? max - dataLen : 0;
  if (spare < 12) return 0;
  const fit = (spare - 4) >> 3;
  return fit < most ? fit : most;
}

/**
 * Retransmits [start, end) of `t` during SACK recovery (one segment, RFC 6675 5 step C.1);
 * `withFin` sets FIN when the range ends at our FIN. Returns emit's answer (0: no buffer).
 */
function sackRetransmit(t: Tcb, start: u32, end: u32, withFin: bool): i32 {
  const r = emit(t, start, TCP_ACK_FLAG | (withFin ? TCP_FIN : 0), end - start);
  if (r == 0) return 0;
  bump(RETRANSMITS);
  bump(SACK_RETRANSMITS);
  t.retransmits++;
  rttOnRetransmit(tcbRtt(t)); // Karn (RFC 6298 3)
  if (start == t.sndUna) rexmtArm(t);
  return r;
}

/**
 * RFC 6675 4 NextSeg for one segment while in SACK recovery: rule 1 (a lost hole), else,
 * when no new data can go (rule 2 is the caller's ordinary path), rule 3 (an unSACKed hole)
 * then rule 4 (rescue). Returns 1 when a segment was sent, 0 when no frame buffer was free,
 * -1 when NextSeg has nothing but new data (or nothing at all).
 */
function sackNextSegment(t: Tcb, smss: u32, newDataPossible: bool): i32 {
  const b = t.sack;
  let rescue = false;
  if (!sackNextHole(b, t.sndUna, smss, true)) {
    if (newDataPossible) return -1;
    if (!sackNextHole(b, t.sndUna, smss, false)) {
      const dataEnd = (t.flags & TF.FIN_SENT) != 0 ? t.sndFinSeq : t.sndMax;
      if (!sackRescue(b, t.sndUna, dataEnd, t.recover, smss)) return -1;
      rescue = true;
    }
  }
  const start = nextSegStart;
  const end = nextSegEnd;
  const withFin = rescue && (t.flags & TF.FIN_SENT) != 0 && end == t.sndFinSeq;
  const r = sackRetransmit(t, start, end, withFin);
  if (r == 0) return 0;
  if (rescue) bump(SACK_RESCUES);
  else sackRetransmitted(b, end, t.sndMax); // HighRxt (rule 4 leaves it, RFC 6675 4)
  return 1;
}

/**
 * The tail loss probe (RFC 8985 7.3): one segment of new data when there is some and the
 * peer's window has room for it (cwnd is not consulted), else the last segment sent, again
 * (with our FIN when it was sent). Returns emit's answer, or 1 when there was nothing to probe.
 */
function sendLossProbe(t: Tcb): i32 {
  const queued = ringLength(tcbSendRing(t));
  const maxSeg = segmentPayloadMax(t);
  const outstanding = t.sndMax - t.sndUna;
  const dataEnd = t.sndUna + queued;
  if ((t.flags & TF.FIN_SENT) == 0 && outstanding < queued) {
    const room = t.sndWnd > outstanding ? t.sndWnd - outstanding : 0;
    let len = queued - outstanding;
    if (len > maxSeg) len = maxSeg;
    if (len > room) len = room;
    if (len > 0) {
      const seq = t.sndMax;
      const fin = (t.flags & TF.FIN_QUEUED) != 0 && seq + len == dataEnd;
      let flags = TCP_ACK_FLAG;
      if (seq + len == dataEnd) flags |= TCP_PSH;
      if (fin) flags |= TCP_FIN;
      const r = emit(t, seq, flags, len);
      if (r == 0) return 0;
      if (!sent(t, r)) return r;
      t.sndNxt = seq + len + (fin ? 1 : 0);
      if (fin) { t.flags |= TF.FIN_SENT; t.sndFinSeq = seq + len; }
      if ((t.flags & TF.TIMESTAMPS) == 0) rttStartTiming(tcbRtt(t), t.sndNxt, now());
      t.sndMax = t.sndNxt;
      t.lastSendUs = now();
      tlpProbeSent(t, false);
      return r;
    }
  }
  const end = (t.flags & TF.FIN_SENT) != 0 ? t.sndFinSeq : t.sndMax;
  const withFin = (t.flags & TF.FIN_SENT) != 0;
  const span = end - t.sndUna;
  const len = span < maxSeg ? span : maxSeg;
  if (len == 0 && !withFin) return 1;
  // PSH as the original had it: the segment ended the data queued.
  const push = len > 0 && end == dataEnd ? TCP_PSH : 0;
  const r = emit(t, end - len, TCP_ACK_FLAG | push | (withFin ? TCP_FIN : 0), len);
  if (r == 0) return 0;
  bump(RETRANSMITS);
  t.retransmits++;
  rttOnRetransmit(tcbRtt(t)); // Karn (RFC 6298 3)
  tlpProbeSent(t, true);
  return r;
}

/**
 * Handles emit's answer (not 0) for a segment that advances state: true when the state should
 * advance as if it was sent. An unreachable destination while opening fails the connect
 * (RFC 9293 3.10.1); in a synchronized state it is a soft error (RFC 1122 4.2.3.9): the
 * segment counts as lost and the retransmission timer and user timeout take it from there.
 */
function sent(t: Tcb, r: i32): bool {
  if (r > 0 || isSynchronized(t.state)) return true;
  connectionFail(t, <u32>-r);
  return false;
}

/**
 * Sends everything `t` may send now. Returns false only when IPv4 had no frame buffer (the
 * caller keeps `t` queued); true when done (including "nothing to send").
 */
export function tcpOutput(t: Tcb): bool {
  for (;;) {
    if ((t.flags & TF.IN_USE) == 0) return true;
    if ((t.flags & TF.RST_PENDING) != 0) return abortFlush(t);
    const state = t.state;
    if (state == TcpState.CLOSED || state == TcpState.LISTEN) return true;

    if (state == TcpState.SYN_SENT || state == TcpState.SYN_RECEIVED) {
      if (t.sndNxt == t.iss) {
        const flags = state == TcpState.SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK_FLAG;
        // RFC 7413 4.1.3: with a cached cookie, queued data rides in the first SYN.
        const synData = state == TcpState.SYN_SENT ? fastOpenSynDataLen(t) : 0;
        const r = emit(t, t.iss, flags, synData);
        if (r == 0) return false;
        if (!sent(t, r)) return true;
        if (state == TcpState.SYN_SENT) fastOpenSynSent(t);
        if (t.backoff > 0) { bump(RETRANSMITS); t.retransmits++; }
        t.sndNxt = t.iss + 1 + synData;
        if (seqGt(t.sndNxt, t.sndMax)) t.sndMax = t.sndNxt;
        if (t.backoff == 0) rttStartTiming(tcbRtt(t), t.iss + 1, now());
        else rttOnSynRetransmit(tcbRtt(t));
        if (t.tRexmt == NEVER) rexmtArm(t);
        continue;
      }
      if ((t.flags & TF.ACK_NOW) != 0 && state == TcpState.SYN_RECEIVED) {
        const r = emit(t, t.sndNxt, TCP_ACK_FLAG, 0);
        if (r == 0) return false;
        t.flags &= ~TF.ACK_NOW;
      }
      return true;
    }

    // Synchronized states: data, FIN, ACK.
    if ((t.flags2 & TF2.TLP_SEND) != 0) {
      // RFC 8985 7.3: the loss probe first (the RTO is already armed behind it).
      if (sendLossProbe(t) == 0) return false;
      t.flags2 &= ~TF2.TLP_SEND;
      continue;
    }
    const queued = ringLength(tcbSendRing(t));
    if ((t.flags & TF.REXMT_FIRST) != 0) {
      // RFC 5681 3.2 fast retransmit / RFC 6582 3.2 partial ACK: the first unacknowledged
      // segment again, whatever the windows say.
      const outstanding = t.sndMax - t.sndUna;
      const dataOut = outstanding < queued ? outstanding : queued;
      const maxSeg1 = segmentPayloadMax(t);
      let n = dataOut < maxSeg1 ? dataOut : maxSeg1;
      if ((t.flags & TF.SACK) != 0) {
        // RFC 6675 5 step 4.3: the first segment presumed lost, up to the first SACKed range.
        const sacked = sackNextStart(t.sack, t.sndUna, t.sndUna + n);
        n = sacked - t.sndUna;
        if ((t.flags & TF.IN_RECOVERY) != 0) sackRetransmitted(t.sack, t.sndUna + n, t.sndMax);
      }
      const withFin = (t.flags & TF.FIN_SENT) != 0 && t.sndUna + n == t.sndFinSeq;
      if (n > 0 || withFin) {
        const r1 = emit(t, t.sndUna, TCP_ACK_FLAG | (withFin ? TCP_FIN : 0), n);
        if (r1 == 0) return false;
        bump(RETRANSMITS);
        t.retransmits++;
        rttOnRetransmit(tcbRtt(t));
        rexmtArm(t);
      }
      t.flags &= ~TF.REXMT_FIRST;
      continue;
    }
    const sackOn = (t.flags & TF.SACK) != 0;
    if (sackOn && seqLt(t.sndNxt, t.sndMax) && sackCount(t.sack) > 0) {
      // Going back after a timeout: what the peer SACKed since needs no second copy.
      const past = sackSkip(t.sack, t.sndNxt);
      const dataEnd0 = t.sndUna + queued;
      const to = seqLt(dataEnd0, past) ? dataEnd0 : past;
      if (seqGt(to, t.sndNxt)) { t.sndNxt = to; continue; }
    }
    const off = t.sndNxt - t.sndUna;
    const avail = off < queued ? queued - off : 0;
    const retransmitting = seqLt(t.sndNxt, t.sndMax);
    let win = ccWindow(tcbCc(t));
    // RFC 3042 limited transmit: each of the first two duplicate ACKs lets one new segment out.
    const maxSeg = segmentPayloadMax(t);
    const inFlight = t.sndNxt - t.sndUna;
    if ((t.flags & TF.IN_RECOVERY) == 0) {
      const extra = ccLimitedTransmitRoom(tcbCc(t), t.dupAcks, inFlight);
      if (extra > 0) win = inFlight + (extra < maxSeg ? extra : maxSeg);
    }
    if (t.sndWnd < win) win = t.sndWnd;
    let usable = win > inFlight ? win - inFlight : 0;
    if (sackOn && (t.flags & TF.IN_RECOVERY) != 0 && !retransmitting) {
      // RFC 6675 5 step C: while cwnd (= ssthresh during recovery) - pipe >= 1 SMSS, send
      // what NextSeg chooses; new data (rule 2) goes through the ordinary path below.
      // With PRR (RFC 6937 3.1) what the latest ACK allowed replaces cwnd - pipe.
      let room: u32;
      if (ccPrrActive(tcbCc(t))) {
        room = ccRecoveryRoom(tcbCc(t), maxSeg);
      } else {
        const cwnd = ccSsthresh(tcbCc(t));
        const pipe = sackPipe(t.sack, t.sndUna, t.sndMax, maxSeg);
        room = cwnd > pipe ? cwnd - pipe : 0;
        if (room < maxSeg) room = 0;
      }
      if (room > 0) {
        const wndRoom = t.sndWnd > inFlight ? t.sndWnd - inFlight : 0;
        const r = sackNextSegment(t, maxSeg, avail > 0 && wndRoom > 0);
        if (r == 0) return false;
        if (r > 0) continue;
      }
      const wndRoom2 = t.sndWnd > inFlight ? t.sndWnd - inFlight : 0;
      usable = room < wndRoom2 ? room : wndRoom2;
    } else if ((t.flags & TF.IN_RECOVERY) != 0 && !retransmitting && ccPrrActive(tcbCc(t))) {
      // RFC 6937 3.1 without SACK: PRR's sndcnt replaces the inflated window (RFC 6582 3.2).
      const room = ccRecoveryRoom(tcbCc(t), maxSeg);
      const wndRoom = t.sndWnd > inFlight ? t.sndWnd - inFlight : 0;
      usable = room < wndRoom ? room : wndRoom;
    }
    let len = avail < usable ? avail : usable;
    if (sackOn && retransmitting && sackCount(t.sack) > 0) {
      // Stop at the next range the peer holds.
      const stop = sackNextStart(t.sack, t.sndNxt, t.sndNxt + len);
      len = stop - t.sndNxt;
    }
    // New data for two or more full segments: one frame the port segments (TSO).
    // A CWR due goes on a segment of its own: a port's segmentation copies the flags to
    // every piece, and each copy would end the peer's ECN-Echo again (RFC 3168 6.1.3).
    const piece = retransmitting || (t.flags & TF.ECN_CWR_PENDING) != 0 ? 0 : tsoPiece(t, maxSeg);
    const segmented = segmentedPayload(t, len, piece);
    if (segmented > 0) len = segmented;
    else if (len > maxSeg) len = maxSeg;
    const finQueued = (t.flags & TF.FIN_QUEUED) != 0;
    if (len > 0 && len < maxSeg && !retransmitting) {
      // Nagle (RFC 1122 4.2.3.4, RFC 896) and sender SWS avoidance: a short segment goes
      // only when it empties the queue and nothing is unacknowledged (or NODELAY / closing),
      // or when it is at least half the largest window the peer offered.
      const pushAll = len == avail && (t.sndNxt == t.sndUna || (t.flags & TF.NODELAY) != 0 || finQueued);
      const halfWindow = t.maxSndWnd > 0 && len >= t.maxSndWnd / 2;
      if (!pushAll && !halfWindow) len = 0;
    }
    const dataEnd = t.sndUna + queued;
    const fin = finQueued && t.sndNxt + len == dataEnd &&
      ((t.flags & TF.FIN_SENT) == 0 || t.sndNxt == t.sndFinSeq);
    if (len == 0 && !fin) {
      // Data waits with nothing in flight (zero window, or a window too small to use under
      // SWS avoidance): the persist timer probes until the window opens (RFC 9293 3.8.6.1,
      // RFC 1122 4.2.3.4's override timeout).
      if (avail > 0 && t.sndNxt == t.sndUna && t.tRexmt == NEVER) persistArm(t);
      if ((t.flags & TF.ACK_NOW) != 0) {
        // An ACK-only segment carries SND.MAX, not a SND.NXT rewound for retransmission (as
        // BSD's tcp_output): below the peer's RCV.NXT it would be unacceptable there (RFC 9293
        // 3.10.7.4 "first") and dropped before its ACK field is read, so two sides that both
        // retransmit would trade unreadable ACKs forever.
        const r = emit(t, t.sndMax, TCP_ACK_FLAG, 0);
        if (r == 0) return false;
      }
      return true;
    }
    if (len > 0 && !retransmitting && t.sndNxt == t.sndUna) {
      // RFC 5681 4.1: restart after an idle period longer than the RTO.
      const rto = rttRto(tcbRtt(t));
      const idle = now() - t.lastSendUs;
      if (idle > <i64>rto) ccAfterIdle(tcbCc(t), idle, rto);
    }
    let flags = TCP_ACK_FLAG;
    if (fin) flags |= TCP_FIN;
    if (len > 0 && t.sndNxt + len == dataEnd) flags |= TCP_PSH;
    const seq = t.sndNxt;
    const r = emit(t, seq, flags, len, segmented > 0 ? piece : 0);
    if (r == 0) return false;
    if (!sent(t, r)) return true;
    if (retransmitting) {
      bump(RETRANSMITS);
      t.retransmits++;
      rttOnRetransmit(tcbRtt(t)); // Karn (RFC 6298 3)
    }
    t.sndNxt = seq + len + (fin ? 1 : 0);
    if (fin) { t.flags |= TF.FIN_SENT; t.sndFinSeq = seq + len; }
    if (seqGt(t.sndNxt, t.sndMax)) {
      // RFC 6298 3: without timestamps, time one new segment at a time.
      if ((t.flags & TF.TIMESTAMPS) == 0) rttStartTiming(tcbRtt(t), t.sndNxt, now());
      t.sndMax = t.sndNxt;
    }
    if (t.unackedSinceUs == NEVER) t.unackedSinceUs = now();
    t.lastSendUs = now();
    // RFC 8985 7.2: after new data the PTO (re)starts when allowed (the RACK reordering timer,
    // when it holds the timer, stays); else RFC 6298 5.1: start the RTO when data goes out and
    // it is not running (or the PTO held the timer).
    if (!(len > 0 && !retransmitting && (t.flags2 & TF2.REO_ARMED) == 0 && tlpArm(t)) &&
        (t.tRexmt == NEVER || (t.flags & TF.PERSIST) != 0 || (t.flags2 & TF2.PTO_ARMED) != 0)) rexmtArm(t);
  }
  return true;
}

/**
 * Sends a segment that the peer must answer without carrying data: SEG.SEQ = SND.UNA - 1
 * (as Linux's zero-window and keepalive probes). Counted in tcp.tx.segments.
 */
export function sendProbe(t: Tcb): void {
  emit(t, t.sndUna - 1, TCP_ACK_FLAG, 0);
}

/**
 * RFC 5961 4.2 / 3.2 challenge ACK: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> (SND.MAX while
 * retransmitting, see above), at most
 * Cfg.TcpChallengeAcksPerSec per second over all connections (RFC 5961 7).
 */
export function sendChallengeAck(t: Tcb): void {
  const t0 = now();
  if (t0 >= challengeWindowEndUs) {
    challengeWindowEndUs = t0 + 1000000;
    challengeTokens = cfg(Cfg.TcpChallengeAcksPerSec);
  }
  if (challengeTokens == 0) { bump(CHALLENGE_ACK_LIMITED); return; }
  challengeTokens--;
  bump(CHALLENGE_ACKS);
  if (emit(t, t.sndMax, TCP_ACK_FLAG, 0) == 0) {
    t.flags |= TF.ACK_NOW;
    outputSchedule(t);
  }
}

/**
 * Sends an ACK for `t` now, before the rest of the input burst is processed; queued as
 * `ackNow` does when no frame buffer is free.
 */
export function ackImmediately(t: Tcb): void {
  if (emit(t, t.sndMax, TCP_ACK_FLAG, 0) == 0) ackNow(t);
}

/** Sends (or queues) an ACK for `t`: <SEQ=SND.NXT><ACK=RCV.NXT>. */
export function ackNow(t: Tcb): void {
  t.flags |= TF.ACK_NOW;
  outputSchedule(t);
}

/**
 * RST from a connection (abort, RFC 9293 3.10.5): <SEQ=SND.NXT><CTL=RST>, where SND.NXT is
 * the highest sent (sndMax; sndNxt may be rewound for retransmission) so that the peer, which
 * accepts only RCV.NXT (RFC 5961 3.2), takes it. False: no buffer.
 */
export function sendRstInConnection(t: Tcb): bool {
  return sendReset(t.localPort, t.remoteAddr, t.remotePort, t.sndMax, 0, false);
}

/**
 * Sends a reset for a segment that has no connection or is unacceptable (RFC 9293 3.10.7.1,
 * 3.5.2): with `withAck`, <SEQ=seq><ACK=ack><CTL=RST,ACK>, else <SEQ=seq><CTL=RST>.
 * Returns false when no frame buffer is free: the caller retries, or drops and counts it (a
 * peer's retransmission brings another chance).
 */
export function sendReset(localPort: u32, remoteAddr: u32, remotePort: u32,
                          seq: u32, ack: u32, withAck: bool): bool {
  const seg = ipv4OutputBegin(remoteAddr, PROTO_TCP);
  if (seg == 0) return false;
  const o = outOpts;
  o.clear();
  const flags = withAck ? TCP_RST | TCP_ACK_FLAG : TCP_RST;
  const hl = tcpEmit(seg, localPort, remotePort, seq, withAck ? ack : 0, flags, 0, o);
  if (ipv4OutputFinish(hl) >= 0) bump(RSTS_OUT);
  return true;
}

/** A reset answering a segment that found no connection; dropped and counted without a buffer. */
export function sendResetOrCount(localPort: u32, remoteAddr: u32, remotePort: u32,
                                 seq: u32, ack: u32, withAck: bool): void {
  if (!sendReset(localPort, remoteAddr, remotePort, seq, ack, withAck)) bump(DROP_RST_NO_BUFFER);
}
