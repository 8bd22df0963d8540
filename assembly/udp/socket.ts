// UDP sockets: the table, port bindings and each socket's receive queue.
//
// Guarantees: at most Cfg.UdpMaxSockets sockets; each has a receive queue of exactly
// Cfg.UdpRecvBuffer bytes, allocated at init, holding whole datagrams in arrival order with
// their source; a datagram that does not fit is refused (the caller counts the drop), never
// truncated. One more record of the same shape, `udpSendQueue()`, holds datagrams the host
// sent between bursts until the next burst transmits them (its records' port field is
// `localPort << 16 | remotePort` and their address is the destination). A (local address, port) pair is bound by at most one socket, a wildcard
// address overlapping every specific one (as Linux without SO_REUSEADDR). Nothing allocates
// after init.
//
// Socket record (64 bytes):
//
//   0      4       8      12     16      20      24        28      32                 48      52
//   +------+-------+------+------+-------+-------+---------+-------+------------------+-------+----+
//   |state | port  | head | tail | count | used  | flags   | queue | local address    | error | -  |
//   +------+-------+------+------+-------+-------+---------+-------+------------------+-------+----+
//   head/tail: byte offsets in the queue; count: datagrams queued; used: bytes held;
//   error: the last ICMP error about a datagram the socket sent, as a positive errno, 0 if none.
//
// Queue record: 24-byte header, then the data padded to 4 bytes; a length of WRAP at the
// tail (or fewer than 4 bytes left) means "continue at offset 0".
//
//   0      4        8                    24
//   +------+--------+--------------------+-----------
//   | len  | port   | source address     | data
//   +------+--------+--------------------+-----------

import { cfg, Cfg } from "../abi/config";
import { allocZeroed } from "../frame/rings";
import { IP_ADDR_SIZE, ipAddrEquals, ipAddrSetV4 } from "../wire/addr";

export namespace UdpState {
  export const FREE: u32 = 0;
  export const OPEN: u32 = 1;
  export const BOUND: u32 = 2;
}

export namespace UdpSockFlag {
  /** SO_BROADCAST: sending to a broadcast address is allowed. */
  export const BROADCAST: u32 = 1;
}

@inline const S_STATE: u32 = 0;
@inline const S_PORT: u32 = 4;
@inline const S_HEAD: u32 = 8;
@inline const S_TAIL: u32 = 12;
@inline const S_COUNT: u32 = 16;
@inline const S_USED: u32 = 20;
@inline const S_FLAGS: u32 = 24;
@inline const S_QUEUE: u32 = 28;
@inline const S_ADDR: u32 = 32;
@inline const S_ERROR: u32 = 48;
const SOCKET_SIZE: u32 = 64;

@inline const R_LEN: u32 = 0;
@inline const R_PORT: u32 = 4;
@inline const R_ADDR: u32 = 8;
export const RECORD_HEADER: u32 = 24;
const WRAP: u32 = 0xFFFFFFFF;

let sockets: usize = 0;
let socketCount: u32 = 0;
let queueCap: u32 = 0;
/** The wildcard address ::ffff:0.0.0.0, for comparisons. */
let anyAddr: usize = 0;

export function udpSocketsInit(): void {
  socketCount = cfg(Cfg.UdpMaxSockets);
  queueCap = cfg(Cfg.UdpRecvBuffer) & ~3;
  sockets = allocZeroed(<usize>(socketCount + 1) * SOCKET_SIZE + 8);
  for (let i: u32 = 0; i <= socketCount; i++) {
    store<u32>(socketAt(i), <u32>allocZeroed(queueCap + 8), S_QUEUE);
  }
  anyAddr = allocZeroed(IP_ADDR_SIZE);
  ipAddrSetV4(anyAddr, 0);
}

@inline function socketAt(i: u32): usize { return sockets + <usize>i * SOCKET_SIZE; }

export function udpSocketCount(): u32 { return socketCount; }
/** Index of the send queue record (past the last socket). */
@inline export function udpSendQueue(): u32 { return socketCount; }
@inline export function udpState(i: u32): u32 { return load<u32>(socketAt(i), S_STATE); }
@inline export function udpLocalPortOf(i: u32): u16 { return <u16>load<u32>(socketAt(i), S_PORT); }
@inline export function udpFlagsOf(i: u32): u32 { return load<u32>(socketAt(i), S_FLAGS); }
@inline export function udpQueuedCount(i: u32): u32 { return load<u32>(socketAt(i), S_COUNT); }
export function udpSetFlags(i: u32, flags: u32): void { store<u32>(socketAt(i), flags, S_FLAGS); }
export function udpWildcard(): usize { return anyAddr; }

/** Takes a free socket; returns its index or -1. */
export function udpSocketAlloc(): i32 {
  for (let i: u32 = 0; i < socketCount; i++) {
    const s = socketAt(i);
    if (load<u32>(s, S_STATE) == UdpState.FREE) {
      store<u32>(s, UdpState.OPEN, S_STATE);
      store<u32>(s, 0, S_PORT);
      store<u32>(s, 0, S_FLAGS);
      store<u32>(s, 0, S_ERROR);
      ipAddrSetV4(s + S_ADDR, 0);
      queueReset(s);
      return <i32>i;
    }
  }
  return -1;
}

/** Releases socket `i` and everything queued on it. */
export function udpSocketFree(i: u32): void {
  const s = socketAt(i);
  store<u32>(s, UdpState.FREE, S_STATE);
  queueReset(s);
}

function queueReset(s: usize): void {
  store<u32>(s, 0, S_HEAD);
  store<u32>(s, 0, S_TAIL);
  store<u32>(s, 0, S_COUNT);
  store<u32>(s, 0, S_USED);
}

/** True when binding `addr`:`port` would overlap a socket other than `self`. */
export function udpBindingInUse(addr: usize, port: u16, self: u32): bool {
  for (let i: u32 = 0; i < socketCount; i++) {
    if (i == self) continue;
    const s = socketAt(i);
    if (load<u32>(s, S_STATE) != UdpState.BOUND || <u16>load<u32>(s, S_PORT) != port) continue;
    const other = s + S_ADDR;
    if (ipAddrEquals(other, anyAddr) || ipAddrEquals(addr, anyAddr) || ipAddrEquals(other, addr)) return true;
  }
  return false;
}

/** Records `errno` (positive) as socket `i`'s pending error, replacing an older one. */
export function udpSetError(i: u32, errno: u32): void { store<u32>(socketAt(i), errno, S_ERROR); }

/** Takes socket `i`'s pending error (positive errno, 0 if none) and clears it. */
export function udpTakeErrorOf(i: u32): u32 {
  const s = socketAt(i);
  const e = load<u32>(s, S_ERROR);
  store<u32>(s, 0, S_ERROR);
  return e;
}

/** Binds socket `i` to `addr` (16 bytes, copied) and `port`. */
export function udpSetBinding(i: u32, addr: usize, port: u16): void {
  const s = socketAt(i);
  memory.copy(s + S_ADDR, addr, IP_ADDR_SIZE);
  store<u32>(s, port, S_PORT);
  store<u32>(s, UdpState.BOUND, S_STATE);
}

/** The socket bound to `port` that accepts datagrams for `dst` (16-byte address), or -1. */
export function udpLookup(dst: usize, port: u16): i32 {
  for (let i: u32 = 0; i < socketCount; i++) {
    const s = socketAt(i);
    if (load<u32>(s, S_STATE) != UdpState.BOUND || <u16>load<u32>(s, S_PORT) != port) continue;
    if (ipAddrEquals(s + S_ADDR, anyAddr) || ipAddrEquals(s + S_ADDR, dst)) return <i32>i;
  }
  return -1;
}

@inline function recordSize(len: u32): u32 { return RECORD_HEADER + ((len + 3) & ~3); }

/** True when a datagram of `len` bytes fits an empty queue (Cfg.UdpRecvBuffer bytes). */
export function udpQueueCanHold(len: u32): bool { return recordSize(len) <= queueCap; }

/**
 * Appends a datagram of `len` bytes at `data` with its peer `srcAddr` (16 bytes) and port word
 * `srcPort` to queue `i`. Returns false, changing nothing, when it does not fit.
 */
export function udpEnqueue(i: u32, data: usize, len: u32, srcAddr: usize, srcPort: u32): bool {
  const s = socketAt(i);
  const need = recordSize(len);
  if (need > queueCap) return false;
  const count = load<u32>(s, S_COUNT);
  const head = load<u32>(s, S_HEAD);
  let tail = load<u32>(s, S_TAIL);
  let wrapAt: u32 = WRAP;
  if (count == 0) {
    tail = 0;
    store<u32>(s, 0, S_HEAD);
  } else if (tail > head) {
    if (queueCap - tail < need) {
      if (head < need) return false;
      wrapAt = tail;
      tail = 0;
    }
  } else if (head - tail < need) {
    return false;
  }
  const queue = <usize>load<u32>(s, S_QUEUE);
  if (wrapAt != WRAP && queueCap - wrapAt >= 4) store<u32>(queue + wrapAt, WRAP, R_LEN);
  const rec = queue + tail;
  store<u32>(rec, len, R_LEN);
  store<u32>(rec, srcPort, R_PORT);
  memory.copy(rec + R_ADDR, srcAddr, IP_ADDR_SIZE);
  memory.copy(rec + RECORD_HEADER, data, len);
  store<u32>(s, tail + need, S_TAIL);
  store<u32>(s, count + 1, S_COUNT);
  store<u32>(s, load<u32>(s, S_USED) + need + (wrapAt != WRAP ? queueCap - wrapAt : 0), S_USED);
  return true;
}

/** Address of the oldest queued record of socket `i` (see the record layout), or 0 when empty. */
export function udpPeek(i: u32): usize {
  const s = socketAt(i);
  if (load<u32>(s, S_COUNT) == 0) return 0;
  const queue = <usize>load<u32>(s, S_QUEUE);
  let head = load<u32>(s, S_HEAD);
  if (queueCap - head < 4 || load<u32>(queue + head, R_LEN) == WRAP) {
    store<u32>(s, load<u32>(s, S_USED) - (queueCap - head), S_USED);
    head = 0;
    store<u32>(s, 0, S_HEAD);
  }
  return queue + head;
}

/** Removes the oldest record of socket `i` (after `udpPeek` returned it). */
export function udpDequeue(i: u32): void {
  const s = socketAt(i);
  const head = load<u32>(s, S_HEAD);
  const queue = <usize>load<u32>(s, S_QUEUE);
  const size = recordSize(load<u32>(queue + head, R_LEN));
  const count = load<u32>(s, S_COUNT) - 1;
  store<u32>(s, count, S_COUNT);
  store<u32>(s, load<u32>(s, S_USED) - size, S_USED);
  if (count == 0) queueReset(s);
  else store<u32>(s, head + size, S_HEAD);
}

/** Record accessors for `udpPeek`'s result. */
@inline export function udpRecordLen(rec: usize): u32 { return load<u32>(rec, R_LEN); }
@inline export function udpRecordPort(rec: usize): u32 { return load<u32>(rec, R_PORT); }
@inline export function udpRecordAddr(rec: usize): usize { return rec + R_ADDR; }
@inline export function udpRecordData(rec: usize): usize { return rec + RECORD_HEADER; }
