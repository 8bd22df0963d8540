// Listeners: passive OPEN (RFC 9293 3.10.1), the SYN queue (half-open connections in
// SYN-RECEIVED) and the accept queue (established, not yet accepted), and the LISTEN-state
// rules for arriving segments (RFC 9293 3.10.7.2).
//
// Guarantees: listeners are found by local port in O(1) (one listener per port, on any or one
// local address), apart from the 4-tuple hash of connections. Both queues have the sizes given
// to tcpListen; a SYN that finds the accept queue full, or no record or buffer for the child,
// is dropped and counted, and nothing else changes: established connections are never
// touched, and the peer retries (as Linux). A SYN that finds the SYN queue full gets a SYN
// cookie (tcp/syncookie.ts, RFC 4987 3.6) with Cfg.TcpSynCookies 1, is dropped and counted
// with 0; with 2 every SYN gets a cookie. A valid cookie ACK makes the child the SYN would
// have made, which the ACK then completes; with the accept queue full it is dropped and
// counted (no reset: the peer retransmits, as Linux). Queue removal is O(1) (doubly
// linked). Closing a listener resets and frees every child the host never accepted.

import { defineCounter, bump } from "../abi/counters";
import { notify, HandleKind } from "../abi/notify";
import { allocZeroed } from "../frame/rings";
import { ipv4LocalAddr } from "../iface/ipv4";
import { TcpOptions, tcpSeq, tcpWindow, tcpFlags } from "../wire/tcp";
import { portsBindListen, portsUnbindListen, portsRetain } from "./ports";
import { Tcb, TF, tcbAt, tcbAlloc, tcbRelease, tcbHash } from "./tcb";
import { TcpState } from "./state";
import { connectionNew, applySynOptions, ringSize } from "./connect";
import { ecnOnSyn } from "./ecn";
import { outputSchedule } from "./output";
import { connectionFree, userAbort } from "./close";
import { Errno } from "./api";
import { cfg, Cfg } from "../abi/config";
import {
  synCookieInit, synCookieSend, synCookieExpected, synCookieAccept, synCookieAccepted,
  synCookieSynFlags, SYNCOOKIES_OFF, SYNCOOKIES_ALWAYS,
} from "./syncookie";

const DROP_SYN_QUEUE_FULL = defineCounter("drop.tcp.syn_queue_full");
const DROP_ACCEPT_QUEUE_FULL = defineCounter("drop.tcp.accept_queue_full");
const PASSIVE_OPENS = defineCounter("tcp.conn.passive_opens");

/** Default queue length when tcpListen gets 0 (Linux's SOMAXCONN, 4096 since 5.4, is larger; Node asks for 511). */
const DEFAULT_BACKLOG: u32 = 128;
const MAX_BACKLOG: u32 = 65535;

/** Listener record index + 1 per local port (0 = none). */
let byPort: usize = 0;

export function listenInit(): void {
  byPort = allocZeroed(65536 << 2);
  synCookieInit();
}

/** The listener for a segment to `localAddr:port`, or null. */
export function listenerFor(localAddr: u32, port: u32): Tcb | null {
  const i = load<u32>(byPort + (<usize>(port & 0xFFFF) << 2));
  if (i == 0) return null;
  const l = tcbAt(i - 1);
  if (l.localAddr != 0 && l.localAddr != localAddr) return null;
  return l;
}

/** tcpListen (see api.ts). */
export function listenOpen(localAddr: u32, port: u32, backlog: u32, synBacklog: u32,
                           sndBuf: u32, rcvBuf: u32): i32 {
  if (port == 0 || port > 0xFFFF || backlog > MAX_BACKLOG || synBacklog > MAX_BACKLOG) return -Errno.EINVAL;
  if (localAddr != 0 && localAddr != ipv4LocalAddr()) return -Errno.EADDRNOTAVAIL;
  const t = tcbAlloc();
  if (t === null) return -Errno.ENOBUFS;
  if (portsBindListen(port) < 0) { tcbRelease(t); return -Errno.EADDRINUSE; }
  t.state = TcpState.LISTEN;
  t.flags |= TF.HOST_OWNED;
  t.localAddr = localAddr;
  t.localPort = port;
  t.backlog = backlog == 0 ? DEFAULT_BACKLOG : backlog;
  t.synBacklog = synBacklog == 0 ? DEFAULT_BACKLOG : synBacklog;
  t.childSndBuf = ringSize(sndBuf, cfg(Cfg.TcpSendBuffer));
  t.childRcvBuf = ringSize(rcvBuf, cfg(Cfg.TcpRecvBuffer));
  store<u32>(byPort + (<usize>port << 2), t.index + 1);
  return <i32>t.index;
}

/**
 * A SYN (no ACK, no RST) for a listener (RFC 9293 3.10.7.2 "third"): a child in
 * SYN-RECEIVED joins the SYN queue and a SYN-ACK is queued (it goes at the next output, so the
 * caller may still set the child's ISS). Returns the child, or null when the SYN was dropped
 * or answered with a cookie.
 */
export function listenerSyn(l: Tcb, src: u32, dst: u32, seg: usize, srcPort: u32, o: TcpOptions): Tcb | null {
  const cookies = cfg(Cfg.TcpSynCookies);
  const synQueueFull = l.synQueueLen >= l.synBacklog;
  if (synQueueFull && cookies == SYNCOOKIES_OFF) {
    bump(DROP_SYN_QUEUE_FULL);
    return null;
  }
  if (l.acceptQueueLen >= l.backlog) { bump(DROP_ACCEPT_QUEUE_FULL); return null; }
  if (synQueueFull || cookies == SYNCOOKIES_ALWAYS) {
    synCookieSend(dst, l.localPort, src, srcPort, seg, o, l.childRcvBuf);
    return null;
  }
  const t = childCreate(l, src, dst, srcPort, tcpSeq(seg), o, tcpFlags(seg));
  if (t === null) return null;
  // RFC 7323 2.2: the window of a SYN is not scaled.
  t.sndWnd = tcpWindow(seg);
  t.maxSndWnd = t.sndWnd;
  outputSchedule(t);
  return t;
}

/** What `listenerCookieAck` did with an ACK. */
export enum CookieAck {
  /** Not a valid cookie (or none was expected): the caller answers per RFC 9293 3.10.7.2. */
  NOT_COOKIE = -1,
  /** A valid cookie, but no child could be made (counted); the segment is dropped. */
  DROPPED = -2,
}

/**
 * An ACK (no SYN, no RST) for a listener without a connection: when it completes a cookie
 * handshake (RFC 4987 3.6), the child the SYN would have made is created in SYN-RECEIVED,
 * sent SYN-ACK included, and its index returned: the caller processes the ACK on it.
 * Otherwise a CookieAck value. `o` (the ACK's options) is rewritten when the cookie is valid.
 */
export function listenerCookieAck(l: Tcb, src: u32, dst: u32, seg: usize, srcPort: u32, o: TcpOptions): i32 {
  if (!synCookieExpected()) return CookieAck.NOT_COOKIE;
  const iss = synCookieAccept(dst, l.localPort, src, srcPort, seg, o);
  if (iss < 0) return CookieAck.NOT_COOKIE;
  if (l.acceptQueueLen >= l.backlog) { bump(DROP_ACCEPT_QUEUE_FULL); return CookieAck.DROPPED; }
  const t = childCreate(l, src, dst, srcPort, tcpSeq(seg) - 1, o, synCookieSynFlags());
  if (t === null) return CookieAck.DROPPED;
  t.iss = <u32>iss;
  t.sndUna = t.iss;
  t.sndNxt = t.iss + 1;
  t.sndMax = t.iss + 1;
  t.sndWl2 = t.iss;
  t.recover = t.iss;
  // The SYN-ACK advertised this much, unscaled (synCookieSend).
  t.rcvAdv = t.rcvNxt + (t.rcvBufSize > 0xFFFF ? 0xFFFF : t.rcvBufSize);
  synCookieAccepted();
  return <i32>t.index;
}

/**
 * A child in SYN-RECEIVED for the SYN with sequence number `irs`, options `o` and control
 * bits `synFlags`, hashed and at the head of `l`'s SYN queue; null when no record or buffer
 * was free (counted by connectionNew).
 */
function childCreate(l: Tcb, src: u32, dst: u32, srcPort: u32, irs: u32, o: TcpOptions, synFlags: u32): Tcb | null {
  const t = connectionNew(dst, l.localPort, src, srcPort, l.childSndBuf, l.childRcvBuf);
  if (t === null) return null; // counted by connectionNew (drop.tcp.no_tcb / drop.tcp.no_buffers)
  bump(PASSIVE_OPENS);
  portsRetain(l.localPort);
  t.flags |= TF.PASSIVE | TF.HOLDS_PORT;
  t.irs = irs;
  t.rcvNxt = irs + 1;
  t.rcvAdv = t.rcvNxt;
  applySynOptions(t, o);
  ecnOnSyn(t, synFlags);
  t.sndWl1 = irs;
  t.sndWl2 = t.iss;
  t.state = TcpState.SYN_RECEIVED;
  tcbHash(t);
  // SYN queue: newest first (order does not matter for half-open records).
  t.listener = <i32>l.index;
  t.queuePrev = -1;
  t.queueNext = l.synHead;
  if (l.synHead >= 0) tcbAt(<u32>l.synHead).queuePrev = <i32>t.index;
  l.synHead = <i32>t.index;
  l.synQueueLen++;
  return t;
}

/** Unlinks `t` from whichever queue of its listener it is in; `t.listener` becomes -1. */
export function listenerDetachChild(t: Tcb): void {
  if (t.listener < 0) return;
  const l = tcbAt(<u32>t.listener);
  const inAccept = (t.flags & TF.IN_ACCEPT_QUEUE) != 0;
  if (t.queuePrev >= 0) tcbAt(<u32>t.queuePrev).queueNext = t.queueNext;
  else if (inAccept) l.acceptHead = t.queueNext;
  else l.synHead = t.queueNext;
  if (t.queueNext >= 0) tcbAt(<u32>t.queueNext).queuePrev = t.queuePrev;
  else if (inAccept) l.acceptTail = t.queuePrev;
  if (inAccept) l.acceptQueueLen--;
  else l.synQueueLen--;
  t.queueNext = -1;
  t.queuePrev = -1;
  t.listener = -1;
  t.flags &= ~TF.IN_ACCEPT_QUEUE;
}

/**
 * The child's handshake completed: it moves from the SYN queue to the tail of the accept
 * queue and the listener's host is notified. False when the accept queue is full: the child
 * stays in SYN-RECEIVED (the ACK is dropped and counted, the SYN-ACK will be retransmitted,
 * as Linux).
 */
export function listenerChildEstablished(t: Tcb): bool {
  const l = tcbAt(<u32>t.listener);
  if (l.acceptQueueLen >= l.backlog) { bump(DROP_ACCEPT_QUEUE_FULL); return false; }
  const li = t.listener;
  listenerDetachChild(t);
  t.listener = li;
  t.flags |= TF.IN_ACCEPT_QUEUE;
  t.queueNext = -1;
  t.queuePrev = l.acceptTail;
  if (l.acceptTail >= 0) tcbAt(<u32>l.acceptTail).queueNext = <i32>t.index;
  else l.acceptHead = <i32>t.index;
  l.acceptTail = <i32>t.index;
  l.acceptQueueLen++;
  notify(HandleKind.TCP, l.index);
  return true;
}

/** tcpAccept: the oldest queued connection becomes the host's; -EAGAIN when none. */
export function listenerAccept(l: Tcb): i32 {
  const i = l.acceptHead;
  if (i < 0) return -Errno.EAGAIN;
  const t = tcbAt(<u32>i);
  listenerDetachChild(t);
  t.flags |= TF.HOST_OWNED;
  // The host learns of everything that happened while it was queued (data, FIN) at once.
  notify(HandleKind.TCP, t.index);
  return i;
}

/** Closes a listener: children in either queue are reset and freed; the port is released. */
export function listenerClose(l: Tcb): void {
  while (l.synHead >= 0) {
    const c = tcbAt(<u32>l.synHead);
    listenerDetachChild(c);
    userAbort(c);
  }
  while (l.acceptHead >= 0) {
    const c = tcbAt(<u32>l.acceptHead);
    listenerDetachChild(c);
    userAbort(c);
  }
  store<u32>(byPort + (<usize>l.localPort << 2), 0);
  portsUnbindListen(l.localPort);
  l.flags &= ~TF.HOST_OWNED;
  connectionFree(l);
}
