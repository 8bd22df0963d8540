// A TCP socket of the stack, shaped like Node's `net.Socket`: a `stream.Duplex` over one
// connection of the WASM stack.
//
// Guarantees:
// - The connection's send and receive rings are the buffers: `write()` copies into the send
//   ring (one copy) and its callback waits while the ring is full, so `write()` returns false
//   once a small highWaterMark of bytes is waiting, and 'drain' follows when ACKs free room.
//   Reading copies out of the receive ring (one copy) only while the stream wants data: when
//   `push()` returns false reading stops, the receive window closes and the peer is
//   flow-controlled by TCP itself.
// - Events in Node's order: 'connect' then 'ready'; 'data'...; 'end' (peer FIN, after all its
//   data); 'error' then 'close'(hadError). Errors are Node-shaped ('connect ECONNREFUSED
//   10.0.0.1:7', code, errno, syscall, address, port).
// - `end()` sends FIN after everything written (RFC 9293 3.10.4), `destroy()` closes the
//   connection (FIN, or RST when received data was left unread, as Linux), and
//   `resetAndDestroy()` sends RST (RFC 9293 3.10.5).
// - Timers (`setTimeout`) run on the stack's clock, so virtual-clock tests take no wall time.
// - Host names: the stack has no resolver. `host` must be an IPv4 literal unless the caller
//   passes a `lookup` function (as in Node's connect options); 'lookup' is emitted only then.

import { Duplex } from 'node:stream';
import type { TimerHandle } from '../clock/clock.js';
import type { ClosableConnection, Endpoint, NetContext } from './context.js';
import { errnoException, Errno, nodeCodeError, projectError } from './errors.js';
import { formatIpv4, parseIpv4 } from './ipv4.js';
import { InfoFlag, Shut, TcpOption, TcpState, type TcpInfo } from './tcp-abi.js';

/** Stream buffer sizes: small, so the connection's rings do the buffering. */
const STREAM_HIGH_WATER_MARK = 16 * 1024;
/** Largest Buffer handed to `push()` at once. */
const READ_CHUNK = 64 * 1024;

/** Key under which a stack's `Socket` class passes its context (not part of the API). */
export const kContext: unique symbol = Symbol('wasm-tcpip.context');
/** Key under which a server hands an accepted connection's handle to a new socket. */
export const kAcceptedHandle: unique symbol = Symbol('wasm-tcpip.acceptedHandle');

export interface SocketConstructorOptions {
  /** Keep the writable side open after the peer's FIN (default false, as Node). */
  allowHalfOpen?: boolean;
  /** Disable Nagle from the start (default: the stack's `tcp.noDelay`). */
  noDelay?: boolean;
  /** Enable keepalive from the start. */
  keepAlive?: boolean;
  /** Idle time before the first keepalive probe, ms (0: the stack's default, 2 hours). */
  keepAliveInitialDelay?: number;
}

/** Connect options of the stack beyond Node's. */
export interface FastOpenConnectOption {
  /**
   * TCP Fast Open (RFC 7413 4.1.3; the stack needs `tcp: { fastOpen: true }` or 'client'):
   * the SYN asks the server for a cookie; once one is cached for the server, what is written
   * before 'connect' (in the same tick as connect()) travels in the SYN. As Linux's
   * TCP_FASTOPEN_CONNECT.
   */
  fastOpen?: boolean;
}

/** Node's `dns.lookup`-shaped resolver for host names. */
export type LookupFunction = (
  hostname: string,
  options: { family: 4; all: false },
  callback: (err: Error | null, address: string, family: number) => void,
) => void;

export interface TcpConnectOptions extends SocketConstructorOptions, FastOpenConnectOption {
  port: number | string;
  /** The peer's IPv4 address (or a name, with `lookup`). */
  host?: string;
  /** Must be the stack's own address when given (a stack has one address). */
  localAddress?: string;
  /** Local port (default: an ephemeral port, RFC 6056). */
  localPort?: number;
  /** Only 4 or 0: the stack speaks IPv4. */
  family?: number;
  /** Resolves `host` when it is a name. */
  lookup?: LookupFunction;
  /** Idle timeout, ms: as `socket.setTimeout(timeout)`. */
  timeout?: number;
  /** Send ring bytes for this connection (default: the stack's `tcp.sendBuffer`). */
  sendBuffer?: number;
  /** Receive ring bytes for this connection (default: the stack's `tcp.recvBuffer`). */
  recvBuffer?: number;
}

export interface AddressInfo {
  address: string;
  family: 'IPv4';
  port: number;
}

interface PendingWrite {
  chunk: Buffer;
  offset: number;
  callback: (error?: Error | null) => void;
}

interface InternalOptions extends SocketConstructorOptions {
  [kContext]?: NetContext;
  [kAcceptedHandle]?: number;
}

function validatePort(value: unknown, name: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 65535) {
    const err = nodeCodeError('ERR_SOCKET_BAD_PORT', `${name} should be >= 0 and < 65536. Received ${typeof value === 'string' ? `'${value}'` : String(value)}.`, RangeError);
    throw err;
  }
  return n;
}

function ringSize(value: unknown, name: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1024 || value > 2 ** 30) {
    throw nodeCodeError('ERR_OUT_OF_RANGE', `${name} must be an integer from 1024 to 1073741824 bytes, got ${String(value)}`, RangeError);
  }
  return value;
}

/** Events of a Socket with their arguments, as `node:net` types them. */
export interface Socket {
  on(event: 'close', listener: (hadError: boolean) => void): this;
  on(event: 'connect' | 'ready' | 'end' | 'drain' | 'finish' | 'timeout', listener: () => void): this;
  on(event: 'data', listener: (data: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'lookup', listener: (err: Error | null, address: string, family: number, host: string) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'close', listener: (hadError: boolean) => void): this;
  once(event: 'connect' | 'ready' | 'end' | 'drain' | 'finish' | 'timeout', listener: () => void): this;
  once(event: 'data', listener: (data: Buffer) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'lookup', listener: (err: Error | null, address: string, family: number, host: string) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class Socket extends Duplex implements Endpoint, ClosableConnection {
  /** True between `connect()` and 'connect' (or the connect error). */
  connecting = false;
  /** Bytes received and handed to the stream. */
  bytesRead = 0;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: 'IPv4' | undefined;
  localAddress: string | undefined;
  localFamily: 'IPv4' | undefined;
  localPort: number | undefined;
  /** The idle timeout set by `setTimeout`, ms (undefined when none). */
  timeout: number | undefined;

  /** @internal */ readonly ctx: NetContext;
  /** @internal Where received bytes are copied to (a Buffer of n bytes); the bridge lends memory it transfers. */
  readAllocator: ((n: number) => Buffer) | undefined = undefined;
  private handle = -1;
  private committed = 0;
  private pendingWrite: PendingWrite | null = null;
  private pendingFinal: ((error?: Error | null) => void) | null = null;
  private wantData = false;
  private pulling = false;
  private pushedEnd = false;
  private resetOnDestroy = false;
  private noDelayWanted: boolean;
  private keepAliveWanted: [boolean, number] | null = null;
  /** connect({ fastOpen: true }): RFC 7413 client on this connection. */
  private fastOpenWanted = false;
  private timer: TimerHandle | null = null;
  private lastActiveUs = 0;
  private closingForStack = false;
  private connectSyscallTarget: [string, number] | null = null;

  constructor(options: SocketConstructorOptions = {}) {
    const internal = options as InternalOptions;
    const ctx = internal[kContext];
    if (!ctx) {
      throw projectError('ERR_WASM_TCPIP_NO_STACK', 'a Socket belongs to a stack: create it with stack.net.Socket, stack.net.connect() or stack.net.createConnection()');
    }
    super({
      allowHalfOpen: Boolean(options.allowHalfOpen),
      emitClose: false,
      autoDestroy: true,
      decodeStrings: true,
      readableHighWaterMark: STREAM_HIGH_WATER_MARK,
      writableHighWaterMark: STREAM_HIGH_WATER_MARK,
    });
    this.ctx = ctx;
    this.noDelayWanted = options.noDelay ?? ctx.noDelay;
    if (options.keepAlive) this.keepAliveWanted = [true, options.keepAliveInitialDelay ?? 0];
    const accepted = internal[kAcceptedHandle];
    if (accepted !== undefined) {
      this.attachHandle(accepted);
      this.cacheAddresses();
      // The connection may have changed (data, FIN, RST) before this socket was registered
      // to hear about it: look once, after the 'connection' handlers ran.
      process.nextTick(() => this.onNotify());
    }
  }

  // --- Node's read-only properties -------------------------------------------------------

  /** True until the socket is connected (no handle yet, or connecting). */
  get pending(): boolean {
    return this.handle < 0 || this.connecting;
  }

  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable && !this.writable) return 'readOnly';
    if (!this.readable && this.writable) return 'writeOnly';
    return 'closed';
  }

  /** Bytes accepted by `write()` so far (sent or still waiting), as Node counts them. */
  get bytesWritten(): number {
    const inFlight = this.pendingWrite ? this.pendingWrite.offset : 0;
    return this.committed + this.writableLength - inFlight;
  }

  address(): AddressInfo | Record<string, never> {
    if (this.localAddress === undefined || this.localPort === undefined) return {};
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  // --- connecting ------------------------------------------------------------------------

  connect(options: TcpConnectOptions, connectListener?: () => void): this;
  connect(port: number | string, host?: string, connectListener?: () => void): this;
  connect(port: number | string, connectListener?: () => void): this;
  connect(...args: unknown[]): this {
    const [options, listener] = normalizeConnectArgs(args);
    if (this.handle >= 0 || this.connecting) {
      throw nodeCodeError('ERR_SOCKET_CONNECTING', 'Socket is already connected or connecting');
    }
    if (this.destroyed) throw nodeCodeError('ERR_SOCKET_CLOSED', 'Socket is closed');
    if ((options as { path?: unknown }).path !== undefined) {
      throw projectError('ERR_WASM_TCPIP_NO_IPC', 'stack sockets are TCP only: give { host, port } instead of a path');
    }
    const port = validatePort(options.port, 'Port');
    const localPort = options.localPort === undefined ? 0 : validatePort(options.localPort, 'options.localPort');
    const sendBuffer = ringSize(options.sendBuffer, 'options.sendBuffer');
    const recvBuffer = ringSize(options.recvBuffer, 'options.recvBuffer');
    if (options.family !== undefined && options.family !== 4 && options.family !== 0) {
      throw nodeCodeError('ERR_INVALID_ARG_VALUE', `The property 'options.family' must be 4 or 0: the stack speaks IPv4. Received ${String(options.family)}`, TypeError);
    }
    if (typeof options.host !== 'string' || options.host === '') {
      throw nodeCodeError('ERR_INVALID_ARG_VALUE', "The property 'options.host' must be the peer's IPv4 address, like '10.0.0.1' (a stack has no loopback, so there is no 'localhost' default)", TypeError);
    }
    if (options.lookup !== undefined && typeof options.lookup !== 'function') {
      throw nodeCodeError('ERR_INVALID_ARG_TYPE', "The property 'options.lookup' must be a function like dns.lookup", TypeError);
    }
    if (options.noDelay !== undefined) this.noDelayWanted = Boolean(options.noDelay);
    if (options.keepAlive) this.keepAliveWanted = [true, options.keepAliveInitialDelay ?? 0];
    if (options.fastOpen !== undefined) {
      if (typeof options.fastOpen !== 'boolean') throw nodeCodeError('ERR_INVALID_ARG_TYPE', `The property 'options.fastOpen' must be a boolean. Received ${String(options.fastOpen)}`, TypeError);
      this.fastOpenWanted = options.fastOpen;
    }
    if (options.timeout !== undefined) this.setTimeout(options.timeout);
    if (listener) this.once('connect', listener);
    this.connecting = true;

    const host = options.host;
    const open = (address: string): void => {
      if (this.destroyed) return;
      this.connectSyscallTarget = [address, port];
      if (options.localAddress !== undefined && parseIpv4(options.localAddress) !== this.ctx.localAddress) {
        this.destroy(errnoException(-Errno.EADDRNOTAVAIL, 'connect', address, port));
        return;
      }
      if (this.ctx.closing) {
        this.destroy(projectError('ERR_WASM_TCPIP_STACK_CLOSING', 'the stack is closing: open connections before stack.close()'));
        return;
      }
      const h = this.ctx.tcp.connect(parseIpv4(address)!, port, localPort, sendBuffer, recvBuffer);
      if (h < 0) {
        this.destroy(errnoException(h, 'connect', address, port));
        return;
      }
      // Before the SYN leaves (the next poll), and before attachHandle queues what was written.
      if (this.fastOpenWanted && this.ctx.tcp.setOption(h, TcpOption.FASTOPEN, 1) < 0) {
        this.ctx.tcp.abort(h);
        this.ctx.kick();
        this.destroy(projectError('ERR_WASM_TCPIP_FASTOPEN_OFF', "connect({ fastOpen: true }) needs TCP Fast Open on the stack: create it with { tcp: { fastOpen: true } } (or 'client')"));
        return;
      }
      this.remoteAddress = address;
      this.remotePort = port;
      this.remoteFamily = 'IPv4';
      this.attachHandle(h);
      this.ctx.kick();
    };

    if (parseIpv4(host) !== null) {
      // Errors of a connect are reported asynchronously, as Node does.
      process.nextTick(open, host);
    } else if (options.lookup) {
      const lookup = options.lookup;
      // Called on the next tick, so 'lookup' listeners added after connect() hear it even
      // from a lookup function that answers synchronously.
      process.nextTick(() => lookup(host, { family: 4, all: false }, (err, address, family) => {
        this.emit('lookup', err, address, family, host);
        if (this.destroyed) return;
        if (err) { this.destroy(err); return; }
        if (parseIpv4(address) === null) {
          this.destroy(projectError('ERR_WASM_TCPIP_NOT_IPV4', `lookup('${host}') gave '${address}', which is not an IPv4 address`));
          return;
        }
        open(address);
      }));
    } else {
      process.nextTick(() => this.destroy(projectError('ERR_WASM_TCPIP_NO_DNS',
        `cannot resolve '${host}': the stack has no DNS resolver; pass an IPv4 address as host, or a lookup function in the connect options`)));
    }
    return this;
  }

  // --- options -------------------------------------------------------------------------

  setNoDelay(noDelay = true): this {
    this.noDelayWanted = Boolean(noDelay);
    if (this.handle >= 0) this.ctx.tcp.setOption(this.handle, TcpOption.NODELAY, this.noDelayWanted ? 1 : 0);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    const delay = Math.max(0, Math.floor(Number(initialDelay) || 0));
    this.keepAliveWanted = [Boolean(enable), delay];
    if (this.handle >= 0) this.ctx.tcp.setOption(this.handle, TcpOption.KEEPALIVE, enable ? 1 : 0, delay, 0);
    return this;
  }

  /** Emits 'timeout' after `ms` of inactivity on the stack's clock; 0 disables. */
  setTimeout(ms: number, callback?: () => void): this {
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
      throw nodeCodeError('ERR_OUT_OF_RANGE', `The value of "msecs" is out of range. It must be a non-negative finite number. Received ${String(ms)}`, RangeError);
    }
    if (callback !== undefined) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.clearIdleTimer();
    this.timeout = ms === 0 ? undefined : ms;
    if (ms !== 0) this.touch();
    return this;
  }

  /** The stack keeps the process alive until `stack.close()`; these exist for Node's API users (http's Agent). */
  ref(): this { return this; }
  unref(): this { return this; }

  /** Ends the writable side and destroys the socket once it finished, as Node's destroySoon. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Closes the connection with an RST (RFC 9293 3.10.5) and destroys the socket. */
  resetAndDestroy(): this {
    if (this.handle >= 0) {
      this.resetOnDestroy = true;
      this.destroy();
    } else {
      this.destroy(nodeCodeError('ERR_SOCKET_CLOSED', 'Socket is closed'));
    }
    return this;
  }

  // --- the stack's notifications ----------------------------------------------------------

  /** @internal Called by the stack when this connection changed. */
  onNotify(): void {
    if (this.handle < 0 || this.destroyed) return;
    const info = this.ctx.tcp.info(this.handle);
    if (info === null) return;
    if (this.connecting) {
      if (info.error !== 0) {
        const [address, port] = this.connectSyscallTarget ?? [this.remoteAddress ?? '', this.remotePort ?? 0];
        this.destroy(errnoException(info.error, 'connect', address, port));
        return;
      }
      if ((info.flags & InfoFlag.CONNECTED) === 0) return;
      this.connecting = false;
      this.cacheAddresses(info);
      this.touch();
      this.emit('connect');
      this.emit('ready');
      if (this.destroyed || this.handle < 0) return;
      if (this.pendingFinal) {
        const done = this.pendingFinal;
        this.pendingFinal = null;
        this.shutdownWrite(done);
      }
    }
    if (info.error !== 0) {
      // What arrived before the failure is still delivered to a reading stream first, as a
      // kernel socket's reads return queued data before the error (as Linux).
      if (this.wantData) this.pull();
      if (!this.destroyed) this.destroy(errnoException(info.error, 'read'));
      return;
    }
    if (this.pendingWrite) this.continueWrite();
    if (this.wantData) this.pull();
  }

  // --- stream internals -------------------------------------------------------------------

  override _read(): void {
    this.wantData = true;
    this.pull();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.pendingWrite = { chunk, offset: 0, callback };
    if (this.handle >= 0) this.continueWrite();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.handle < 0 || this.connecting) {
      if (!this.connecting) { callback(nodeCodeError('ERR_SOCKET_CLOSED', 'Socket is closed')); return; }
      this.pendingFinal = callback;
      return;
    }
    this.shutdownWrite(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.clearIdleTimer();
    this.connecting = false;
    const pending = this.pendingWrite;
    this.pendingWrite = null;
    if (this.handle >= 0) {
      const h = this.handle;
      this.handle = -1;
      this.ctx.unregisterTcp(h);
      if (this.resetOnDestroy) this.ctx.tcp.abort(h);
      else this.ctx.releaseTcp(h);
      this.ctx.kick();
    }
    this.ctx.untrackConnection(this);
    if (pending) pending.callback(error ?? nodeCodeError('ERR_STREAM_DESTROYED', 'Cannot call write after a stream was destroyed'));
    callback(error);
    // After 'error' (emitted on the next tick by the stream), as Node's handle close does.
    setImmediate(() => this.emit('close', error !== null && error !== undefined));
  }

  // --- the stack's graceful close ---------------------------------------------------------

  /** @internal Ends the socket for `stack.close()`: FIN after everything written. */
  endForClose(): void {
    this.closingForStack = true;
    if (!this.writableEnded) this.end();
  }

  /**
   * @internal True once the FIN handshake finished both ways (our FIN, after every byte
   * written, acknowledged; the peer's FIN received), once the connection failed, or once the
   * socket is gone.
   */
  drained(): boolean {
    if (this.destroyed || this.handle < 0) return true;
    if (!this.closingForStack || this.pendingWrite || this.connecting) return false;
    const info = this.ctx.tcp.info(this.handle);
    if (info === null || info.error !== 0) return true;
    return info.state === TcpState.TIME_WAIT || info.state === TcpState.CLOSED;
  }

  // --- internals --------------------------------------------------------------------------

  private attachHandle(h: number): void {
    this.handle = h;
    this.ctx.registerTcp(h, this);
    this.ctx.trackConnection(this);
    if (this.noDelayWanted) this.ctx.tcp.setOption(h, TcpOption.NODELAY, 1);
    if (this.keepAliveWanted) this.ctx.tcp.setOption(h, TcpOption.KEEPALIVE, this.keepAliveWanted[0] ? 1 : 0, this.keepAliveWanted[1], 0);
    if (this.pendingWrite) this.continueWrite();
  }

  private cacheAddresses(known?: TcpInfo): void {
    const info = known ?? this.ctx.tcp.info(this.handle);
    if (!info) return;
    this.localAddress = formatIpv4(info.localAddr);
    this.localPort = info.localPort;
    this.localFamily = 'IPv4';
    this.remoteAddress = formatIpv4(info.remoteAddr);
    this.remotePort = info.remotePort;
    this.remoteFamily = 'IPv4';
  }

  /** Copies what the send ring takes of the pending chunk; completes it when all is queued. */
  private continueWrite(): void {
    const w = this.pendingWrite;
    if (!w || this.handle < 0) return;
    const n = this.ctx.tcp.write(this.handle, w.chunk, w.offset);
    if (n < 0) {
      this.pendingWrite = null;
      w.callback(errnoException(n, 'write'));
      return;
    }
    if (n > 0) {
      w.offset += n;
      this.committed += n;
      this.touch();
      this.ctx.kick();
    }
    if (w.offset === w.chunk.length) {
      this.pendingWrite = null;
      w.callback();
    }
  }

  private shutdownWrite(callback: (error?: Error | null) => void): void {
    const r = this.ctx.tcp.shutdown(this.handle, Shut.WR);
    this.ctx.kick();
    if (r < 0 && r !== -Errno.ENOTCONN) callback(errnoException(r, 'shutdown'));
    else callback();
  }

  /** Moves received bytes into the stream while it wants them; ends it after the peer's FIN. */
  private pull(): void {
    if (this.pulling || this.handle < 0 || this.connecting || this.pushedEnd) return;
    this.pulling = true;
    let consumed = false;
    try {
      while (this.wantData && this.handle >= 0) {
        const chunk = this.ctx.tcp.read(this.handle, READ_CHUNK, this.readAllocator);
        if (chunk === null) break;
        consumed = true;
        this.bytesRead += chunk.length;
        this.touch();
        if (!this.push(chunk)) this.wantData = false;
      }
      if (this.wantData && this.handle >= 0 && this.ctx.tcp.readAvail(this.handle) === 0) {
        const info = this.ctx.tcp.info(this.handle);
        if (info && (info.flags & InfoFlag.PEER_FIN) !== 0 && info.readable === 0) {
          this.pushedEnd = true;
          this.push(null);
        }
      }
    } finally {
      this.pulling = false;
    }
    // Freed receive space may open the window: let the stack send the update.
    if (consumed) this.ctx.kick();
  }

  private touch(): void {
    if (this.timeout === undefined) return;
    this.lastActiveUs = this.ctx.clock.nowUs();
    if (this.timer === null) this.armIdleTimer(this.lastActiveUs + this.timeout * 1000);
  }

  private armIdleTimer(atUs: number): void {
    this.timer = this.ctx.clock.setTimer(atUs, () => {
      this.timer = null;
      if (this.timeout === undefined || this.destroyed) return;
      const due = this.lastActiveUs + this.timeout * 1000;
      if (this.ctx.clock.nowUs() >= due) this.emit('timeout');
      else this.armIdleTimer(due);
    });
  }

  private clearIdleTimer(): void {
    if (this.timer !== null) this.ctx.clock.clearTimer(this.timer);
    this.timer = null;
  }
}

/** Node's argument forms: (options[, cb]), (port[, host][, cb]). */
export function normalizeConnectArgs(args: unknown[]): [TcpConnectOptions, (() => void) | undefined] {
  const last = args[args.length - 1];
  const listener = typeof last === 'function' ? (last as () => void) : undefined;
  const first = args[0];
  if (first !== null && typeof first === 'object') return [first as TcpConnectOptions, listener];
  const options: TcpConnectOptions = { port: first as number };
  if (typeof args[1] === 'string') options.host = args[1];
  return [options, listener];
}
