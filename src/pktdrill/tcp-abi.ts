// The stack's TCP socket ABI as the host sees it (the contract is the header of
// assembly/tcp/api.ts): function signatures, the TcpInfo struct, option numbers.
//
// Guarantees: `tcpAbi` either returns every function the contract names or says which are
// missing, so callers fail with a message naming the build problem instead of a TypeError.

import type { StackInstance } from '../wasm/instance.js';

export interface TcpAbi {
  tcpListen(addr: number, port: number, backlog: number, synBacklog: number, sndBuf: number, rcvBuf: number): number;
  tcpAccept(listener: number): number;
  tcpConnect(dst: number, dstPort: number, srcPort: number, sndBuf: number, rcvBuf: number): number;
  tcpWritePtr(h: number): number;
  tcpWriteRoom(h: number): number;
  tcpWriteCommit(h: number, n: number): number;
  tcpReadPtr(h: number): number;
  tcpReadAvail(h: number): number;
  tcpReadConsume(h: number, n: number): number;
  tcpShutdown(h: number, how: number): number;
  tcpClose(h: number): number;
  tcpAbort(h: number): number;
  tcpSetOption(h: number, opt: number, a: number, b: number, c: number): number;
  tcpInfoPtr(h: number): number;
}

const TCP_EXPORTS: ReadonlyArray<keyof TcpAbi> = [
  'tcpListen', 'tcpAccept', 'tcpConnect', 'tcpWritePtr', 'tcpWriteRoom', 'tcpWriteCommit', 'tcpReadPtr',
  'tcpReadAvail', 'tcpReadConsume', 'tcpShutdown', 'tcpClose', 'tcpAbort', 'tcpSetOption', 'tcpInfoPtr',
];

/** The TCP functions of an instance, or the names of those its build lacks. */
export function tcpAbi(instance: StackInstance): { abi: TcpAbi } | { missing: string[] } {
  const ex = instance.exports as unknown as Record<string, unknown>;
  const missing = TCP_EXPORTS.filter((n) => typeof ex[n] !== 'function');
  return missing.length === 0 ? { abi: ex as unknown as TcpAbi } : { missing };
}

/** TcpInfo flags (api.ts). */
export const INFO_CONNECTED = 1, INFO_PEER_FIN = 2, INFO_CAN_ACCEPT = 4, INFO_WRITE_SHUT = 8, INFO_CLOSED = 16;
/** tcpSetOption option numbers (api.ts). */
export const TCP_OPT_NODELAY = 1, TCP_OPT_KEEPALIVE = 2, TCP_OPT_KEEPCNT = 3, TCP_OPT_USER_TIMEOUT = 4;

export interface TcpInfo { state: number; error: number; flags: number; readable: number; writeRoom: number; mss: number; unsent: number }

/** Reads the TcpInfo struct of `handle` (a closed-looking record for a bad handle). */
export function readTcpInfo(instance: StackInstance, abi: TcpAbi, handle: number): TcpInfo {
  const p = abi.tcpInfoPtr(handle);
  instance.refreshViews();
  if (p === 0) return { state: 0, error: 0, flags: INFO_CLOSED, readable: 0, writeRoom: 0, mss: 0, unsent: 0 };
  const dv = instance.dv;
  return {
    state: dv.getUint32(p, true),
    error: dv.getUint32(p + 4, true),
    flags: dv.getUint32(p + 8, true),
    readable: dv.getUint32(p + 12, true),
    writeRoom: dv.getUint32(p + 16, true),
    mss: dv.getUint32(p + 60, true),
    unsent: dv.getUint32(p + 68, true),
  };
}
