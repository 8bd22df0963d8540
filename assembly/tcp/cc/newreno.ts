// NewReno congestion control: RFC 5681 (slow start, congestion avoidance, fast
// retransmit/fast recovery, restart after idle) with RFC 6582's partial-ACK handling,
// appropriate byte counting (RFC 3465, L = 2 * SMSS) and the initial window of RFC 6928.
// Called only through the hook table (./hooks.ts), whose state layout it uses.
//
// Rules, with the sections they implement:
// - init: IW = min(10 * SMSS, max(2 * SMSS, 14600)) (RFC 6928 2); ssthresh arbitrarily high
//   (RFC 5681 3.1).
// - ACK of new data outside recovery: in slow start (cwnd < ssthresh) cwnd += min(acked,
//   2 * SMSS) (RFC 3465 2.2, L = 2); in congestion avoidance acked bytes accumulate and each
//   time they reach cwnd, cwnd += SMSS (RFC 3465 2.1, RFC 5681 3.1 eq. 3's byte-counting
//   form).
// - Third duplicate ACK: ssthresh = max(FlightSize / 2, 2 * SMSS) (RFC 5681 3.1 eq. 4),
//   cwnd = ssthresh + 3 * SMSS (3.2 step 3: inflated by the three segments that left);
//   each further duplicate ACK adds SMSS (3.2 step 4).
// - Partial ACK in recovery: cwnd -= acked, then += SMSS if acked >= SMSS (RFC 6582 3.2
//   step 3, "partial acknowledgments"), never below SMSS.
// - Full ACK: cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS) (RFC 6582 3.2 step 3,
//   "full acknowledgments", option 1), FlightSize being what is still outstanding after it.
// - RTO: ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = 1 SMSS, the loss window
//   (RFC 5681 3.1).
// - ECN-Echo: ssthresh = max(FlightSize / 2, 2 * SMSS), cwnd = ssthresh (RFC 3168 6.1.2).
// - Idle longer than an RTO: cwnd = min(cwnd, IW) (RFC 5681 4.1's restart window).
// - No increase from ACKs of a flight that did not use cwnd (RFC 7661 4.3; the hook table
//   filters them, hooks.ts ccRateLimited).
//
// Guarantees: cwnd stays within [SMSS, 2^30]; nothing allocates.

import { CC_CWND, CC_SSTHRESH, CC_MSS, CC_ACKED, CC_DUPACK, CC_RTO } from "./hooks";

/** cwnd never grows beyond this (the largest window TCP can use, RFC 7323 2.3). */
@inline const CWND_MAX: u32 = 1 << 30;

/** Initial window for SMSS `mss` (RFC 6928 2). */
export function initialWindow(mss: u32): u32 {
  const ten = <u64>mss * 10;
  const floor = <u64>(mss << 1 > 14600 ? mss << 1 : 14600);
  return <u32>(ten < floor ? ten : floor);
}

@inline function mssOf(cc: usize): u32 { return load<u32>(cc, CC_MSS); }
@inline function setCwnd(cc: usize, v: u64): void {
  const m = <u64>mssOf(cc);
  store<u32>(cc, <u32>(v < m ? m : v > <u64>CWND_MAX ? <u64>CWND_MAX : v), CC_CWND);
}

export function newRenoInit(cc: usize, mss: u32): void {
  const m = mss == 0 ? 1 : mss;
  store<u32>(cc, m, CC_MSS);
  store<u32>(cc, initialWindow(m), CC_CWND);
  store<u32>(cc, u32.MAX_VALUE, CC_SSTHRESH);
  store<u32>(cc, 0, CC_ACKED);
}

export function newRenoOnAck(cc: usize, acked: u32, rttUs: u32, inRecovery: bool): void {
  const mss = mssOf(cc);
  const cwnd = load<u32>(cc, CC_CWND);
  if (inRecovery) {
    const deflated = <i64>cwnd - <i64>acked + (acked >= mss ? <i64>mss : 0);
    setCwnd(cc, deflated < 0 ? 0 : <u64>deflated);
    return;
  }
  if (cwnd < load<u32>(cc, CC_SSTHRESH)) {
    const limit = mss << 1;
    setCwnd(cc, <u64>cwnd + <u64>(acked < limit ? acked : limit));
    return;
  }
  let counted = <u64>load<u32>(cc, CC_ACKED) + <u64>acked;
  let grown = <u64>cwnd;
  if (counted >= grown) {
    counted -= grown;
    grown += mss;
  }
  store<u32>(cc, <u32>counted, CC_ACKED);
  setCwnd(cc, grown);
}

export function newRenoOnDupAck(cc: usize): void {
  setCwnd(cc, <u64>load<u32>(cc, CC_CWND) + <u64>mssOf(cc));
}

/** ssthresh = max(FlightSize / 2, 2 * SMSS) (RFC 5681 3.1 eq. 4); returns it. */
function halveSsthresh(cc: usize, flightSize: u32): u32 {
  const two = mssOf(cc) << 1;
  const half = flightSize >> 1;
  const s = half > two ? half : two;
  store<u32>(cc, s, CC_SSTHRESH);
  return s;
}

export function newRenoOnCongestionEvent(cc: usize, kind: u32, flightSize: u32): void {
  const ssthresh = halveSsthresh(cc, flightSize);
  store<u32>(cc, 0, CC_ACKED);
  if (kind == CC_DUPACK) setCwnd(cc, <u64>ssthresh + 3 * <u64>mssOf(cc));
  else if (kind == CC_RTO) setCwnd(cc, mssOf(cc));
  else setCwnd(cc, ssthresh); // CC_ECN
}

export function newRenoOnRecoveryExit(cc: usize, flightSize: u32): void {
  const mss = mssOf(cc);
  const outstanding = <u64>(flightSize > mss ? flightSize : mss) + <u64>mss;
  const ssthresh = <u64>load<u32>(cc, CC_SSTHRESH);
  setCwnd(cc, outstanding < ssthresh ? outstanding : ssthresh);
  store<u32>(cc, 0, CC_ACKED);
}

export function newRenoAfterIdle(cc: usize, idleUs: i64, rtoUs: u32): void {
  if (idleUs <= <i64>rtoUs) return;
  const iw = initialWindow(mssOf(cc));
  const cwnd = load<u32>(cc, CC_CWND);
  if (cwnd > iw) setCwnd(cc, iw);
}
