// Round-trip time estimation and the retransmission timeout, RFC 6298.
//
// State (RTT_STATE_BYTES = 32, at a pointer the owner provides, e.g. inside its TCB):
//
//   0 u32 srtt8     SRTT * 8, µs (fixed point: 3 fraction bits, as Linux's srtt_us)
//   4 u32 rttvar4   RTTVAR * 4, µs (2 fraction bits); K * RTTVAR with K = 4 is this value
//   8 u32 rto       current RTO, µs, backoff included
//  12 u32 backoffs  doublings since the last RTT sample
//  16 u32 flags     HAS_SAMPLE, TIMING, SYN_RETRANSMITTED
//  20 u32 timedSeq  sequence number whose acknowledgement ends the running measurement
//  24 i64 timedAt   when that segment was sent, µs
//
// Rules:
// - Initial RTO 1 s (RFC 6298 2.1).
// - First sample R: SRTT = R, RTTVAR = R/2 (2.2). Later samples: RTTVAR = 3/4 RTTVAR +
//   1/4 |SRTT - R| with the old SRTT, then SRTT = 7/8 SRTT + 1/8 R (2.3; alpha 1/8,
//   beta 1/4). Both in the scaled integers above, truncating, so the arithmetic is exact
//   and reproducible.
// - RTO = SRTT + max(G, K * RTTVAR) (2.3) with G = 1 ms, the granularity of the host's
//   timers, clamped to [Cfg.TcpMinRtoMs, Cfg.TcpMaxRtoMs]. The minimum defaults to 200 ms
//   as Linux (RFC 6298 2.4 says 1 s); the maximum to 120 s (2.5 allows >= 60 s).
// - On expiry the RTO doubles, up to the maximum (5.5). A new sample recomputes it (5.7's
//   note: backing off ends with the next valid measurement).
// - Karn's algorithm (3): without timestamps one segment at a time is timed
//   (`rttStartTiming`); a retransmission cancels the measurement (`rttOnRetransmit`), so no
//   sample ever comes from a retransmitted segment. With timestamps (RFC 7323 4.1) every ACK
//   that advances snd.una echoes an unambiguous send time: the caller passes
//   now - (echoed time) to `rttSample` directly.
// - If the SYN was retransmitted and no sample was taken during the handshake, the RTO is
//   set to 3 s when data transfer begins (RFC 6298 5.7), see `rttHandshakeDone`.
//
// Guarantees: the RTO is always within [min, max]; nothing allocates; all arithmetic is
// saturating or bounded, so no input (a huge or zero sample) traps or wraps.

import { cfg, Cfg } from "../abi/config";
import { seqGt } from "./seq";

@inline const T_SRTT8: usize = 0;
@inline const T_RTTVAR4: usize = 4;
@inline const T_RTO: usize = 8;
@inline const T_BACKOFFS: usize = 12;
@inline const T_FLAGS: usize = 16;
@inline const T_TIMED_SEQ: usize = 20;
@inline const T_TIMED_AT: usize = 24;
/** Bytes of RTT state. */
@inline export const RTT_STATE_BYTES: u32 = 32;

@inline const HAS_SAMPLE: u32 = 1;
@inline const TIMING: u32 = 2;
@inline const SYN_RETRANSMITTED: u32 = 4;

/** RFC 6298 2.1. */
@inline export const RTO_INITIAL_US: u32 = 1_000_000;
/** RFC 6298 5.7. */
@inline export const RTO_AFTER_SYN_LOSS_US: u32 = 3_000_000;
/** Clock granularity G, µs. */
@inline export const RTT_GRANULARITY_US: u32 = 1_000;
/** Samples are capped at this (an RTT beyond the maximum RTO is meaningless), µs. */
@inline const SAMPLE_MAX_US: u32 = 3_600_000_000 / 8;

@inline function minRto(): u32 { return cfg(Cfg.TcpMinRtoMs) * 1000; }
@inline function maxRto(): u32 { return cfg(Cfg.TcpMaxRtoMs) * 1000; }

@inline function clampRto(us: u64): u32 {
  const lo = <u64>minRto();
  const hi = <u64>maxRto();
  return <u32>(us < lo ? lo : us > hi ? hi : us);
}

/** Fresh state: no sample, RTO 1 s. */
export function rttInit(t: usize): void {
  store<u32>(t, 0, T_SRTT8);
  store<u32>(t, 0, T_RTTVAR4);
  store<u32>(t, clampRto(RTO_INITIAL_US), T_RTO);
  store<u32>(t, 0, T_BACKOFFS);
  store<u32>(t, 0, T_FLAGS);
  store<u32>(t, 0, T_TIMED_SEQ);
  store<i64>(t, 0, T_TIMED_AT);
}

/** Current RTO, µs. */
@inline export function rttRto(t: usize): u32 { return load<u32>(t, T_RTO); }
/** SRTT, µs (0 before the first sample). */
@inline export function rttSrtt(t: usize): u32 { return load<u32>(t, T_SRTT8) >> 3; }
/** RTTVAR, µs. */
@inline export function rttVar(t: usize): u32 { return load<u32>(t, T_RTTVAR4) >> 2; }
/** Doublings since the last sample. */
@inline export function rttBackoffs(t: usize): u32 { return load<u32>(t, T_BACKOFFS); }
/** True once a sample was taken. */
@inline export function rttHasSample(t: usize): bool { return (load<u32>(t, T_FLAGS) & HAS_SAMPLE) != 0; }

/** Feeds one RTT measurement (µs) and recomputes the RTO (RFC 6298 2.2, 2.3). */
export function rttSample(t: usize, sampleUs: u32): void {
  const r = sampleUs > SAMPLE_MAX_US ? SAMPLE_MAX_US : sampleUs;
  let srtt8: u32;
  let rttvar4: u32;
  const flags = load<u32>(t, T_FLAGS);
  if ((flags & HAS_SAMPLE) == 0) {
    srtt8 = r << 3;
    rttvar4 = r << 1; // RTTVAR = R/2, times 4
  } else {
    srtt8 = load<u32>(t, T_SRTT8);
    rttvar4 = load<u32>(t, T_RTTVAR4);
    const srtt = srtt8 >> 3;
    const err = r > srtt ? r - srtt : srtt - r;
    rttvar4 = rttvar4 - (rttvar4 >> 2) + err;   // 3/4 RTTVAR + 1/4 |SRTT - R|, times 4
    srtt8 = srtt8 - (srtt8 >> 3) + r;           // 7/8 SRTT + 1/8 R, times 8
  }
  store<u32>(t, srtt8, T_SRTT8);
  store<u32>(t, rttvar4, T_RTTVAR4);
  store<u32>(t, flags | HAS_SAMPLE, T_FLAGS);
  store<u32>(t, 0, T_BACKOFFS);
  const k = rttvar4 > RTT_GRANULARITY_US ? rttvar4 : RTT_GRANULARITY_US;
  store<u32>(t, clampRto(<u64>(srtt8 >> 3) + <u64>k), T_RTO);
}

/** The retransmission timer expired: doubles the RTO up to the maximum (RFC 6298 5.5). */
export function rttBackoff(t: usize): void {
  store<u32>(t, clampRto(<u64>rttRto(t) << 1), T_RTO);
  store<u32>(t, rttBackoffs(t) + 1, T_BACKOFFS);
}

/**
 * Starts timing the segment ending at `endSeq` (its acknowledgement completes the
 * measurement), sent at `sentAtUs`, unless a measurement is already running (Karn).
 */
export function rttStartTiming(t: usize, endSeq: u32, sentAtUs: i64): void {
  const flags = load<u32>(t, T_FLAGS);
  if (flags & TIMING) return;
  store<u32>(t, endSeq, T_TIMED_SEQ);
  store<i64>(t, sentAtUs, T_TIMED_AT);
  store<u32>(t, flags | TIMING, T_FLAGS);
}

/** True while a measurement runs (the sender may start one when this is false). */
export function rttIsTiming(t: usize): bool {
  return (load<u32>(t, T_FLAGS) & TIMING) != 0;
}

/**
 * A segment is being retransmitted: its ACK would be ambiguous, so the running measurement
 * is cancelled (Karn's algorithm, RFC 6298 3).
 */
export function rttOnRetransmit(t: usize): void {
  store<u32>(t, load<u32>(t, T_FLAGS) & ~TIMING, T_FLAGS);
}

/**
 * An ACK advanced snd.una to `ack` at `nowUs`: completes the running measurement when it
 * covers the timed segment. Returns true when a sample was taken.
 */
export function rttOnAck(t: usize, ack: u32, nowUs: i64): bool {
  const flags = load<u32>(t, T_FLAGS);
  if ((flags & TIMING) == 0 || seqGt(load<u32>(t, T_TIMED_SEQ), ack)) return false;
  store<u32>(t, flags & ~TIMING, T_FLAGS);
  const elapsed = nowUs - load<i64>(t, T_TIMED_AT);
  rttSample(t, elapsed < 0 ? 0 : elapsed > <i64>SAMPLE_MAX_US ? SAMPLE_MAX_US : <u32>elapsed);
  return true;
}

/** The SYN (or SYN-ACK) was retransmitted: remembered for `rttHandshakeDone`. */
export function rttOnSynRetransmit(t: usize): void {
  store<u32>(t, load<u32>(t, T_FLAGS) | SYN_RETRANSMITTED, T_FLAGS);
}

/**
 * The handshake completed. If the SYN timed out and no sample was taken, the RTO becomes
 * 3 s (RFC 6298 5.7); otherwise the RTO is left as it is.
 */
export function rttHandshakeDone(t: usize): void {
  const flags = load<u32>(t, T_FLAGS);
  if ((flags & SYN_RETRANSMITTED) != 0 && (flags & HAS_SAMPLE) == 0) {
    store<u32>(t, clampRto(RTO_AFTER_SYN_LOSS_US), T_RTO);
    store<u32>(t, 0, T_BACKOFFS);
  }
  store<u32>(t, flags & ~SYN_RETRANSMITTED, T_FLAGS);
}
