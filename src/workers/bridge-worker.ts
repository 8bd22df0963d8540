// The worker side of the main-thread bridge: listeners and connections the main thread asked
// for, opened on this worker's stack, their bytes moved through a pair of shared rings per
// connection (src/workers/bridge.ts is the main-thread side).
//
// Guarantees: bytes keep their order and none is lost: what the stack socket delivers is
// queued until the ring to the main thread has room (the socket is paused meanwhile, so the
// stack's receive window closes instead of memory growing); bytes from the main thread are
// written to the socket as views of the ring (no copy; a slot is freed when its write
// completed) until it asks to wait ('drain'). An end from either side is passed on only after
// every byte before it, and 'close' after 'end'.

import type { Socket } from '../net/socket.js';
import type { Server } from '../net/server.js';
import type { Stack } from '../stack/stack.js';
import { Doorbell, FrameRing } from './frame-ring.js';
import type { FromWorker, ToWorker } from './protocol.js';

/** Ring geometry of one direction of a bridged connection: 16 chunks of 16 KiB. */
export const BRIDGE_CHUNK = 16 * 1024;
export const BRIDGE_CHUNKS = 16;

type Post = (m: FromWorker) => void;

function describeError(e: unknown): { message: string; code?: string } {
  const err = e as { message?: string; code?: string };
  return { message: String(err?.message ?? e), code: err?.code };
}

class WorkerChannel {
  private readonly pending: Buffer[] = [];
  private pendingOffset = 0;
  private ended = false;
  private endSent = false;
  private closed = false;
  private closeSent = false;
  private writeBlocked = false;
  /** Ring slots handed to `socket.write` whose writes have not completed (still occupied). */
  private inWrite = 0;
  endRequested = false;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly toWorker: FrameRing,
    private readonly toMain: FrameRing,
    private readonly mainBell: Doorbell,
    private readonly post: Post,
    private readonly forget: (id: number) => void,
  ) {
    socket.on('data', (b: Buffer) => {
      this.pending.push(b);
      this.flushToMain();
      if (this.pending.length > 0) socket.pause();
    });
    socket.on('end', () => { this.ended = true; this.flushToMain(); });
    socket.on('error', (e: Error) => post({ type: 'channel', channel: id, op: 'error', error: describeError(e) }));
    socket.on('close', () => { this.closed = true; this.flushToMain(); });
  }

  /** Moves what the socket delivered into the ring to the main thread. */
  flushToMain(): void {
    let pushed = false;
    while (this.pending.length > 0) {
      const b = this.pending[0];
      const n = Math.min(b.length - this.pendingOffset, BRIDGE_CHUNK);
      if (!this.toMain.push(b, this.pendingOffset, n, 0)) break;
      pushed = true;
      this.pendingOffset += n;
      if (this.pendingOffset === b.length) { this.pending.shift(); this.pendingOffset = 0; }
    }
    if (pushed) this.mainBell.ring();
    if (this.pending.length > 0) return;
    if (this.socket.isPaused() && !this.closed) this.socket.resume();
    if (this.ended && !this.endSent) {
      this.endSent = true;
      this.post({ type: 'channel', channel: this.id, op: 'end' });
    }
    if (this.closed && !this.closeSent) {
      this.closeSent = true;
      this.post({ type: 'channel', channel: this.id, op: 'close' });
      this.forget(this.id);
    }
  }

  /**
   * Writes what the main thread put in the ring to the socket, while it takes it. The socket
   * gets views of the ring's slots (no copy here: the stack copies them into its send ring),
   * and each slot is freed when its write completed, in order.
   */
  pullFromMain(): void {
    if (this.writeBlocked || this.socket.destroyed) return;
    for (let at = this.toWorker.peekAt(this.inWrite); at >= 0; at = this.toWorker.peekAt(this.inWrite)) {
      const len = this.toWorker.lengthAt(at);
      const view = Buffer.from(this.toWorker.bytes.buffer, at, len);
      this.inWrite++;
      const more = this.socket.write(view, () => {
        this.toWorker.shift();
        this.inWrite--;
        this.mainBell.ring();
        this.endIfDone();
      });
      if (!more) {
        this.writeBlocked = true;
        this.socket.once('drain', () => { this.writeBlocked = false; this.pullFromMain(); });
        break;
      }
    }
    this.endIfDone();
  }

  /** Ends the socket once the main thread ended and every byte before its end was written. */
  private endIfDone(): void {
    if (this.endRequested && this.inWrite === 0 && this.toWorker.size === 0 && !this.socket.writableEnded && !this.socket.destroyed) this.socket.end();
  }

  service(): void {
    this.flushToMain();
    this.pullFromMain();
  }
}

export class BridgeWorker {
  private readonly channels = new Map<number, WorkerChannel>();
  private readonly servers = new Map<number, Server>();
  private readonly mainBell: Doorbell;
  private readonly workerBell: Doorbell;
  private nextChannel = 0;

  constructor(
    private readonly stack: Stack,
    private readonly index: number,
    private readonly post: Post,
    mainBell: SharedArrayBuffer,
    workerBell: SharedArrayBuffer,
  ) {
    this.mainBell = new Doorbell(mainBell);
    this.workerBell = new Doorbell(workerBell);
    this.workerBell.watch(() => { for (const c of this.channels.values()) c.service(); });
  }

  /** Handles a bridge message; returns false for messages that are not the bridge's. */
  handle(m: ToWorker, reply: (id: number, value?: unknown, error?: unknown) => void): boolean {
    switch (m.type) {
      case 'listen': {
        // Half-open on the worker: the main thread's socket decides when this side ends.
        const server = this.stack.net.createServer({ allowHalfOpen: true }, (socket) => this.adopt(socket, m.server));
        let answered = false;
        server.on('error', (e) => { if (!answered) { answered = true; reply(m.id, undefined, e); } });
        server.listen({ port: m.port, host: m.host, backlog: m.backlog }, () => {
          answered = true;
          this.servers.set(m.server, server);
          reply(m.id, (server.address() as { port: number }).port);
        });
        return true;
      }
      case 'unlisten': {
        const server = this.servers.get(m.server);
        this.servers.delete(m.server);
        if (server) server.close(() => reply(m.id)); else reply(m.id);
        return true;
      }
      case 'connect': {
        const socket = this.stack.net.connect({ host: m.host, port: m.port, allowHalfOpen: true });
        this.open(m.channel, socket, FrameRing.open(m.toWorker), FrameRing.open(m.toMain));
        socket.on('connect', () => {
          const local = socket.address() as { address: string; port: number };
          this.post({
            type: 'channel', channel: m.channel, op: 'connect',
            remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0,
            localAddress: local.address, localPort: local.port,
          });
        });
        reply(m.id);
        return true;
      }
      case 'channel': {
        const c = this.channels.get(m.channel);
        if (!c) return true;
        if (m.op === 'end') { c.endRequested = true; c.pullFromMain(); }
        else if (m.op === 'destroy') c.socket.destroy();
        else if (m.op === 'reset') c.socket.resetAndDestroy();
        else if (m.op === 'noDelay') c.socket.setNoDelay(m.noDelay);
        else if (m.op === 'keepAlive') c.socket.setKeepAlive(m.enable, m.initialDelay);
        return true;
      }
      default:
        return false;
    }
  }

  /** Stops watching the doorbell (the worker is closing). */
  close(): void {
    this.workerBell.close();
  }

  private adopt(socket: Socket, server: number): void {
    // Accepted channels are odd and carry the worker index; connect channels (main-made) are even.
    const id = ((++this.nextChannel * 256 + this.index) * 2 + 1);
    const toWorker = FrameRing.create(BRIDGE_CHUNKS, BRIDGE_CHUNK);
    const toMain = FrameRing.create(BRIDGE_CHUNKS, BRIDGE_CHUNK);
    this.open(id, socket, toWorker, toMain);
    const local = socket.address() as { address: string; port: number };
    this.post({
      type: 'accepted', server, channel: id, toWorker: toWorker.describe(), toMain: toMain.describe(),
      remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0,
      localAddress: local.address, localPort: local.port,
    });
  }

  private open(id: number, socket: Socket, toWorker: FrameRing, toMain: FrameRing): void {
    const channel = new WorkerChannel(id, socket, toWorker, toMain, this.mainBell, this.post, (c) => this.channels.delete(c));
    this.channels.set(id, channel);
    // The main thread may have filled the ring (and rung) before this message arrived: look now.
    channel.pullFromMain();
  }
}
