// Frame descriptors as the stack lays them out (assembly/frame/rings.ts; byte offsets from
// src/links/link.ts `Desc`), written and read by tests over any { dv, u8 } view of the memory
// that holds them: a stack instance's linear memory (call its refreshViews() first) or the
// stand-in of tests/support/rings.mjs. Every descriptor's slot address is preset (by the
// stack at init, by fakeRings in the stand-in); writers put the frame at that address.

import { Desc } from '../../dist/links/link.js';

/** Address of descriptor `i` of a ring whose descriptors start at `base`. */
export const descAt = (base, i) => base + i * Desc.SIZE;

/** Puts `frame` in the slot of RX descriptor `d`, with its length and the RX `flags` (as a link does). */
export function writeRx(mem, d, frame, flags = 0) {
  mem.u8.set(frame, mem.dv.getUint32(d + Desc.ADDR, true));
  mem.dv.setUint32(d + Desc.LEN, frame.length, true);
  mem.dv.setUint32(d + Desc.FLAGS, flags, true);
}

/**
 * Puts `frame` in the slot of TX descriptor `d` with the TX fields (as the stack does). `len`
 * and `addr` override what the descriptor says, for malformed descriptors: the frame is still
 * written at the preset slot.
 */
export function writeTx(mem, d, frame, { len = frame.length, flags = 0, l2 = 0, l3 = 0, l4 = 0, tsoMss = 0, addr } = {}) {
  const { dv, u8 } = mem;
  u8.set(frame, dv.getUint32(d + Desc.ADDR, true));
  dv.setUint32(d + Desc.LEN, len, true);
  dv.setUint32(d + Desc.FLAGS, flags, true);
  dv.setUint8(d + Desc.L2, l2);
  dv.setUint8(d + Desc.L3, l3);
  dv.setUint8(d + Desc.L4, l4);
  dv.setUint16(d + Desc.TSO_MSS, tsoMss, true);
  if (addr !== undefined) dv.setUint32(d + Desc.ADDR, addr, true);
}

/** Descriptor `d`: { addr, len, flags, rss, l2, l3, l4, tsoMss } and `bytes`, a copy of its frame. */
export function readDesc(mem, d) {
  const { dv, u8 } = mem;
  const addr = dv.getUint32(d + Desc.ADDR, true);
  const len = dv.getUint32(d + Desc.LEN, true);
  return {
    addr, len, flags: dv.getUint32(d + Desc.FLAGS, true), rss: dv.getUint32(d + Desc.RSS, true),
    l2: dv.getUint8(d + Desc.L2), l3: dv.getUint8(d + Desc.L3), l4: dv.getUint8(d + Desc.L4),
    tsoMss: dv.getUint16(d + Desc.TSO_MSS, true), bytes: u8.slice(addr, addr + len),
  };
}
