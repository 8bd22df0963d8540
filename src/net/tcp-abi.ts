// The stack's TCP socket ABI (assembly/tcp/api.ts) as the host calls it: typed exports, the
// TcpInfo struct, and the two single-copy data paths. The one host-side copy of the contract:
// the socket layer, the packetdrill runner and replay all use it.
//
// Guarantees: data crosses the JS/WASM boundary with exactly one copy each way (a Buffer
// into the send ring in place; the receive ring in place into a new Buffer); `info()` fills
// one object per TcpAbi and allocates nothing; every call is a plain export call and returns
// the stack's answer (negative = Linux errno) without interpretation.

import type { StackInstance } from '../wasm/instance.js';

/** TcpState numbering of assembly/tcp/api.ts. */
export const TcpState = {
  CLOSED: 0,
  LISTEN: 1,
  SYN_SENT: 2,
  SYN_RECEIVED: 3,
  ESTABLISHED: 4,
  FIN_WAIT_1: 5,
  FIN_WAIT_2: 6,
  CLOSE_WAIT: 7,
  CLOSING: 8,
  LAST_ACK: 9,
  TIME_WAIT: 10,
} as const;

/** TcpInfo.flags bits. */
export const InfoFlag = {
  CONNECTED: 1,
  PEER_FIN: 2,
  CAN_ACCEPT: 4,
  WRITE_SHUT: 8,
  CLOSED: 16,
  LISTENER: 32,
  /** SACK negotiated on this connection (RFC 2018 2). */
  SACK: 64,
  /** ECN in use on this connection (RFC 3168 6.1.1). */
  ECN: 256,
  /** The peer's SYN carried data accepted with a Fast Open cookie (RFC 7413 4.2.2). */
  FAST_OPEN: 128,
  /** RACK loss detection runs on this connection (tcpRack and SACK negotiated, RFC 8985 6). */
  RACK: 512,
} as const;

/** tcpSetOption option numbers. */
export const TcpOption = { NODELAY: 1, KEEPALIVE: 2, KEEPCNT: 3, USER_TIMEOUT: 4, FASTOPEN: 5 } as const;

/** tcpShutdown `how`. */
export const Shut = { RD: 0, WR: 1, RDWR: 2 } as const;

/** TcpInfo, as read by `TcpAbi.info` (see the layout in assembly/tcp/api.ts). */
export interface TcpInfo {
  state: number;
  error: number;
  flags: number;
  readable: number;
  writeRoom: number;
  localAddr: number;
  remoteAddr: number;
  localPort: number;
  remotePort: number;
  bytesIn: number;
  bytesOut: number;
  retransmits: number;
  srttUs: number;
  cwnd: number;
  mss: number;
  acceptQueue: number;
  unsent: number;
}

/** The raw TCP exports of a stack instance. */
export interface TcpExports {
  tcpListen(localAddr: number, port: number, backlog: number, synBacklog: number, sndBuf: number, rcvBuf: number): number;
  tcpAccept(listener: number): number;
  tcpConnect(dstAddr: number, dstPort: number, srcPort: number, sndBuf: number, rcvBuf: number): number;
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
  tcpConnectionsInUse(): number;
  tcpListenFastOpen(listener: number, queue: number): number;
  tcpFastOpenCookie(addr: number): bigint;
}

const TCP_EXPORTS: ReadonlyArray<keyof TcpExports> = [
  'tcpListen', 'tcpAccept', 'tcpConnect', 'tcpWritePtr', 'tcpWriteRoom', 'tcpWriteCommit', 'tcpReadPtr',
  'tcpReadAvail', 'tcpReadConsume', 'tcpShutdown', 'tcpClose', 'tcpAbort', 'tcpSetOption', 'tcpInfoPtr',
  'tcpConnectionsInUse', 'tcpListenFastOpen', 'tcpFastOpenCookie',
];

/** The TCP exports of `instance`; throws ERR_WASM_TCPIP_NOT_BUILT naming any the build lacks. */
export function tcpExports(instance: StackInstance): TcpExports {
  const ex = instance.exports as unknown as Record<string, unknown>;
  const missing = TCP_EXPORTS.filter((n) => typeof ex[n] !== 'function');
  if (missing.length > 0) {
    const err = new Error(`wasm-tcpip: build/stack.wasm lacks the TCP socket ABI (${missing.join(', ')}): run \`npm run build:wasm\``);
    (err as NodeJS.ErrnoException).code = 'ERR_WASM_TCPIP_NOT_BUILT';
    throw err;
  }
  return ex as unknown as TcpExports;
}

/** A TcpInfo with every field 0. */
export function emptyTcpInfo(): TcpInfo {
  return {
    state: 0, error: 0, flags: 0, readable: 0, writeRoom: 0, localAddr: 0, remoteAddr: 0,
    localPort: 0, remotePort: 0, bytesIn: 0, bytesOut: 0, retransmits: 0, srttUs: 0, cwnd: 0,
    mss: 0, acceptQueue: 0, unsent: 0,
  };
}

/**
 * Reads the TcpInfo of handle `h` into `into` (a new object when omitted); null for a handle
 * the stack does not know.
 */
export function readTcpInfo(instance: StackInstance, ex: TcpExports, h: number, into: TcpInfo = emptyTcpInfo()): TcpInfo | null {
  const p = ex.tcpInfoPtr(h);
  if (p === 0) return null;
  instance.refreshViews();
  const dv = instance.dv;
  into.state = dv.getUint32(p, true);
  into.error = dv.getUint32(p + 4, true);
  into.flags = dv.getUint32(p + 8, true);
  into.readable = dv.getUint32(p + 12, true);
  into.writeRoom = dv.getUint32(p + 16, true);
  into.localAddr = dv.getUint32(p + 20, true);
  into.remoteAddr = dv.getUint32(p + 24, true);
  into.localPort = dv.getUint16(p + 28, true);
  into.remotePort = dv.getUint16(p + 30, true);
  into.bytesIn = Number(dv.getBigUint64(p + 32, true));
  into.bytesOut = Number(dv.getBigUint64(p + 40, true));
  into.retransmits = dv.getUint32(p + 48, true);
  into.srttUs = dv.getUint32(p + 52, true);
  into.cwnd = dv.getUint32(p + 56, true);
  into.mss = dv.getUint32(p + 60, true);
  into.acceptQueue = dv.getUint32(p + 64, true);
  into.unsent = dv.getUint32(p + 68, true);
  return into;
}

/** As readTcpInfo, but a handle the stack does not know reads as a closed connection. */
export function tcpInfoOrClosed(instance: StackInstance, ex: TcpExports, h: number): TcpInfo {
  const info = readTcpInfo(instance, ex, h);
  if (info !== null) return info;
  const closed = emptyTcpInfo();
  closed.flags = InfoFlag.CLOSED;
  return closed;
}

export class TcpAbi {
  private readonly ex: TcpExports;
  /** The object `info()` fills; valid until the next `info()` call. */
  private readonly current: TcpInfo = emptyTcpInfo();

  constructor(private readonly instance: StackInstance) {
    this.ex = tcpExports(instance);
  }

  listen(addr: number, port: number, backlog: number, synBacklog: number, sndBuf: number, rcvBuf: number): number {
    return this.ex.tcpListen(addr, port, backlog, synBacklog, sndBuf, rcvBuf);
  }
  accept(listener: number): number { return this.ex.tcpAccept(listener); }
  /** Fast Open on a listener: `queue` pending Fast Open children at most (0 = off). */
  listenFastOpen(listener: number, queue: number): number { return this.ex.tcpListenFastOpen(listener, queue); }
  connect(addr: number, port: number, srcPort: number, sndBuf: number, rcvBuf: number): number {
    return this.ex.tcpConnect(addr, port, srcPort, sndBuf, rcvBuf);
  }
  shutdown(h: number, how: number): number { return this.ex.tcpShutdown(h, how); }
  close(h: number): number { return this.ex.tcpClose(h); }
  abort(h: number): number { return this.ex.tcpAbort(h); }
  setOption(h: number, opt: number, a: number, b = 0, c = 0): number { return this.ex.tcpSetOption(h, opt, a, b, c); }
  connectionsInUse(): number { return this.ex.tcpConnectionsInUse(); }
  readAvail(h: number): number { return this.ex.tcpReadAvail(h); }

  /** Reads the TcpInfo of `h`; null for a handle the stack does not know. */
  info(h: number): TcpInfo | null {
    return readTcpInfo(this.instance, this.ex, h, this.current);
  }

  /**
   * Copies as much of `src[offset..]` as the send ring takes into it (one copy) and queues it.
   * Returns the bytes queued (0 when the ring is full), or a negative errno.
   */
  write(h: number, src: Uint8Array, offset: number): number {
    let done = 0;
    // The free area may wrap: at most two contiguous pieces.
    for (let piece = 0; piece < 2 && offset + done < src.length; piece++) {
      const room = this.ex.tcpWriteRoom(h);
      if (room === 0) break;
      const ptr = this.ex.tcpWritePtr(h);
      const n = Math.min(room, src.length - offset - done);
      this.instance.refreshViews();
      this.instance.u8.set(src.subarray(offset + done, offset + done + n), ptr);
      const r = this.ex.tcpWriteCommit(h, n);
      if (r < 0) return done > 0 ? done : r;
      done += n;
    }
    return done;
  }

  /**
   * Takes up to `max` received bytes out of the receive ring into a Buffer of `allocate(n)`
   * (a new one by default; one copy) and frees them; null when nothing is readable.
   */
  read(h: number, max: number, allocate: (n: number) => Buffer = Buffer.allocUnsafe): Buffer | null {
    const avail = this.ex.tcpReadAvail(h);
    if (avail === 0) return null;
    const n = Math.min(avail, max);
    const ptr = this.ex.tcpReadPtr(h);
    this.instance.refreshViews();
    const out = allocate(n);
    out.set(this.instance.u8.subarray(ptr, ptr + n));
    this.ex.tcpReadConsume(h, n);
    return out;
  }
}
