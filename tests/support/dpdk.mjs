// Helpers of the DPDK tests (tests/dpdk*.test.mjs): whether DPDK (and root) is there, with
// the skip-or-fail rule, and access to a real stack instance's frame rings (instances come
// from tests/support/wasm-stack.mjs, descriptors from tests/helpers/descriptors.mjs).
//
// Rule: a test that cannot run here prints `skip: <reason>`; under CI (CI=true), where the
// machine is prepared as root with libdpdk, the same condition is a failure instead.
// Tests start EAL with `hugepages: false` (only tests/dpdk-hugepages.test.mjs uses them): the
// runner runs files in parallel, and 'auto' would race for the pages that test reserves.

import { dpdkAvailable, loadDpdk } from '../../dist/dpdk/addon.js';
import { descAt, readDesc, writeTx } from '../helpers/descriptors.mjs';

export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
export const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

/** Why the DPDK addon cannot be loaded here ('<code>: <message>'), or null when it can. */
export function dpdkUnavailableReason() {
  if (dpdkAvailable()) return null;
  try {
    loadDpdk();
  } catch (e) {
    return `${e.code}: ${e.message}`;
  }
  return 'the DPDK addon is not built (npm run build:addon)';
}

/** The addon, or null after printing why these tests skip (a failure under CI). */
export function dpdkOrSkip(file) {
  const why = dpdkUnavailableReason();
  if (why === null) return loadDpdk();
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
  frames.forEach((f, i) => writeTx(s, descAt(base, i), f, fields[i]));
}

/** RX descriptors 0..n-1: { addr, bytes (a copy), flags, rss } (and the other fields). */
export function takeRx(s, n) {
  s.refreshViews();
  const base = s.exports.rxDescBase();
  return Array.from({ length: n }, (_, i) => readDesc(s, descAt(base, i)));
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
