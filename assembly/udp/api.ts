// UDP sockets: the ABI the host calls (exported from assembly/index.ts).
//
// Guarantees: every function validates its handle and arguments and answers with a value
// >= 0 on success or a negative Linux errno; none traps or allocates.
//
// Addresses cross the boundary as 16-byte slots (IPv4 as ::ffff:a.b.c.d, RFC 4291 2.5.5.2)
// in the exchange area at `udpAddrPtr()`; data crosses in the area at `udpBufferPtr()`
// (`udpBufferSize()` bytes). Handles are `(2 << 24) | index`, as in the notify list.
//
//   udpOpen(): handle | -EMFILE
//   udpBind(handle, port): 0 | -EBADF | -EINVAL (already bound) | -EAFNOSUPPORT
//       | -EADDRNOTAVAIL (not our address) | -EADDRINUSE
//       local address read from udpAddrPtr() (::ffff:0.0.0.0 = any); port 0 picks an
//       ephemeral port (49152-65535).
//   udpSendTo(handle, port, len): len | -EBADF | -EINVAL (port 0, any address)
//       | -EAFNOSUPPORT | -EACCES (broadcast without SO_BROADCAST) | -EMSGSIZE (no
//       fragmentation: len <= MTU - 28; nor more than the send queue, udpRecvBuffer, holds) | -ENETUNREACH | -EHOSTUNREACH (ARP failed for the
//       next hop) | -EADDRINUSE (no ephemeral port left) | -EAGAIN (send queue full: retry
//       after the next poll)
//       With no address configured only 255.255.255.255 is reachable, from 0.0.0.0 (a DHCP
//       client's DISCOVER/REQUEST, RFC 2131 4.1); anything else is -ENETUNREACH.
//       destination read from udpAddrPtr(), data from udpBufferPtr(); an unbound socket is
//       bound to an ephemeral port first (as Linux), one whose replies from this destination
//       hash back to this queue when the port has several (frame/rss.ts, the filter TCP's
//       ports use), so they need no hand-off. The datagram is queued and leaves in the next
//       `input`/`poll` burst; ARP resolution, if needed, starts then.
//   udpRecvFrom(handle): length | -EBADF | -EAGAIN (queue empty)
//       the oldest datagram is copied to udpBufferPtr() (its full length is returned; only
//       udpBufferSize() bytes are copied, like MSG_TRUNC), its source address to
//       udpAddrPtr() and its source port to the u32 at udpAddrPtr() + 16.
//   udpPending(handle): datagrams queued | -EBADF
//   udpLocalPort(handle): port | -EBADF (0 when not bound)
//   udpSetBroadcast(handle, on): 0 | -EBADF
//   udpTakeError(handle): 0 | -errno | -EBADF
//       the last ICMP error about a datagram this socket sent (port unreachable gives
//       -ECONNREFUSED, as Linux), then cleared; the socket was put on the notify list when it
//       arrived. Node reports it on connected sockets; udp/errors.ts has the mapping.
//   udpClose(handle): 0 | -EBADF (queued datagrams are discarded)
//   udpSendQueued(): datagrams of every socket still waiting to leave the stack

import { HandleKind, makeHandle, handleKind, handleIndex } from "../abi/notify";
import { cfg, Cfg } from "../abi/config";
import {
  IP_ADDR_SIZE, AddrFamily, ipAddrFamily, ipAddrGetV4,
} from "../wire/addr";
import { UDP_HEADER_LEN, udpEmitHeader } from "../wire/udp";
import { IpProto } from "../wire/ipv4";
import { defineCounter, bump } from "../abi/counters";
import { rssQueueCount, rssPortKeepsFlowHere } from "../frame/rss";
import { now, NEVER } from "../util/time";
import {
  ipv4OutputBegin, ipv4OutputFinish, ipv4OutputRingFull, ipv4MaxPayload, ipv4IsBroadcast, ipv4LocalAddr,
  ipv4UdpRouteCheck,
} from "../iface/ipv4";
import {
  UdpState, UdpSockFlag, udpSocketsInit, udpSocketCount, udpSocketAlloc, udpSocketFree, udpState,
  udpLocalPortOf, udpFlagsOf, udpSetFlags, udpBindingInUse, udpSetBinding, udpWildcard,
  udpQueuedCount, udpTakeErrorOf, udpSendQueue, udpEnqueue, udpQueueCanHold, udpPeek, udpDequeue, udpRecordLen, udpRecordPort, udpRecordAddr, udpRecordData,
} from "./socket";

const TX_QUEUED = defineCounter("udp.tx.queued");
const TX_DATAGRAMS = defineCounter("udp.tx.datagrams");

namespace Errno {
  export const EBADF: i32 = 9;
  export const EAGAIN: i32 = 11;
  export const EACCES: i32 = 13;
  export const EINVAL: i32 = 22;
  export const EMFILE: i32 = 24;
  export const EMSGSIZE: i32 = 90;
  export const EAFNOSUPPORT: i32 = 97;
  export const EADDRINUSE: i32 = 98;
  export const EADDRNOTAVAIL: i32 = 99;
}

/** The largest UDP payload in one IPv4 datagram (65535 - 20 - 8). */
const BUFFER_SIZE: u32 = 65507;
const EPHEMERAL_FIRST: u32 = 49152;
const EPHEMERAL_COUNT: u32 = 16384;

let exchangeAddr: usize = 0;
let exchangeData: usize = 0;
let ephemeralNext: u32 = 0;
let localSlot: usize = 0;

export function udpInit(): void {
  udpSocketsInit();
  exchangeAddr = heap.alloc(IP_ADDR_SIZE + 8);
  memory.fill(exchangeAddr, 0, IP_ADDR_SIZE + 8);
  exchangeData = heap.alloc(BUFFER_SIZE + 1);
  localSlot = heap.alloc(IP_ADDR_SIZE);
  // Ephemeral ports (RFC 6056 2.1 range 49152-65535): the search starts at a point drawn from
  // the host's seed, so two stacks with different seeds do not pick the same sequence.
  ephemeralNext = (cfg(Cfg.SeedLo) * 2654435761 + cfg(Cfg.SeedHi)) % EPHEMERAL_COUNT;
}

export function udpAddrPtr(): usize { return exchangeAddr; }
export function udpBufferPtr(): usize { return exchangeData; }
export function udpBufferSize(): u32 { return BUFFER_SIZE; }

/** Socket index of `handle`, or -1 when it names no open UDP socket. */
function indexOf(handle: i32): i32 {
  const h = <u32>handle;
  if (handle < 0 || handleKind(h) != HandleKind.UDP) return -1;
  const i = handleIndex(h);
  if (i >= udpSocketCount() || udpState(i) == UdpState.FREE) return -1;
  return <i32>i;
}

export function udpOpen(): i32 {
  const i = udpSocketAlloc();
  if (i < 0) return -Errno.EMFILE;
  return <i32>makeHandle(HandleKind.UDP, <u32>i);
}

/**
 * Binds socket `i` to `addr` (16 bytes) and `port`, choosing an ephemeral port for 0. With a
 * `remoteAddr` (non-zero: the first destination of an implicit bind) and several queues, the
 * ephemeral port is one whose replies from remoteAddr:remotePort hash back to this queue.
 */
function bindIndex(i: u32, addr: usize, port: u32, remoteAddr: u32, remotePort: u32): i32 {
  if (port == 0) {
    const steered = remoteAddr != 0 && rssQueueCount() > 1;
    const localAddr = steered ? (ipAddrGetV4(addr) != 0 ? ipAddrGetV4(addr) : ipv4LocalAddr()) : 0;
    for (let n: u32 = 0; n < EPHEMERAL_COUNT; n++) {
      const candidate = <u16>(EPHEMERAL_FIRST + (ephemeralNext + n) % EPHEMERAL_COUNT);
      if (steered && !rssPortKeepsFlowHere(candidate, localAddr, remoteAddr, remotePort)) continue;
      if (!udpBindingInUse(addr, candidate, i)) {
        ephemeralNext = (ephemeralNext + n + 1) % EPHEMERAL_COUNT;
        udpSetBinding(i, addr, candidate);
        return 0;
      }
    }
    return -Errno.EADDRINUSE;
  }
  if (udpBindingInUse(addr, <u16>port, i)) return -Errno.EADDRINUSE;
  udpSetBinding(i, addr, <u16>port);
  return 0;
}

export function udpBind(handle: i32, port: u32): i32 {
  const i = indexOf(handle);
  if (i < 0) return -Errno.EBADF;
  if (udpState(<u32>i) == UdpState.BOUND) return -Errno.EINVAL;
  if (port > 0xFFFF) return -Errno.EINVAL;
  if (ipAddrFamily(exchangeAddr) != AddrFamily.IPV4) return -Errno.EAFNOSUPPORT;
  const a = ipAddrGetV4(exchangeAddr);
  if (a != 0 && a != ipv4LocalAddr()) return -Errno.EADDRNOTAVAIL;
  memory.copy(localSlot, exchangeAddr, IP_ADDR_SIZE);
  return bindIndex(<u32>i, localSlot, port, 0, 0);
}

export function udpSendTo(handle: i32, port: u32, len: u32): i32 {
  const i = indexOf(handle);
  if (i < 0) return -Errno.EBADF;
  if (port == 0 || port > 0xFFFF) return -Errno.EINVAL;
  if (ipAddrFamily(exchangeAddr) != AddrFamily.IPV4) return -Errno.EAFNOSUPPORT;
  const dst = ipAddrGetV4(exchangeAddr);
  if (dst == 0) return -Errno.EINVAL;
  if (ipv4IsBroadcast(dst) && (udpFlagsOf(<u32>i) & UdpSockFlag.BROADCAST) == 0) return -Errno.EACCES;
  if (len > BUFFER_SIZE || UDP_HEADER_LEN + len > ipv4MaxPayload(dst)) return -Errno.EMSGSIZE;
  const route = ipv4UdpRouteCheck(dst);
  if (route < 0) return route;
  if (udpState(<u32>i) != UdpState.BOUND) {
    const r = bindIndex(<u32>i, udpWildcard(), 0, dst, port);
    if (r < 0) return r;
  }
  const ports = (<u32>udpLocalPortOf(<u32>i) << 16) | port;
  if (!udpEnqueue(udpSendQueue(), exchangeData, len, exchangeAddr, ports)) {
    return udpQueueCanHold(len) ? -Errno.EAGAIN : -Errno.EMSGSIZE;
  }
  bump(TX_QUEUED);
  return <i32>len;
}

/** Datagrams queued by `udpSendTo` that have not left yet (the host waits on it, e.g. a DHCPRELEASE at close). */
export function udpSendQueued(): u32 { return udpQueuedCount(udpSendQueue()); }

/** Time `udpFlush` has work: now while datagrams wait to be sent, else NEVER. */
export function udpNextDeadline(): i64 {
  return udpQueuedCount(udpSendQueue()) > 0 ? now() : NEVER;
}

/**
 * Transmits datagrams queued by `udpSendTo`, oldest first, while TX slots last (called in
 * every burst). A datagram whose next hop has no ARP buffer is dropped (counted by IPv4);
 * one that meets a full TX ring waits for the next burst.
 */
export function udpFlush(): void {
  const q = udpSendQueue();
  while (true) {
    const rec = udpPeek(q);
    if (rec == 0) return;
    const dst = ipAddrGetV4(udpRecordAddr(rec));
    const len = udpRecordLen(rec);
    const ports = udpRecordPort(rec);
    const out = ipv4OutputBegin(dst, IpProto.UDP);
    if (out == 0 && ipv4OutputRingFull()) return;
    if (out != 0) {
      udpEmitHeader(out, <u16>(ports >>> 16), <u16>ports, len);
      memory.copy(out + UDP_HEADER_LEN, udpRecordData(rec), len);
      if (ipv4OutputFinish(UDP_HEADER_LEN + len) >= 0) bump(TX_DATAGRAMS);
    }
    udpDequeue(q);
  }
}

export function udpRecvFrom(handle: i32): i32 {
  const i = indexOf(handle);
  if (i < 0) return -Errno.EBADF;
  const rec = udpPeek(<u32>i);
  if (rec == 0) return -Errno.EAGAIN;
  const len = udpRecordLen(rec);
  memory.copy(exchangeData, udpRecordData(rec), len < BUFFER_SIZE ? len : BUFFER_SIZE);
  memory.copy(exchangeAddr, udpRecordAddr(rec), IP_ADDR_SIZE);
  store<u32>(exchangeAddr, udpRecordPort(rec), IP_ADDR_SIZE);
  udpDequeue(<u32>i);
  return <i32>len;
}

export function udpPending(handle: i32): i32 {
  const i = indexOf(handle);
  if (i < 0) return -Errno.EBADF;
  return <i32>udpQueuedCount(<u32>i);
}

export function udpLocalPort(handle: i32): i32 {
  const i = indexOf(handle);
  if (i < 0) return -Errno.EBADF;
  return udpState(<u32>i) == UdpState.BOUND ? <i32>udpLocalPortOf(<u32>i) : 0;
}

export function udpSetBroadcast(handle: i32, on: i32): i32 {
  const i = indexOf(handle);
  if (i < 0) return -Errno.EBADF;
  const flags = udpFlagsOf(<u32>i);
  udpSetFlags(<u32>i, on != 0 ? flags | UdpSockFlag.BROADCAST : flags & ~UdpSockFlag.BROADCAST);
  return 0;
}

export function udpTakeError(handle: i32): i32 {
  const i = indexOf(handle);
  if (i < 0) return -Errno.EBADF;
  return -<i32>udpTakeErrorOf(<u32>i);
}

export function udpClose(handle: i32): i32 {
  const i = indexOf(handle);
  if (i < 0) return -Errno.EBADF;
  udpSocketFree(<u32>i);
  return 0;
}
