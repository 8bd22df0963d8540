// Closing connections: the user's close/shutdown/abort (RFC 9293 3.10.4, 3.10.5), failure
// (reset, timeout, unreachable), TIME-WAIT entry, and giving every resource back.
//
// Guarantees: a record is returned to the table only when the host has let go of it AND it
// reached CLOSED; then its rings go back to the slab, its port reference to ports.ts, and it
// leaves the hash, the timer heap, the pending-output list and any listener queue. A record
// the host still holds goes to CLOSED with its pending error and a notification, and is freed
// by the host's tcpClose. The slot is never freed twice (TF.IN_USE guards it).

import { defineCounter, bump } from "../abi/counters";
import { notify, HandleKind } from "../abi/notify";
import { slabFree } from "../util/slab";
import { ringLength, RING_BUF } from "../util/bytering";
import { Tcb, TF, tcbSendRing, tcbRecvRing, tcbUnhash, tcbRelease } from "./tcb";
import { TcpState, isSynchronized } from "./state";
import { timersCancel, timeWaitArm } from "./timers";
import { outputSchedule, outputUnschedule, sendRstInConnection } from "./output";
import { portsRelease } from "./ports";
import { listenerDetachChild } from "./listen";
import { Errno } from "./api";
import { fastOpenChildDone } from "./fastopen";

const CONN_CLOSED = defineCounter("tcp.conn.closed");
const CONN_RESET_SENT_UNREAD = defineCounter("tcp.conn.reset_unread_data");
const CONN_ABORTED = defineCounter("tcp.conn.aborted");

/** Tells the host about `t` if it holds the handle. */
@inline export function notifyHost(t: Tcb): void {
  if ((t.flags & TF.HOST_OWNED) != 0) notify(HandleKind.TCP, t.index);
}

/** Gives the network-side resources back: timers, output queue, hash entry, port. */
function releaseNetwork(t: Tcb): void {
  timersCancel(t);
  outputUnschedule(t);
  tcbUnhash(t);
  if ((t.flags & TF.HOLDS_PORT) != 0) {
    portsRelease(t.localPort);
    t.flags &= ~TF.HOLDS_PORT;
  }
  if (t.listener >= 0) listenerDetachChild(t);
  fastOpenChildDone(t);
}

/** Returns the rings' slab chunks. */
function releaseBuffers(t: Tcb): void {
  if (t.sndBufSize != 0) {
    slabFree(<usize>load<u32>(tcbSendRing(t), RING_BUF), t.sndBufSize);
    t.sndBufSize = 0;
  }
  if (t.rcvBufSize != 0) {
    slabFree(<usize>load<u32>(tcbRecvRing(t), RING_BUF), t.rcvBufSize);
    t.rcvBufSize = 0;
  }
}

/**
 * The connection reached CLOSED. Freed at once when the host does not hold it; otherwise kept
 * (state CLOSED, rings intact for reading what arrived) until tcpClose, and the host notified.
 */
export function connectionFree(t: Tcb): void {
  if ((t.flags & TF.IN_USE) == 0) return;
  // Counted once per connection: a record the host kept after CLOSED comes back here from
  // tcpClose, and a listener is not a connection.
  if ((t.flags & TF.CLOSE_COUNTED) == 0 && t.state != TcpState.LISTEN) bump(CONN_CLOSED);
  t.flags |= TF.CLOSE_COUNTED;
  releaseNetwork(t);
  t.state = TcpState.CLOSED;
  if ((t.flags & TF.HOST_OWNED) != 0) {
    notifyHost(t);
    return;
  }
  releaseBuffers(t);
  tcbRelease(t);
}

/** The connection failed with `err` (errno): reported once, then CLOSED. */
export function connectionFail(t: Tcb, err: u32): void {
  if (t.error == 0) t.error = err;
  connectionFree(t);
}

/** Enters TIME-WAIT (RFC 9293 3.10.7.4): the port stays held for 2*MSL. */
export function enterTimeWait(t: Tcb): void {
  t.state = TcpState.TIME_WAIT;
  timeWaitArm(t);
  notifyHost(t);
}

/**
 * Queues our FIN after the data (RFC 9293 3.10.4 CLOSE in ESTABLISHED / CLOSE-WAIT) and
 * moves to FIN-WAIT-1 or LAST-ACK. In SYN-SENT the connection just ends; in SYN-RECEIVED the
 * FIN waits for the handshake (RFC 9293 3.10.4).
 */
export function sendFin(t: Tcb): void {
  if ((t.flags & TF.FIN_QUEUED) != 0) return;
  const state = t.state;
  if (state == TcpState.SYN_SENT) { connectionFree(t); return; }
  t.flags |= TF.FIN_QUEUED;
  if (state == TcpState.ESTABLISHED) t.state = TcpState.FIN_WAIT_1;
  else if (state == TcpState.CLOSE_WAIT) t.state = TcpState.LAST_ACK;
  outputSchedule(t);
}

/** After our FIN is acknowledged (or the handshake completes), applies a FIN queued in SYN-RECEIVED. */
export function finAfterHandshake(t: Tcb): void {
  if ((t.flags & TF.FIN_QUEUED) == 0) return;
  if (t.state == TcpState.ESTABLISHED) t.state = TcpState.FIN_WAIT_1;
  else if (t.state == TcpState.CLOSE_WAIT) t.state = TcpState.LAST_ACK;
  outputSchedule(t);
}

/**
 * tcpClose: the host lets go. Unread received data makes it an abort (RFC 1122 4.2.2.13,
 * as Linux); otherwise a graceful FIN, and the connection finishes on its own.
 */
export function userClose(t: Tcb): void {
  t.flags &= ~TF.HOST_OWNED;
  const state = t.state;
  if (state == TcpState.CLOSED) { connectionFree(t); return; }
  if (state == TcpState.TIME_WAIT || state == TcpState.LAST_ACK || state == TcpState.CLOSING ||
      state == TcpState.FIN_WAIT_1) return;
  if (state == TcpState.FIN_WAIT_2) {
    // Orphaned FIN-WAIT-2 is bounded, as Linux's tcp_fin_timeout.
    timeWaitArm(t);
    return;
  }
  if (isSynchronized(state) && ringLength(tcbRecvRing(t)) > 0) {
    bump(CONN_RESET_SENT_UNREAD);
    userAbort(t);
    return;
  }
  sendFin(t);
}

/**
 * tcpAbort (RFC 9293 3.10.5): an RST in synchronized states (but TIME-WAIT) and in
 * SYN-RECEIVED, then gone. The connection leaves the hash at once (later segments get the
 * closed-port answer); the RST itself goes out at the next output flush (the host calls
 * between bursts, when no frame buffer is open), and the record is freed after it.
 */
export function userAbort(t: Tcb): void {
  t.flags &= ~TF.HOST_OWNED;
  bump(CONN_ABORTED);
  const state = t.state;
  if (t.error == 0) t.error = Errno.ECONNRESET;
  if ((isSynchronized(state) && state != TcpState.TIME_WAIT) || state == TcpState.SYN_RECEIVED) {
    timersCancel(t);
    tcbUnhash(t);
    t.state = TcpState.CLOSED;
    t.flags |= TF.RST_PENDING;
    outputSchedule(t);
    return;
  }
  connectionFree(t);
}

/** Sends the RST an abort left pending; false when no frame buffer is free yet. */
export function abortFlush(t: Tcb): bool {
  if (!sendRstInConnection(t)) return false;
  t.flags &= ~TF.RST_PENDING;
  connectionFree(t);
  return true;
}
