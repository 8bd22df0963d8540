// The stack instance's exported surface: what a host (a link driver, the native shim, a
// test) calls. One instance is one stack on one queue.
//
// Call order: `configReset`, write slots at `configTablePtr`, `init` once, then per burst
// `input(n, nowUs)` (frames the link put in RX descriptors 0..n-1) or `poll(nowUs)` (timers
// and pending output), send TX descriptors 0..m-1 (m is the return value), and read the
// notify list. `nextDeadlineUs()` says when `poll` is due at the latest.

import { configValidate, cfg, Cfg } from "./abi/config";
import { notifyInit } from "./abi/notify";
import { ringsInit, txBegin, txEnd, rxFrameAddr, rxFrameLen, rxFrameFlags, rxDescAt, D_RSS } from "./frame/rings";
import { setNow, NEVER } from "./util/time";
import { ethernetInput, ethernetInit } from "./iface/ethernet";
import { arpInit, arpPoll, arpNextDeadline } from "./iface/arp";
import { ipv4Init } from "./iface/ipv4";
import { icmpInit, icmpFlush, icmpNextDeadline } from "./iface/icmpv4";
import { udpInit, udpFlush, udpNextDeadline } from "./udp/api";
import { tcpInit, tcpPoll, tcpDeadline } from "./tcp/api";
import { randomInit } from "./util/random";
import { ipv4ProbeFlush, ipv4ProbeDeadline } from "./iface/ipv4-probe";
import { handoffBurstBegin, handoffFrameBegin } from "./frame/handoff";

export { configTablePtr, configKeys, configReset } from "./abi/config";
export { countersPtr, counterCount, counterNames } from "./abi/counters";
export { notifyListPtr, notifyListLen, notifyClear } from "./abi/notify";
export { rxDescBase, txDescBase, rxSlotCount, txSlotCount, rxSlotBytes, txSlotBytes } from "./frame/rings";
export { extbufReserve, extbufBase, extbufBytes } from "./frame/extbuf";
export {
  udpOpen, udpBind, udpSendTo, udpRecvFrom, udpPending, udpLocalPort, udpSetBroadcast, udpTakeError, udpClose,
  udpAddrPtr, udpBufferPtr, udpBufferSize,
} from "./udp/api";
export {
  icmpEchoSend, icmpLastReplyFrom, icmpLastReplyIdent, icmpLastReplySeq, icmpLastReplyDataLen,
} from "./iface/icmpv4";
export { arpEntriesInUse, arpPendingFree } from "./iface/arp";
export { ipv4Configure } from "./iface/ipv4-configure";
export { ipv4ProbeStart, ipv4ProbeSend, ipv4ProbeConflict } from "./iface/ipv4-probe";
export { udpSendQueued } from "./udp/api";
export { rssKeyPtr, rssRetaPtr, rssConfigure, rssHashIpv4, rssQueueOf } from "./frame/rss";
export { handoffOutCount, handoffOutPtr, handoffOutClear, handoffCountIn } from "./frame/handoff";
export {
  neighbourShareEnable, neighbourLearnedCount, neighbourLearnedPtr, neighbourLearnedClear,
  neighbourImportPtr, neighbourImportMax, neighbourImport,
} from "./iface/neighbour-share";
export {
  tcpListen, tcpAccept, tcpConnect, tcpWritePtr, tcpWriteRoom, tcpWriteCommit, tcpReadPtr,
  tcpReadAvail, tcpReadConsume, tcpShutdown, tcpClose, tcpAbort, tcpSetOption, tcpInfoPtr,
  tcpNextDeadline, tcpConnectionsInUse, tcpSlabFreeBytes, tcpPortsInUse,
  tcpListenFastOpen, tcpFastOpenCookie,
} from "./tcp/api";

/** Version of this surface; the host refuses a module whose version it does not know. */
export const ABI_VERSION: i32 = 1;

let initialised = false;

/** Validates the config table and allocates every pool. Returns 0, or the bad slot + 1. */
export function init(): i32 {
  if (initialised) return -1;
  const bad = configValidate();
  if (bad != 0) return bad;
  ringsInit();
  notifyInit(cfg(Cfg.TcpMaxConnections), cfg(Cfg.UdpMaxSockets));
  ethernetInit();
  arpInit();
  ipv4Init();
  icmpInit();
  udpInit();
  randomInit();
  tcpInit();
  initialised = true;
  return 0;
}

/** Processes RX descriptors 0..n-1 at time `nowUs`; returns the number of TX frames written. */
export function input(n: i32, nowUs: f64): i32 {
  setNow(nowUs);
  txBegin();
  handoffBurstBegin();
  for (let i: u32 = 0; i < <u32>n; i++) {
    handoffFrameBegin(i);
    ethernetInput(rxFrameAddr(i), rxFrameLen(i), rxFrameFlags(i), load<u32>(rxDescAt(i), D_RSS));
  }
  runTimers();
  return txEnd();
}

/** Runs timers and pending output at `nowUs`; returns the number of TX frames written. */
export function poll(nowUs: f64): i32 {
  setNow(nowUs);
  txBegin();
  runTimers();
  return txEnd();
}

function runTimers(): void {
  arpPoll();
  ipv4ProbeFlush();
  udpFlush();
  icmpFlush();
  tcpPoll();
}

/** Latest time (µs) by which `poll` must be called, or -1 when nothing is scheduled. */
export function nextDeadlineUs(): f64 {
  let d: i64 = NEVER;
  const arp = arpNextDeadline();
  if (arp < d) d = arp;
  const probe = ipv4ProbeDeadline();
  if (probe < d) d = probe;
  const udp = udpNextDeadline();
  if (udp < d) d = udp;
  const icmp = icmpNextDeadline();
  if (icmp < d) d = icmp;
  const tcp = tcpDeadline();
  if (tcp < d) d = tcp;
  return d == NEVER ? -1 : <f64>d;
}
