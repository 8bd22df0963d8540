// The connection table: fixed-size transmission control blocks (RFC 9293 3.3.1), allocated
// once at init, found by 4-tuple through a hash table.
//
// Guarantees: `tcbAt(i)` is valid for 0 <= i < tcbCapacity() for the life of the instance;
// a free record has state CLOSED and flag TF_IN_USE clear; lookup by 4-tuple costs one hash
// and a walk of one (short) chain, never a scan of the table; listeners are not in the 4-tuple
// hash (see listen.ts). Allocation and freeing are O(1) through a free list.
//
// Memory layout: records of `offsetof<Tcb>()` bytes, back to back; hash buckets are i32 record
// indexes (-1 = empty) chained through `Tcb.hashNext`.

import { cfg, Cfg } from "../abi/config";
import { allocZeroed } from "../frame/rings";
import { TcpState } from "./state";
import { NEVER } from "../util/time";
import { CC_STATE_BYTES } from "./cc/hooks";
import { RTT_STATE_BYTES } from "./rtt";
import { RING_BYTES } from "../util/bytering";
import { reasmStateBytes } from "./reassembly";
import { SACK_BOARD_BYTES } from "./sack";
import { RACK_STATE_BYTES, rackReset } from "./rack";

/** Flag bits of `Tcb.flags`. */
export namespace TF {
  /** The record is allocated (not on the free list). */
  export const IN_USE: u32 = 1 << 0;
  /** The host holds the handle (cleared by tcpClose/tcpAbort, or never set for queued children). */
  export const HOST_OWNED: u32 = 1 << 1;
  /** Send an ACK at the next output, whatever else there is to send. */
  export const ACK_NOW: u32 = 1 << 2;
  /** The host asked for a FIN after the queued data (shutdown/close). */
  export const FIN_QUEUED: u32 = 1 << 3;
  /** Our FIN has been sent at least once (it occupies sequence number sndFinSeq). */
  export const FIN_SENT: u32 = 1 << 4;
  /** The peer's FIN has been received in order. */
  export const PEER_FIN: u32 = 1 << 5;
  /** Nagle disabled (TCP_NODELAY). */
  export const NODELAY: u32 = 1 << 6;
  /** Keepalive on. */
  export const KEEPALIVE: u32 = 1 << 7;
  /** Window scaling negotiated (both SYNs carried the option, RFC 7323 2.2). */
  export const WSCALE: u32 = 1 << 8;
  /** Timestamps negotiated (RFC 7323 3.2). */
  export const TIMESTAMPS: u32 = 1 << 9;
  /** On the pending-output list. */
  export const OUT_QUEUED: u32 = 1 << 10;
  /** The host has been told it may write; set again when the ring was found full. */
  export const WANT_WRITABLE: u32 = 1 << 11;
  /** Received data is discarded (SHUT_RD). */
  export const READ_SHUT: u32 = 1 << 12;
  /** Passive open: the record was created by a listener (SYN-RECEIVED goes back to nothing on RST). */
  export const PASSIVE: u32 = 1 << 13;
  /** In the listener's accept queue (established, not yet accepted). */
  export const IN_ACCEPT_QUEUE: u32 = 1 << 14;
  /** In fast recovery (RFC 6582): `recover` is valid. */
  export const IN_RECOVERY: u32 = 1 << 15;
  /** The persist timer (zero-window probing) owns `tRexmt` instead of retransmission. */
  export const PERSIST: u32 = 1 << 16;
  /** ECN in use on this connection (RFC 3168 6.1.1; tcp/ecn.ts). */
  export const ECN: u32 = 1 << 17;
  /** Holds an ephemeral/bound port reference in ports.ts that must be released when freed. */
  export const HOLDS_PORT: u32 = 1 << 18;
  /** In the 4-tuple hash. */
  export const HASHED: u32 = 1 << 19;
  /** Send an RST at the next output and then close (tcpAbort while the TX ring was full). */
  export const RST_PENDING: u32 = 1 << 20;
  /** Our first SYN was ECN-setup (ECE and CWR, RFC 3168 6.1.1). */
  export const ECN_SETUP_SENT: u32 = 1 << 21;
  /** Retransmit the first unacknowledged segment at the next output (fast retransmit, partial ACK). */
  export const REXMT_FIRST: u32 = 1 << 22;
  /** The peer's FIN arrived beyond a hole: it takes effect when rcvNxt reaches `rcvFinSeq`. */
  export const PEER_FIN_PENDING: u32 = 1 << 23;
  /** `tcp.conn.closed` was counted for this connection (it reached CLOSED once). */
  export const CLOSE_COUNTED: u32 = 1 << 24;
  /** SACK negotiated (both SYNs carried SACK-permitted, RFC 2018 2): blocks sent and used. */
  export const SACK: u32 = 1 << 25;
  /** The next ACK reports [dsackStart, dsackEnd) as a duplicate (D-SACK, RFC 2883 4). */
  export const DSACK: u32 = 1 << 26;
  /** A CE-marked segment arrived: every segment we send carries ECE until one with CWR arrives (RFC 3168 6.1.3). */
  export const ECN_ECHO: u32 = 1 << 27;
  /** The window was reduced for an ECN-Echo: the next new data segment carries CWR (RFC 3168 6.1.2). */
  export const ECN_CWR_PENDING: u32 = 1 << 28;
  /** Reduced for an ECN-Echo; no further reduction until an ACK passes `ecnHigh` (RFC 3168 6.1.2). */
  export const ECN_REDUCED: u32 = 1 << 31;
  /** Fast Open child (RFC 7413 4.2): data came on the SYN and was accepted; queued for accept before the handshake ends. */
  export const FASTOPEN: u32 = 1 << 29;
  /** Our SYN-ACK carries a Fast Open cookie for the peer (it asked, or sent a bad one: RFC 7413 4.1.2). */
  export const FASTOPEN_COOKIE: u32 = 1 << 30;
}

/** Flag bits of `Tcb.flags2` (RFC 8985 loss detection; TF's 32 bits are all used). */
export namespace TF2 {
  /** `tRexmt` holds the TLP probe timeout (RFC 8985 7.2), not the RTO. */
  export const PTO_ARMED: u32 = 1 << 0;
  /** The PTO fired: the next output sends the loss probe first (RFC 8985 7.3). */
  export const TLP_SEND: u32 = 1 << 1;
  /** `tRexmt` holds the RACK reordering timer (RFC 8985 6.3), not the RTO. */
  export const REO_ARMED: u32 = 1 << 4;
  /** A TLP episode is open: `tlpEndSeq` is valid (RFC 8985 7.4 TLP.end_seq). */
  export const TLP_EPISODE: u32 = 1 << 2;
  /** The episode's probe was a retransmission (RFC 8985 TLP.is_retrans). */
  export const TLP_IS_RETRANS: u32 = 1 << 3;
}

/**
 * One connection. Every field states its invariant. Sequence-number fields follow RFC 9293
 * 3.3.1 names. The send ring holds bytes from sndUna (minus the SYN) to the last queued byte;
 * the receive ring holds in-order bytes the host has not consumed, then out-of-order bytes.
 */
@unmanaged export class Tcb {
  /** TcpState value. CLOSED when free. */
  state: u32;
  /** TF bits. */
  flags: u32;
  /** Own index in the table (the handle). */
  index: u32;
  /** Pending errno for the host (positive), 0 = none. Set once; the first cause wins. */
  error: u32;

  /** Local address, host order. */
  localAddr: u32;
  /** Remote address, host order (0 for a listener). */
  remoteAddr: u32;
  /** Local port. */
  localPort: u32;
  /** Remote port (0 for a listener). */
  remotePort: u32;

  /** Next record in the same hash bucket, -1 = end. Valid only with TF.HASHED. */
  hashNext: i32;
  /** Listener that created this record (passive open) while queued, else -1. */
  listener: i32;
  /** Next record in the listener's SYN or accept queue (or the free list), -1 = end. */
  queueNext: i32;
  /** Previous record in the listener's SYN or accept queue, -1 = first. */
  queuePrev: i32;
  /** Next record on the pending-output list, -1 = end. Valid only with TF.OUT_QUEUED. */
  outNext: i32;
  /** Previous record on the pending-output list, -1 = first. Valid only with TF.OUT_QUEUED. */
  outPrev: i32;

  // Send sequence space (RFC 9293 3.3.1).
  /** Initial send sequence number. */
  iss: u32;
  /** Oldest unacknowledged sequence number. sndUna <= sndNxt <= sndMax. */
  sndUna: u32;
  /** Next sequence number to send (moves back to sndUna on a retransmission timeout). */
  sndNxt: u32;
  /** Highest sequence number sent + 1. */
  sndMax: u32;
  /** Peer's window, already scaled (bytes). */
  sndWnd: u32;
  /** Segment sequence number used for the last window update (RFC 9293 3.10.7.4). */
  sndWl1: u32;
  /** Segment acknowledgment number used for the last window update. */
  sndWl2: u32;
  /** Largest window the peer ever offered (sender SWS avoidance, RFC 1122 4.2.3.4). */
  maxSndWnd: u32;
  /** Sequence number of our FIN; valid once TF.FIN_SENT. */
  sndFinSeq: u32;
  /** Send MSS: payload bytes per segment (peer's MSS option clamped to our path). */
  sndMss: u32;
  /** Highest sequence sent when recovery began (RFC 6582 "recover"). */
  recover: u32;
  /** Duplicate ACKs counted since the last new ACK. */
  dupAcks: u32;
  /** SND.MAX when the window was last reduced for an ECN-Echo; valid with TF.ECN_REDUCED. */
  ecnHigh: u32;

  // Receive sequence space.
  /** Initial receive sequence number (peer's ISN). */
  irs: u32;
  /** Next sequence number expected. */
  rcvNxt: u32;
  /** Right edge of the window we last advertised (rcvNxt + window); never moves left. */
  rcvAdv: u32;
  /** Shift the peer applies to our window (our wscale option), 0 without scaling. */
  rcvShift: u32;
  /** Shift we apply to the peer's window field. */
  sndShift: u32;
  /** In-order bytes received since our last ACK (delayed ACK: ACK at two full segments). */
  rcvUnackedBytes: u32;
  /** Peer's most recent timestamp value to echo (RFC 7323 4.3 TS.Recent). */
  tsRecent: u32;
  /** Sequence number of the last ACK we sent (RFC 7323 4.3 Last.ACK.sent). */
  lastAckSent: u32;
  /** Sequence number of the peer's FIN; valid with TF.PEER_FIN_PENDING. */
  rcvFinSeq: u32;
  /** Duplicate range to report first in the next ACK; valid with TF.DSACK. */
  dsackStart: u32;
  /** End (exclusive) of that range. */
  dsackEnd: u32;
  /** When TS.Recent was stored, µs (RFC 7323 5.5: invalid after 24 days idle). */
  tsRecentAtUs: i64;

  // Buffers: slab chunks under the byte rings at tcbSendRing/tcbRecvRing (util/bytering.ts).
  /** Out-of-order range list (tcp/reassembly.ts), per connection, allocated at init. */
  ooo: usize;
  /** SACK scoreboard of the data we sent (tcp/sack.ts), per connection, allocated at init. */
  sack: usize;
  /** RACK transmission records and state (tcp/rack.ts), per connection, allocated at init. */
  rack: usize;
  /** Send ring capacity (a slab chunk, power of two); 0 = no ring (listeners, freed). */
  sndBufSize: u32;
  /** Receive ring capacity (a slab chunk, power of two); 0 = no ring. */
  rcvBufSize: u32;

  // Timers (µs; NEVER when off). The earliest is this record's key in the timer heap.
  /** Retransmission, SYN retry, persist or TIME-WAIT deadline (one at a time, as BSD). */
  tRexmt: i64;
  /** Delayed-ACK deadline. */
  tDelack: i64;
  /** Keepalive (idle or probe interval) deadline. */
  tKeep: i64;
  /** When the oldest unacknowledged data was first sent (user timeout, RFC 9293 3.8.3), or NEVER. */
  unackedSinceUs: i64;
  /** Last time a segment arrived from the peer (keepalive idle). */
  lastRecvUs: i64;
  /** Last time we sent data (restart after idle, RFC 5681 4.1). */
  lastSendUs: i64;
  /** Consecutive retransmission timeouts (backoff exponent), reset by a new ACK. */
  backoff: u32;
  /** Keepalive probes sent without answer. */
  keepProbesSent: u32;
  /** Keepalive idle time, ms. */
  keepIdleMs: u32;
  /** Keepalive probe interval, ms. */
  keepIntvlMs: u32;
  /** Keepalive probes before giving up. */
  keepCnt: u32;
  /** User timeout, ms (RFC 9293 3.8.3). */
  userTimeoutMs: u32;
  /** Listener only: accept queue limit. */
  backlog: u32;
  /** Listener only: SYN queue limit. */
  synBacklog: u32;
  /** Listener only: records in the SYN queue. */
  synQueueLen: u32;
  /** Listener only: records in the accept queue. */
  acceptQueueLen: u32;
  /** Listener only: head of the SYN queue (oldest first), -1 = empty. */
  synHead: i32;
  /** Listener only: head of the accept queue (oldest first), -1 = empty. */
  acceptHead: i32;
  /** Listener only: tail of the accept queue, -1 = empty. */
  acceptTail: i32;
  /** Listener only: send ring size for accepted connections (bytes, power of two). */
  childSndBuf: u32;
  /** Listener only: receive ring size for accepted connections (bytes, power of two). */
  childRcvBuf: u32;
  /** Listener only: Fast Open children allowed in SYN-RECEIVED at once (RFC 7413 5.1 max_qlen); 0 = Fast Open off. */
  foQueueMax: u32;
  /** Listener only: Fast Open children now in SYN-RECEIVED, <= foQueueMax. */
  foPending: u32;
  /** Fast Open child in SYN-RECEIVED: its listener's index + 1 (counted in its foPending); 0 = none. */
  foListener: u32;
  /** 1: the host asked for Fast Open on this active open (TcpOpt.FASTOPEN, RFC 7413 4.1.3); 0 otherwise, or after a fallback. */
  foClient: u32;
  /** Bytes our first SYN carried (client Fast Open), 0 = none. */
  foSynData: u32;

  // Statistics for the host.
  /** Payload bytes received in order. */
  bytesIn: u64;
  /** Payload bytes acknowledged by the peer. */
  bytesOut: u64;
  /** Segments retransmitted. */
  retransmits: u32;

  // RFC 8985 TLP (tcp/tlp.ts).
  /** TF2 bits; 0 on a new connection. */
  flags2: u32;
  /** SND.NXT right after the loss probe went out (TLP.end_seq); valid with TF2.TLP_EPISODE. */
  tlpEndSeq: u32;
}

// Private state areas at the end of each record (fixed size, reached with tcbCc, tcbRtt,
// tcbSendRing, tcbRecvRing):
//
//   [ Tcb fields | cc state (CC_STATE_BYTES) | rtt state (RTT_STATE_BYTES) | send ring | recv ring ]
@inline const TCB_BASE: usize = offsetof<Tcb>();
@inline const CC_OFF: usize = (TCB_BASE + 7) & ~7;
@inline const RTT_OFF: usize = (CC_OFF + CC_STATE_BYTES + 7) & ~7;
@inline const SND_RING_OFF: usize = (RTT_OFF + RTT_STATE_BYTES + 7) & ~7;
@inline const RCV_RING_OFF: usize = SND_RING_OFF + RING_BYTES;
@inline export const TCB_SIZE: usize = (RCV_RING_OFF + RING_BYTES + 7) & ~7;

let table: usize = 0;
let capacity: u32 = 0;
let buckets: usize = 0;
let bucketMask: u32 = 0;
let freeHead: i32 = -1;
let inUse: u32 = 0;
let hashKey: u32 = 0;

export function tcbTableInit(): void {
  capacity = cfg(Cfg.TcpMaxConnections);
  table = allocZeroed(<usize>capacity * TCB_SIZE);
  let nb: u32 = 16;
  while (nb < capacity * 2) nb <<= 1;
  bucketMask = nb - 1;
  buckets = allocZeroed(<usize>nb << 2);
  for (let i: u32 = 0; i < nb; i++) store<i32>(buckets + (<usize>i << 2), -1);
  // Free list threaded through queueNext, lowest index first.
  freeHead = capacity > 0 ? 0 : -1;
  const reasmBytes = <usize>reasmStateBytes();
  const reasmArea = allocZeroed(<usize>capacity * reasmBytes);
  const sackArea = allocZeroed(<usize>capacity * <usize>SACK_BOARD_BYTES);
  // RACK records only when RACK can run (Cfg.TcpRack): none of this memory otherwise.
  const rackBytes: usize = cfg(Cfg.TcpRack) != 0 ? <usize>RACK_STATE_BYTES : 0;
  const rackArea = rackBytes > 0 ? allocZeroed(<usize>capacity * rackBytes) : 0;
  for (let i: u32 = 0; i < capacity; i++) {
    const t = tcbAt(i);
    t.index = i;
    t.ooo = reasmArea + <usize>i * reasmBytes;
    t.sack = sackArea + <usize>i * <usize>SACK_BOARD_BYTES;
    t.rack = rackBytes > 0 ? rackArea + <usize>i * rackBytes : 0;
    t.state = TcpState.CLOSED;
    t.queueNext = i + 1 < capacity ? <i32>(i + 1) : -1;
  }
  inUse = 0;
  // Keyed bucket hash so a peer cannot aim many tuples at one chain.
  hashKey = cfg(Cfg.SeedLo) ^ (cfg(Cfg.SeedHi) * 0x9E3779B1) ^ 0x5bd1e995;
}

@inline export function tcbAt(i: u32): Tcb { return changetype<Tcb>(table + <usize>i * TCB_SIZE); }
@inline export function tcbCapacity(): u32 { return capacity; }
@inline export function tcbInUse(): u32 { return inUse; }
/** Congestion-control private state of `t` (CC_STATE_BYTES bytes). */
@inline export function tcbCc(t: Tcb): usize { return changetype<usize>(t) + CC_OFF; }
/** RTT estimator state of `t` (RTT_STATE_BYTES bytes). */
@inline export function tcbRtt(t: Tcb): usize { return changetype<usize>(t) + RTT_OFF; }
/** Send ring state of `t`: bytes from sndUna (data only, no SYN/FIN) to the last queued byte. */
@inline export function tcbSendRing(t: Tcb): usize { return changetype<usize>(t) + SND_RING_OFF; }
/** Receive ring state of `t`: in-order unconsumed bytes; out-of-order bytes are written past its tail. */
@inline export function tcbRecvRing(t: Tcb): usize { return changetype<usize>(t) + RCV_RING_OFF; }

/** True when `h` names a record the host owns. */
export function tcbHostHandle(h: i32): bool {
  if (h < 0 || <u32>h >= capacity) return false;
  return (tcbAt(<u32>h).flags & TF.HOST_OWNED) != 0;
}

/** Takes a free record, reset to CLOSED with no timers; null when the table is full. */
export function tcbAlloc(): Tcb | null {
  if (freeHead < 0) return null;
  const t = tcbAt(<u32>freeHead);
  freeHead = t.queueNext;
  const idx = t.index;
  const ooo = t.ooo;
  const sack = t.sack;
  const rack = t.rack;
  memory.fill(changetype<usize>(t), 0, TCB_SIZE);
  t.rack = rack;
  if (rack != 0) rackReset(rack);
  t.index = idx;
  t.ooo = ooo;
  t.sack = sack;
  t.state = TcpState.CLOSED;
  t.flags = TF.IN_USE;
  t.hashNext = -1;
  t.listener = -1;
  t.queueNext = -1;
  t.queuePrev = -1;
  t.outNext = -1;
  t.outPrev = -1;
  t.synHead = -1;
  t.acceptHead = -1;
  t.acceptTail = -1;
  t.tRexmt = NEVER;
  t.tDelack = NEVER;
  t.tKeep = NEVER;
  t.unackedSinceUs = NEVER;
  inUse++;
  return t;
}

/** Returns a record to the free list. The caller has unhashed it and released its resources. */
export function tcbRelease(t: Tcb): void {
  t.state = TcpState.CLOSED;
  t.flags = 0;
  t.queueNext = freeHead;
  freeHead = <i32>t.index;
  inUse--;
}

@inline function bucketOf(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32): usize {
  let h = remoteAddr ^ hashKey;
  h = (h ^ (h >>> 16)) * 0x85EBCA6B;
  h ^= (remotePort << 16) | localPort;
  h = (h ^ (h >>> 13)) * 0xC2B2AE35;
  h ^= localAddr;
  h ^= h >>> 16;
  return buckets + (<usize>(h & bucketMask) << 2);
}

/** Finds the connection for a 4-tuple (host order), or null. */
export function tcbLookup(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32): Tcb | null {
  let i = load<i32>(bucketOf(localAddr, localPort, remoteAddr, remotePort));
  while (i >= 0) {
    const t = tcbAt(<u32>i);
    if (t.remotePort == remotePort && t.localPort == localPort &&
        t.remoteAddr == remoteAddr && t.localAddr == localAddr) return t;
    i = t.hashNext;
  }
  return null;
}

/** Puts `t` into the 4-tuple hash (its tuple fields are set). */
export function tcbHash(t: Tcb): void {
  const b = bucketOf(t.localAddr, t.localPort, t.remoteAddr, t.remotePort);
  t.hashNext = load<i32>(b);
  store<i32>(b, <i32>t.index);
  t.flags |= TF.HASHED;
}

/** Removes `t` from the 4-tuple hash if it is there. */
export function tcbUnhash(t: Tcb): void {
  if ((t.flags & TF.HASHED) == 0) return;
  const b = bucketOf(t.localAddr, t.localPort, t.remoteAddr, t.remotePort);
  let i = load<i32>(b);
  if (i == <i32>t.index) {
    store<i32>(b, t.hashNext);
  } else {
    while (i >= 0) {
      const p = tcbAt(<u32>i);
      if (p.hashNext == <i32>t.index) { p.hashNext = t.hashNext; break; }
      i = p.hashNext;
    }
  }
  t.hashNext = -1;
  t.flags &= ~TF.HASHED;
}
