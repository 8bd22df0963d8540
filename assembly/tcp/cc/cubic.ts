// CUBIC congestion control (RFC 9438) on the TCP core's loss recovery: NewReno's hooks
// (RFC 5681 fast retransmit, RFC 6582 partial ACKs) or, with SACK, RFC 6675 recovery, where
// the core sends within ssthresh. Called only through the hook table (./hooks.ts), whose
// state layout it uses; windows are in bytes, the RFC's equations in segments (SMSS).
//
// Rules, with the sections they implement:
// - Slow start while cwnd < ssthresh, as RFC 5681 (RFC 9438 4.10; byte counting L = 2 SMSS,
//   IW per RFC 6928: NewReno's own code). HyStart++ (RFC 9406), which 4.10 allows, is not done.
// - Congestion avoidance (4.2): an epoch starts with the first ACK of the stage: t = 0,
//   cwnd_epoch = cwnd, K = cubic_root((W_max - cwnd_epoch) / C) (eq. 2; negative when
//   cwnd_epoch is above W_max, which keeps W_cubic(0) = cwnd_epoch), W_est = cwnd_epoch.
//   Per ACK: W_cubic(t) = C * (t - K)^3 + W_max (eq. 1), C = 0.4 segments/s^3 (4.1.1).
//   - Reno-friendly region (4.3): W_est += alpha_cubic * segments_acked / cwnd (eq. 4),
//     alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic) until W_est reaches cwnd_prior,
//     1 after; when W_cubic(t) < W_est, cwnd = W_est (never lowered by an ACK).
//   - Concave (4.4, cwnd < W_max) and convex (4.5, cwnd >= W_max) regions: target =
//     W_cubic(t + RTT) bounded to [cwnd, 1.5 * cwnd], RTT the smoothed RTT the core passes;
//     cwnd grows by (target - cwnd) / cwnd SMSS per SMSS acknowledged, counted in whole
//     SMSS steps: one SMSS each time cwnd * SMSS / (target - cwnd) bytes have been acked.
// - Congestion event (4.6): ssthresh = max(FlightSize * beta_cubic, 2 * SMSS), beta_cubic =
//   0.7; cwnd_prior = cwnd; third duplicate ACK: cwnd = ssthresh + 3 * SMSS, then NewReno's
//   fast recovery (RFC 5681 3.2 steps 4-6, RFC 6582 3.2); ECN-Echo: cwnd = ssthresh. The
//   epoch ends; the next congestion-avoidance ACK starts a new one.
// - Fast convergence (4.7): W_max = cwnd * (1 + beta_cubic) / 2 when cwnd < W_max (the
//   flow is losing ground), else W_max = cwnd.
// - Timeout (4.8): ssthresh as 4.6, cwnd = 1 SMSS (RFC 5681 3.1); the first congestion
//   avoidance stage after it takes K = 0 and W_max = cwnd_epoch (W_max = 0 marks that).
// - Idle (5.8; as Linux, which keeps idle time out of t): after an idle period longer than
//   an RTO, cwnd = min(cwnd, IW) (RFC 5681 4.1, as NewReno) and the epoch restarts, so the
//   idle time never counts as growth. While the flight does not use cwnd (application or
//   receive window limited), ACKs do not reach this code at all (hooks.ts ccRateLimited,
//   5.8), but the epoch's clock runs on: growth resumes at W_cubic(t), within 1.5 * cwnd.
//
// Maths in f64 (no trap on any value), results clamped to [SMSS, 2^30] before conversion.
//
// Private state (offsets inside the hooks' 64-byte state, CC_PRIVATE = 20):
//
//   20 u32 wMax        W_max, bytes; 0 = take cwnd_epoch at the next epoch (4.8)
//   24 u32 cwndPrior   cwnd before the last reduction, bytes (alpha_cubic's switch, 4.3)
//   28 i32 kUs         K of the current epoch, microseconds (signed)
//   32 u32 flags       EPOCH: an epoch runs
//   36 i64 epochUs     start of the current epoch, stack time (now(), µs)
//   44 f64 wEst        W_est, bytes, kept fractional: one ACK adds a fraction of an SMSS
//   52 .. 63           free
//
// Guarantees: cwnd stays within [SMSS, 2^30] and ssthresh >= 2 * SMSS after an event;
// nothing allocates.

import { CC_CWND, CC_SSTHRESH, CC_MSS, CC_ACKED, CC_DUPACK, CC_RTO } from "./hooks";
import {
  newRenoInit, newRenoOnAck, newRenoOnDupAck, newRenoOnRecoveryExit, newRenoAfterIdle,
} from "./newreno";
import { now } from "../../util/time";
import { defineCounter, bump } from "../../abi/counters";

const EPOCHS = defineCounter("tcp.cc.cubic.epochs");
const RENO_FRIENDLY_ACKS = defineCounter("tcp.cc.cubic.reno_friendly_acks");
const FAST_CONVERGENCE = defineCounter("tcp.cc.cubic.fast_convergence");

// Offsets from the state pointer (hooks.ts CC_PRIVATE = 20 is the first).
@inline const CUBIC_W_MAX: usize = 20;
@inline const CUBIC_CWND_PRIOR: usize = 24;
@inline const CUBIC_K_US: usize = 28;
@inline const CUBIC_FLAGS: usize = 32;
@inline const CUBIC_EPOCH_US: usize = 36;
@inline const CUBIC_W_EST: usize = 44;

@inline const FLAG_EPOCH: u32 = 1;

/** C, segments per second cubed (RFC 9438 4.1.1). */
@inline const C: f64 = 0.4;
/** beta_cubic = 0.7 (RFC 9438 4.1.1) as a fraction, in integer maths: FlightSize * 7 / 10. */
@inline const BETA_NUM: u64 = 7;
@inline const BETA_DEN: u64 = 10;
/** alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic) (RFC 9438 4.3). */
@inline const ALPHA_CUBIC: f64 = 3.0 * (1.0 - 0.7) / (1.0 + 0.7);
/** cwnd never grows beyond this (the largest window TCP can use, RFC 7323 2.3). */
@inline const CWND_MAX: f64 = <f64>(1 << 30);
/** |K| bound, µs: W_max <= 2^30 bytes and SMSS >= 1 keep K under 1400 s; this only guards. */
@inline const K_LIMIT_US: f64 = 2e9;

@inline function mssOf(cc: usize): u32 { return load<u32>(cc, CC_MSS); }

/** `bytes` clamped to [SMSS, 2^30], as a window. */
@inline function windowOf(cc: usize, bytes: f64): u32 {
  const m = <f64>mssOf(cc);
  // `!(x >= m)` also catches NaN.
  return <u32>(!(bytes >= m) ? m : bytes > CWND_MAX ? CWND_MAX : bytes);
}

export function cubicInit(cc: usize, mss: u32): void {
  newRenoInit(cc, mss);
  store<u32>(cc, 0, CUBIC_W_MAX);
  store<u32>(cc, 0, CUBIC_CWND_PRIOR);
  store<i32>(cc, 0, CUBIC_K_US);
  store<u32>(cc, 0, CUBIC_FLAGS);
  store<i64>(cc, 0, CUBIC_EPOCH_US);
  store<f64>(cc, 0, CUBIC_W_EST);
}

/** W_cubic at `tUs` into the epoch, bytes (RFC 9438 eq. 1, C in segments: times SMSS). */
export function cubicWindowAt(cc: usize, tUs: i64): f64 {
  const s = <f64>(tUs - <i64>load<i32>(cc, CUBIC_K_US)) / 1e6;
  return C * <f64>mssOf(cc) * s * s * s + <f64>load<u32>(cc, CUBIC_W_MAX);
}

/** First ACK of a congestion-avoidance stage (RFC 9438 4.2, eq. 2; 4.8 after a timeout). */
function startEpoch(cc: usize, cwnd: u32, t: i64): void {
  bump(EPOCHS);
  store<i64>(cc, t, CUBIC_EPOCH_US);
  store<u32>(cc, load<u32>(cc, CUBIC_FLAGS) | FLAG_EPOCH, CUBIC_FLAGS);
  store<u32>(cc, 0, CC_ACKED);
  store<f64>(cc, <f64>cwnd, CUBIC_W_EST);
  const wMax = load<u32>(cc, CUBIC_W_MAX);
  if (wMax == 0) {
    store<u32>(cc, cwnd, CUBIC_W_MAX);
    store<i32>(cc, 0, CUBIC_K_US);
    return;
  }
  const k = Math.cbrt((<f64>wMax - <f64>cwnd) / (C * <f64>mssOf(cc))) * 1e6;
  store<i32>(cc, <i32>(k > K_LIMIT_US ? K_LIMIT_US : k < -K_LIMIT_US ? -K_LIMIT_US : k), CUBIC_K_US);
}

export function cubicOnAck(cc: usize, acked: u32, rttUs: u32, inRecovery: bool): void {
  const cwnd = load<u32>(cc, CC_CWND);
  // Fast recovery's deflation and slow start are NewReno's (RFC 6582 3.2, RFC 5681 3.1).
  if (inRecovery || cwnd < load<u32>(cc, CC_SSTHRESH)) {
    newRenoOnAck(cc, acked, rttUs, inRecovery);
    return;
  }
  const t = now();
  if ((load<u32>(cc, CUBIC_FLAGS) & FLAG_EPOCH) == 0) startEpoch(cc, cwnd, t);
  const elapsed = t - load<i64>(cc, CUBIC_EPOCH_US);
  const mss = <f64>mssOf(cc);
  // RFC 9438 4.3 eq. 4, in bytes: W_est += alpha * (acked / SMSS) / (cwnd / SMSS) * SMSS.
  let wEst = load<f64>(cc, CUBIC_W_EST);
  const alpha = wEst >= <f64>load<u32>(cc, CUBIC_CWND_PRIOR) ? 1.0 : ALPHA_CUBIC;
  wEst += alpha * <f64>acked * mss / <f64>cwnd;
  if (wEst > CWND_MAX) wEst = CWND_MAX;
  store<f64>(cc, wEst, CUBIC_W_EST);
  if (cubicWindowAt(cc, elapsed) < wEst) {
    bump(RENO_FRIENDLY_ACKS);
    if (wEst > <f64>cwnd) store<u32>(cc, windowOf(cc, wEst), CC_CWND);
    return;
  }
  // RFC 9438 4.4/4.5: aim at W_cubic one RTT ahead, within [cwnd, 1.5 * cwnd].
  let target = cubicWindowAt(cc, elapsed + <i64>rttUs);
  const most = <f64>cwnd * 1.5;
  if (target > most) target = most;
  const step = Math.floor(target) - <f64>cwnd;
  if (!(step >= 1.0)) return;
  // One SMSS per cwnd * SMSS / (target - cwnd) bytes acknowledged (>= 2 SMSS, step <= cwnd/2).
  const perSmss = <u64>Math.ceil(<f64>cwnd * mss / step);
  let counted = <u64>load<u32>(cc, CC_ACKED) + <u64>acked;
  if (counted >= perSmss) {
    const steps = counted / perSmss;
    counted -= steps * perSmss;
    store<u32>(cc, windowOf(cc, <f64>cwnd + <f64>steps * mss), CC_CWND);
  }
  store<u32>(cc, <u32>counted, CC_ACKED);
}

export function cubicOnDupAck(cc: usize): void {
  newRenoOnDupAck(cc);
}

export function cubicOnCongestionEvent(cc: usize, kind: u32, flightSize: u32): void {
  const mss = mssOf(cc);
  const cwnd = load<u32>(cc, CC_CWND);
  // RFC 9438 4.7: fast convergence.
  if (cwnd < load<u32>(cc, CUBIC_W_MAX)) {
    bump(FAST_CONVERGENCE);
    store<u32>(cc, <u32>(<u64>cwnd * (BETA_DEN + BETA_NUM) / (BETA_DEN << 1)), CUBIC_W_MAX);
  } else {
    store<u32>(cc, cwnd, CUBIC_W_MAX);
  }
  store<u32>(cc, cwnd, CUBIC_CWND_PRIOR);
  // RFC 9438 4.6: multiplicative decrease, ssthresh >= 2 SMSS.
  const reduced = <u64>flightSize * BETA_NUM / BETA_DEN;
  const floor = <u64>mss << 1;
  const ssthresh = <u32>(reduced > floor ? reduced : floor);
  store<u32>(cc, ssthresh, CC_SSTHRESH);
  store<u32>(cc, 0, CC_ACKED);
  store<u32>(cc, load<u32>(cc, CUBIC_FLAGS) & ~FLAG_EPOCH, CUBIC_FLAGS);
  if (kind == CC_DUPACK) {
    store<u32>(cc, windowOf(cc, <f64>ssthresh + 3.0 * <f64>mss), CC_CWND);
  } else if (kind == CC_RTO) {
    store<u32>(cc, mss, CC_CWND);
    store<u32>(cc, 0, CUBIC_W_MAX); // RFC 9438 4.8: W_max = cwnd_epoch, K = 0 next epoch
  } else {
    store<u32>(cc, windowOf(cc, <f64>ssthresh), CC_CWND); // CC_ECN
  }
}

export function cubicOnRecoveryExit(cc: usize, flightSize: u32): void {
  newRenoOnRecoveryExit(cc, flightSize);
}

export function cubicAfterIdle(cc: usize, idleUs: i64, rtoUs: u32): void {
  if (idleUs <= <i64>rtoUs) return;
  newRenoAfterIdle(cc, idleUs, rtoUs);
  store<u32>(cc, load<u32>(cc, CUBIC_FLAGS) & ~FLAG_EPOCH, CUBIC_FLAGS);
  store<u32>(cc, 0, CC_ACKED);
}

/** W_max, bytes (for tests and statistics). */
export function cubicWMax(cc: usize): u32 { return load<u32>(cc, CUBIC_W_MAX); }
/** K of the current epoch, microseconds. */
export function cubicKUs(cc: usize): i32 { return load<i32>(cc, CUBIC_K_US); }
/** W_est, bytes (fractional). */
export function cubicWEst(cc: usize): f64 { return load<f64>(cc, CUBIC_W_EST); }
/** Start of the current epoch (µs), or -1 when no epoch runs. */
export function cubicEpochStartUs(cc: usize): i64 {
  return (load<u32>(cc, CUBIC_FLAGS) & FLAG_EPOCH) != 0 ? load<i64>(cc, CUBIC_EPOCH_US) : -1;
}
