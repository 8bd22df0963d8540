// The stack's UDP socket ABI (assembly/udp/api.ts) as the host calls it.
//
// Guarantees: addresses cross in the stack's 16-byte exchange slot as IPv4-mapped IPv6
// (::ffff:a.b.c.d, RFC 4291 2.5.5.2) and data in its exchange buffer: one copy in per send,
// one copy out per received datagram; return values are the stack's own (negative = Linux
// errno).

import { Errno } from '../net/errors.js';
import type { StackInstance } from '../wasm/instance.js';

interface UdpExports {
  udpOpen(): number;
  udpBind(handle: number, port: number): number;
  udpSendTo(handle: number, port: number, len: number): number;
  udpRecvFrom(handle: number): number;
  udpLocalPort(handle: number): number;
  udpSetBroadcast(handle: number, on: number): number;
  udpClose(handle: number): number;
  udpAddrPtr(): number;
  udpBufferPtr(): number;
  udpBufferSize(): number;
}

/** A datagram taken out of a socket's receive queue. */
export interface Received {
  data: Buffer;
  /** Source address, host order. */
  address: number;
  port: number;
  /** The datagram's full length (larger than `data` when it was cut to the buffer size). */
  size: number;
}

export class UdpAbi {
  private readonly ex: UdpExports;
  private readonly addrPtr: number;
  private readonly bufPtr: number;
  /** Largest payload one call moves. */
  readonly bufferSize: number;

  constructor(private readonly instance: StackInstance) {
    const ex = instance.exports as unknown as UdpExports;
    if (typeof ex.udpOpen !== 'function') {
      const err = new Error('wasm-tcpip: build/stack.wasm has no UDP sockets (udpOpen is not exported): run `npm run build:wasm`');
      (err as NodeJS.ErrnoException).code = 'ERR_WASM_TCPIP_NOT_BUILT';
      throw err;
    }
    this.ex = ex;
    this.addrPtr = ex.udpAddrPtr();
    this.bufPtr = ex.udpBufferPtr();
    this.bufferSize = ex.udpBufferSize();
  }

  open(): number { return this.ex.udpOpen(); }
  close(h: number): number { return this.ex.udpClose(h); }
  localPort(h: number): number { return this.ex.udpLocalPort(h); }
  setBroadcast(h: number, on: boolean): number { return this.ex.udpSetBroadcast(h, on ? 1 : 0); }

  bind(h: number, address: number, port: number): number {
    this.writeAddress(address);
    return this.ex.udpBind(h, port);
  }

  /** Queues one datagram (the pieces, concatenated); returns its length or a negative errno. */
  sendTo(h: number, address: number, port: number, pieces: readonly Uint8Array[]): number {
    let len = 0;
    for (const p of pieces) len += p.length;
    if (len > this.bufferSize) return -Errno.EMSGSIZE;
    this.instance.refreshViews();
    let at = this.bufPtr;
    for (const p of pieces) {
      this.instance.u8.set(p, at);
      at += p.length;
    }
    this.writeAddress(address);
    return this.ex.udpSendTo(h, port, len);
  }

  /** The oldest queued datagram, or a negative errno (-EAGAIN when none is queued). */
  receive(h: number): Received | number {
    const size = this.ex.udpRecvFrom(h);
    if (size < 0) return size;
    this.instance.refreshViews();
    const n = Math.min(size, this.bufferSize);
    const data = Buffer.allocUnsafe(n);
    data.set(this.instance.u8.subarray(this.bufPtr, this.bufPtr + n));
    const dv = this.instance.dv;
    const address = dv.getUint32(this.addrPtr + 12, false);
    const port = dv.getUint32(this.addrPtr + 16, true);
    return { data, address, port, size };
  }

  private writeAddress(address: number): void {
    this.instance.refreshViews();
    const dv = this.instance.dv;
    const p = this.addrPtr;
    dv.setUint32(p, 0, true);
    dv.setUint32(p + 4, 0, true);
    dv.setUint32(p + 8, 0xffff0000, true);
    dv.setUint32(p + 12, address >>> 0, false);
  }
}
