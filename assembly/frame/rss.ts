// Receive Side Scaling in software: the Toeplitz hash a NIC computes over an IPv4 flow, and
// the redirection table (RETA) that maps the hash to a queue. The host gives the same key and
// table it programs into the port (or its memory link), so the stack can tell which queue a
// flow's frames land on.
//
// Guarantees:
// - `rssHashIpv4` is the Toeplitz function of the Microsoft RSS specification ("RSS hashing
//   functions": input = source address, destination address, source port, destination port,
//   in network byte order, the key's bits slid one per input bit); with the key 0x6d5a
//   repeated it is symmetric: both directions of a flow hash alike.
// - The hash is table driven: one 256-entry table per input byte, built by `rssConfigure`
//   (12 lookups per flow, no allocation: the tables are static data).
// - `rssQueueOf` is RETA[hash mod RETA size]; until `rssConfigure` runs (one queue) every flow
//   is this queue's own.
// - With several queues, `rssConfigure` installs the ephemeral-port filter
//   (tcp/ports.ts `portsSetQueueFilter`): outgoing connections take only local ports whose
//   replies hash back to this queue (DESIGN.md "Threads and queues"). UDP's implicit bind
//   asks the same predicate (`rssPortKeepsFlowHere`).

import { portsSetQueueFilter } from "../tcp/ports";

/** Key bytes: 40, as NICs use (enough for the 12-byte IPv4 4-tuple plus the 32-bit window). */
@inline export const RSS_KEY_BYTES: u32 = 40;
/** Largest redirection table (entries of one byte: a queue number). */
@inline export const RSS_RETA_MAX: u32 = 512;
/** Bytes of the IPv4 4-tuple input. */
@inline const TUPLE_BYTES: u32 = 12;

const key = memory.data(RSS_KEY_BYTES);
const reta = memory.data(RSS_RETA_MAX);
/** 12 tables of 256 u32: table[j][v] = hash contribution of byte value v at input position j. */
const tables = memory.data(TUPLE_BYTES * 256 * 4);

let ownQueue: u32 = 0;
let queueCount: u32 = 1;
let retaSize: u32 = 1;

/** Where the host writes the 40-byte key before `rssConfigure`. */
export function rssKeyPtr(): usize { return key; }
/** Where the host writes the redirection table (one byte per entry) before `rssConfigure`. */
export function rssRetaPtr(): usize { return reta; }

/** The 32 key bits starting at bit `bit` (bit 0 = most significant bit of key byte 0). */
function keyWindow(bit: u32): u32 {
  const byte = bit >>> 3;
  const shift = bit & 7;
  let w: u64 = 0;
  for (let i: u32 = 0; i < 5; i++) {
    const b: u64 = byte + i < RSS_KEY_BYTES ? <u64>load<u8>(key + byte + i) : 0;
    w = (w << 8) | b;
  }
  return <u32>(w >> (8 - <u64>shift));
}

/**
 * Takes the key and table the host wrote, this stack's queue and the queue count; builds the
 * hash tables and, with more than one queue, installs the RSS port filter. Returns 0, or -1
 * when the numbers are out of range (queue >= queues, queues > 256, a table size that is not
 * a power of two from 1 to 512, or a table entry naming no queue).
 */
export function rssConfigure(queue: u32, queues: u32, tableSize: u32): i32 {
  if (queues == 0 || queues > 256 || queue >= queues) return -1;
  if (tableSize == 0 || tableSize > RSS_RETA_MAX || (tableSize & (tableSize - 1)) != 0) return -1;
  for (let i: u32 = 0; i < tableSize; i++) if (<u32>load<u8>(reta + i) >= queues) return -1;
  for (let j: u32 = 0; j < TUPLE_BYTES; j++) {
    for (let v: u32 = 0; v < 256; v++) {
      let h: u32 = 0;
      for (let b: u32 = 0; b < 8; b++) {
        if ((v & (0x80 >>> b)) != 0) h ^= keyWindow(j * 8 + b);
      }
      store<u32>(tables + ((j * 256 + v) << 2), h);
    }
  }
  ownQueue = queue;
  queueCount = queues;
  retaSize = tableSize;
  portsSetQueueFilter(queues > 1 ? rssPortKeepsFlowHere : null);
  return 0;
}

@inline function part(j: u32, v: u32): u32 {
  return load<u32>(tables + ((j * 256 + (v & 0xFF)) << 2));
}

/** Toeplitz hash of the IPv4 4-tuple as a frame carries it (addresses and ports host order). */
export function rssHashIpv4(src: u32, dst: u32, srcPort: u32, dstPort: u32): u32 {
  return part(0, src >>> 24) ^ part(1, src >>> 16) ^ part(2, src >>> 8) ^ part(3, src)
    ^ part(4, dst >>> 24) ^ part(5, dst >>> 16) ^ part(6, dst >>> 8) ^ part(7, dst)
    ^ part(8, srcPort >>> 8) ^ part(9, srcPort) ^ part(10, dstPort >>> 8) ^ part(11, dstPort);
}

/** Queue the NIC delivers a frame of this 4-tuple to (as received: src is the remote end). */
export function rssQueueOf(src: u32, dst: u32, srcPort: u32, dstPort: u32): u32 {
  if (queueCount <= 1) return ownQueue;
  return <u32>load<u8>(reta + (rssHashIpv4(src, dst, srcPort, dstPort) & (retaSize - 1)));
}

/** This stack's queue. */
export function rssOwnQueue(): u32 { return ownQueue; }
/** Queues in the port (1 until configured). */
export function rssQueueCount(): u32 { return queueCount; }

/**
 * The ephemeral-port filter (tcp/ports.ts for TCP, udp/api.ts for UDP's implicit bind): the
 * replies to localAddr:port from remoteAddr:remotePort reach this queue. True with one queue.
 */
export function rssPortKeepsFlowHere(port: u32, localAddr: u32, remoteAddr: u32, remotePort: u32): bool {
  return rssQueueOf(remoteAddr, localAddr, remotePort, port) == ownQueue;
}
