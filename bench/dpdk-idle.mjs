#!/usr/bin/env node
// The idle policies of a polled (DPDK) link: CPU spent while nothing arrives, and the latency
// of the first packet after a quiet spell, for poll: 'busy' and poll: 'adaptive'.
//
// Two stacks in this process, joined by a crossed net_ring pair (no privileges needed); the
// receiving stack runs the policy under test, the sender is always adaptive. Idle CPU is the
// process's CPU time over wall time while both are quiet (100% = one core). Latency is from
// the sender's `send` call to the receiver's 'message' event, after each quiet spell.
//
// As root, a third row measures RX interrupts at the shim level: a net_tap queue configured
// with rxInterrupts sleeps in `waitForFrames` while the kernel is quiet (its CPU), and the
// latency is from the kernel's `send` of a datagram to the wait resolving. The stack's
// driver does not use interrupts yet: this is what its idle policy would get from them.
//
// Usage: node bench/dpdk-idle.mjs [--json] [--idle-ms N] [--samples N]

import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { loadDpdk } from '../dist/dpdk/addon.js';
import { StackInstance } from '../dist/wasm/instance.js';
import { startEal, openPort } from '../dist/dpdk/index.js';
import { DpdkLink } from '../dist/links/dpdk.js';
import { createStack } from '../dist/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const opt = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const IDLE_MS = opt('--idle-ms', 2000);
const SAMPLES = opt('--samples', 20);
const GAP_MS = 200;

const dpdk = loadDpdk();
startEal({});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function measure(policy, n) {
  const [a, b] = dpdk.ringPorts.createPair(`idle_a${n}`, `idle_b${n}`);
  openPort(a);
  openPort(b);
  const sender = await createStack({ link: new DpdkLink({ port: a }), address: '10.55.0.1/24', seed: 1, poll: 'adaptive' });
  const receiver = await createStack({ link: new DpdkLink({ port: b }), address: '10.55.0.2/24', seed: 2, poll: policy });
  const tx = sender.dgram.createSocket('udp4');
  const rx = receiver.dgram.createSocket('udp4');
  await new Promise((r) => rx.bind(4000, r));
  const exchange = () => new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    rx.once('message', () => resolve(Number(process.hrtime.bigint() - t0) / 1000));
    tx.send('x', 4000, '10.55.0.2');
  });
  await exchange(); // resolves ARP once

  await sleep(300);
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  await sleep(IDLE_MS);
  const cpu = process.cpuUsage(cpu0);
  const wallUs = Number(process.hrtime.bigint() - wall0) / 1000;
  const idleCpuPercent = +(((cpu.user + cpu.system) / wallUs) * 100).toFixed(1);

  const lat = [];
  for (let i = 0; i < SAMPLES; i++) {
    await sleep(GAP_MS);
    lat.push(await exchange());
  }
  lat.sort((x, y) => x - y);
  tx.close();
  rx.close();
  await sender.close({ timeoutMs: 100 });
  await receiver.close({ timeoutMs: 100 });
  new dpdk.Port(a).close();
  new dpdk.Port(b).close();
  const pick = (q) => +lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(1);
  return { poll: policy, idleCpuPercent, firstPacketUs: { min: pick(0), median: pick(0.5), max: pick(1) }, samples: SAMPLES };
}

/** RX interrupts on a net_tap queue (root only): idle CPU while waiting, wake-up latency. */
async function measureInterrupts() {
  const iface = `wtbi${process.pid % 10000}`;
  startEal({ vdevs: [`net_tap99,iface=${iface}`] });
  const { port } = openPort('net_tap99', { rxInterrupts: true });
  const s = new StackInstance();
  s.init();
  const ex = s.exports;
  const q = new dpdk.Queue(port.portId, 0, ex.memory.buffer, {
    rxDesc: ex.rxDescBase(), rxSlots: ex.rxSlotCount(), rxSlotBytes: ex.rxSlotBytes(),
    txDesc: ex.txDescBase(), txSlots: ex.txSlotCount(), txSlotBytes: ex.txSlotBytes(),
  });
  port.start();
  execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
  execFileSync('ip', ['addr', 'add', '10.54.0.1/24', 'dev', iface]);
  execFileSync('ip', ['link', 'set', iface, 'up']);
  execFileSync('ip', ['neigh', 'replace', '10.54.0.2', 'lladdr', '02:00:00:00:00:54', 'dev', iface]);
  const sock = createSocket('udp4');
  while (q.rx() > 0);
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  await q.waitForFrames(IDLE_MS);
  const cpu = process.cpuUsage(cpu0);
  const idleCpuPercent = +(((cpu.user + cpu.system) / (Number(process.hrtime.bigint() - wall0) / 1000)) * 100).toFixed(1);
  const lat = [];
  for (let i = 0; i < SAMPLES; i++) {
    await sleep(GAP_MS);
    while (q.rx() > 0);
    const woken = q.waitForFrames(5000);
    const t0 = process.hrtime.bigint();
    sock.send('x', 9, '10.54.0.2');
    await woken;
    lat.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  sock.close();
  q.close();
  port.close();
  lat.sort((x, y) => x - y);
  const pick = (f) => +lat[Math.min(lat.length - 1, Math.floor(f * lat.length))].toFixed(1);
  return { poll: 'interrupts', idleCpuPercent, firstPacketUs: { min: pick(0), median: pick(0.5), max: pick(1) }, samples: SAMPLES };
}

const results = [];
for (const [i, policy] of ['busy', 'adaptive'].entries()) results.push(await measure(policy, i));
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot) results.push(await measureInterrupts());
else if (!json) console.log('(interrupts row skipped: net_tap needs root)');
if (json) {
  console.log(JSON.stringify({ bench: 'dpdk-idle', link: 'net_ring pair (interrupts: net_tap queue, shim only)', idleMs: IDLE_MS, results }, null, 2));
} else {
  for (const r of results) {
    console.log(`${r.poll.padEnd(10)}  idle CPU ${String(r.idleCpuPercent).padStart(5)}%  first packet after ${GAP_MS} ms quiet: min ${r.firstPacketUs.min} us, median ${r.firstPacketUs.median} us, max ${r.firstPacketUs.max} us`);
  }
}
