// The frame boundary: RX and TX rings of fixed-size slots, with one descriptor per slot,
// inside linear memory.
//
// Guarantees: the rings are allocated once at init and never move; the host (a link, the
// native shim) writes received frames and reads frames to send in place. Per burst the host
// fills RX descriptors 0..n-1 and calls `input(n, nowUs)`; the stack writes TX descriptors
// 0..m-1 and returns m. A descriptor's `addr` may point anywhere in linear memory (zero-copy
// RX puts mbuf data there); `rxSlotAddr(i)` is the default, copying, place.
//
// Descriptor layout (32 bytes, little-endian):
//
//   0        4        8        12       16   17   18   19   20       22       24       28
//   +--------+--------+--------+--------+----+----+----+----+--------+--------+--------+--------+
//   | addr   | len    | flags  | rss    | l2 | l3 | l4 | -  | tsoMss | -      | owner  | -      |
//   +--------+--------+--------+--------+----+----+----+----+--------+--------+--------+--------+
//
// flags: RX_* on receive (what the port checked), TX_* on transmit (what the port must do).
// l2/l3/l4 are header lengths for the port's offload engine; tsoMss the TSO segment size.

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";

const TX_FRAMES = defineCounter("eth.tx.frames");

export const DESC_SIZE: u32 = 32;
@inline export const D_ADDR: u32 = 0;
@inline export const D_LEN: u32 = 4;
@inline export const D_FLAGS: u32 = 8;
@inline export const D_RSS: u32 = 12;
@inline export const D_L2: u32 = 16;
@inline export const D_L3: u32 = 17;
@inline export const D_L4: u32 = 18;
@inline export const D_TSO_MSS: u32 = 20;
@inline export const D_OWNER: u32 = 24;

export namespace RxFlag {
  export const IP_CSUM_GOOD: u32 = 1 << 0;
  export const IP_CSUM_BAD: u32 = 1 << 1;
  export const L4_CSUM_GOOD: u32 = 1 << 2;
  export const L4_CSUM_BAD: u32 = 1 << 3;
  export const RSS_VALID: u32 = 1 << 4;
}

export namespace TxFlag {
  export const IPV4: u32 = 1 << 0;
  export const IP_CSUM: u32 = 1 << 1;
  export const TCP_CSUM: u32 = 1 << 2;
  export const UDP_CSUM: u32 = 1 << 3;
  export const TSO: u32 = 1 << 4;
}

let rxDesc: usize = 0;
let rxData: usize = 0;
let txDesc: usize = 0;
let txData: usize = 0;
let rxSlots: u32 = 0;
let txSlots: u32 = 0;
let rxSlotSize: u32 = 0;
let txSlotSize: u32 = 0;
/** TX descriptors filled since the last burst started. Invariant: txUsed <= txSlots. */
let txUsed: u32 = 0;
/**
 * True only inside `input`/`poll`. Output produced by a socket call between bursts finds no
 * room and stays pending until the next poll, because the host has already sent (and will
 * reuse) the TX descriptors of the last burst.
 */
let inBurst = false;

export function ringsInit(): void {
  rxSlots = cfg(Cfg.RxSlots);
  txSlots = cfg(Cfg.TxSlots);
  rxSlotSize = cfg(Cfg.RxSlotSize);
  txSlotSize = cfg(Cfg.TxSlotSize);
  rxDesc = allocZeroed(rxSlots * DESC_SIZE);
  txDesc = allocZeroed(txSlots * DESC_SIZE);
  // Slot data 64-byte aligned so a frame starts on a cache line.
  rxData = allocAligned(rxSlots * rxSlotSize, 64);
  txData = allocAligned(txSlots * txSlotSize, 64);
  for (let i: u32 = 0; i < rxSlots; i++) {
    store<u32>(rxDesc + i * DESC_SIZE, rxData + i * rxSlotSize, D_ADDR);
  }
  for (let i: u32 = 0; i < txSlots; i++) {
    store<u32>(txDesc + i * DESC_SIZE, txData + i * txSlotSize, D_ADDR);
  }
  txUsed = 0;
}

export function allocZeroed(size: usize): usize {
  const p = heap.alloc(size);
  memory.fill(p, 0, size);
  return p;
}

export function allocAligned(size: usize, align: usize): usize {
  const p = heap.alloc(size + align);
  memory.fill(p, 0, size + align);
  return (p + align - 1) & ~(align - 1);
}

@inline export function rxDescAt(i: u32): usize { return rxDesc + i * DESC_SIZE; }
@inline export function rxFrameAddr(i: u32): usize { return <usize>load<u32>(rxDesc + i * DESC_SIZE, D_ADDR); }
@inline export function rxFrameLen(i: u32): u32 { return load<u32>(rxDesc + i * DESC_SIZE, D_LEN); }
@inline export function rxFrameFlags(i: u32): u32 { return load<u32>(rxDesc + i * DESC_SIZE, D_FLAGS); }

export function rxDescBase(): usize { return rxDesc; }
export function txDescBase(): usize { return txDesc; }
export function rxSlotCount(): u32 { return rxSlots; }
export function txSlotCount(): u32 { return txSlots; }
export function rxSlotBytes(): u32 { return rxSlotSize; }
export function txSlotBytes(): u32 { return txSlotSize; }

/** Starts a burst: TX descriptors are free again (the host sent the previous ones). */
export function txBegin(): void {
  txUsed = 0;
  inBurst = true;
}

/** Ends a burst: TX descriptors 0..txCount()-1 now belong to the host until the next burst. */
export function txEnd(): u32 {
  inBurst = false;
  return txUsed;
}

/** TX frames written in this burst. */
@inline export function txCount(): u32 { return txUsed; }

/** True while a frame can still be written in this burst. */
@inline export function txHasRoom(): bool { return inBurst && txUsed < txSlots; }

/** Largest frame a TX slot holds. */
@inline export function txMaxFrame(): u32 { return txSlotSize; }

/**
 * Reserves the next TX slot and returns its data address, or 0 when the ring is full or no
 * burst is open (the caller keeps its output pending and counts nothing: the next poll
 * sends it).
 */
export function txReserve(): usize {
  if (!inBurst || txUsed >= txSlots) return 0;
  const d = txDesc + txUsed * DESC_SIZE;
  const addr = txData + txUsed * txSlotSize;
  store<u32>(d, <u32>addr, D_ADDR);
  store<u32>(d, 0, D_LEN);
  store<u32>(d, 0, D_FLAGS);
  store<u32>(d, 0, D_TSO_MSS);
  store<u32>(d, 0, D_L2);
  return addr;
}

/** Commits the slot returned by the last `txReserve` with its length and offload flags. */
export function txCommit(len: u32, flags: u32, l2: u32, l3: u32, l4: u32, tsoMss: u32): void {
  const d = txDesc + txUsed * DESC_SIZE;
  store<u32>(d, len, D_LEN);
  store<u32>(d, flags, D_FLAGS);
  store<u8>(d, <u8>l2, D_L2);
  store<u8>(d, <u8>l3, D_L3);
  store<u8>(d, <u8>l4, D_L4);
  store<u16>(d, <u16>tsoMss, D_TSO_MSS);
  txUsed++;
  bump(TX_FRAMES);
}
