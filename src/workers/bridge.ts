// The main-thread bridge: `workerStack.net.createServer()` and `.connect()` give main-thread
// code Node-shaped servers and sockets whose connections live on the worker stacks. Main ->
// worker bytes travel through a single-producer single-consumer ring in a SharedArrayBuffer
// (chunks of up to 16 KiB); worker -> main bytes arrive as ArrayBuffers the worker moved to
// this thread (`postMessage` transfer list, one per read of the stack's receive ring) on the
// worker's bridge port, taken when the worker rings; the threads wake each other through
// doorbells (`Atomics.waitAsync`), and control (connect, end, close, errors) follows the bytes
// before it on the same port.
//
// Guarantees:
// - `BridgeSocket` is a `stream.Duplex`: `write()` returns false when its ring is full and
//   'drain' follows when the worker took the bytes; reading pauses the worker's socket when
//   the main thread does not read (backpressure reaches the TCP window). Events follow Node's
//   order: 'connect' (connect sockets), 'data', 'end', 'close'; errors carry the worker's
//   `code` (ECONNREFUSED, ECONNRESET, ...).
// - Copies: one per direction. Main -> worker: the main thread's Buffer into the shared ring
//   (the worker writes views of the ring into the stack, which copies into its send ring as
//   for any write). Worker -> main: the stack's own read out of its receive ring, into an
//   ArrayBuffer that is then moved to this thread; the reader's Buffers are views of it, owned
//   by this thread alone, so a reader may keep them forever (nothing reuses that memory).
//   The worker stops reading once BRIDGE_WINDOW bytes are posted and not taken by the reader
//   (a shared counter says what it took; one read of up to 64 KiB may overshoot it), so a
//   reader that does not read closes the TCP window.
// - A server listens on every worker (each accepts the connections of its queue);
//   `listen` calls back once all workers listen. `connect` opens the connection on the worker
//   chosen round robin; its local port is RSS-matched, so replies land on that worker.

import { Duplex } from 'node:stream';
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { EventEmitter } from 'node:events';
import { Doorbell, FrameRing } from './frame-ring.js';
import { BRIDGE_CHUNK, BRIDGE_CHUNKS } from './bridge-worker.js';
import type { FromWorker, ToWorker } from './protocol.js';

/** The per-connection word in which the main thread publishes the bytes its reader took (free-running). */
function creditWord(): SharedArrayBuffer { return new SharedArrayBuffer(4); }

/** What the bridge needs from the worker pool. */
export interface BridgeHost {
  readonly workerCount: number;
  post(worker: number, m: ToWorker): void;
  request(worker: number, m: ToWorker & { id: number }): Promise<unknown>;
  nextId(): number;
  ringWorker(worker: number): void;
}

function systemError(e: { message: string; code?: string }): Error {
  return Object.assign(new Error(e.message), e.code ? { code: e.code } : {});
}

export class BridgeSocket extends Duplex {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  bytesRead = 0;
  bytesWritten = 0;
  connecting: boolean;
  private pendingWrite: { chunk: Buffer; offset: number; cb: (e?: Error | null) => void } | null = null;
  private finalCallback: ((e?: Error | null) => void) | null = null;
  private peerEnded = false;
  private peerClosed = false;
  private readPaused = false;
  private idleMs = 0;
  private idleTimer: NodeJS.Timeout | null = null;
  /** Reads moved here by the worker, not yet pushed into the stream (about BRIDGE_WINDOW bytes at most). */
  private readonly received: Buffer[] = [];
  /** Bytes pushed into the stream (free-running), published to the worker through `taken`. */
  private takenCount = 0;
  private readonly taken: Int32Array;

  /** @internal */
  constructor(
    private readonly hub: BridgeHub,
    readonly worker: number,
    readonly channel: number,
    private readonly toWorker: FrameRing,
    credit: SharedArrayBuffer,
    connecting: boolean,
  ) {
    super({ allowHalfOpen: false });
    this.connecting = connecting;
    this.taken = new Int32Array(credit);
  }

  /** @internal Bytes the worker moved to this thread: `length` bytes at the start of `buffer`. */
  onData(buffer: ArrayBuffer, length: number): void {
    if (this.destroyed) return;
    this.received.push(Buffer.from(buffer, 0, length));
    this.pull();
  }

  /** @internal The worker's socket connected. */
  onConnect(remoteAddress: string, remotePort: number, localAddress: string, localPort: number): void {
    this.remoteAddress = remoteAddress; this.remotePort = remotePort;
    this.localAddress = localAddress; this.localPort = localPort;
    this.connecting = false;
    this.emit('connect');
    this.emit('ready');
  }

  /** @internal */
  onPeer(op: 'end' | 'close' | 'error', error?: { message: string; code?: string }): void {
    if (op === 'end') { this.peerEnded = true; this.pull(); }
    else if (op === 'close') { this.peerClosed = true; this.peerEnded = true; this.pull(); if (!this.destroyed && this.readableEnded) this.destroy(); }
    else this.destroy(systemError(error!));
  }

  address(): { address: string; family: string; port: number } | Record<string, never> {
    return this.localAddress === undefined ? {} : { address: this.localAddress, family: 'IPv4', port: this.localPort! };
  }

  /** Nagle off (true) or on for the worker's connection, as `net.Socket#setNoDelay`. */
  setNoDelay(noDelay = true): this {
    this.hub.host.post(this.worker, { type: 'channel', channel: this.channel, op: 'noDelay', noDelay });
    return this;
  }

  /** TCP keepalive on the worker's connection, as `net.Socket#setKeepAlive`. */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.hub.host.post(this.worker, { type: 'channel', channel: this.channel, op: 'keepAlive', enable, initialDelay });
    return this;
  }

  /**
   * Emits 'timeout' after `ms` without bytes read or written on this side (0 turns it off),
   * as `net.Socket#setTimeout`; the socket stays open.
   */
  setTimeout(ms: number, callback?: () => void): this {
    if (!Number.isFinite(ms) || ms < 0) {
      throw Object.assign(new RangeError(`socket.setTimeout: ms must be a non-negative number, got ${String(ms)}`), { code: 'ERR_OUT_OF_RANGE' });
    }
    if (callback) this.once('timeout', callback);
    this.idleMs = ms;
    this.touch();
    return this;
  }

  /** Node's sockets can be unreferenced; the workers keep the process alive anyway. */
  ref(): this { return this; }
  unref(): this { return this; }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = this.idleMs > 0 && !this.destroyed ? setTimeout(() => { this.idleTimer = null; this.emit('timeout'); }, this.idleMs) : null;
  }

  /** Sends an RST on the worker's connection and destroys this socket. */
  resetAndDestroy(): this {
    if (!this.peerClosed) this.hub.host.post(this.worker, { type: 'channel', channel: this.channel, op: 'reset' });
    this.peerClosed = true;
    return this.destroy();
  }

  override _read(): void {
    this.readPaused = false;
    this.pull();
  }

  /** @internal Moves received bytes into the stream while the reader wants them. */
  pull(): void {
    if (this.destroyed) return;
    let took = false;
    while (!this.readPaused && this.received.length > 0) {
      const chunk = this.received.shift()!;
      took = true;
      this.bytesRead += chunk.length;
      this.takenCount = (this.takenCount + chunk.length) | 0;
      if (this.idleTimer) this.touch();
      if (!this.push(chunk)) this.readPaused = true;
    }
    if (took) {
      Atomics.store(this.taken, 0, this.takenCount);
      this.hub.host.ringWorker(this.worker);
    }
    if (this.peerEnded && this.received.length === 0 && !this.readableEnded && !this.readPaused) {
      this.push(null);
      if (this.peerClosed) queueMicrotask(() => { if (!this.destroyed) this.destroy(); });
    }
    this.flushWrites();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.pendingWrite = { chunk, offset: 0, cb };
    this.flushWrites();
  }

  /** @internal Puts the pending write into the ring as far as it has room. */
  flushWrites(): void {
    const w = this.pendingWrite;
    if (w !== null) {
      let pushed = false;
      while (w.offset < w.chunk.length) {
        const n = Math.min(w.chunk.length - w.offset, BRIDGE_CHUNK);
        if (!this.toWorker.push(w.chunk, w.offset, n, 0)) break;
        w.offset += n;
        pushed = true;
      }
      if (pushed) {
        this.hub.host.ringWorker(this.worker);
        if (this.idleTimer) this.touch();
      }
      if (w.offset === w.chunk.length) {
        this.pendingWrite = null;
        this.bytesWritten += w.chunk.length;
        w.cb();
      }
    }
    if (this.pendingWrite === null && this.finalCallback !== null) {
      const cb = this.finalCallback;
      this.finalCallback = null;
      this.hub.host.post(this.worker, { type: 'channel', channel: this.channel, op: 'end' });
      cb();
    }
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.finalCallback = cb;
    this.flushWrites();
  }

  override _destroy(error: Error | null, cb: (e?: Error | null) => void): void {
    // After a clean end both ways the worker's socket finishes on its own (flushing what it
    // still holds); only an early destroy is passed on.
    const clean = error === null && this.writableFinished && this.readableEnded;
    if (!this.peerClosed && !clean) this.hub.host.post(this.worker, { type: 'channel', channel: this.channel, op: 'destroy' });
    this.hub.forget(this);
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
    if (this.pendingWrite) { const w = this.pendingWrite; this.pendingWrite = null; w.cb(error ?? new Error('socket destroyed')); }
    cb(error);
  }
}

export class BridgeServer extends EventEmitter {
  private listening = false;
  private port: number | null = null;
  /** @internal */
  constructor(private readonly hub: BridgeHub, readonly id: number) { super(); }

  /** Listens on `port` on every worker (`listen(port[, host][, cb])` or `listen({ port, host, backlog }[, cb])`). */
  listen(...args: unknown[]): this {
    let port: number; let address: string | undefined; let backlog: number | undefined;
    const cb = typeof args[args.length - 1] === 'function' ? args.pop() as () => void : undefined;
    if (typeof args[0] === 'object' && args[0] !== null) {
      const o = args[0] as { port?: number; host?: string; backlog?: number };
      port = o.port ?? 0; address = o.host; backlog = o.backlog;
    } else {
      port = Number(args[0] ?? 0); address = typeof args[1] === 'string' ? args[1] : undefined;
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw Object.assign(new RangeError(`bridge server: port must be an integer from 1 to 65535 (the same port on every worker), got ${String(port)}`), { code: 'ERR_SOCKET_BAD_PORT' });
    }
    if (cb) this.once('listening', cb);
    const host = this.hub.host;
    Promise.all(Array.from({ length: host.workerCount }, (_, w) =>
      host.request(w, { type: 'listen', id: host.nextId(), server: this.id, port, host: address, backlog })))
      .then(() => { this.listening = true; this.port = port; this.emit('listening'); },
        (e) => this.emit('error', e));
    return this;
  }

  address(): { address: string; family: string; port: number } | null {
    return this.listening ? { address: '0.0.0.0', family: 'IPv4', port: this.port! } : null;
  }

  /** Stops listening on every worker; open connections stay. */
  close(cb?: (e?: Error) => void): this {
    const host = this.hub.host;
    Promise.all(Array.from({ length: host.workerCount }, (_, w) =>
      host.request(w, { type: 'unlisten', id: host.nextId(), server: this.id })))
      .then(() => { this.listening = false; this.hub.servers.delete(this.id); this.emit('close'); cb?.(); }, (e) => cb?.(e));
    return this;
  }
}

/** The main thread's end of the bridge: servers, sockets, and the doorbell they share. */
export class BridgeHub {
  readonly servers = new Map<number, BridgeServer>();
  private readonly sockets = new Map<string, BridgeSocket>();
  private readonly bell: Doorbell;
  private nextServer = 1;
  private nextChannel = 0;
  private nextWorker = 0;

  constructor(readonly host: BridgeHost, mainBell: SharedArrayBuffer, private readonly ports: MessagePort[]) {
    this.bell = new Doorbell(mainBell);
    this.bell.watch(() => {
      // Each worker posts on its bridge port, then rings: what it posted is there to take.
      for (let w = 0; w < ports.length; w++) {
        for (let r = receiveMessageOnPort(ports[w]); r !== undefined; r = receiveMessageOnPort(ports[w])) this.onMessage(w, r.message as FromWorker);
      }
      for (const s of this.sockets.values()) s.pull();
    });
  }

  createServer(listener?: (socket: BridgeSocket) => void): BridgeServer {
    const s = new BridgeServer(this, this.nextServer++);
    if (listener) s.on('connection', listener);
    this.servers.set(s.id, s);
    return s;
  }

  /** `connect({ host, port })` or `connect(port, host)`; the worker is chosen round robin. */
  connect(...args: unknown[]): BridgeSocket {
    const cb = typeof args[args.length - 1] === 'function' ? args.pop() as () => void : undefined;
    let port: number; let host: string;
    if (typeof args[0] === 'object' && args[0] !== null) {
      const o = args[0] as { port?: number; host?: string };
      port = Number(o.port); host = o.host ?? '';
    } else {
      port = Number(args[0]); host = String(args[1] ?? '');
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw Object.assign(new RangeError(`bridge connect: port must be an integer from 1 to 65535, got ${String(port)}`), { code: 'ERR_SOCKET_BAD_PORT' });
    }
    const worker = this.nextWorker;
    this.nextWorker = (this.nextWorker + 1) % this.host.workerCount;
    const channel = (++this.nextChannel) * 2;
    const toWorker = FrameRing.create(BRIDGE_CHUNKS, BRIDGE_CHUNK);
    const credit = creditWord();
    const socket = new BridgeSocket(this, worker, channel, toWorker, credit, true);
    if (cb) socket.once('connect', cb);
    this.sockets.set(`${worker}:${channel}`, socket);
    this.host.request(worker, { type: 'connect', id: this.host.nextId(), channel, host, port, toWorker: toWorker.describe(), credit })
      .catch((e) => socket.destroy(e));
    return socket;
  }

  /** @internal A message of worker `worker` for the bridge. */
  onMessage(worker: number, m: FromWorker): void {
    if (m.type === 'accepted') {
      const server = this.servers.get(m.server);
      const socket = new BridgeSocket(this, worker, m.channel, FrameRing.open(m.toWorker), m.credit, false);
      socket.remoteAddress = m.remoteAddress; socket.remotePort = m.remotePort;
      socket.localAddress = m.localAddress; socket.localPort = m.localPort;
      this.sockets.set(`${worker}:${m.channel}`, socket);
      if (server) server.emit('connection', socket);
      else socket.destroy();
      socket.pull();
    } else if (m.type === 'data') {
      this.sockets.get(`${worker}:${m.channel}`)?.onData(m.buffer, m.length);
    } else if (m.type === 'channel') {
      const socket = this.sockets.get(`${worker}:${m.channel}`);
      if (!socket) return;
      if (m.op === 'connect') socket.onConnect(m.remoteAddress, m.remotePort, m.localAddress, m.localPort);
      else socket.onPeer(m.op, m.op === 'error' ? m.error : undefined);
    }
  }

  /** @internal */
  forget(socket: BridgeSocket): void {
    this.sockets.delete(`${socket.worker}:${socket.channel}`);
  }

  close(): void {
    for (const s of [...this.sockets.values()]) s.destroy();
    this.bell.close();
    for (const p of this.ports) p.close();
  }
}
