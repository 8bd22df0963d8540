// A stand-in for a stack's frame rings, for link tests that need no WASM: the same
// descriptor layout as assembly/frame/rings.ts (src/links/link.ts `Desc`) over a plain
// ArrayBuffer, plus helpers to put frames in TX slots and take them out of RX slots
// (tests/helpers/descriptors.mjs reads and writes the descriptors).

import { Desc } from '../../dist/links/link.js';
import { descAt, readDesc, writeTx } from '../helpers/descriptors.mjs';

/** Rings of `rxSlots`/`txSlots` slots of `slotBytes`, laid out as the stack lays them out. */
export function fakeRings({ rxSlots = 32, txSlots = 32, slotBytes = 2048 } = {}) {
  const rxDesc = 64;
  const txDesc = rxDesc + rxSlots * Desc.SIZE;
  const rxData = (txDesc + txSlots * Desc.SIZE + 63) & ~63;
  const txData = rxData + rxSlots * slotBytes;
  const buffer = new ArrayBuffer(txData + txSlots * slotBytes);
  const instance = {
    u8: new Uint8Array(buffer),
    u32: new Uint32Array(buffer),
    dv: new DataView(buffer),
    refreshViews() {},
  };
  for (let i = 0; i < rxSlots; i++) instance.dv.setUint32(rxDesc + i * Desc.SIZE + Desc.ADDR, rxData + i * slotBytes, true);
  for (let i = 0; i < txSlots; i++) instance.dv.setUint32(txDesc + i * Desc.SIZE + Desc.ADDR, txData + i * slotBytes, true);
  return { instance, rxDesc, rxSlots, rxSlotBytes: slotBytes, txDesc, txSlots, txSlotBytes: slotBytes };
}

/** Writes `frames` (Uint8Arrays) into TX descriptors 0..n-1 with optional descriptor fields. */
export function putTx(rings, frames, fields = {}) {
  frames.forEach((f, i) => writeTx(rings.instance, descAt(rings.txDesc, i), f, fields));
}

/** Transmits `frames` on `link` (attached to `rings`) at `nowUs`. */
export function send(rings, link, frames, nowUs, fields) {
  putTx(rings, frames, fields);
  link.transmit(frames.length, nowUs);
}

/** Descriptor `d`'s fields with its frame as `data`. */
function withData(d) {
  const { bytes, ...fields } = d;
  return { ...fields, data: bytes };
}

/** Descriptor `i` of the RX ring: its fields and a copy of its frame (`data`). */
export const rxDesc = (rings, i) => withData(readDesc(rings.instance, descAt(rings.rxDesc, i)));

/** Descriptor `i` of the TX ring: its fields and a copy of its frame (`data`). */
export const txDesc = (rings, i) => withData(readDesc(rings.instance, descAt(rings.txDesc, i)));

/** Receives on `link` at `nowUs`; returns copies of the frames. */
export function receive(rings, link, nowUs) {
  const n = link.receive(nowUs);
  const out = [];
  for (let i = 0; i < n; i++) out.push(rxDesc(rings, i).data);
  return out;
}

/**
 * A numbered test frame of `length` bytes: broadcast Ethernet header, an experimental
 * EtherType (0x88b5, IEEE 802 local experimental), the number as a big-endian u32, then a
 * byte pattern derived from it.
 */
export function numberedFrame(n, length = 128) {
  const f = new Uint8Array(length);
  f.fill(0xff, 0, 6);
  f.set([0x02, 0, 0, 0, 0, 0x01], 6);
  f[12] = 0x88; f[13] = 0xb5;
  new DataView(f.buffer).setUint32(14, n);
  for (let i = 18; i < length; i++) f[i] = (n * 31 + i) & 0xff;
  return f;
}

/** The number a `numberedFrame` carries. */
export function frameNumber(f) {
  return new DataView(f.buffer, f.byteOffset).getUint32(14);
}
