// Fuzzing the frame input: 120,000 frames, random and mutated from the kernel fixtures, fed
// through `input()` in bursts of 1-64 to a configured stack (seeded PRNG: every run feeds the
// same frames). Checks: the stack never traps or throws; the loop is bounded; every frame is
// accounted for by exactly one terminal counter of the layers below TCP (a `drop.<layer>.<reason>`
// of eth/arp/ipv4/icmp/udp, or a `deliver.*`); every drop counter names its reason; every
// frame the stack sends in answer is well-formed (IPv4 and L4 checksums verify).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ipAddress as ip, be16, internetChecksum as refChecksum, pseudoHeaderSum as pseudoSum, buildEthernet as ethernet, buildIpv4 as ipv4,
  buildUdp as udp, buildTcp, icmpEcho, buildArp as arp,
} from '../dist/testing/frames.js';
import { fixture } from './helpers/fixtures.mjs';
import { makeStack, feed, poll, udpOpenBound, udpRecv, TxFlag } from './support/wasm-stack.mjs';

const FRAMES = 120_000;
const SEED = 0x5eed1234;
const OUR_MAC = [0x02, 0, 0, 0, 0x0a, 0x02];
const A_MAC = [0x02, 0, 0, 0, 0x0a, 0x01];
const A_IP = ip('10.61.0.1');
const B_IP = ip('10.61.0.2');
const TERMINAL = /^(drop\.(eth|arp|ipv4|icmp|udp)\.|deliver\.)/;

/** mulberry32: a small, seeded, well-mixed PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const corpus = [
  ...['arp-ping', 'udp', 'icmp-port-unreachable', 'vlan', 'fragment', 'tcp'].flatMap((n) => fixture(n)),
  ethernet(OUR_MAC, A_MAC, 0x0800, ipv4(A_IP, B_IP, 17, udp(A_IP, B_IP, 40000, 7, [1, 2, 3]))),
  ethernet(OUR_MAC, A_MAC, 0x0800, ipv4(A_IP, B_IP, 6, buildTcp(A_IP, B_IP, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: 0x02, win: 65535 }))),
  ethernet(OUR_MAC, A_MAC, 0x0800, ipv4(A_IP, B_IP, 1, icmpEcho(8, 1, 1, new Array(40).fill(7)))),
  ethernet(OUR_MAC, A_MAC, 0x0800, ipv4(A_IP, B_IP, 99, [1, 2, 3, 4])),
  ethernet([255, 255, 255, 255, 255, 255], A_MAC, 0x0806, arp(1, A_MAC, A_IP, [0, 0, 0, 0, 0, 0], B_IP)),
];

/** Re-computes the IPv4 header checksum (and UDP/ICMP ones) so a mutation can reach deeper layers. */
function fixChecksums(f, r) {
  const eth = be16(f, 12) === 0x8100 ? 18 : 14;
  if (f.length < eth + 20 || be16(f, eth - 2) !== 0x0800) return;
  const hl = (f[eth] & 15) * 4;
  if (hl < 20 || f.length < eth + hl) return;
  f[eth + 10] = 0; f[eth + 11] = 0;
  const c = refChecksum(f.subarray(eth, eth + hl));
  f[eth + 10] = c >>> 8; f[eth + 11] = c & 255;
  const total = Math.min(be16(f, eth + 2), f.length - eth);
  const l4 = eth + hl;
  if (r() < 0.5 || total <= hl) return;
  const seg = f.subarray(l4, eth + total);
  const src = ((f[eth + 12] << 24) | (f[eth + 13] << 16) | (f[eth + 14] << 8) | f[eth + 15]) >>> 0;
  const dst = ((f[eth + 16] << 24) | (f[eth + 17] << 16) | (f[eth + 18] << 8) | f[eth + 19]) >>> 0;
  const proto = f[eth + 9];
  const at = proto === 1 ? 2 : proto === 17 ? 6 : proto === 6 ? 16 : -1;
  if (at < 0 || seg.length < at + 2) return;
  seg[at] = 0; seg[at + 1] = 0;
  const k = refChecksum(seg, proto === 1 ? 0 : pseudoSum(src, dst, proto, seg.length));
  seg[at] = k >>> 8; seg[at + 1] = k & 255;
}

function mutate(base, r) {
  let f = base.slice();
  if (r() < 0.7) f.set(OUR_MAC, 0);
  if (r() < 0.5 && f.length >= 34 && be16(f, 12) === 0x0800) f.set([10, 61, 0, 2], 30);
  const n = 1 + Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const what = r();
    if (what < 0.45 && f.length) f[Math.floor(r() * f.length)] ^= 1 << Math.floor(r() * 8);
    else if (what < 0.65 && f.length) f[Math.floor(r() * Math.min(f.length, 60))] = Math.floor(r() * 256);
    else if (what < 0.8) f = f.slice(0, Math.floor(r() * (f.length + 1)));
    else if (what < 0.9) f = Uint8Array.from([...f, ...Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256))]);
    else if (f.length > 20) { const o = 14 + Math.floor(r() * 6); f[o] = Math.floor(r() * 256); }
  }
  if (r() < 0.6) fixChecksums(f, r);
  return f.length > 2048 ? f.subarray(0, 2048) : f;
}

function randomFrame(r) {
  const f = Uint8Array.from({ length: Math.floor(r() * 1515) }, () => Math.floor(r() * 256));
  if (r() < 0.5 && f.length >= 14) f.set(OUR_MAC, 0);
  if (r() < 0.3 && f.length >= 14) { f[12] = 0x08; f[13] = r() < 0.5 ? 0x00 : 0x06; }
  return f;
}

/**
 * Every frame the stack sends must be well-formed: checksums verify, or, where the descriptor
 * asks the port to compute one, the field holds what the port expects (0 for the IPv4 header,
 * the pseudo-header sum for TCP/UDP).
 */
function checkOutput(frames) {
  for (const { bytes: f, flags } of frames) {
    assert.ok(f.length >= 60 && f.length <= 1514, `output length ${f.length}`);
    assert.equal(Array.from(f.subarray(6, 12)), OUR_MAC, 'source MAC is ours');
    if (be16(f, 12) !== 0x0800) continue;
    if (flags & TxFlag.IP_CSUM) assert.is(be16(f, 24), 0, 'IPv4 checksum left to the port');
    else assert.is(refChecksum(f.subarray(14, 34)), 0, 'IPv4 header checksum');
    const total = be16(f, 16);
    assert.ok(14 + total <= f.length);
    const proto = f[23];
    const seg = f.subarray(34, 14 + total);
    const src = ((f[26] << 24) | (f[27] << 16) | (f[28] << 8) | f[29]) >>> 0;
    const dst = ((f[30] << 24) | (f[31] << 16) | (f[32] << 8) | f[33]) >>> 0;
    const offloaded = (proto === 6 && flags & TxFlag.TCP_CSUM) || (proto === 17 && flags & TxFlag.UDP_CSUM);
    if (proto === 1) assert.is(refChecksum(seg), 0, 'ICMP checksum');
    else if (offloaded) assert.is(be16(seg, proto === 6 ? 16 : 6), pseudoSum(src, dst, proto, seg.length), 'pseudo-header sum for the port');
    else assert.is(refChecksum(seg, pseudoSum(src, dst, proto, seg.length)), 0, `L4 checksum (proto ${proto})`);
  }
}

/** Feeds `frames` random/mutated frames to `s` in bursts; returns the counters and frames sent. */
function fuzz(s, seed, frames, socks) {
  const r = prng(seed);
  let fed = 0;
  let now = 0;
  let sent = 0;
  let bursts = 0;
  while (fed < frames) {
    bursts++;
    assert.ok(bursts <= frames, 'bounded loop');
    const n = Math.min(1 + Math.floor(r() * 64), frames - fed);
    const batch = Array.from({ length: n }, () => (r() < 0.25 ? randomFrame(r) : mutate(corpus[Math.floor(r() * corpus.length)], r)));
    const flags = r() < 0.1 ? Math.floor(r() * 16) : 0;
    now += Math.floor(r() * 20_000);
    const out = feed(s, batch, now, flags);
    checkOutput(out);
    sent += out.length;
    fed += n;
    if (r() < 0.1) { checkOutput(poll(s, now)); }
    if (r() < 0.2) for (const h of socks) while (udpRecv(s, h) !== -11);
  }
  return { c: s.counters(), fed, sent };
}

/** Every frame ends in exactly one terminal counter; every drop counter names its reason. */
function checkAccounting(c, fed) {
  assert.is(c['eth.rx.frames'], fed);
  const accounted = Object.entries(c).filter(([k]) => TERMINAL.test(k)).reduce((a, [, v]) => a + v, 0);
  assert.is(accounted, fed, 'every frame ends in exactly one terminal counter');
  for (const name of Object.keys(c).filter((k) => k.startsWith('drop.'))) {
    assert.match(name, /^drop\.[a-z0-9_]+\.[a-z0-9_]+$/, `${name} is drop.<layer>.<reason>`);
    assert.not.match(name, /\.(other|misc|unknown|error)$/, `${name} is a catch-all`);
  }
}

test(`${FRAMES} random and mutated frames: no trap, bounded, every frame counted by a named reason`, () => {
  const s = makeStack({ arpEntries: 16, arpPendingFrames: 16, udpRecvBuffer: 4096, icmpErrorsPerSec: 1000 });
  const socks = [7, 9999, 9998].map((p) => udpOpenBound(s, p));
  const { c, fed, sent } = fuzz(s, SEED, FRAMES, socks);
  checkAccounting(c, fed);
  // The fuzz reached every layer.
  for (const k of ['deliver.arp.request', 'deliver.icmp.echo_request', 'deliver.udp', 'deliver.tcp', 'drop.ipv4.bad_checksum',
    'drop.udp.port_closed', 'drop.eth.other_host', 'drop.ipv4.fragment_no_reassembly', 'drop.eth.vlan']) {
    assert.ok(c[k] > 0, `${k} reached (${c[k]})`);
  }
  assert.ok(sent > 0);
  assert.ok(s.exports.arpPendingFree() <= 16);
});

test('30000 frames to a stack at its limits: one TX slot, one ARP entry, no pending pool, no UDP sockets, no ICMP errors, every offload', () => {
  const s = makeStack({
    txSlots: 1, arpEntries: 1, arpPendingFrames: 0, udpMaxSockets: 0, icmpErrorsPerSec: 0, offloads: 31,
  });
  const { c, fed } = fuzz(s, SEED ^ 0xabcdef, 30_000, []);
  checkAccounting(c, fed);
  assert.is(c['icmp.tx.unreachable'] ?? 0, 0, 'icmpErrorsPerSec 0 sends no error');
  assert.ok(c['drop.udp.port_closed'] > 0);
  assert.is(s.exports.arpPendingFree(), 0);
});

test.run();
