// TCP input: entry point for segments handed up by IPv4.
// (The TCP core replaces this file; until then every segment is counted as dropped.)

import { defineCounter, bump } from "../abi/counters";

const DROP_NO_TCP = defineCounter("drop.tcp.not_built");

export function tcpInput(src: u32, dst: u32, seg: usize, segLen: u32, rxFlags: u32): void {
  bump(DROP_NO_TCP);
}
