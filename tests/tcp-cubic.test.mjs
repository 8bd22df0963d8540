// CUBIC (RFC 9438, assembly/tcp/cc/cubic.ts): first through the congestion-control hooks of
// the test-only module build/tcpparts-test.wasm (assembly/testing/tcpparts.ts), checked
// against the RFC's equations at chosen points; then whole connections over MemoryLinks on a
// virtual clock, whose cwnd traces must follow the cubic curve.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadParts } from './support/tcpparts.mjs';
import { virtualTransfer } from './support/virtual-transfer.mjs';

/** A fresh parts instance, initialised with the default config. */
const load = () => loadParts();

const CUBIC = 2;
const DUPACK = 1, RTO = 2, ECN = 3;
// RFC 9438 4.1.1.
const C = 0.4, BETA = 0.7, ALPHA = (3 * (1 - BETA)) / (1 + BETA);
const MSS = 1000;

/** K of eq. 2, µs, as the stack stores it (truncated). */
const kUs = (wMax, cwndEpoch) => Math.trunc(Math.cbrt((wMax - cwndEpoch) / (C * MSS)) * 1e6);
/** W_cubic(t) of eq. 1 in bytes, t and K in µs, in the stack's order of operations. */
const wCubic = (tUs, k, wMax) => { const s = (tUs - k) / 1e6; return C * MSS * s * s * s + wMax; };

/**
 * A connection in congestion avoidance at `epochAtUs`: slow start to cwnd = `peak`, a third
 * duplicate ACK with FlightSize = peak, recovery left with a full ACK. Returns the instance.
 */
function afterOneLoss(peak, epochAtUs = 1_000_000) {
  const s = load();
  const cc = s.x.stateAreaPtr();
  s.x.setNow(0);
  assert.ok(s.x.ccInit(cc, CUBIC, MSS));
  assert.is(s.x.ccCwnd(cc), 10 * MSS);                    // IW (RFC 6928)
  while (s.x.ccCwnd(cc) < peak) s.x.ccOnAck(cc, 2 * MSS, 0, 0);
  assert.is(s.x.ccCwnd(cc), peak);
  s.x.ccOnCongestionEvent(cc, DUPACK, peak);
  s.x.ccOnRecoveryExit(cc, peak);                          // min(ssthresh, FlightSize + SMSS)
  s.x.setNow(epochAtUs);
  return { ...s, cc };
}

test('cubic: multiplicative decrease to 0.7 and K of eq. 2 for a given W_max', () => {
  const { x, cc, counter } = afterOneLoss(100_000);
  assert.is(counter('tcp.cc.cubic.connections'), 1);
  assert.is(x.cubicWMax(cc), 100_000);                    // W_max = cwnd at the event
  assert.is(x.ccSsthreshBytes(cc), 70_000);                // FlightSize * beta_cubic
  assert.is(x.ccCwnd(cc), 70_000);
  assert.is(x.cubicEpochStartUs(cc), -1n, 'no epoch during slow start or recovery');
  x.ccOnAck(cc, MSS, 100_000, 0);                          // first ACK of congestion avoidance
  assert.is(x.cubicEpochStartUs(cc), 1_000_000n);
  assert.is(counter('tcp.cc.cubic.epochs'), 1);
  // K = cbrt((W_max - cwnd_epoch) / C), W in segments: cbrt(30 / 0.4) = 4.2171633 s.
  assert.is(x.cubicKUs(cc), kUs(100_000, 70_000));
  assert.is(x.cubicKUs(cc), 4_217_163);
  // eq. 1 at chosen points: cwnd_epoch at t = 0, W_max at t = K, symmetric around K.
  const k = x.cubicKUs(cc);
  for (const t of [0, 1_000_000, 2_000_000, k, 6_000_000, 8_000_000]) {
    assert.is(x.cubicWindowAt(cc, BigInt(t)), wCubic(t, k, 100_000), `W_cubic(${t} µs)`);
  }
  assert.ok(Math.abs(x.cubicWindowAt(cc, 0n) - 70_000) < 0.01);
  assert.is(x.cubicWindowAt(cc, BigInt(k)), 100_000);
  assert.ok(Math.abs((x.cubicWindowAt(cc, BigInt(k - 1_000_000)) + x.cubicWindowAt(cc, BigInt(k + 1_000_000))) / 2 - 100_000) < 1e-6);
});

test('cubic: cwnd follows W_cubic through the concave and convex regions (RTT 200 ms)', () => {
  const { x, cc, counter } = afterOneLoss(100_000);
  const rtt = 200_000;
  let t = 1_000_000;
  x.ccOnAck(cc, MSS, rtt, 0);
  const k = x.cubicKUs(cc);
  const trace = [];
  // One ACK per SMSS, a window of ACKs per RTT, for 7 s.
  while (t < 1_000_000 + 7_000_000) {
    const perAck = rtt / (x.ccCwnd(cc) / MSS);
    t += perAck;
    x.setNow(t);
    x.ccOnAck(cc, MSS, rtt, 0);
    const e = Math.round(t) - 1_000_000;
    if (trace.length === 0 || e >= trace[trace.length - 1].e + 500_000) trace.push({ e, cwnd: x.ccCwnd(cc), w: wCubic(e, k, 100_000) });
  }
  console.log(`note: cubic cwnd (segments) every 0.5 s, K = ${(k / 1e6).toFixed(3)} s: ${trace.map((p) => (p.cwnd / MSS).toFixed(0)).join(' ')}`);
  // At t = 0 W_cubic = cwnd_epoch and W_est is one ACK's increment above it: that first ACK
  // only is Reno-friendly; at this BDP the cubic curve is above W_est after it.
  assert.is(counter('tcp.cc.cubic.reno_friendly_acks'), 1);
  // cwnd aims at W_cubic(t + RTT) and grows by whole SMSS: it stays within 2 SMSS of the
  // curve at t and never beyond the curve one RTT ahead.
  for (const p of trace) {
    assert.ok(Math.abs(p.cwnd - p.w) <= 2 * MSS, `cwnd ${p.cwnd} vs W_cubic ${p.w.toFixed(0)} at ${p.e} µs`);
    assert.ok(p.cwnd <= wCubic(p.e + rtt, k, 100_000) + MSS);
  }
  // Concave: growth slows towards W_max; plateau around K; convex: growth speeds up after.
  const at = (e) => trace.find((p) => p.e >= e).cwnd;
  const g1 = at(1_000_000) - at(0), g2 = at(4_000_000) - at(3_000_000), g3 = at(7_000_000 - 500_000) - at(5_500_000);
  assert.ok(g1 > g2 && g3 > g2, `growth per second: ${g1} (early) > ${g2} (near K) < ${g3} (after K)`);
  assert.ok(Math.abs(at(4_000_000) - 100_000) <= 2 * MSS, 'at K cwnd is back at W_max');
});

test('cubic: the Reno-friendly region takes over at a small BDP (eq. 4, alpha_cubic then 1)', () => {
  const { x, cc, counter } = afterOneLoss(20_000);
  assert.is(x.ccCwnd(cc), 14_000);
  const rtt = 1_000;                                       // 1 ms: a small BDP
  let t = 1_000_000;
  let wEst = 14_000, cwnd = 14_000, sawAlphaOne = false;
  for (let i = 0; i < 400; i++) {
    x.setNow(Math.round(t));
    // The RFC's W_est, updated as eq. 4 says, in bytes.
    const alpha = wEst >= 20_000 ? 1 : ALPHA;
    if (alpha === 1) sawAlphaOne = true;
    wEst += (alpha * MSS * MSS) / cwnd;
    x.ccOnAck(cc, MSS, rtt, 0);
    assert.ok(Math.abs(x.cubicWEst(cc) - wEst) < 1e-6, `W_est after ACK ${i}`);
    cwnd = x.ccCwnd(cc);
    t += rtt / (cwnd / MSS);
  }
  assert.ok(sawAlphaOne, 'W_est passed cwnd_prior, alpha_cubic became 1');
  const k = x.cubicKUs(cc);
  assert.is(k, kUs(20_000, 14_000));
  const e = Math.round(t) - 1_000_000;
  assert.ok(wCubic(e, k, 20_000) < wEst, 'W_cubic(t) is below W_est');
  assert.is(cwnd, Math.floor(wEst), 'cwnd = W_est in the Reno-friendly region');
  assert.ok(counter('tcp.cc.cubic.reno_friendly_acks') >= 390);
  console.log(`note: reno-friendly: after 400 ACKs at RTT 1 ms, W_cubic ${(wCubic(e, k, 20_000) / MSS).toFixed(1)} segments, cwnd = W_est ${(cwnd / MSS).toFixed(1)}`);
});

test('cubic: fast convergence lowers W_max when a loss comes below the previous W_max (4.7)', () => {
  const { x, cc, counter } = afterOneLoss(100_000);
  x.ccOnAck(cc, MSS, 100_000, 0);
  // Grow to 90,000 (below W_max 100,000), then a loss: W_max = 90,000 * (1 + 0.7) / 2.
  x.setNow(3_000_000);
  while (x.ccCwnd(cc) < 90_000) x.ccOnAck(cc, MSS, 100_000, 0);
  const before = x.ccCwnd(cc);
  x.ccOnCongestionEvent(cc, DUPACK, before);
  assert.is(counter('tcp.cc.cubic.fast_convergence'), 1);
  assert.is(x.cubicWMax(cc), Math.floor((before * 17) / 20));
  assert.is(x.ccSsthreshBytes(cc), Math.floor((before * 7) / 10));
  assert.is(x.ccCwnd(cc), Math.floor((before * 7) / 10) + 3 * MSS, 'fast recovery: ssthresh + 3 SMSS');
  assert.is(x.cubicEpochStartUs(cc), -1n, 'the event ends the epoch');
  // Recovery as NewReno: dup ACKs inflate, the full ACK deflates to ssthresh.
  x.ccOnDupAck(cc);
  assert.is(x.ccCwnd(cc), Math.floor((before * 7) / 10) + 4 * MSS);
  x.ccOnRecoveryExit(cc, before);
  assert.is(x.ccCwnd(cc), Math.floor((before * 7) / 10));
  // A loss at or above W_max sets W_max to cwnd (no fast convergence).
  x.setNow(4_000_000);
  x.ccOnAck(cc, MSS, 100_000, 0);
  x.setNow(60_000_000);
  while (x.ccCwnd(cc) < 80_000) x.ccOnAck(cc, MSS, 100_000, 0);
  const high = x.ccCwnd(cc);
  x.ccOnCongestionEvent(cc, ECN, high);
  assert.is(counter('tcp.cc.cubic.fast_convergence'), 1);
  assert.is(x.cubicWMax(cc), high);
  assert.is(x.ccSsthreshBytes(cc), Math.floor((high * 7) / 10));
  assert.is(x.ccCwnd(cc), Math.floor((high * 7) / 10), 'ECN-Echo: cwnd = ssthresh');
  // ssthresh never below 2 SMSS.
  x.ccOnCongestionEvent(cc, DUPACK, 2_000);
  assert.is(x.ccSsthreshBytes(cc), 2 * MSS);
});

test('cubic: RTO: ssthresh by beta_cubic, cwnd 1 SMSS, then K = 0 and W_max = cwnd_epoch (4.8)', () => {
  const { x, cc } = afterOneLoss(100_000);
  x.ccOnAck(cc, MSS, 100_000, 0);
  x.setNow(2_000_000);
  x.ccOnAck(cc, MSS, 100_000, 0);
  const cwnd = x.ccCwnd(cc);
  x.ccOnCongestionEvent(cc, RTO, 60_000);
  assert.is(x.ccSsthreshBytes(cc), 42_000);
  assert.is(x.ccCwnd(cc), MSS);
  assert.is(x.cubicEpochStartUs(cc), -1n);
  // Slow start (RFC 5681, L = 2 SMSS) back to ssthresh; no epoch meanwhile.
  x.setNow(2_500_000);
  while (x.ccCwnd(cc) < 42_000) { x.ccOnAck(cc, 2 * MSS, 100_000, 0); assert.is(x.cubicEpochStartUs(cc), -1n); }
  const epochCwnd = x.ccCwnd(cc);
  assert.is(epochCwnd, 43_000, '1,000 + 21 ACKs of 2 SMSS');
  x.setNow(3_000_000);
  x.ccOnAck(cc, MSS, 100_000, 0);
  assert.is(x.cubicEpochStartUs(cc), 3_000_000n);
  assert.is(x.cubicKUs(cc), 0);
  assert.is(x.cubicWMax(cc), epochCwnd, 'W_max = cwnd_epoch, not the ' + cwnd + ' before the timeout');
  // From K = 0 the curve is convex from cwnd_epoch: W_cubic(1 s) = 43,000 + 0.4 * 1000.
  assert.is(x.cubicWindowAt(cc, 1_000_000n), 43_400);
});

test('cubic: after an idle period the epoch restarts instead of counting the idle time', () => {
  const { x, cc, counter } = afterOneLoss(100_000);
  x.ccOnAck(cc, MSS, 100_000, 0);
  x.setNow(2_000_000);
  for (let i = 0; i < 100; i++) x.ccOnAck(cc, MSS, 100_000, 0);
  const cwnd = x.ccCwnd(cc);
  x.ccAfterIdle(cc, 200_000n, 200_000);                  // not longer than an RTO: nothing
  assert.is(x.ccCwnd(cc), cwnd);
  assert.is(x.cubicEpochStartUs(cc), 1_000_000n);
  // 30 s idle: the restart window (RFC 5681 4.1) and no epoch.
  x.ccAfterIdle(cc, 30_000_000n, 200_000);
  assert.is(x.ccCwnd(cc), 10 * MSS);
  assert.is(x.cubicEpochStartUs(cc), -1n);
  assert.is(x.ccSsthreshBytes(cc), 70_000);
  x.setNow(32_000_000);
  while (x.ccCwnd(cc) < 70_000) x.ccOnAck(cc, 2 * MSS, 100_000, 0);
  x.setNow(32_500_000);
  x.ccOnAck(cc, MSS, 100_000, 0);
  assert.is(x.cubicEpochStartUs(cc), 32_500_000n, 'the epoch starts now, not 31.5 s ago');
  assert.is(counter('tcp.cc.cubic.epochs'), 2);
  assert.is(x.cubicWMax(cc), 100_000, 'W_max survives the idle period');
  assert.is(x.cubicKUs(cc), kUs(100_000, 70_000));
  // Had the idle time counted, W_cubic(31.5 s) would be 0.4 * 27.3^3 = 8,100+ segments.
  assert.ok(x.ccCwnd(cc) < 72_000, `cwnd ${x.ccCwnd(cc)} right after the restart`);
});

test('cubic: hostile hook inputs never trap and keep cwnd within [SMSS, 2^30]', () => {
  const { x, cc } = afterOneLoss(100_000);
  const mss = MSS;
  const inputs = [0, 1, mss, 0x7fffffff, 0xffffffff];
  for (const acked of inputs) {
    for (const rtt of [0, 1, 0xffffffff]) {
      x.setNow(1_000_000 + acked % 1000);
      x.ccOnAck(cc, acked, rtt, 0);
      x.ccOnAck(cc, acked, rtt, 1);
      const w = x.ccCwnd(cc) >>> 0;
      assert.ok(w >= mss && w <= 2 ** 30, `cwnd ${w}`);
    }
  }
  x.setNow(9e15);                                          // hours of epoch: clamps at 2^30
  x.ccOnAck(cc, 0xffffffff, 0xffffffff, 0);
  assert.ok((x.ccCwnd(cc) >>> 0) <= 2 ** 30);
  x.ccOnCongestionEvent(cc, RTO, 0xffffffff);
  assert.is(x.ccCwnd(cc), mss);
  x.ccAfterIdle(cc, 0x7fffffffffffffffn, 0);
  const z = load();
  const zc = z.x.stateAreaPtr();
  assert.ok(z.x.ccInit(zc, CUBIC, 0), 'SMSS 0 is taken as 1');
  z.x.ccOnCongestionEvent(zc, DUPACK, 0);
  z.x.ccOnRecoveryExit(zc, 0);
  z.x.setNow(5e6);
  z.x.ccOnAck(zc, 1, 0, 0);
  assert.ok(z.x.ccCwnd(zc) >= 1);
});

// ---------------------------------------------------------------- whole connections

/** A transfer (tests/support/virtual-transfer.mjs) with `congestion`, its cwnd sampled every `sampleUs`. */
function transfer({ congestion, bytes, impair, seed = 7, sampleUs = 10_000, buffers = 256 * 1024 }) {
  return virtualTransfer({ tcp: { congestion, sendBuffer: buffers, recvBuffer: buffers }, bytes, impair, seed, sampleUs });
}

/** Reductions in a cwnd trace: each drop by 10% or more, with the peak before it. */
function reductions(trace) {
  const out = [];
  for (let i = 1; i < trace.length; i++) {
    if (trace[i].cwnd < trace[i - 1].cwnd * 0.9) out.push({ i, t: trace[i].t, peak: trace[i - 1].cwnd, after: trace[i].cwnd });
  }
  return out;
}

const segs = (trace, from, to, step) => trace.filter((p) => p.t >= from && p.t < to && (p.t - from) % step === 0).map((p) => Math.round(p.cwnd / p.mss)).join(' ');

test('connection: 8 MiB over 1% loss and 5 ms delay with CUBIC arrives intact, CUBIC at work', async () => {
  const r = await transfer({ congestion: 'cubic', bytes: 8 * 1024 * 1024, impair: { loss: 0.01, delay: '5ms' } });
  assert.ok(r.intact, 'the data arrived intact');
  assert.ok(r.link['dropped.loss'] > 0, 'the link lost frames');
  assert.is(r.client['tcp.cc.cubic.connections'], 1);
  assert.is(r.client['tcp.cc.newreno.connections'], 0);
  assert.ok(r.client['tcp.cc.cubic.epochs'] > 0, 'congestion avoidance ran CUBIC epochs');
  assert.ok(r.client['tcp.tx.retransmits'] > 0);
  console.log(`note: cubic over 1% loss: ${r.goodputMbps.toFixed(2)} Mbit/s simulated, ${r.client['tcp.cc.cubic.epochs']} epochs, ` +
    `${r.client['tcp.cc.cubic.reno_friendly_acks']} Reno-friendly ACKs, cwnd (segments) every 100 ms of the first 3 s: ${segs(r.trace, 0, 3_000_000, 100_000)}`);
});

/**
 * The runs of a trace between reductions (cwnd in segments) that have the cubic shape: a rise
 * of 3+ segments per sample, later a plateau (two samples in a row growing by at most 1)
 * above it, then a rise of 3+ again: concave up to W_max, then convex (RFC 9438 4.4, 4.5).
 */
function cubicShapedRuns(trace) {
  const runs = [];
  let run = [];
  for (let i = 0; i < trace.length; i++) {
    if (i > 0 && trace[i].cwnd < trace[i - 1].cwnd * 0.9) { runs.push(run); run = []; }
    run.push(Math.round(trace[i].cwnd / trace[i].mss));
  }
  runs.push(run);
  return runs.filter((r) => {
    const g = r.slice(1).map((w, i) => w - r[i]);
    const rise = g.findIndex((d) => d >= 3);
    if (rise < 0) return false;
    const plateau = g.findIndex((d, i) => i > rise && d <= 1 && g[i + 1] <= 1 && r[i] > r[rise]);
    return plateau > 0 && g.some((d, i) => i > plateau && d >= 3);
  });
}

test('connection: 0.1% loss at 100 ms RTT: CUBIC\'s cwnd is concave then convex, NewReno\'s linear', async () => {
  const impair = { loss: 0.001, delay: '50ms' };
  // 1 MiB buffers: the flows are limited by cwnd, not by the windows.
  const opts = { bytes: 24 * 1024 * 1024, impair, buffers: 1 << 20, sampleUs: 250_000 };
  const cubic = await transfer({ congestion: 'cubic', ...opts });
  const newreno = await transfer({ congestion: 'newreno', ...opts });
  assert.ok(cubic.intact && newreno.intact, 'both transfers intact');
  assert.ok(cubic.link['dropped.loss'] > 0 && newreno.link['dropped.loss'] > 0);
  assert.is(cubic.client['tcp.cc.cubic.connections'], 1);
  assert.is(newreno.client['tcp.cc.newreno.connections'], 1);
  assert.ok(cubic.client['tcp.cc.cubic.fast_convergence'] > 0, 'losses below W_max lowered it (4.7)');
  const line = (r) => r.trace.map((p) => Math.round(p.cwnd / p.mss)).join(' ');
  console.log(`note: cubic: ${cubic.goodputMbps.toFixed(2)} Mbit/s simulated, cwnd (segments) every 250 ms: ${line(cubic)}`);
  console.log(`note: newreno: ${newreno.goodputMbps.toFixed(2)} Mbit/s simulated, cwnd (segments) every 250 ms: ${line(newreno)}`);
  const shaped = cubicShapedRuns(cubic.trace);
  assert.ok(shaped.length >= 1, 'a CUBIC epoch rose, flattened at W_max and rose again');
  console.log(`note: cubic epochs with the cubic shape: ${shaped.map((r) => r.join(' ')).join(' | ')}`);
  assert.is(cubicShapedRuns(newreno.trace).length, 0, 'NewReno grows linearly (one SMSS per RTT), no plateau');
});

test.run();
