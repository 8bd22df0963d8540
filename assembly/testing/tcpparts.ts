// Test-only entry: exposes the TCP building blocks (options, SipHash, PRNG, ISNs, ports,
// slab, byte rings, reassembly, RTT, congestion control) to tests/tcp-parts.test.mjs.
// Compiled to build/tcpparts-test.wasm; never part of the stack's module.
//
// Call order: configReset, write slots at configTablePtr, partsInit() (validates the config,
// then initialises every module), then anything below. Per-connection states (ring,
// reassembly, RTT, CC) live in a test area at stateAreaPtr(); byte buffers at scratchPtr().

import { configValidate, cfg, Cfg } from "../abi/config";
import { setNow } from "../util/time";
import { randomInit } from "../util/random";
import { isnInit } from "../tcp/isn";
import { portsInit, portsSetQueueFilter } from "../tcp/ports";
import { slabInit } from "../util/slab";
import {
  TcpOptions, tcpSrcPort, tcpDstPort, tcpSeq, tcpAckNum, tcpHeaderLen, tcpFlags, tcpWindow,
  tcpChecksum, tcpUrgent, tcpSetChecksum,
} from "../wire/tcp";

export { configTablePtr, configKeys, configReset } from "../abi/config";
export { countersPtr, counterCount, counterNames } from "../abi/counters";
export { setNow };
export {
  tcpCheckHeader, tcpParseOptions, tcpWriteOptions, tcpWriteHeader, tcpEmit,
} from "../wire/tcp";
export { sipHash24, sipHashWords } from "../util/siphash";
export { deriveKey, randomU32, randomBelow } from "../util/random";
export { isnFor } from "../tcp/isn";
export {
  portsAcquire, portsRetain, portsRelease, portsBindListen, portsBindListenAny,
  portsUnbindListen, portsRefCount, portsIsListening, portsInUse,
} from "../tcp/ports";
export {
  slabAlloc, slabFree, slabFreeBytes, slabTotalBytes, slabUsedChunks, slabFreeChunks,
  slabChunkSize, slabBase,
} from "../util/slab";
export {
  ringInit, ringWritePtr, ringWriteRoom, ringCommit, ringReadPtr, ringReadAvail,
  ringConsume, ringReadAt, ringWriteAt,
} from "../util/bytering";
export {
  reasmStateBytes, reasmInit, reasmClear, reasmAdd, reasmMostRecent, reasmFillSack,
} from "../tcp/reassembly";
export {
  rttInit, rttSample, rttBackoff, rttStartTiming, rttIsTiming, rttOnRetransmit, rttOnAck,
  rttOnSynRetransmit, rttHandshakeDone,
} from "../tcp/rtt";
export {
  ccInit, ccOnAck, ccOnDupAck, ccOnCongestionEvent, ccOnRecoveryExit, ccAfterIdle,
  ccLimitedTransmitRoom, ccRecoveryAck, ccRecoverySent, ccRecoveryRoom,
} from "../tcp/cc/hooks";
export { prrDelivered, prrOut, prrRecoverFs, prrSndcnt, prrIsActive } from "../tcp/cc/prr";
export { initialWindow } from "../tcp/cc/newreno";
export {
  cubicWMax, cubicKUs, cubicWEst, cubicEpochStartUs, cubicWindowAt,
} from "../tcp/cc/cubic";

// Inlined getters are exported through these wrappers.
export function segSrcPort(seg: usize): u32 { return tcpSrcPort(seg); }
export function segDstPort(seg: usize): u32 { return tcpDstPort(seg); }
export function segSeq(seg: usize): u32 { return tcpSeq(seg); }
export function segAck(seg: usize): u32 { return tcpAckNum(seg); }
export function segHeaderLen(seg: usize): u32 { return tcpHeaderLen(seg); }
export function segFlags(seg: usize): u32 { return tcpFlags(seg); }
export function segWindow(seg: usize): u32 { return tcpWindow(seg); }
export function segChecksum(seg: usize): u32 { return tcpChecksum(seg); }
export function segUrgent(seg: usize): u32 { return tcpUrgent(seg); }
export function segSetChecksum(seg: usize, value: u32): void { tcpSetChecksum(seg, value); }
import { ringLength, ringFree, ringCapacity } from "../util/bytering";
import { reasmCount, reasmStart, reasmEnd } from "../tcp/reassembly";
import { rttRto, rttSrtt, rttVar, rttBackoffs } from "../tcp/rtt";
import { ccWindow, ccSsthresh } from "../tcp/cc/hooks";
export function ringLen(r: usize): u32 { return ringLength(r); }
export function ringFreeBytes(r: usize): u32 { return ringFree(r); }
export function ringCap(r: usize): u32 { return ringCapacity(r); }
export function reasmRangeCount(r: usize): u32 { return reasmCount(r); }
export function reasmRangeStart(r: usize, i: u32): u32 { return reasmStart(r, i); }
export function reasmRangeEnd(r: usize, i: u32): u32 { return reasmEnd(r, i); }
export function rttRtoUs(t: usize): u32 { return rttRto(t); }
export function rttSrttUs(t: usize): u32 { return rttSrtt(t); }
export function rttVarUs(t: usize): u32 { return rttVar(t); }
export function rttBackoffCount(t: usize): u32 { return rttBackoffs(t); }
export function ccCwnd(cc: usize): u32 { return ccWindow(cc); }
export function ccSsthreshBytes(cc: usize): u32 { return ccSsthresh(cc); }

const options = new TcpOptions();
let scratch: usize = 0;
let stateArea: usize = 0;

/** The TcpOptions struct the tests parse into and emit from (layout in wire/tcp.ts). */
export function optionsPtr(): usize { return changetype<usize>(options); }
/** 64 KiB of bytes for segments and ring payloads. */
export function scratchPtr(): usize { return scratch; }
/** 64 KiB for per-connection state structs. */
export function stateAreaPtr(): usize { return stateArea; }

/** Validates the config and initialises every module; returns configValidate's answer. */
export function partsInit(): i32 {
  const bad = configValidate();
  if (bad != 0) return bad;
  if (scratch == 0) {
    scratch = heap.alloc(65536);
    stateArea = heap.alloc(65536);
  }
  randomInit();
  isnInit();
  portsInit();
  slabInit(cfg(Cfg.TcpSlabBytes));
  return 0;
}

function evenPortsOnly(port: u32, localAddr: u32, remoteAddr: u32, remotePort: u32): bool {
  return (port & 1) == 0;
}

/** Installs (1) or removes (0) an RSS stand-in filter that accepts even ports only. */
export function setEvenPortFilter(on: i32): void {
  portsSetQueueFilter(on != 0 ? evenPortsOnly : null);
}
