// Proportional Rate Reduction (RFC 6937) for fast recovery, both flavours the core runs:
// RFC 6582 NewReno (no SACK) and RFC 6675 (SACK). PRR decides how much may be sent on each
// ACK during recovery, so the flight comes down to ssthresh smoothly over one round trip
// instead of in a burst (window inflation) or a collapse (cwnd - pipe after a burst of
// losses), and recovery ends with cwnd = ssthresh. Called through the hook table (./hooks.ts),
// which owns the state layout; the algorithm (NewReno, CUBIC) still chooses ssthresh.
//
// Rules, with the sections they implement (RFC 6937 3.1, in bytes):
// - Entry (the congestion event that starts fast recovery): prr_delivered = 0, prr_out = 0,
//   RecoverFS = FlightSize (snd.nxt - snd.una) at that moment.
// - Each ACK during recovery, the entering one included: prr_delivered += DeliveredData
//   (bytes newly cumulatively acknowledged plus bytes newly SACKed; without SACK the core
//   estimates one SMSS per duplicate ACK, RFC 6937 3.1 "DeliveredData"), then
//     pipe > ssthresh:  sndcnt = CEIL(prr_delivered * ssthresh / RecoverFS) - prr_out
//     pipe <= ssthresh: sndcnt = MIN(ssthresh - pipe, limit), with the reduction bound
//       PRR-SSRB  limit = MAX(prr_delivered - prr_out, DeliveredData) + SMSS
//                 when the ACK advanced snd.una (the "safe ACK" on which Linux's
//                 tcp_cwnd_reduction and RFC 6937bis allow slow start towards ssthresh),
//       PRR-CRB   limit = prr_delivered - prr_out otherwise (packet conservation);
//   sndcnt = MAX(sndcnt, 0), cwnd = pipe + sndcnt.
// - Every byte sent in recovery (retransmission or new data): prr_out += bytes; what this ACK
//   still allows shrinks by as much.
// - Exit (the ACK that reaches RecoveryPoint): cwnd = ssthresh (RFC 6937 3.1, "on recovery
//   exit"). A retransmission timeout ends PRR without it (RFC 6937 3: PRR does not change
//   RTO behaviour; the timeout's own window applies).
// - Whole segments: sndcnt is kept in bytes, and `prrRoom` rounds it up to whole SMSS, so an
//   ACK that allows part of a segment lets a whole one go and the overshoot comes off the
//   next ACK's sndcnt through prr_out (Linux counts packets and rounds the same way up).
//
// State (offsets inside the hooks' state, PRR_BASE = 64):
//
//   64 u32 flags         ENABLED (Cfg.TcpPrr at ccInit), ACTIVE (in a PRR recovery)
//   68 u32 recoverFs     RecoverFS, bytes
//   72 u32 delivered     prr_delivered, bytes (saturates at 2^32 - 1)
//   76 u32 out           prr_out, bytes (saturates)
//   80 u32 sndcnt        what the latest ACK still allows, bytes
//
// Counters: tcp.prr.recoveries (entries), tcp.prr.exits (cwnd set to ssthresh),
// tcp.prr.proportional_acks / tcp.prr.ssrb_acks / tcp.prr.crb_acks (which rule sized an ACK).
//
// Guarantees: cwnd stays within [SMSS, 2^30]; no division by zero on any input; nothing
// allocates.

import { CC_CWND, CC_SSTHRESH, CC_MSS } from "./hooks";
import { defineCounter, bump } from "../../abi/counters";

const RECOVERIES = defineCounter("tcp.prr.recoveries");
const EXITS = defineCounter("tcp.prr.exits");
const PROPORTIONAL_ACKS = defineCounter("tcp.prr.proportional_acks");
const SSRB_ACKS = defineCounter("tcp.prr.ssrb_acks");
const CRB_ACKS = defineCounter("tcp.prr.crb_acks");

/** First byte of PRR's state inside the congestion-control state (after every algorithm's). */
@inline export const PRR_BASE: usize = 64;
/** Bytes of PRR state. */
@inline export const PRR_STATE_BYTES: u32 = 20;

@inline const PRR_FLAGS: usize = PRR_BASE;
@inline const PRR_RECOVER_FS: usize = PRR_BASE + 4;
@inline const PRR_DELIVERED: usize = PRR_BASE + 8;
@inline const PRR_OUT: usize = PRR_BASE + 12;
@inline const PRR_SNDCNT: usize = PRR_BASE + 16;

@inline const FLAG_ENABLED: u32 = 1;
@inline const FLAG_ACTIVE: u32 = 2;

/** cwnd never grows beyond this (the largest window TCP can use, RFC 7323 2.3). */
@inline const CWND_MAX: u64 = 1 << 30;

@inline function saturatingAdd(a: u32, b: u32): u32 {
  const s = <u64>a + <u64>b;
  return s > <u64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>s;
}

/** Clears PRR's state; `enabled`: later fast recoveries run PRR. */
export function prrInit(cc: usize, enabled: bool): void {
  store<u32>(cc, enabled ? FLAG_ENABLED : 0, PRR_FLAGS);
  store<u32>(cc, 0, PRR_RECOVER_FS);
  store<u32>(cc, 0, PRR_DELIVERED);
  store<u32>(cc, 0, PRR_OUT);
  store<u32>(cc, 0, PRR_SNDCNT);
}

/** True when this connection runs PRR in its fast recoveries. */
@inline export function prrEnabled(cc: usize): bool {
  return (load<u32>(cc, PRR_FLAGS) & FLAG_ENABLED) != 0;
}

/** True between `prrEnter` and `prrExit`/`prrAbort`: PRR decides what recovery sends. */
@inline export function prrActive(cc: usize): bool {
  return (load<u32>(cc, PRR_FLAGS) & FLAG_ACTIVE) != 0;
}

/** Fast recovery starts with `flightSize` bytes outstanding (RFC 6937 3.1 initialization). */
export function prrEnter(cc: usize, flightSize: u32): void {
  bump(RECOVERIES);
  store<u32>(cc, load<u32>(cc, PRR_FLAGS) | FLAG_ACTIVE, PRR_FLAGS);
  store<u32>(cc, flightSize, PRR_RECOVER_FS);
  store<u32>(cc, 0, PRR_DELIVERED);
  store<u32>(cc, 0, PRR_OUT);
  store<u32>(cc, 0, PRR_SNDCNT);
}

/**
 * One ACK during recovery: `delivered` bytes newly delivered (DeliveredData), `pipe` the
 * bytes the core estimates in the network after it, `unaAdvanced` whether it moved snd.una
 * (chooses PRR-SSRB over PRR-CRB). Sets cwnd = pipe + sndcnt; returns sndcnt (bytes).
 */
export function prrOnAck(cc: usize, delivered: u32, pipe: u32, unaAdvanced: bool): u32 {
  const prrDelivered = saturatingAdd(load<u32>(cc, PRR_DELIVERED), delivered);
  store<u32>(cc, prrDelivered, PRR_DELIVERED);
  const prrOut = <i64>load<u32>(cc, PRR_OUT);
  const ssthresh = <u64>load<u32>(cc, CC_SSTHRESH);
  const mss = <i64>load<u32>(cc, CC_MSS);
  let sndcnt: i64;
  if (<u64>pipe > ssthresh) {
    bump(PROPORTIONAL_ACKS);
    const recoverFs = <u64>load<u32>(cc, PRR_RECOVER_FS);
    const fs = recoverFs == 0 ? 1 : recoverFs;
    // prr_delivered < 2^32 and ssthresh < 2^32: the product fits in u64.
    const allowed = (<u64>prrDelivered * ssthresh + fs - 1) / fs;
    sndcnt = <i64>allowed - prrOut;
  } else {
    const behind = <i64>prrDelivered - prrOut;
    let limit: i64;
    if (unaAdvanced) {
      bump(SSRB_ACKS);
      limit = (behind > <i64>delivered ? behind : <i64>delivered) + mss;
    } else {
      bump(CRB_ACKS);
      limit = behind;
    }
    const toSsthresh = <i64>ssthresh - <i64>pipe;
    sndcnt = toSsthresh < limit ? toSsthresh : limit;
  }
  if (sndcnt < 0) sndcnt = 0;
  if (sndcnt > <i64>u32.MAX_VALUE) sndcnt = <i64>u32.MAX_VALUE;
  store<u32>(cc, <u32>sndcnt, PRR_SNDCNT);
  let cwnd = <u64>pipe + <u64>sndcnt;
  if (cwnd < <u64>mss) cwnd = <u64>mss;
  if (cwnd > CWND_MAX) cwnd = CWND_MAX;
  store<u32>(cc, <u32>cwnd, CC_CWND);
  return <u32>sndcnt;
}

/** `bytes` of data (retransmitted or new) left during recovery: prr_out += bytes. */
export function prrOnSent(cc: usize, bytes: u32): void {
  store<u32>(cc, saturatingAdd(load<u32>(cc, PRR_OUT), bytes), PRR_OUT);
  const left = load<u32>(cc, PRR_SNDCNT);
  store<u32>(cc, left > bytes ? left - bytes : 0, PRR_SNDCNT);
}

/** Bytes the core may send now in recovery: the latest sndcnt left, rounded up to whole SMSS. */
export function prrRoom(cc: usize, smss: u32): u32 {
  const left = <u64>load<u32>(cc, PRR_SNDCNT);
  if (left == 0 || smss == 0) return 0;
  const whole = (left + <u64>smss - 1) / <u64>smss * <u64>smss;
  return whole > <u64>u32.MAX_VALUE ? u32.MAX_VALUE : <u32>whole;
}

/** Recovery ended at RecoveryPoint: cwnd = ssthresh (RFC 6937 3.1 "on recovery exit"). */
export function prrExit(cc: usize): void {
  bump(EXITS);
  store<u32>(cc, load<u32>(cc, PRR_FLAGS) & ~FLAG_ACTIVE, PRR_FLAGS);
  store<u32>(cc, 0, PRR_SNDCNT);
  const ssthresh = <u64>load<u32>(cc, CC_SSTHRESH);
  const mss = <u64>load<u32>(cc, CC_MSS);
  store<u32>(cc, <u32>(ssthresh < mss ? mss : ssthresh > CWND_MAX ? CWND_MAX : ssthresh), CC_CWND);
}

/** A timeout (or an ECN reduction) ends the recovery: PRR stops, cwnd stays as set by it. */
export function prrAbort(cc: usize): void {
  store<u32>(cc, load<u32>(cc, PRR_FLAGS) & ~FLAG_ACTIVE, PRR_FLAGS);
  store<u32>(cc, 0, PRR_SNDCNT);
}

/** prr_delivered, bytes (tests, statistics). */
export function prrDelivered(cc: usize): u32 { return load<u32>(cc, PRR_DELIVERED); }
/** prr_out, bytes. */
export function prrOut(cc: usize): u32 { return load<u32>(cc, PRR_OUT); }
/** RecoverFS, bytes. */
export function prrRecoverFs(cc: usize): u32 { return load<u32>(cc, PRR_RECOVER_FS); }
/** sndcnt still allowed by the latest ACK, bytes. */
export function prrSndcnt(cc: usize): u32 { return load<u32>(cc, PRR_SNDCNT); }
/** 1 while a PRR recovery runs, else 0. */
export function prrIsActive(cc: usize): u32 { return prrActive(cc) ? 1 : 0; }
