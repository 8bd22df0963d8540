// Helpers of the DPDK tests (tests/dpdk*.test.mjs): whether DPDK (and root) is there, with
// the skip-or-fail rule, and access to a real stack instance's frame rings.
//
// Rule: a test that cannot run here prints `skip: <reason>`; under CI (CI=true), where the
// machine is prepared as root with libdpdk, the same condition is a failure instead.
// Tests start EAL with `hugepages: false` (only tests/dpdk-hugepages.test.mjs uses them): the
// runner runs files in parallel, and 'auto' would race for the pages that test reserves.

import { StackInstance } from '../../dist/wasm/instance.js';
import { dpdkAvailable, loadDpdk } from '../../dist/dpdk/addon.js';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

const DESC = { SIZE: 32, ADDR: 0, LEN: 4, FLAGS: 8, RSS: 12, L2: 16, L3: 17, L4: 18, TSO_MSS: 20 };
export { DESC };

/** The addon, or null after printing why these tests skip (a failure under CI). */
export function dpdkOrSkip(file) {
  if (dpdkAvailable()) return loadDpdk();
  let why;
  try {
    loadDpdk();
  } catch (e) {
    why = `${e.code}: ${e.message}`;
  }
  if (IN_CI) throw new Error(`${file}: CI must have DPDK (.ci/run installs libdpdk-dev and builds the addon), but ${why}`);
  console.log(`skip: ${file}: ${why}`);
  return null;
}

/** True when root; otherwise prints the skip reason (a failure under CI, which runs as root). */
export function rootOrSkip(what) {
  if (IS_ROOT) return true;
  if (IN_CI) throw new Error(`${what} needs root and CI runs as root: run .ci/run as root`);
  console.log(`skip: ${what}: needs root (CAP_NET_ADMIN); CI runs it as root`);
  return false;
}

/** A stack instance, configured (`config` keys of assembly/abi/config.ts) and initialised. */
export function stackInstance(config = {}) {
  const s = new StackInstance();
  for (const [k, v] of Object.entries(config)) s.setConfig(k, v);
  s.init();
  return s;
}

/** The instance's rings in the FrameRings shape links take. */
export function ringsOf(s) {
  const ex = s.exports;
  return {
    instance: s,
    rxDesc: ex.rxDescBase(), rxSlots: ex.rxSlotCount(), rxSlotBytes: ex.rxSlotBytes(),
    txDesc: ex.txDescBase(), txSlots: ex.txSlotCount(), txSlotBytes: ex.txSlotBytes(),
  };
}

/** Writes frames into TX descriptors 0..n-1 (their preset slots), with optional fields per frame. */
export function putTx(s, frames, fields = []) {
  s.refreshViews();
  const base = s.exports.txDescBase();
  frames.forEach((f, i) => {
    const d = base + i * DESC.SIZE;
    const addr = s.dv.getUint32(d + DESC.ADDR, true);
    s.u8.set(f, addr);
    s.dv.setUint32(d + DESC.LEN, fields[i]?.len ?? f.length, true);
    s.dv.setUint32(d + DESC.FLAGS, fields[i]?.flags ?? 0, true);
    s.u8[d + DESC.L2] = fields[i]?.l2 ?? 0;
    s.u8[d + DESC.L3] = fields[i]?.l3 ?? 0;
    s.u8[d + DESC.L4] = fields[i]?.l4 ?? 0;
    s.dv.setUint16(d + DESC.TSO_MSS, fields[i]?.tsoMss ?? 0, true);
    if (fields[i]?.addr !== undefined) s.dv.setUint32(d + DESC.ADDR, fields[i].addr, true);
  });
}

/** RX descriptors 0..n-1: { addr, bytes (a copy), flags, rss }. */
export function takeRx(s, n) {
  s.refreshViews();
  const base = s.exports.rxDescBase();
  const out = [];
  for (let i = 0; i < n; i++) {
    const d = base + i * DESC.SIZE;
    const addr = s.dv.getUint32(d + DESC.ADDR, true);
    const len = s.dv.getUint32(d + DESC.LEN, true);
    out.push({ addr, bytes: s.u8.slice(addr, addr + len), flags: s.dv.getUint32(d + DESC.FLAGS, true), rss: s.dv.getUint32(d + DESC.RSS, true) });
  }
  return out;
}

/** `n` pseudo-random bytes from `seed` (xorshift32), for frame payloads. */
export function bytes(n, seed) {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Receives until `want` frames arrived or `tries` empty polls (ring ports deliver at once). */
export function rxAll(queue, s, want, tries = 100) {
  const got = [];
  for (let t = 0; t < tries && got.length < want; t++) {
    const n = queue.rx();
    got.push(...takeRx(s, n));
  }
  return got;
}
