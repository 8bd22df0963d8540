// Cross-queue hand-off: a TCP segment or UDP datagram that reached this queue but belongs to
// a flow another queue owns is given back to the host, which passes the frame to the owning
// worker (DESIGN.md "Threads and queues": none is silently dropped).
//
// Ownership rule (the same on every queue, so a frame is never bounced back): a flow is owned
// by the queue its received frames hash to (frame/rss.ts: Toeplitz + redirection table).
// Outgoing connections pick ports that hash back to their own queue, and passive ones are
// accepted by the listener of the owning queue, so the owner always holds the connection.
// TCP input asks `handoffClaim` only for a segment with no connection here, before the
// listener lookup: a SYN that lands on the wrong queue is accepted by its owner, and the
// later segments of that flow land wherever the port puts them and still reach it. UDP input
// asks it for a datagram no socket here is bound to (sockets bound implicitly by their first
// send take ports that hash back to their queue, udp/api.ts), before answering port
// unreachable: only the owner, finding no socket either, answers it.
//
// Guarantees: the list holds one entry per RX descriptor of the current burst (it is reset
// when a burst starts), so it cannot overflow; each entry names the RX descriptor whose frame
// the host must pass on (the frame stays untouched in its RX slot until the host's next
// receive) and the queue to pass it to. Counted: `handoff.out` here, `handoff.in` when the
// owner receives it (`handoffCountIn`). Nothing allocates: the list is static data.
//
// Entry layout (8 bytes): 0 RX descriptor index (u32), 4 target queue (u32).

import { defineCounter, bump, bumpBy } from "../abi/counters";
import { rssQueueOf, rssOwnQueue, rssQueueCount } from "./rss";

const HANDOFF_OUT = defineCounter("handoff.out");
const HANDOFF_IN = defineCounter("handoff.in");

/** RX descriptors at most (Cfg.RxSlots is 1..4096): one entry each. */
@inline const MAX_ENTRIES: u32 = 4096;
@inline const ENTRY_BYTES: u32 = 8;
@inline const E_RX_INDEX: u32 = 0;
@inline const E_QUEUE: u32 = 4;

const list = memory.data(MAX_ENTRIES * ENTRY_BYTES);
let listLen: u32 = 0;
/** RX descriptor being processed by `input`. */
let currentRx: u32 = 0;

/** Starts a burst: the list of the previous one was read by the host. */
export function handoffBurstBegin(): void { listLen = 0; }

/** Records which RX descriptor the stack is processing (called by `input` per frame). */
@inline export function handoffFrameBegin(rxIndex: u32): void { currentRx = rxIndex; }

/**
 * TCP input, for a segment with no connection here (UDP input, for a datagram no socket here
 * takes): true when the flow's owner is another
 * queue and the frame was listed for the host to pass on (the caller then stops); false when
 * this queue owns the flow (the usual no-connection rules apply).
 */
export function handoffClaim(src: u32, dst: u32, srcPort: u32, dstPort: u32): bool {
  if (rssQueueCount() <= 1) return false;
  const owner = rssQueueOf(src, dst, srcPort, dstPort);
  if (owner == rssOwnQueue() || listLen >= MAX_ENTRIES) return false;
  const e = list + listLen * ENTRY_BYTES;
  store<u32>(e, currentRx, E_RX_INDEX);
  store<u32>(e, owner, E_QUEUE);
  listLen++;
  bump(HANDOFF_OUT);
  return true;
}

/** Entries listed during the last burst. */
export function handoffOutCount(): u32 { return listLen; }
/** Address of the list (entries of `ENTRY_BYTES`: RX descriptor index, target queue). */
export function handoffOutPtr(): usize { return list; }
/** The host passed the listed frames on (a list read twice would pass them on twice). */
export function handoffOutClear(): void { listLen = 0; }
/** The host delivered `n` frames handed over by other queues in this burst's input. */
export function handoffCountIn(n: u32): void { bumpBy(HANDOFF_IN, <u64>n); }
