// TCP sockets inside the stack: the host ABI (every function is exported from
// assembly/index.ts under the same name).
//
// Guarantees: every call validates its handle and arguments and answers with a value, never a
// trap; failures are negative Linux errno values the host maps to Node errors; nothing here
// allocates after init. Data moves without copies inside WASM: the host writes into the send
// ring and reads from the receive ring in place.
//
// ## Handles
//
// A handle is a connection-table index, 0 <= h < Cfg.TcpMaxConnections (listeners use the
// same table). The notify list (assembly/abi/notify.ts) reports `(HandleKind.TCP << 24) | h`
// whenever something the host cares about changed: readable, writable again, connected, peer
// FIN, error, reached CLOSED, accept queue non-empty. It is level-triggered: on a
// notification the host reads `tcpInfoPtr(h)` and acts.
//
// Lifetime: a handle belongs to the host from the call that returned it (tcpListen,
// tcpAccept, tcpConnect) until `tcpClose(h)` or `tcpAbort(h)`. After that the host must not
// use it. The connection lives on without the host (FIN-WAIT, CLOSING, LAST-ACK, TIME-WAIT);
// its slot is reused only when the host has let go AND the connection reached CLOSED. A
// connection that fails (RST, timeout) reaches CLOSED with a pending error but keeps its
// handle until the host calls `tcpClose` (which then frees it at once).
//
// ## Errors (negative return values)
//
//   EBADF 9 (handle not owned by the host, or a listener where a connection is needed),
//   EAGAIN 11, EINVAL 22, EPIPE 32, EADDRINUSE 98, EADDRNOTAVAIL 99, ENETUNREACH 101,
//   ENOBUFS 105, ENOTCONN 107.
//   Pending errors reported in the info struct: ECONNREFUSED 111, ECONNRESET 104,
//   ETIMEDOUT 110, and while connecting the route errors IPv4 reports: ENETUNREACH 101,
//   EHOSTUNREACH 113 (ARP resolution failed).
//
// ## Functions
//
//   tcpListen(localAddr: u32, port: u32, backlog: u32, synBacklog: u32,
//             sndBuf: u32, rcvBuf: u32): i32
//       Passive open (RFC 9293 3.10.1). localAddr 0 = any of ours (else must be ours:
//       -EADDRNOTAVAIL); port 1..65535 (-EINVAL); backlog = accept queue length, synBacklog =
//       SYN queue length (0 = 128 each; at most 65535); sndBuf/rcvBuf = ring sizes of the
//       accepted connections (0 = Cfg.TcpSendBuffer / Cfg.TcpRecvBuffer; rounded up to a
//       power of two, 1 KiB .. 1 GiB). -EADDRINUSE when the port is taken, -ENOBUFS when the
//       connection table is full. Returns the listener handle.
//       A SYN that finds the SYN queue full, the accept queue full, the table full or the slab
//       empty is dropped and counted (`drop.tcp.syn_queue_full`, `drop.tcp.accept_queue_full`,
//       `drop.tcp.no_tcb`, `drop.tcp.no_buffers`); the peer retries. Established connections
//       are never touched.
//
//   tcpListenFastOpen(listener: i32, queue: u32): i32
//       TCP Fast Open on a listener (RFC 7413, server side; tcp/fastopen.ts): `queue` Fast
//       Open children may wait in SYN-RECEIVED at once (RFC 7413 5.1 max_qlen; 0 = off).
//       Such a child is in the accept queue with its SYN's data readable before the
//       handshake completes (info flag INFO_FAST_OPEN). 0, -EBADF (not a listener the host
//       holds), -EINVAL (queue > 65535), -EOPNOTSUPP (Cfg.TcpFastOpen lacks the server bit 2).
//
//   tcpFastOpenCookie(addr: u32): u64
//       The Fast Open cookie this stack gives the client address `addr` (host order), as
//       its 8 wire bytes read little-endian (diagnostics and tests).
//
//   tcpAccept(listener: i32): i32
//       Takes the oldest established connection of the accept queue: a handle, or -EAGAIN.
//       -EINVAL when `listener` is not a listener, -EBADF when it is not the host's.
//
//   tcpConnect(dstAddr: u32, dstPort: u32, srcPort: u32, sndBuf: u32, rcvBuf: u32): i32
//       Active open (RFC 9293 3.10.1): sends a SYN. srcPort 0 = ephemeral (RFC 6056);
//       -EADDRNOTAVAIL when no port is free or srcPort is taken for this peer,
//       -ENOBUFS when the table or the slab is exhausted, -ENETUNREACH when the stack has no
//       IPv4 address, -EINVAL for port 0 / address 0. The SYN goes at the next poll.
//       Completion: the info flags get CONNECTED (notify), or the info error gets
//       ECONNREFUSED (RST), ETIMEDOUT (Cfg.TcpSynRetries exhausted), ENETUNREACH (no route
//       to the destination) or EHOSTUNREACH (ARP failed), with state CLOSED (notify).
//
//   tcpWritePtr(h: i32): usize     address of the contiguous free area of the send ring
//   tcpWriteRoom(h: i32): u32      its length in bytes (0 when full or not writable)
//   tcpWriteCommit(h: i32, n: u32): i32
//       Queues the n bytes the host wrote at tcpWritePtr (n <= tcpWriteRoom). Returns 0, or
//       -EPIPE after shutdown/close or once the connection failed, -EINVAL when n is too big,
//       -EBADF. Allowed from SYN-SENT on (data waits for the handshake, RFC 9293 3.10.2).
//       When the ring was full and ACKs free space, the host is notified (writable again).
//
//   tcpReadPtr(h: i32): usize      address of the contiguous in-order received bytes
//   tcpReadAvail(h: i32): u32      their length
//   tcpReadConsume(h: i32, n: u32): i32
//       Frees n bytes (n <= tcpReadAvail); the window reopens, and a window update is sent
//       when it grew by 2*MSS or half the buffer (RFC 1122 4.2.3.3). 0, -EINVAL, -EBADF.
//       A contiguous area ends at the ring's end: after consuming it, tcpReadAvail offers
//       the rest (the same holds for tcpWriteRoom).
//
//   tcpShutdown(h: i32, how: i32): i32
//       how 0 = SHUT_RD (unread data is dropped; further data is acknowledged and
//       discarded), 1 = SHUT_WR (FIN after the queued data, RFC 9293 3.10.4; in SYN-SENT the
//       attempt simply ends), 2 = both. 0, -ENOTCONN (SHUT_WR on a CLOSED connection),
//       -EINVAL (bad `how`), -EBADF.
//
//   tcpClose(h: i32): i32
//       Graceful close and release of the handle: a FIN after queued data; if received data
//       was left unread, an RST instead (RFC 1122 4.2.2.13, as Linux); data arriving after
//       the close is answered with an RST. An orphaned FIN-WAIT-2 lasts Cfg.TcpTimeWaitMs at
//       most (as Linux's tcp_fin_timeout). For a listener: the port is released and every
//       queued, unaccepted connection is reset. 0 or -EBADF.
//
//   tcpAbort(h: i32): i32
//       Sends an RST (in synchronized states and SYN-RECEIVED, RFC 9293 3.10.5) at the next
//       poll, drops everything and releases the handle. 0 or -EBADF.
//
//   tcpSetOption(h: i32, opt: i32, a: u32, b: u32, c: u32): i32
//       opt 1 NODELAY: a = 1 disables Nagle (RFC 1122 4.2.3.4), 0 enables (the default).
//       opt 2 KEEPALIVE: a = 1 on / 0 off, b = idle ms before the first probe, c = interval
//             ms between probes (0 = leave as is; defaults 7,200,000 and 75,000 as Linux).
//       opt 3 KEEPCNT: a = unanswered probes before ETIMEDOUT (0 = 9).
//       opt 4 USER_TIMEOUT: a = ms that sent data may stay unacknowledged before the
//             connection fails with ETIMEDOUT (0 = Cfg.TcpUserTimeoutMs).
//       opt 5 FASTOPEN: a = 1: this connection uses Fast Open (RFC 7413 4.1.3; tcp/fastopen.ts):
//             its first SYN carries a cached cookie and the data written so far, or a cookie
//             request. Only right after tcpConnect, before the next poll (-EINVAL after);
//             -EOPNOTSUPP when Cfg.TcpFastOpen lacks the client bit 1.
//       Returns 0, -EINVAL, -EBADF.
//
//   tcpInfoPtr(h: i32): usize
//       Fills and returns a pointer to a TcpInfo struct describing h (valid until the next
//       tcpInfoPtr call; 0 for a bad handle). Layout, little-endian:
//
//         0  u32 state        TcpState (CLOSED 0, LISTEN 1, SYN_SENT 2, SYN_RECEIVED 3,
//                             ESTABLISHED 4, FIN_WAIT_1 5, FIN_WAIT_2 6, CLOSE_WAIT 7,
//                             CLOSING 8, LAST_ACK 9, TIME_WAIT 10)
//         4  u32 error        pending errno (positive; 0 none); stays set
//         8  u32 flags        INFO_CONNECTED 1, INFO_PEER_FIN 2 (all data before the FIN is
//                             in the ring), INFO_CAN_ACCEPT 4, INFO_WRITE_SHUT 8,
//                             INFO_CLOSED 16 (reached CLOSED: no more events), INFO_LISTENER 32
//                             INFO_SACK 64 (SACK negotiated, RFC 2018 2),
//                             INFO_FAST_OPEN 128 (data of the peer's SYN accepted, RFC 7413),
//                             INFO_ECN 256 (ECN in use, RFC 3168 6.1.1),
//                             INFO_RACK 512 (RACK loss detection runs: tcpRack and SACK, RFC 8985)
//        12  u32 readable     in-order bytes waiting in the receive ring
//        16  u32 writeRoom    free bytes in the send ring (total, not just contiguous)
//        20  u32 localAddr    host order
//        24  u32 remoteAddr   host order
//        28  u16 localPort
//        30  u16 remotePort
//        32  u64 bytesIn      payload bytes received in order
//        40  u64 bytesOut     payload bytes acknowledged by the peer
//        48  u32 retransmits  segments retransmitted
//        52  u32 srttUs       smoothed RTT (0 before the first sample)
//        56  u32 cwnd         congestion window, bytes (0 before the handshake completes)
//        60  u32 mss          payload bytes per full segment (send MSS less the
//                             timestamp option when negotiated)
//        64  u32 acceptQueue  connections waiting in tcpAccept (listeners)
//        68  u32 unsent       queued bytes not yet acknowledged
//       (72 bytes)
//
//   tcpNextDeadline(): f64   earliest TCP timer or pending output in µs, -1 for none (already
//       folded into nextDeadlineUs)
//   tcpConnectionsInUse(): u32   table records in use (listeners, connections, TIME-WAIT)
//   tcpSlabFreeBytes(): u32      free bytes of the ring slab
//   tcpPortsInUse(): u32         local ports with a listener or a connection (TIME-WAIT too)
//       Pool statistics, so a test can check that churn returns every resource.

import { cfg, Cfg } from "../abi/config";
import { NEVER } from "../util/time";
import { slabInit, slabFreeBytes } from "../util/slab";
import {
  ringLength, ringFree, ringWritePtr, ringWriteRoom, ringCommit, ringReadPtr, ringReadAvail, ringConsume,
} from "../util/bytering";
import { portsInit, portsInUse } from "./ports";
import { isnInit } from "./isn";
import { rttSrtt } from "./rtt";
import { reasmClear } from "./reassembly";
import { ccWindow } from "./cc/hooks";
import { Tcb, TF, tcbTableInit, tcbAt, tcbHostHandle, tcbInUse, tcbCapacity, tcbCc, tcbRtt, tcbSendRing, tcbRecvRing } from "./tcb";
import { TcpState, isSynchronized, canSendData } from "./state";
import { timersInit, tcpTimersNext, tcpTimersRun, keepaliveArm } from "./timers";
import { outputSchedule, outputFlush, outputDeadline, segmentPayloadMax } from "./output";
import { listenInit, listenOpen, listenerAccept, listenerClose } from "./listen";
import { activeOpen, KEEPALIVE_COUNT } from "./connect";
import { userClose, userAbort, sendFin } from "./close";
import { windowOpened } from "./input";
import { fastOpenServerOn, fastOpenCookie, fastOpenClientOn, fastOpenInit } from "./fastopen";
import { rackActive } from "./rack";

/** Linux errno values used by the TCP ABI (returned negated). */
export namespace Errno {
  export const EBADF: u32 = 9;
  export const EAGAIN: u32 = 11;
  export const EINVAL: u32 = 22;
  export const EPIPE: u32 = 32;
  export const EADDRINUSE: u32 = 98;
  export const EADDRNOTAVAIL: u32 = 99;
  export const ENETUNREACH: u32 = 101;
  export const ECONNRESET: u32 = 104;
  export const ENOBUFS: u32 = 105;
  export const ENOTCONN: u32 = 107;
  export const ETIMEDOUT: u32 = 110;
  export const ECONNREFUSED: u32 = 111;
  export const EOPNOTSUPP: u32 = 95;
}

/** tcpSetOption option numbers. */
export namespace TcpOpt {
  export const NODELAY: i32 = 1;
  export const KEEPALIVE: i32 = 2;
  export const KEEPCNT: i32 = 3;
  export const USER_TIMEOUT: i32 = 4;
  export const FASTOPEN: i32 = 5;
}

/** Bits of TcpInfo.flags. */
export namespace InfoFlag {
  export const CONNECTED: u32 = 1;
  export const PEER_FIN: u32 = 2;
  export const CAN_ACCEPT: u32 = 4;
  export const WRITE_SHUT: u32 = 8;
  export const CLOSED: u32 = 16;
  export const LISTENER: u32 = 32;
  /** SACK negotiated on this connection (RFC 2018 2). */
  export const SACK: u32 = 64;
  /** ECN in use on this connection (RFC 3168 6.1.1; tcp/ecn.ts). */
  export const ECN: u32 = 256;
  /** The peer's SYN carried data that was accepted with a Fast Open cookie (RFC 7413 4.2.2). */
  export const FAST_OPEN: u32 = 128;
  /** RACK loss detection runs on this connection (Cfg.TcpRack and SACK negotiated, RFC 8985 6). */
  export const RACK: u32 = 512;
}

// TcpInfo layout (see the header).
@inline const I_STATE: usize = 0;
@inline const I_ERROR: usize = 4;
@inline const I_FLAGS: usize = 8;
@inline const I_READABLE: usize = 12;
@inline const I_WRITE_ROOM: usize = 16;
@inline const I_LOCAL_ADDR: usize = 20;
@inline const I_REMOTE_ADDR: usize = 24;
@inline const I_LOCAL_PORT: usize = 28;
@inline const I_REMOTE_PORT: usize = 30;
@inline const I_BYTES_IN: usize = 32;
@inline const I_BYTES_OUT: usize = 40;
@inline const I_RETRANSMITS: usize = 48;
@inline const I_SRTT: usize = 52;
@inline const I_CWND: usize = 56;
@inline const I_MSS: usize = 60;
@inline const I_ACCEPT_QUEUE: usize = 64;
@inline const I_UNSENT: usize = 68;
@inline const INFO_BYTES: usize = 72;

let info: usize = 0;

/** Allocates every TCP pool; called once by `init`. */
export function tcpInit(): void {
  slabInit(cfg(Cfg.TcpSlabBytes));
  portsInit();
  isnInit();
  tcbTableInit();
  timersInit(tcbCapacity());
  listenInit();
  fastOpenInit();
  info = heap.alloc(INFO_BYTES);
  memory.fill(info, 0, INFO_BYTES);
}

/** Runs due timers and sends pending output; called by `input` and `poll`. */
export function tcpPoll(): void {
  tcpTimersRun();
  outputFlush();
}

/** Earliest TCP deadline (µs), or NEVER; includes pending output waiting for a frame buffer. */
export function tcpDeadline(): i64 {
  const out = outputDeadline();
  const timers = tcpTimersNext();
  return out < timers ? out : timers;
}

export function tcpNextDeadline(): f64 {
  const d = tcpDeadline();
  return d == NEVER ? -1 : <f64>d;
}

@inline function connection(h: i32): Tcb | null {
  if (!tcbHostHandle(h)) return null;
  const t = tcbAt(<u32>h);
  return t.state == TcpState.LISTEN ? null : t;
}

export function tcpListen(localAddr: u32, port: u32, backlog: u32, synBacklog: u32, sndBuf: u32, rcvBuf: u32): i32 {
  return listenOpen(localAddr, port, backlog, synBacklog, sndBuf, rcvBuf);
}

export function tcpListenFastOpen(listener: i32, queue: u32): i32 {
  if (!tcbHostHandle(listener) || tcbAt(<u32>listener).state != TcpState.LISTEN) return -Errno.EBADF;
  if (queue > 65535) return -Errno.EINVAL;
  if (!fastOpenServerOn()) return -Errno.EOPNOTSUPP;
  tcbAt(<u32>listener).foQueueMax = queue;
  return 0;
}

export function tcpFastOpenCookie(addr: u32): u64 {
  return fastOpenCookie(addr);
}

export function tcpAccept(listener: i32): i32 {
  if (!tcbHostHandle(listener)) return -Errno.EBADF;
  const l = tcbAt(<u32>listener);
  if (l.state != TcpState.LISTEN) return -Errno.EINVAL;
  return listenerAccept(l);
}

export function tcpConnect(dstAddr: u32, dstPort: u32, srcPort: u32, sndBuf: u32, rcvBuf: u32): i32 {
  return activeOpen(dstAddr, dstPort, srcPort, sndBuf, rcvBuf);
}

/** True while the host may queue data on `t`. */
@inline function writable(t: Tcb): bool {
  return canSendData(t.state) && (t.flags & TF.FIN_QUEUED) == 0 && t.error == 0;
}

export function tcpWritePtr(h: i32): usize {
  const t = connection(h);
  if (t === null || !writable(t)) return 0;
  return ringWritePtr(tcbSendRing(t));
}

export function tcpWriteRoom(h: i32): u32 {
  const t = connection(h);
  if (t === null || !writable(t)) return 0;
  const room = ringWriteRoom(tcbSendRing(t));
  if (room == 0) t.flags |= TF.WANT_WRITABLE;
  return room;
}

export function tcpWriteCommit(h: i32, n: u32): i32 {
  const t = connection(h);
  if (t === null) return -Errno.EBADF;
  if (!writable(t)) return -Errno.EPIPE;
  if (n > ringWriteRoom(tcbSendRing(t))) return -Errno.EINVAL;
  if (n == 0) return 0;
  ringCommit(tcbSendRing(t), n);
  if (ringFree(tcbSendRing(t)) == 0) t.flags |= TF.WANT_WRITABLE;
  if (isSynchronized(t.state)) outputSchedule(t);
  return 0;
}

export function tcpReadPtr(h: i32): usize {
  const t = connection(h);
  if (t === null || t.rcvBufSize == 0) return 0;
  return ringReadPtr(tcbRecvRing(t));
}

export function tcpReadAvail(h: i32): u32 {
  const t = connection(h);
  if (t === null || t.rcvBufSize == 0) return 0;
  return ringReadAvail(tcbRecvRing(t));
}

export function tcpReadConsume(h: i32, n: u32): i32 {
  const t = connection(h);
  if (t === null) return -Errno.EBADF;
  if (t.rcvBufSize == 0 || n > ringReadAvail(tcbRecvRing(t))) return -Errno.EINVAL;
  if (n == 0) return 0;
  ringConsume(tcbRecvRing(t), n);
  if (isSynchronized(t.state) && t.state != TcpState.TIME_WAIT) windowOpened(t);
  return 0;
}

export function tcpShutdown(h: i32, how: i32): i32 {
  const t = connection(h);
  if (t === null) return -Errno.EBADF;
  if (how < 0 || how > 2) return -Errno.EINVAL;
  if (how != 1) {
    // SHUT_RD: what is unread is dropped; what comes is acknowledged and discarded.
    t.flags |= TF.READ_SHUT;
    if (t.rcvBufSize != 0) ringConsume(tcbRecvRing(t), ringLength(tcbRecvRing(t)));
    // Out-of-order data waiting in the ring will never be read either.
    reasmClear(t.ooo);
  }
  if (how != 0) {
    if (t.state == TcpState.CLOSED) return -Errno.ENOTCONN;
    if (canSendData(t.state)) sendFin(t);
  }
  return 0;
}

export function tcpClose(h: i32): i32 {
  if (!tcbHostHandle(h)) return -Errno.EBADF;
  const t = tcbAt(<u32>h);
  if (t.state == TcpState.LISTEN) listenerClose(t);
  else userClose(t);
  return 0;
}

export function tcpAbort(h: i32): i32 {
  if (!tcbHostHandle(h)) return -Errno.EBADF;
  const t = tcbAt(<u32>h);
  if (t.state == TcpState.LISTEN) listenerClose(t);
  else userAbort(t);
  return 0;
}

export function tcpSetOption(h: i32, opt: i32, a: u32, b: u32, c: u32): i32 {
  const t = connection(h);
  if (t === null) return -Errno.EBADF;
  switch (opt) {
    case TcpOpt.NODELAY: {
      if (a > 1) return -Errno.EINVAL;
      if (a == 1) { t.flags |= TF.NODELAY; outputSchedule(t); }
      else t.flags &= ~TF.NODELAY;
      return 0;
    }
    case TcpOpt.KEEPALIVE: {
      if (a > 1) return -Errno.EINVAL;
      if (b != 0) t.keepIdleMs = b;
      if (c != 0) t.keepIntvlMs = c;
      if (a == 1) t.flags |= TF.KEEPALIVE;
      else t.flags &= ~TF.KEEPALIVE;
      t.keepProbesSent = 0;
      if (isSynchronized(t.state)) keepaliveArm(t);
      return 0;
    }
    case TcpOpt.KEEPCNT: {
      if (a > 127) return -Errno.EINVAL;
      t.keepCnt = a == 0 ? KEEPALIVE_COUNT : a;
      return 0;
    }
    case TcpOpt.USER_TIMEOUT: {
      t.userTimeoutMs = a == 0 ? cfg(Cfg.TcpUserTimeoutMs) : a;
      return 0;
    }
    case TcpOpt.FASTOPEN: {
      // Only before the first SYN leaves (as Linux's TCP_FASTOPEN_CONNECT, set before connect).
      if (a > 1 || t.state != TcpState.SYN_SENT || t.sndMax != t.iss) return -Errno.EINVAL;
      if (!fastOpenClientOn()) return -Errno.EOPNOTSUPP;
      t.foClient = a;
      return 0;
    }
    default: return -Errno.EINVAL;
  }
}

export function tcpInfoPtr(h: i32): usize {
  if (!tcbHostHandle(h)) return 0;
  const t = tcbAt(<u32>h);
  const p = info;
  memory.fill(p, 0, INFO_BYTES);
  store<u32>(p, t.state, I_STATE);
  store<u32>(p, t.error, I_ERROR);
  let flags: u32 = 0;
  if (t.state == TcpState.LISTEN) {
    flags |= InfoFlag.LISTENER;
    if (t.acceptQueueLen > 0) flags |= InfoFlag.CAN_ACCEPT;
    store<u32>(p, t.acceptQueueLen, I_ACCEPT_QUEUE);
  } else {
    if (isSynchronized(t.state)) flags |= InfoFlag.CONNECTED;
    if ((t.flags & TF.PEER_FIN) != 0) flags |= InfoFlag.PEER_FIN;
    if ((t.flags & TF.FIN_QUEUED) != 0) flags |= InfoFlag.WRITE_SHUT;
    if (t.state == TcpState.CLOSED) flags |= InfoFlag.CLOSED;
    if ((t.flags & TF.SACK) != 0) flags |= InfoFlag.SACK;
    if ((t.flags & TF.ECN) != 0) flags |= InfoFlag.ECN;
    if ((t.flags & TF.FASTOPEN) != 0) flags |= InfoFlag.FAST_OPEN;
    if (rackActive(t)) flags |= InfoFlag.RACK;
    if (t.rcvBufSize != 0) store<u32>(p, ringLength(tcbRecvRing(t)), I_READABLE);
    if (t.sndBufSize != 0) {
      if (writable(t)) store<u32>(p, ringFree(tcbSendRing(t)), I_WRITE_ROOM);
      store<u32>(p, ringLength(tcbSendRing(t)), I_UNSENT);
    }
    store<u32>(p, t.remoteAddr, I_REMOTE_ADDR);
    store<u16>(p, <u16>t.remotePort, I_REMOTE_PORT);
    store<u64>(p, t.bytesIn, I_BYTES_IN);
    store<u64>(p, t.bytesOut, I_BYTES_OUT);
    store<u32>(p, t.retransmits, I_RETRANSMITS);
    store<u32>(p, rttSrtt(tcbRtt(t)), I_SRTT);
    if (isSynchronized(t.state)) store<u32>(p, ccWindow(tcbCc(t)), I_CWND);
    store<u32>(p, segmentPayloadMax(t), I_MSS);
  }
  store<u32>(p, flags, I_FLAGS);
  store<u32>(p, t.localAddr, I_LOCAL_ADDR);
  store<u16>(p, <u16>t.localPort, I_LOCAL_PORT);
  return p;
}

export function tcpConnectionsInUse(): u32 { return tcbInUse(); }
export function tcpSlabFreeBytes(): u32 { return slabFreeBytes(); }
export function tcpPortsInUse(): u32 { return portsInUse(); }
