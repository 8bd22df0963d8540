// A TCP listener of the stack, shaped like Node's `net.Server`.
//
// Guarantees: `listen()` opens one listener in the stack (RFC 9293 3.10.1 passive open) with
// an accept queue of `backlog` and a SYN queue of `synBacklog`; 'listening' is emitted on the
// next tick, and a failure ('listen EADDRINUSE: address already in use 0.0.0.0:7') as an
// 'error' event, as Node does. Every connection the stack completes is accepted as soon as it
// is notified and handed out with 'connection'; past `maxConnections` it is closed at once
// and 'drop' is emitted, as Node does. `close()` stops listening at once (queued,
// unaccepted connections are reset by the stack) and emits 'close' when the last accepted
// connection has closed.

import { EventEmitter } from 'node:events';
import type { Endpoint, NetContext } from './context.js';
import { Errno, errnoException, nodeCodeError, projectError } from './errors.js';
import { formatIpv4, parseIpv4 } from './ipv4.js';
import { InfoFlag } from './tcp-abi.js';
import { kAcceptedHandle, kContext, Socket, type AddressInfo, type SocketConstructorOptions } from './socket.js';

export interface ServerOptions extends SocketConstructorOptions {
  /** Accepted sockets start paused (as Node's option). */
  pauseOnConnect?: boolean;
  /** Send ring bytes of accepted connections (default: the stack's `tcp.sendBuffer`). */
  sendBuffer?: number;
  /** Receive ring bytes of accepted connections (default: the stack's `tcp.recvBuffer`). */
  recvBuffer?: number;
  /** Half-open connections held while their handshake completes (default 128). */
  synBacklog?: number;
  /**
   * TCP Fast Open (RFC 7413, server side; the stack needs `tcp: { fastOpen: true }`):
   * clients get a cookie, and a later SYN carrying it and data is accepted at once: the
   * 'connection' socket has the data readable before the handshake completes. `queue`
   * bounds such connections still in the handshake (RFC 7413 5.1; Linux's TCP_FASTOPEN
   * socket option takes the same number).
   */
  fastOpen?: { queue: number };
}

export interface ListenOptions {
  port?: number | string;
  /** '0.0.0.0' (the default) or the stack's own address. */
  host?: string;
  /** Accept queue length (default 511, as Node). */
  backlog?: number;
}

/** Range `listen(0)` draws a free port from (the IANA dynamic range, RFC 6335). */
const ANY_PORT_LOW = 49152;
const ANY_PORT_COUNT = 65536 - ANY_PORT_LOW;
const DEFAULT_BACKLOG = 511;

interface InternalServerOptions extends ServerOptions {
  [kContext]?: NetContext;
}

/** Information about a connection closed because of `maxConnections` ('drop'). */
export interface DropInfo {
  localAddress?: string;
  localPort?: number;
  localFamily?: string;
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
}

/** Events of a Server with their arguments, as `node:net` types them. */
export interface Server {
  on(event: 'connection', listener: (socket: Socket) => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'drop', listener: (data: DropInfo) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'connection', listener: (socket: Socket) => void): this;
  once(event: 'listening' | 'close', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'drop', listener: (data: DropInfo) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class Server extends EventEmitter implements Endpoint {
  /** Connections beyond this number are closed when accepted (Node's `server.maxConnections`). */
  maxConnections: number | undefined;
  /** @internal */ readonly ctx: NetContext;
  private readonly options: ServerOptions;
  private handle = -1;
  private boundAddress: AddressInfo | null = null;
  private readonly connections = new Set<Socket>();
  private closeRequested = false;
  private anyPortCursor: number;

  constructor(options?: ServerOptions | ((socket: Socket) => void), connectionListener?: (socket: Socket) => void) {
    super();
    let opts: ServerOptions = {};
    let listener = connectionListener;
    if (typeof options === 'function') listener = options;
    else if (options !== undefined && options !== null) {
      if (typeof options !== 'object') throw nodeCodeError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an object', TypeError);
      opts = options;
    }
    const ctx = (opts as InternalServerOptions)[kContext];
    if (!ctx) {
      throw projectError('ERR_WASM_TCPIP_NO_STACK', 'a Server belongs to a stack: create it with stack.net.createServer() or new stack.net.Server()');
    }
    this.ctx = ctx;
    this.options = { ...opts };
    for (const name of ['sendBuffer', 'recvBuffer'] as const) {
      const v = opts[name];
      if (v !== undefined && (!Number.isInteger(v) || v < 1024 || v > 2 ** 30)) {
        throw nodeCodeError('ERR_OUT_OF_RANGE', `options.${name} must be an integer from 1024 to 1073741824 bytes, got ${String(v)}`, RangeError);
      }
    }
    if (opts.synBacklog !== undefined && (!Number.isInteger(opts.synBacklog) || opts.synBacklog < 1 || opts.synBacklog > 65535)) {
      throw nodeCodeError('ERR_OUT_OF_RANGE', `options.synBacklog must be an integer from 1 to 65535, got ${String(opts.synBacklog)}`, RangeError);
    }
    if (opts.fastOpen !== undefined) {
      const q = (opts.fastOpen as { queue?: unknown } | null)?.queue;
      if (typeof q !== 'number' || !Number.isInteger(q) || q < 1 || q > 65535) {
        throw nodeCodeError('ERR_OUT_OF_RANGE', `options.fastOpen must be { queue: N } with N an integer from 1 to 65535, got ${JSON.stringify(opts.fastOpen)}`, RangeError);
      }
    }
    this.anyPortCursor = ctx.seed % ANY_PORT_COUNT;
    if (listener) this.on('connection', listener);
  }

  get listening(): boolean {
    return this.handle >= 0;
  }

  listen(port?: number | string, host?: string, backlog?: number, callback?: () => void): this;
  listen(port?: number | string, host?: string, callback?: () => void): this;
  listen(port?: number | string, callback?: () => void): this;
  listen(options: ListenOptions, callback?: () => void): this;
  listen(...args: unknown[]): this {
    const last = args[args.length - 1];
    const callback = typeof last === 'function' ? (last as () => void) : undefined;
    if (callback) args = args.slice(0, -1);
    let options: ListenOptions;
    if (args[0] !== null && typeof args[0] === 'object') options = args[0] as ListenOptions;
    else {
      options = { port: args[0] as number | undefined };
      if (typeof args[1] === 'string') options.host = args[1];
      const b = typeof args[1] === 'number' ? args[1] : args[2];
      if (typeof b === 'number') options.backlog = b;
    }
    if (this.handle >= 0) throw nodeCodeError('ERR_SERVER_ALREADY_LISTEN', 'Listen method has been called more than once without closing.');
    if ((options as { path?: unknown }).path !== undefined) {
      throw projectError('ERR_WASM_TCPIP_NO_IPC', 'stack servers are TCP only: listen on { port } instead of a path');
    }
    const portValue = options.port === undefined ? 0 : options.port;
    const port = typeof portValue === 'string' && /^\d+$/.test(portValue) ? Number(portValue) : portValue;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
      throw nodeCodeError('ERR_SOCKET_BAD_PORT', `options.port should be >= 0 and < 65536. Received ${String(portValue)}.`, RangeError);
    }
    const host = options.host ?? '0.0.0.0';
    const addr = parseIpv4(host);
    if (addr === null) {
      throw nodeCodeError('ERR_INVALID_ARG_VALUE', `The property 'options.host' must be '0.0.0.0' or the stack's IPv4 address. Received '${host}'`, TypeError);
    }
    const backlog = options.backlog ?? DEFAULT_BACKLOG;
    if (!Number.isInteger(backlog) || backlog < 0) {
      throw nodeCodeError('ERR_INVALID_ARG_VALUE', `The property 'options.backlog' must be a non-negative integer. Received ${String(backlog)}`, TypeError);
    }
    if (callback) this.once('listening', callback);
    this.closeRequested = false;

    if (this.ctx.closing) {
      process.nextTick(() => this.emit('error', projectError('ERR_WASM_TCPIP_STACK_CLOSING', 'the stack is closing: listen before stack.close()')));
      return this;
    }
    const h = port === 0 ? this.listenAnyPort(addr, backlog) : this.open(addr, port, backlog);
    if (h < 0) {
      process.nextTick(() => this.emit('error', errnoException(h, 'listen', host, port, true)));
      return this;
    }
    if (this.options.fastOpen !== undefined) {
      const r = this.ctx.tcp.listenFastOpen(h, this.options.fastOpen.queue);
      if (r < 0) {
        this.ctx.tcp.close(h);
        const err = r === -Errno.EOPNOTSUPP
          ? projectError('ERR_WASM_TCPIP_FASTOPEN_OFF', "this server asks for TCP Fast Open but the stack has it off: create the stack with { tcp: { fastOpen: true } } (or 'server')")
          : errnoException(r, 'listen', host, port, true);
        process.nextTick(() => this.emit('error', err));
        return this;
      }
    }
    this.handle = h;
    const bound = this.ctx.tcp.info(h);
    this.boundAddress = { address: host, family: 'IPv4', port: bound ? bound.localPort : port };
    this.ctx.registerTcp(h, this);
    this.ctx.trackServer(this);
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  /** `{ address, family, port }` while listening, else null (as Node). */
  address(): AddressInfo | null {
    return this.handle >= 0 && this.boundAddress ? { ...this.boundAddress } : null;
  }

  /** Stops listening; 'close' (and `callback`) once every accepted connection has closed. */
  close(callback?: (err?: Error) => void): this {
    if (callback) {
      if (this.handle < 0) {
        process.nextTick(callback, nodeCodeError('ERR_SERVER_NOT_RUNNING', 'Server is not running.'));
      } else {
        this.once('close', callback);
      }
    }
    if (this.handle >= 0) {
      const h = this.handle;
      this.handle = -1;
      this.ctx.unregisterTcp(h);
      this.ctx.tcp.close(h);
      this.ctx.untrackServer(this);
      this.ctx.kick();
      this.closeRequested = true;
      this.emitCloseIfDrained();
    }
    return this;
  }

  getConnections(callback: (err: Error | null, count: number) => void): this {
    process.nextTick(callback, null, this.connections.size);
    return this;
  }

  /** The stack keeps the process alive until `stack.close()`; these exist for Node's API users. */
  ref(): this { return this; }
  unref(): this { return this; }

  /** @internal The stack notified the listener: accept everything that is queued. */
  onNotify(): void {
    if (this.handle < 0) return;
    const info = this.ctx.tcp.info(this.handle);
    if (info === null || (info.flags & InfoFlag.CAN_ACCEPT) === 0) return;
    for (;;) {
      if (this.handle < 0) return;
      const h = this.ctx.tcp.accept(this.handle);
      if (h < 0) {
        if (h !== -Errno.EAGAIN) this.emit('error', errnoException(h, 'accept'));
        return;
      }
      if (this.maxConnections !== undefined && this.connections.size >= this.maxConnections) {
        const c = this.ctx.tcp.info(h);
        const drop: DropInfo = c ? {
          localAddress: formatIpv4(c.localAddr), localPort: c.localPort, localFamily: 'IPv4',
          remoteAddress: formatIpv4(c.remoteAddr), remotePort: c.remotePort, remoteFamily: 'IPv4',
        } : {};
        this.ctx.tcp.close(h);
        this.ctx.kick();
        this.emit('drop', drop);
        continue;
      }
      const socket = new this.ctx.Socket({
        allowHalfOpen: this.options.allowHalfOpen,
        noDelay: this.options.noDelay,
        keepAlive: this.options.keepAlive,
        keepAliveInitialDelay: this.options.keepAliveInitialDelay,
        [kAcceptedHandle]: h,
      } as SocketConstructorOptions);
      (socket as Socket & { server?: Server }).server = this;
      this.connections.add(socket);
      socket.once('close', () => {
        this.connections.delete(socket);
        this.emitCloseIfDrained();
      });
      if (this.options.pauseOnConnect) socket.pause();
      this.emit('connection', socket);
    }
  }

  private open(addr: number, port: number, backlog: number): number {
    const o = this.options;
    return this.ctx.tcp.listen(addr, port, Math.min(backlog, 65535), o.synBacklog ?? 0, o.sendBuffer ?? 0, o.recvBuffer ?? 0);
  }

  /** listen(0): the first free port from a seed-determined point of the dynamic range. */
  private listenAnyPort(addr: number, backlog: number): number {
    let result = -Errno.EADDRINUSE;
    for (let i = 0; i < ANY_PORT_COUNT && result === -Errno.EADDRINUSE; i++) {
      const port = ANY_PORT_LOW + ((this.anyPortCursor + i) % ANY_PORT_COUNT);
      result = this.open(addr, port, backlog);
      if (result >= 0) this.anyPortCursor = (this.anyPortCursor + i + 1) % ANY_PORT_COUNT;
    }
    return result;
  }

  private emitCloseIfDrained(): void {
    if (!this.closeRequested || this.handle >= 0 || this.connections.size > 0) return;
    this.closeRequested = false;
    process.nextTick(() => this.emit('close'));
  }
}
