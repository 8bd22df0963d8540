#!/usr/bin/env node
// The shim's hot path in ns per packet: frames from DPDK's net_null device (no I/O: what is
// measured is the shim, the copies and the mempool) into a stack instance's RX descriptors,
// then bounced back out through the TX descriptors, 32-frame bursts, one native call per
// burst each way. Three paths, for 64- and 1514-byte frames: copying both ways; zero-copy
// receive (mbuf data inside the instance's linear memory) with a copying transmit; zero-copy
// both ways (the frame rewritten in place leaves in the mbuf it arrived in).
//
// Usage: node bench/dpdk-burst.mjs [--json] [--packets N]
// Prints one line per case, or with --json one JSON object { cases: [...] }.

import { loadDpdk } from '../dist/dpdk/addon.js';
import { startEal, openPort } from '../dist/dpdk/index.js';
import { StackInstance } from '../dist/wasm/instance.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const packetsArg = args.indexOf('--packets');
const PACKETS = packetsArg >= 0 ? Number(args[packetsArg + 1]) : 2_000_000;
const BURST = 32;
const WARMUP_BURSTS = 2000;

const dpdk = loadDpdk();
const SIZES = [64, 1514];
startEal({ vdevs: SIZES.map((size) => `net_null${size},size=${size}`) });

function instance() {
  const s = new StackInstance();
  s.setConfig('rxSlots', BURST);
  s.setConfig('txSlots', BURST);
  s.init();
  return s;
}

function runCase(size, zeroCopy, inPlaceTx) {
  const portId = dpdk.Port.byName(`net_null${size}`);
  const { port } = openPort(portId, { queues: 1 });
  const s = instance();
  const ex = s.exports;
  const layout = {
    rxDesc: ex.rxDescBase(), rxSlots: ex.rxSlotCount(), rxSlotBytes: ex.rxSlotBytes(),
    txDesc: ex.txDescBase(), txSlots: ex.txSlotCount(), txSlotBytes: ex.txSlotBytes(),
  };
  const plan = dpdk.Queue.plan(portId, layout);
  let options = {};
  if (zeroCopy) {
    const region = ex.extbufReserve(plan.zeroCopyBytes, plan.zeroCopyAlign);
    options = { zeroCopyOffset: region, zeroCopyBytes: plan.zeroCopyBytes, inPlaceTx };
  }
  s.refreshViews();
  const q = new dpdk.Queue(portId, 0, ex.memory.buffer, layout, options);
  if (q.zeroCopy !== zeroCopy) throw new Error(`zero-copy unavailable: ${q.zeroCopyReason}`);
  port.start();
  const u32 = new Uint32Array(ex.memory.buffer);
  const rx = layout.rxDesc >>> 2;
  const tx = layout.txDesc >>> 2;
  // The bounce: TX descriptor i sends RX frame i (what a stack rewriting in place would do).
  const burst = () => {
    const n = q.rx();
    for (let i = 0; i < n; i++) {
      u32[tx + i * 8] = u32[rx + i * 8];
      u32[tx + i * 8 + 1] = u32[rx + i * 8 + 1];
      u32[tx + i * 8 + 2] = 0;
    }
    return q.tx(n);
  };
  for (let i = 0; i < WARMUP_BURSTS; i++) burst();
  let sent = 0;
  const t0 = process.hrtime.bigint();
  while (sent < PACKETS) sent += burst();
  const ns = Number(process.hrtime.bigint() - t0);
  const st = q.stats();
  q.close();
  port.stop();
  port.close();
  return { size, receive: zeroCopy ? 'zero-copy' : 'copy', transmit: st.txInPlace > 0 ? 'in-place' : 'copy', packets: sent, nsPerPacket: +(ns / sent).toFixed(1), mpps: +(sent / ns * 1000).toFixed(2), rxZeroCopy: st.rxZeroCopy > 0, drops: st.txDropNoMbuf + st.txDropQueueFull };
}

const cases = [];
for (const size of SIZES) {
  for (const [zeroCopy, inPlaceTx] of [[false, false], [true, false], [true, true]]) {
    // Each case on a fresh port: ports are closed after use, so re-add the device.
    if (cases.length >= 1 && !dpdk.eal.ports().some((p) => p.name === `net_null${size}`)) dpdk.eal.attachVdev(`net_null${size},size=${size}`);
    cases.push(runCase(size, zeroCopy, inPlaceTx));
  }
}
if (json) {
  console.log(JSON.stringify({ bench: 'dpdk-burst', device: 'net_null', burst: BURST, cases }, null, 2));
} else {
  for (const c of cases) {
    console.log(`${String(c.size).padStart(5)} B  rx ${c.receive.padEnd(9)}  tx ${c.transmit.padEnd(8)}  ${c.nsPerPacket.toFixed(1).padStart(7)} ns/packet  ${c.mpps.toFixed(2)} Mpps  (${c.packets} packets, rx+bounce+tx)`);
  }
}
