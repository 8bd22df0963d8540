#!/usr/bin/env node
// Frames per second through a MemoryLink pair (one end transmits bursts of 32, the other
// receives them), plain and impaired, through impair() and through a Recorder, for small
// and full-size frames. No WASM: the two ends are stand-in rings (tests/support/rings.mjs),
// so this measures the links alone.
//
// Usage: node bench/links.mjs [--json] [--ms N]   (N: measuring time per case, default 400)

import { MemoryLink, impair, Recorder, PcapWriter } from '../dist/index.js';
import { fakeRings, putTx, numberedFrame } from '../tests/support/rings.mjs';

const args = process.argv.slice(2);
const json = args.includes('--json');
const msArg = args.indexOf('--ms');
const measureMs = msArg >= 0 ? Number(args[msArg + 1]) : 400;
if (!(measureMs > 0)) {
  console.error('bench/links.mjs: --ms must be a positive number of milliseconds');
  process.exit(2);
}

const BURST = 32;
const impaired = { loss: 0.01, duplicate: 0.01, reorder: 0.01, corrupt: 0.01, delay: 100, jitter: 20, seed: 1 };

const cases = [
  { name: 'memory', make: () => MemoryLink.pair() },
  { name: 'memory+impairment', make: () => MemoryLink.pair(impaired) },
  { name: 'memory+rate 100gbit', make: () => MemoryLink.pair({ rate: '100gbit' }) },
  { name: 'impair(memory)', make: () => { const [a, b] = MemoryLink.pair(); return [impair(a, impaired), b]; } },
  { name: 'recorder(memory)', make: () => { const [a, b] = MemoryLink.pair(); return [new Recorder(a, { writer: new PcapWriter(() => {}) }), b]; } },
];

/** Runs bursts for `ms` of wall time; returns frames received per second. */
function measure(make, frameBytes, ms) {
  const [a, b] = make();
  const ra = fakeRings({ rxSlots: BURST, txSlots: BURST });
  const rb = fakeRings({ rxSlots: BURST, txSlots: BURST });
  a.attach(ra, () => {});
  b.attach(rb, () => {});
  putTx(ra, Array.from({ length: BURST }, (_, i) => numberedFrame(i, frameBytes)));
  let now = 0;
  let received = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 64; i++) {
      now += 10; // 32 frames per 10 µs of link time: 39 Gbit/s offered at 1514 B, under every rate here
      a.transmit(BURST, now);
      received += b.receive(now);
    }
  }
  // Drain what the delay still holds so every case counts delivered frames only.
  for (let t = b.pendingUs(); t !== Infinity; t = b.pendingUs()) received += b.receive(t);
  return received / ((performance.now() - started) / 1000);
}

const results = [];
for (const frameBytes of [64, 1514]) {
  for (const c of cases) {
    measure(c.make, frameBytes, Math.min(100, measureMs)); // warm-up
    const fps = measure(c.make, frameBytes, measureMs);
    results.push({
      name: c.name,
      frameBytes,
      framesPerSec: Math.round(fps),
      nsPerFrame: Math.round(1e9 / fps),
      gbitPerSec: Number(((fps * frameBytes * 8) / 1e9).toFixed(2)),
    });
  }
}

if (json) {
  console.log(JSON.stringify({ bench: 'links', burst: BURST, measureMs, node: process.version, results }));
} else {
  console.log(`links: frames through a MemoryLink pair, bursts of ${BURST}, ${measureMs} ms per case (${process.version})`);
  for (const r of results) {
    console.log(`  ${r.name.padEnd(22)} ${String(r.frameBytes).padStart(5)} B  ${(r.framesPerSec / 1e6).toFixed(2).padStart(6)} Mframes/s  ${String(r.nsPerFrame).padStart(5)} ns/frame  ${r.gbitPerSec.toFixed(2).padStart(6)} Gbit/s`);
  }
}
