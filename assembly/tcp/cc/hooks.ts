// Congestion control behind one table of hooks (DESIGN.md "TCP"; the Linux/FreeBSD shape:
// named hooks, fixed private state inside the TCB).
//
// State (CC_STATE_BYTES = 84, at a pointer the owner provides inside its TCB). Every
// algorithm shares the first 20 bytes; 20..63 are the algorithm's own; 64..83 are PRR's
// (./prr.ts), which runs under every algorithm:
//
//   0 u32 algo      CcAlgo of this connection (set by `ccInit`)
//   4 u32 cwnd      congestion window, bytes
//   8 u32 ssthresh  slow-start threshold, bytes
//  12 u32 mss       SMSS, bytes
//  16 u32 acked     bytes acknowledged towards the next congestion-avoidance increase
//  20 .. 63         private to the algorithm. NewReno uses none. CUBIC (./cubic.ts):
//                     20 u32 W_max   24 u32 cwnd_prior   28 i32 K (µs)   32 u32 flags
//                     36 i64 epoch start (µs)   44 f64 W_est   52..63 free
//  64 .. 83         Proportional Rate Reduction (RFC 6937, ./prr.ts; layout there)
//
// Hooks (the caller is the TCP core; `cc` is the state pointer):
//   ccInit(cc, algo, mss): bool        false for an algorithm not built (the id is refused)
//   ccOnAck(cc, acked, rttUs, inRecovery, rateLimited)
//       new data acknowledged (snd.una advanced by `acked` bytes). inRecovery: this is a
//       partial ACK during fast recovery (RFC 6582 3.2 step 3, "partial acknowledgments").
//       rttUs: the smoothed RTT (CUBIC aims its window one RTT ahead, RFC 9438 4.2).
//       rateLimited: the flight before this ACK did not use cwnd (`ccRateLimited`): the
//       application or the receiver's window limited it, so cwnd does not grow (RFC 7661
//       4.3, RFC 9438 5.8); the partial-ACK deflation still applies.
//       With PRR running (Cfg.TcpPrr) a partial ACK changes nothing here: PRR sets cwnd.
//   ccOnDupAck(cc)                     a further duplicate ACK during fast recovery (window
//                                      inflation, RFC 5681 3.2 step 4; none with PRR)
//   ccOnCongestionEvent(cc, kind, flightSize)
//       CC_DUPACK: the third duplicate ACK, entering fast recovery; CC_RTO: the
//       retransmission timer expired (call once per loss episode, not per backoff, so
//       ssthresh keeps its first value, RFC 5681 3.1 eq. 4 note); CC_ECN: an ECN-Echo
//       (RFC 3168 6.1.2), at most once per window.
//       CC_DUPACK starts PRR when the connection has it (RecoverFS = flightSize); any other
//       event ends a PRR recovery.
//   ccOnRecoveryExit(cc, flightSize)   a full ACK ended fast recovery (RFC 6582 3.2 step 3);
//                                      with PRR cwnd = ssthresh (RFC 6937 3.1)
//   ccPrrActive(cc)                    true while PRR decides what recovery sends; then:
//   ccRecoveryAck(cc, delivered, pipe, unaAdvanced)   each ACK in recovery (RFC 6937 3.1)
//   ccRecoverySent(cc, bytes)          data that left during recovery (prr_out)
//   ccRecoveryRoom(cc, smss)           bytes recovery may send now (whole SMSS)
//   ccAfterIdle(cc, idleUs, rtoUs)     about to send after idleUs without sending
//   ccWindow(cc), ccSsthresh(cc)
//   ccLimitedTransmitRoom(cc, dupAcks, flightSize)   RFC 3042, algorithm-independent
//
// Dispatch is a `switch` on the algorithm id, not a table of function references: every
// case is a direct call that binaryen inlines at -O3, where a function reference is a
// `call_indirect` (a table load and a signature check, never inlined) on every ACK.
// Measured (release build, Node 20, 2-core Debian machine, 20 M calls of ccOnAck each):
// about 5 ns per ACK through the switch, 7-9 ns through a function reference.
//
// Counters: tcp.cc.newreno.connections / tcp.cc.cubic.connections, one per `ccInit`, say
// which algorithm each connection ran; tcp.cc.rate_limited_acks counts ACKs that left cwnd
// alone because the flight had not used it; tcp.prr.* (./prr.ts) count PRR recoveries,
// their exits and which rule sized each ACK.
//
// Guarantees: every hook keeps cwnd >= 1 SMSS and ssthresh >= 2 SMSS after a congestion
// event; nothing allocates; ids not built are refused at `ccInit`, so a hook never sees one.

import {
  newRenoInit, newRenoOnAck, newRenoOnDupAck, newRenoOnCongestionEvent,
  newRenoOnRecoveryExit, newRenoAfterIdle,
} from "./newreno";
import {
  cubicInit, cubicOnAck, cubicOnDupAck, cubicOnCongestionEvent, cubicOnRecoveryExit,
  cubicAfterIdle,
} from "./cubic";
import {
  prrInit, prrEnabled, prrActive, prrEnter, prrOnAck, prrOnSent, prrRoom, prrExit, prrAbort,
  PRR_BASE, PRR_STATE_BYTES,
} from "./prr";
import { defineCounter, bump } from "../../abi/counters";
import { cfg, Cfg } from "../../abi/config";

const NEWRENO_CONNECTIONS = defineCounter("tcp.cc.newreno.connections");
const CUBIC_CONNECTIONS = defineCounter("tcp.cc.cubic.connections");
/** ACKs of new data that did not grow cwnd because the flight had not used it (RFC 7661). */
const RATE_LIMITED_ACKS = defineCounter("tcp.cc.rate_limited_acks");

/** Algorithm ids (the TCB stores one; part of the socket option ABI later). */
export enum CcAlgo {
  NewReno = 1,
  /** RFC 9438 (./cubic.ts). */
  Cubic = 2,
}

/** Congestion event kinds. */
@inline export const CC_DUPACK: u32 = 1;
@inline export const CC_RTO: u32 = 2;
@inline export const CC_ECN: u32 = 3;

@inline export const CC_ALGO: usize = 0;
@inline export const CC_CWND: usize = 4;
@inline export const CC_SSTHRESH: usize = 8;
@inline export const CC_MSS: usize = 12;
@inline export const CC_ACKED: usize = 16;
/** First byte of the algorithm's private state. */
@inline export const CC_PRIVATE: usize = 20;
/** Bytes of congestion-control state per connection (PRR's state is last). */
@inline export const CC_STATE_BYTES: u32 = <u32>PRR_BASE + PRR_STATE_BYTES;

/** True when this build has algorithm `algo` (Cfg.TcpCongestion is checked against it). */
export function ccAlgoBuilt(algo: u32): bool {
  return algo == CcAlgo.NewReno || algo == CcAlgo.Cubic;
}

/** Sets up `cc` for algorithm `algo` and SMSS `mss`; false when `algo` is not built. */
export function ccInit(cc: usize, algo: u32, mss: u32): bool {
  prrInit(cc, cfg(Cfg.TcpPrr) == 1);
  switch (algo) {
    case CcAlgo.NewReno: {
      store<u32>(cc, algo, CC_ALGO);
      newRenoInit(cc, mss);
      bump(NEWRENO_CONNECTIONS);
      return true;
    }
    case CcAlgo.Cubic: {
      store<u32>(cc, algo, CC_ALGO);
      cubicInit(cc, mss);
      bump(CUBIC_CONNECTIONS);
      return true;
    }
    default: return false;
  }
}

// Each hook switches on the stored id. Only built ids are ever stored (ccInit refuses the
// others), so NewReno's case also takes `default`.

export function ccOnAck(cc: usize, acked: u32, rttUs: u32, inRecovery: bool, rateLimited: bool): void {
  if (rateLimited && !inRecovery) {
    bump(RATE_LIMITED_ACKS);
    return;
  }
  if (inRecovery && prrActive(cc)) return;
  switch (load<u32>(cc, CC_ALGO)) {
    case CcAlgo.Cubic: cubicOnAck(cc, acked, rttUs, inRecovery); break;
    case CcAlgo.NewReno:
    default: newRenoOnAck(cc, acked, rttUs, inRecovery);
  }
}

/**
 * True when a flight of `flightBefore` bytes (outstanding before the ACK) did not use the
 * congestion window, so an ACK of it must not grow cwnd. The rule is Linux's
 * (tcp_is_cwnd_limited) in the terms of RFC 7661 4.3: in slow start the flight must have
 * been at least half of cwnd (the "validated phase", pipeACK >= cwnd / 2: slow start may
 * still double what was actually used); in congestion avoidance it must have come within
 * one SMSS of cwnd (RFC 9438 5.8: no increase when cwnd is not fully used).
 */
export function ccRateLimited(cc: usize, flightBefore: u32): bool {
  const cwnd = <u64>load<u32>(cc, CC_CWND);
  if (cwnd < <u64>load<u32>(cc, CC_SSTHRESH)) return (<u64>flightBefore << 1) < cwnd;
  return <u64>flightBefore + <u64>load<u32>(cc, CC_MSS) < cwnd;
}

export function ccOnDupAck(cc: usize): void {
  if (prrActive(cc)) return;
  switch (load<u32>(cc, CC_ALGO)) {
    case CcAlgo.Cubic: cubicOnDupAck(cc); break;
    case CcAlgo.NewReno:
    default: newRenoOnDupAck(cc);
  }
}

export function ccOnCongestionEvent(cc: usize, kind: u32, flightSize: u32): void {
  switch (load<u32>(cc, CC_ALGO)) {
    case CcAlgo.Cubic: cubicOnCongestionEvent(cc, kind, flightSize); break;
    case CcAlgo.NewReno:
    default: newRenoOnCongestionEvent(cc, kind, flightSize);
  }
  if (kind == CC_DUPACK && prrEnabled(cc)) prrEnter(cc, flightSize);
  else prrAbort(cc);
}

export function ccOnRecoveryExit(cc: usize, flightSize: u32): void {
  if (prrActive(cc)) {
    prrExit(cc);
    return;
  }
  switch (load<u32>(cc, CC_ALGO)) {
    case CcAlgo.Cubic: cubicOnRecoveryExit(cc, flightSize); break;
    case CcAlgo.NewReno:
    default: newRenoOnRecoveryExit(cc, flightSize);
  }
}

export function ccAfterIdle(cc: usize, idleUs: i64, rtoUs: u32): void {
  switch (load<u32>(cc, CC_ALGO)) {
    case CcAlgo.Cubic: cubicAfterIdle(cc, idleUs, rtoUs); break;
    case CcAlgo.NewReno:
    default: newRenoAfterIdle(cc, idleUs, rtoUs);
  }
}

/** True while PRR (RFC 6937) decides what fast recovery sends (ccRecoveryRoom). */
@inline export function ccPrrActive(cc: usize): bool { return prrActive(cc); }

/**
 * An ACK during a PRR recovery: `delivered` bytes newly delivered (cumulative + newly SACKed,
 * or one SMSS for a duplicate ACK without SACK), `pipe` bytes still in the network after it,
 * `unaAdvanced` whether it moved snd.una. Returns sndcnt (bytes); no-op (0) without PRR.
 */
export function ccRecoveryAck(cc: usize, delivered: u32, pipe: u32, unaAdvanced: bool): u32 {
  return prrActive(cc) ? prrOnAck(cc, delivered, pipe, unaAdvanced) : 0;
}

/** `bytes` of data left during recovery (PRR's prr_out); no-op without PRR. */
export function ccRecoverySent(cc: usize, bytes: u32): void {
  if (prrActive(cc)) prrOnSent(cc, bytes);
}

/** Bytes a PRR recovery may send now, whole SMSS (0 without PRR). */
export function ccRecoveryRoom(cc: usize, smss: u32): u32 {
  return prrActive(cc) ? prrRoom(cc, smss) : 0;
}

/** Congestion window, bytes. */
@inline export function ccWindow(cc: usize): u32 { return load<u32>(cc, CC_CWND); }
/** Slow-start threshold, bytes (0xFFFFFFFF until the first congestion event). */
@inline export function ccSsthresh(cc: usize): u32 { return load<u32>(cc, CC_SSTHRESH); }
/** The algorithm id. */
@inline export function ccAlgo(cc: usize): u32 { return load<u32>(cc, CC_ALGO); }

/**
 * Limited transmit (RFC 3042 2): on the first and second duplicate ACK the sender may send
 * new data as long as FlightSize stays <= cwnd + 2 * SMSS, without changing cwnd. Returns
 * the bytes of new data allowed now (0 outside dupAcks 1..2); the receiver's window still
 * applies, and the caller sends at most one segment per duplicate ACK.
 */
export function ccLimitedTransmitRoom(cc: usize, dupAcks: u32, flightSize: u32): u32 {
  if (dupAcks < 1 || dupAcks > 2) return 0;
  const limit = <u64>ccWindow(cc) + <u64>(dupAcks * load<u32>(cc, CC_MSS));
  return <u64>flightSize >= limit ? 0 : <u32>(limit - <u64>flightSize);
}
