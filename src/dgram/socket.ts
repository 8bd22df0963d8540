// A UDP socket of the stack, shaped like Node's `dgram.Socket` ('udp4').
//
// Guarantees: `bind()` emits 'listening' (or 'error' with Node's 'bind EADDRINUSE
// 0.0.0.0:53' shape) asynchronously; `send()` binds an unbound socket first, as Node does,
// and hands each datagram to the stack with one copy. When the stack's send queue is full
// the datagram waits here, in order, and goes at the next burst (as libuv queues a send the
// kernel refused with EAGAIN); past `MAX_WAITING_DATAGRAMS` waiting, a send fails with
// ENOBUFS. Each outcome (sent, ENOBUFS, EMSGSIZE, EHOSTUNREACH...) goes to the callback or,
// without one, a failure is emitted as 'error'. Every datagram the stack queued for the
// socket is emitted as 'message'(msg, rinfo) on the stack's notification, oldest first.
// `close()` discards what is queued either way (waiting sends fail with ECANCELED) and
// emits 'close'.

import { EventEmitter } from 'node:events';
import type { Endpoint } from '../net/context.js';
import { Errno, errnoException, nodeCodeError, projectError } from '../net/errors.js';
import { formatIpv4, parseIpv4 } from '../net/ipv4.js';
import type { UdpAbi } from './udp-abi.js';

export interface DgramContext {
  readonly udp: UdpAbi;
  readonly closing: boolean;
  kick(): void;
  registerUdp(handle: number, endpoint: Endpoint): void;
  unregisterUdp(handle: number): void;
  trackUdp(socket: UdpSocket): void;
  untrackUdp(socket: UdpSocket): void;
  /** Calls `socket.retrySends()` after each burst until it returns true (nothing waits). */
  retryAfterBurst(socket: UdpSocket): void;
}

export interface SocketOptions {
  type: 'udp4';
}

export interface BindOptions {
  port?: number;
  /** '0.0.0.0' (the default) or the stack's own address. */
  address?: string;
}

export interface RemoteInfo {
  address: string;
  family: 'IPv4';
  port: number;
  /** Bytes of the datagram as received (may exceed msg.length if it was cut). */
  size: number;
}

export type SendCallback = (error: Error | null, bytes?: number) => void;
type Message = string | Uint8Array | readonly (string | Uint8Array)[];

const enum BindState { UNBOUND, BOUND }

/** Datagrams a socket holds while the stack's send queue is full, before ENOBUFS. */
const MAX_WAITING_DATAGRAMS = 1024;
const ECANCELED = 125;

interface WaitingSend {
  pieces: Uint8Array[];
  dst: number;
  address: string;
  port: number;
  callback: SendCallback | undefined;
}

/** Events of a UdpSocket with their arguments, as `node:dgram` types them. */
export interface UdpSocket {
  on(event: 'message', listener: (msg: Buffer, rinfo: RemoteInfo) => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'message', listener: (msg: Buffer, rinfo: RemoteInfo) => void): this;
  once(event: 'listening' | 'close', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class UdpSocket extends EventEmitter implements Endpoint {
  readonly type = 'udp4';
  private readonly ctx: DgramContext;
  private handle: number;
  private bindState = BindState.UNBOUND;
  private boundAddress = '0.0.0.0';
  private closed = false;
  private readonly waiting: WaitingSend[] = [];

  /** @internal Use `stack.dgram.createSocket()`. */
  constructor(ctx: DgramContext) {
    super();
    this.ctx = ctx;
    const h = ctx.udp.open();
    if (h < 0) throw errnoException(h, 'socket');
    this.handle = h;
    ctx.registerUdp(h, this);
    ctx.trackUdp(this);
  }

  bind(port?: number, address?: string, callback?: () => void): this;
  bind(port?: number, callback?: () => void): this;
  bind(options: BindOptions, callback?: () => void): this;
  bind(...args: unknown[]): this {
    const last = args[args.length - 1];
    const callback = typeof last === 'function' ? (last as () => void) : undefined;
    let port: unknown;
    let address: unknown;
    if (args[0] !== null && typeof args[0] === 'object') {
      ({ port, address } = args[0] as BindOptions);
    } else {
      port = args[0];
      if (typeof args[1] === 'string') address = args[1];
    }
    this.checkOpen();
    if (this.bindState === BindState.BOUND) throw nodeCodeError('ERR_SOCKET_ALREADY_BOUND', 'Socket is already bound');
    const p = port === undefined ? 0 : port;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 65535) {
      throw nodeCodeError('ERR_SOCKET_BAD_PORT', `Port should be >= 0 and < 65536. Received ${String(port)}.`, RangeError);
    }
    const host = address === undefined ? '0.0.0.0' : address;
    const addr = typeof host === 'string' ? parseIpv4(host) : null;
    if (addr === null) {
      throw nodeCodeError('ERR_INVALID_ARG_VALUE', `The argument 'address' must be '0.0.0.0' or the stack's IPv4 address. Received ${String(host)}`, TypeError);
    }
    if (callback) this.once('listening', callback);
    const r = this.ctx.udp.bind(this.handle, addr, p);
    if (r < 0) {
      process.nextTick(() => this.emit('error', errnoException(r, 'bind', host as string, p)));
      return this;
    }
    this.bindState = BindState.BOUND;
    this.boundAddress = host as string;
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  send(msg: Message, port: number, address: string, callback?: SendCallback): void;
  send(msg: Message, offset: number, length: number, port: number, address: string, callback?: SendCallback): void;
  send(...args: unknown[]): void {
    const last = args[args.length - 1];
    const callback = typeof last === 'function' ? (last as SendCallback) : undefined;
    if (callback) args = args.slice(0, -1);
    let pieces: Uint8Array[];
    let port: unknown;
    let address: unknown;
    if (typeof args[1] === 'number' && typeof args[2] === 'number' && args.length >= 4) {
      const [msg, offset, length] = args as [Uint8Array | string, number, number];
      const buf = typeof msg === 'string' ? Buffer.from(msg) : msg;
      if (!(buf instanceof Uint8Array)) throw nodeCodeError('ERR_INVALID_ARG_TYPE', 'The "msg" argument must be a string, Buffer or Uint8Array', TypeError);
      if (offset < 0 || length < 0 || offset + length > buf.length) {
        throw nodeCodeError('ERR_OUT_OF_RANGE', `offset ${offset} and length ${length} do not fit the ${buf.length}-byte message`, RangeError);
      }
      pieces = [buf.subarray(offset, offset + length)];
      port = args[3];
      address = args[4];
    } else {
      pieces = toPieces(args[0]);
      port = args[1];
      address = args[2];
    }
    this.checkOpen();
    if (typeof port !== 'number' || !Number.isInteger(port) || port <= 0 || port > 65535) {
      throw nodeCodeError('ERR_SOCKET_BAD_PORT', `Port should be > 0 and < 65536. Received ${String(port)}.`, RangeError);
    }
    const dst = typeof address === 'string' ? parseIpv4(address) : null;
    if (dst === null) {
      throw nodeCodeError('ERR_INVALID_ARG_VALUE', `The argument 'address' must be the peer's IPv4 address, like '10.0.0.2' (the stack has no resolver and no loopback). Received ${String(address)}`, TypeError);
    }
    const send: WaitingSend = { pieces, dst, address: address as string, port, callback };
    if (this.waiting.length === 0 && this.trySend(send)) return;
    if (this.waiting.length >= MAX_WAITING_DATAGRAMS) {
      this.report(send, -Errno.ENOBUFS);
      return;
    }
    this.waiting.push(send);
    if (this.waiting.length === 1) this.ctx.retryAfterBurst(this);
    this.ctx.kick();
  }

  /** @internal Sends what waits while the stack takes it; true when nothing waits any more. */
  retrySends(): boolean {
    while (this.waiting.length > 0 && !this.closed) {
      if (!this.trySend(this.waiting[0])) return false;
      this.waiting.shift();
    }
    return true;
  }

  /** Hands one datagram to the stack; false when its send queue is full (try again later). */
  private trySend(send: WaitingSend): boolean {
    const r = this.ctx.udp.sendTo(this.handle, send.dst, send.port, send.pieces);
    if (this.bindState === BindState.UNBOUND) this.bindImplicitly();
    if (r === -Errno.EAGAIN || r === -Errno.ENOBUFS) return false;
    this.ctx.kick();
    this.report(send, r);
    return true;
  }

  /**
   * After the first send of an unbound socket: the stack bound it (an ephemeral port whose
   * replies land on this worker's queue, assembly/udp/api.ts), or, when the send failed
   * before that, it is bound here to any port, as Node binds before sending.
   */
  private bindImplicitly(): void {
    if (this.ctx.udp.localPort(this.handle) === 0) { this.bind(0); return; }
    this.bindState = BindState.BOUND;
    process.nextTick(() => this.emit('listening'));
  }

  private report(send: WaitingSend, result: number): void {
    const error = result < 0 ? errnoException(result, 'send', send.address, send.port) : null;
    if (send.callback) process.nextTick(send.callback, error, result < 0 ? undefined : result);
    else if (error) process.nextTick(() => this.emit('error', error));
  }

  close(callback?: () => void): this {
    this.checkOpen();
    if (callback) this.once('close', callback);
    this.closed = true;
    for (const send of this.waiting.splice(0)) this.report(send, -ECANCELED);
    this.ctx.unregisterUdp(this.handle);
    this.ctx.udp.close(this.handle);
    this.ctx.untrackUdp(this);
    process.nextTick(() => this.emit('close'));
    return this;
  }

  address(): { address: string; family: 'IPv4'; port: number } {
    this.checkOpen();
    if (this.bindState !== BindState.BOUND) throw nodeCodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
    return { address: this.boundAddress, family: 'IPv4', port: this.ctx.udp.localPort(this.handle) };
  }

  setBroadcast(flag: boolean): void {
    this.checkOpen();
    this.ctx.udp.setBroadcast(this.handle, Boolean(flag));
  }

  /** The stack keeps the process alive until `stack.close()`; these exist for Node's API users. */
  ref(): this { return this; }
  unref(): this { return this; }

  /** @internal Datagrams arrived: emit each as 'message'. */
  onNotify(): void {
    while (!this.closed) {
      const got = this.ctx.udp.receive(this.handle);
      if (typeof got === 'number') {
        if (got !== -Errno.EAGAIN) this.emit('error', errnoException(got, 'recvmsg'));
        return;
      }
      const rinfo: RemoteInfo = { address: formatIpv4(got.address), family: 'IPv4', port: got.port, size: got.size };
      this.emit('message', got.data, rinfo);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw nodeCodeError('ERR_SOCKET_DGRAM_NOT_RUNNING', 'Not running');
  }
}

function toPieces(msg: unknown): Uint8Array[] {
  const list = Array.isArray(msg) ? msg : [msg];
  return list.map((m) => {
    if (typeof m === 'string') return Buffer.from(m);
    if (m instanceof Uint8Array) return m;
    throw nodeCodeError('ERR_INVALID_ARG_TYPE', 'The "msg" argument must be a string, Buffer, Uint8Array or an array of them', TypeError);
  });
}

/** `stack.dgram`: the `node:dgram` module of one stack. */
export interface Dgram {
  createSocket(type: 'udp4' | SocketOptions, listener?: (msg: Buffer, rinfo: RemoteInfo) => void): UdpSocket;
}

export function createDgram(ctx: DgramContext): Dgram {
  return {
    createSocket(type, listener) {
      const t = typeof type === 'object' && type !== null ? type.type : type;
      if (t !== 'udp4') {
        throw nodeCodeError('ERR_SOCKET_BAD_TYPE', `Bad socket type specified. Valid types are: udp4 (the stack speaks IPv4). Received ${String(t)}`, TypeError);
      }
      if (ctx.closing) throw projectError('ERR_WASM_TCPIP_STACK_CLOSING', 'the stack is closing: create sockets before stack.close()');
      const socket = new UdpSocket(ctx);
      if (listener) socket.on('message', listener);
      return socket;
    },
  };
}
