// Opening connections: creating a record with its buffers (shared by active and passive
// opens), the active OPEN (RFC 9293 3.10.1), and the options negotiated by the SYNs
// (RFC 9293 3.7.1 MSS, RFC 6691; RFC 7323 window scale and timestamps; RFC 2018 SACK).
//
// Guarantees: a connection is created whole or not at all: a record, a send ring and a
// receive ring from the slab, its RTT and out-of-order state reset; on any shortage
// everything taken is given back and the reason (ENOBUFS) is returned. Options are used only
// when both SYNs carried them (RFC 7323 2.2, 3.2), so a peer without them works unchanged.

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { now } from "../util/time";
import { slabAlloc, slabFree } from "../util/slab";
import { ringInit } from "../util/bytering";
import { reasmInit } from "./reassembly";
import { sackClear } from "./sack";
import { rttInit } from "./rtt";
import { ccInit } from "./cc/hooks";
import { ipv4LocalAddr } from "../iface/ipv4";
import {
  TcpOptions, HAS_MSS, HAS_WSCALE, HAS_TIMESTAMP, HAS_SACK_PERM,
} from "../wire/tcp";
import { isnFor } from "./isn";
import { portsAcquire, portsRetain, portsRelease } from "./ports";
import { Tcb, TF, tcbAlloc, tcbRelease, tcbHash, tcbLookup, tcbCc, tcbRtt, tcbSendRing, tcbRecvRing } from "./tcb";
import { TcpState } from "./state";
import { outputSchedule, ourMss, segmentPayloadMax } from "./output";
import { Errno } from "./api";

const DROP_NO_TCB = defineCounter("drop.tcp.no_tcb");
const DROP_NO_BUFFERS = defineCounter("drop.tcp.no_buffers");
const ACTIVE_OPENS = defineCounter("tcp.conn.active_opens");

/** Default MSS when the peer sends no MSS option (RFC 9293 3.7.1, RFC 1122 4.2.2.6). */
const DEFAULT_SEND_MSS: u32 = 536;
/** Keepalive defaults, as Linux (tcp_keepalive_time/intvl/probes). */
const KEEPALIVE_IDLE_MS: u32 = 7200000;
const KEEPALIVE_INTERVAL_MS: u32 = 75000;
export const KEEPALIVE_COUNT: u32 = 9;
/** Largest ring (and so window) a connection may have: 1 GiB (RFC 7323 2.3). */
const RING_MAX: u32 = 1 << 30;

/** Why the last `connectionNew` failed (a positive errno). */
let createError: u32 = 0;
export function connectionCreateError(): u32 { return createError; }

/** A ring size request rounded up to a power of two in [1 KiB, 1 GiB]; 0 = `fallback`. */
export function ringSize(requested: u32, fallback: u32): u32 {
  let want = requested == 0 ? fallback : requested;
  if (want < 1024) want = 1024;
  if (want >= RING_MAX) return RING_MAX;
  return 1 << (32 - clz<u32>(want - 1));
}

/** Window scale we offer: the smallest shift that lets `bufSize` be advertised (RFC 7323 2.3). */
@inline export function scaleFor(bufSize: u32): u32 {
  let shift: u32 = 0;
  while (shift < 14 && (bufSize >> shift) > 0xFFFF) shift++;
  return shift;
}

/**
 * Takes a record and its two rings for a connection between the given endpoints (host
 * order); its state is CLOSED and nothing is hashed yet. null when the table or the slab is
 * exhausted (counted; `connectionCreateError()` says ENOBUFS).
 */
export function connectionNew(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32,
                              sndSize: u32, rcvSize: u32): Tcb | null {
  const t = tcbAlloc();
  if (t === null) { bump(DROP_NO_TCB); createError = Errno.ENOBUFS; return null; }
  const snd = slabAlloc(sndSize);
  const rcv = snd != 0 ? slabAlloc(rcvSize) : 0;
  if (rcv == 0) {
    if (snd != 0) slabFree(snd, sndSize);
    tcbRelease(t);
    bump(DROP_NO_BUFFERS);
    createError = Errno.ENOBUFS;
    return null;
  }
  ringInit(tcbSendRing(t), snd, sndSize);
  ringInit(tcbRecvRing(t), rcv, rcvSize);
  t.sndBufSize = sndSize;
  t.rcvBufSize = rcvSize;
  reasmInit(t.ooo);
  sackClear(t.sack);
  rttInit(tcbRtt(t));
  t.localAddr = localAddr;
  t.localPort = localPort;
  t.remoteAddr = remoteAddr;
  t.remotePort = remotePort;
  t.sndMss = DEFAULT_SEND_MSS;
  t.rcvShift = scaleFor(rcvSize);
  t.keepIdleMs = KEEPALIVE_IDLE_MS;
  t.keepIntvlMs = KEEPALIVE_INTERVAL_MS;
  t.keepCnt = KEEPALIVE_COUNT;
  t.userTimeoutMs = cfg(Cfg.TcpUserTimeoutMs);
  t.lastRecvUs = now();
  t.lastSendUs = now();
  t.iss = isnFor(localAddr, localPort, remoteAddr, remotePort);
  t.sndUna = t.iss;
  t.sndNxt = t.iss;
  t.sndMax = t.iss;
  // RFC 6582 3.2 step 1: "recover" starts at the ISS.
  t.recover = t.iss;
  return t;
}

/**
 * Applies the options of the peer's SYN (or SYN-ACK) to `t`: send MSS (RFC 6691: the peer's
 * value bounded by our MTU - 40), window scale and timestamps when both sides offered them.
 * TS.Recent starts from the SYN's TSval (RFC 7323 4.3).
 */
export function applySynOptions(t: Tcb, o: TcpOptions): void {
  const mss = (o.present & HAS_MSS) != 0 && o.mss > 0 ? o.mss : DEFAULT_SEND_MSS;
  const ours = ourMss(t.remoteAddr);
  t.sndMss = mss < ours ? mss : ours;
  if ((o.present & HAS_WSCALE) != 0) {
    t.flags |= TF.WSCALE;
    t.sndShift = o.wscale;
  } else {
    // RFC 7323 2.2: without both options neither side scales.
    t.flags &= ~TF.WSCALE;
    t.sndShift = 0;
    t.rcvShift = 0;
  }
  if ((o.present & HAS_TIMESTAMP) != 0) {
    t.flags |= TF.TIMESTAMPS;
    t.tsRecent = o.tsVal;
    t.tsRecentAtUs = now();
  } else {
    t.flags &= ~TF.TIMESTAMPS;
  }
  // RFC 2018 2: SACK only when both SYNs carried SACK-permitted (we offer it iff Cfg.TcpSack).
  if ((o.present & HAS_SACK_PERM) != 0 && cfg(Cfg.TcpSack) == 1) t.flags |= TF.SACK;
  else t.flags &= ~TF.SACK;
}

/** Starts congestion control once the send MSS is final (at the end of the handshake). */
export function connectionStartCc(t: Tcb): void {
  ccInit(tcbCc(t), cfg(Cfg.TcpCongestion), segmentPayloadMax(t));
}

/**
 * Active OPEN (RFC 9293 3.10.1): picks or checks the local port, creates the record in
 * SYN-SENT and queues the SYN. Returns the handle or a negative errno (see api.ts).
 */
export function activeOpen(dstAddr: u32, dstPort: u32, srcPort: u32, sndBuf: u32, rcvBuf: u32): i32 {
  if (dstAddr == 0 || dstPort == 0 || dstPort > 0xFFFF || srcPort > 0xFFFF) return -Errno.EINVAL;
  const local = ipv4LocalAddr();
  if (local == 0) return -Errno.ENETUNREACH;
  let port = srcPort;
  if (port == 0) {
    port = portsAcquire(local, dstAddr, dstPort);
    if (port == 0) return -Errno.EADDRNOTAVAIL;
  } else {
    // An explicit port is shared with listeners and other connections, never a 4-tuple.
    if (tcbLookup(local, port, dstAddr, dstPort) !== null) return -Errno.EADDRNOTAVAIL;
    portsRetain(port);
  }
  const t = connectionNew(local, port, dstAddr, dstPort,
    ringSize(sndBuf, cfg(Cfg.TcpSendBuffer)), ringSize(rcvBuf, cfg(Cfg.TcpRecvBuffer)));
  if (t === null) {
    portsRelease(port);
    return -<i32>connectionCreateError();
  }
  t.flags |= TF.HOST_OWNED | TF.HOLDS_PORT;
  t.state = TcpState.SYN_SENT;
  tcbHash(t);
  bump(ACTIVE_OPENS);
  outputSchedule(t);
  return <i32>t.index;
}
