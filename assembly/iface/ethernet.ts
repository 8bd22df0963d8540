// Ethernet input: the first look at every received frame.
//
// Guarantees: every frame is either handed to exactly one upper layer or dropped with a
// named counter; nothing here traps on any byte sequence.

import { defineCounter, bump } from "../abi/counters";

const RX_FRAMES = defineCounter("eth.rx.frames");
const DROP_TRUNCATED = defineCounter("drop.eth.truncated");
const DROP_ETHERTYPE = defineCounter("drop.eth.ethertype");

/** Handles one received frame at `frame` (`len` bytes) with the port's RX flags. */
export function ethernetInput(frame: usize, len: u32, flags: u32, rss: u32): void {
  bump(RX_FRAMES);
  if (len < 14) { bump(DROP_TRUNCATED); return; }
  bump(DROP_ETHERTYPE);
}
