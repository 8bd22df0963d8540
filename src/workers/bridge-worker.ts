// The worker side of the main-thread bridge: listeners and connections the main thread asked
// for, opened on this worker's stack, their bytes moved to and from the main thread
// (src/workers/bridge.ts is the main-thread side).
//
// Guarantees:
// - Worker -> main, one copy: the stack socket reads its receive ring straight into an
//   ArrayBuffer this channel lends it (`Socket.readAllocator`; a read takes all the ring
//   holds, up to 64 KiB, so under load one read carries many segments); once the socket
//   delivered those bytes, the ArrayBuffer is posted to the main thread in the transfer list
//   (moved, not copied) and this side never touches it again, so the main thread's reader
//   may keep its Buffer forever. One ArrayBuffer and one message per read, none per packet.
// - Backpressure: at most `BRIDGE_WINDOW` bytes are posted and not yet taken by the main
//   thread's reader (it publishes what it took in a shared counter and rings this worker's
//   doorbell); beyond that the socket is paused, so the stack's receive window closes instead
//   of memory growing.
// - Main -> worker, one copy (the main thread's, into the shared ring): bytes are written to
//   the socket as views of the ring (a slot is freed when its write completed) until it asks
//   to wait ('drain').
// - Bytes keep their order and none is lost; an end from either side is passed on only after
//   every byte before it, and 'close' after 'end' (data and control share one message port).

import type { MessagePort } from 'node:worker_threads';
import type { Socket } from '../net/socket.js';
import type { Server } from '../net/server.js';
import type { Stack } from '../stack/stack.js';
import { Doorbell, FrameRing } from './frame-ring.js';
import type { FromWorker, ToWorker } from './protocol.js';

/** Ring geometry of the main -> worker direction of a bridged connection: 16 chunks of 16 KiB. */
export const BRIDGE_CHUNK = 16 * 1024;
export const BRIDGE_CHUNKS = 16;
/** Worker -> main: bytes posted and not yet taken by the main thread's reader, at most (then the socket pauses). */
export const BRIDGE_WINDOW = 256 * 1024;

/** Posts a bridge message to the main thread (moving the listed ArrayBuffers) and rings its doorbell. */
type Post = (m: FromWorker, transfer?: ArrayBuffer[]) => void;

function describeError(e: unknown): { message: string; code?: string } {
  const err = e as { message?: string; code?: string };
  return { message: String(err?.message ?? e), code: err?.code };
}

/** The memory of one read lent to the socket: `length` bytes, `delivered` of them seen in 'data' so far. */
interface LentRead {
  buffer: ArrayBuffer;
  length: number;
  delivered: number;
}

class WorkerChannel {
  /** Reads lent to the socket and not yet posted, oldest first. */
  private readonly lent: LentRead[] = [];
  /** Bytes posted to the main thread (free-running, wraps at 2^32). */
  private posted = 0;
  private pausedForWindow = false;
  private ended = false;
  private endSent = false;
  private closed = false;
  private closeSent = false;
  private writeBlocked = false;
  /** Ring slots handed to `socket.write` whose writes have not completed (still occupied). */
  private inWrite = 0;
  endRequested = false;
  /** Bytes the main thread's reader took (free-running), published by the main thread. */
  private readonly taken: Int32Array;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly toWorker: FrameRing,
    credit: SharedArrayBuffer,
    private readonly mainBell: Doorbell,
    private readonly post: Post,
    private readonly forget: (id: number) => void,
  ) {
    this.taken = new Int32Array(credit);
    socket.readAllocator = (n) => this.lend(n);
    socket.on('data', (b: Buffer) => this.delivered(b));
    socket.on('end', () => { this.ended = true; this.flushToMain(); });
    socket.on('error', (e: Error) => post({ type: 'channel', channel: id, op: 'error', error: describeError(e) }));
    socket.on('close', () => { this.closed = true; this.flushToMain(); });
  }

  /** The socket's read allocator: `n` bytes of memory that will be moved to the main thread. */
  private lend(n: number): Buffer {
    const buffer = new ArrayBuffer(n);
    this.lent.push({ buffer, length: n, delivered: 0 });
    return Buffer.from(buffer, 0, n);
  }

  /**
   * The socket delivered `b`, bytes of the oldest lent read (a stream emits what its source
   * pushed in order, and the socket reads only into memory lent here: the allocator is set
   * before the socket's stream first reads, when the channel adds its 'data' listener).
   */
  private delivered(b: Buffer): void {
    this.lent[0].delivered += b.length;
    this.flushToMain();
  }

  /** Bytes posted and not yet taken by the main thread's reader. */
  private get inFlight(): number {
    return (this.posted - Atomics.load(this.taken, 0)) | 0;
  }

  /**
   * Posts every fully delivered read (moving its memory), in order; pauses or resumes the
   * socket by the window; passes on 'end' and 'close' once no delivered byte is left before them.
   */
  flushToMain(): void {
    while (this.lent.length > 0 && this.lent[0].delivered === this.lent[0].length) {
      const read = this.lent.shift()!;
      this.posted = (this.posted + read.length) | 0;
      this.post({ type: 'data', channel: this.id, buffer: read.buffer, length: read.length }, [read.buffer]);
    }
    const full = this.inFlight >= BRIDGE_WINDOW;
    if (full && !this.pausedForWindow && !this.closed) { this.pausedForWindow = true; this.socket.pause(); }
    else if (!full && this.pausedForWindow) { this.pausedForWindow = false; if (!this.closed) this.socket.resume(); }
    if (this.lent.length > 0 && this.lent[0].delivered > 0) return;
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
    if (this.pausedForWindow) this.flushToMain();
    this.pullFromMain();
  }
}

export class BridgeWorker {
  private readonly channels = new Map<number, WorkerChannel>();
  private readonly servers = new Map<number, Server>();
  private readonly mainBell: Doorbell;
  private readonly workerBell: Doorbell;
  private readonly post: Post;
  private nextChannel = 0;

  constructor(
    private readonly stack: Stack,
    private readonly index: number,
    port: MessagePort,
    mainBell: SharedArrayBuffer,
    workerBell: SharedArrayBuffer,
  ) {
    this.mainBell = new Doorbell(mainBell);
    this.post = (m, transfer) => { port.postMessage(m, transfer); this.mainBell.ring(); };
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
        this.open(m.channel, socket, FrameRing.open(m.toWorker), m.credit);
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
    const credit = new SharedArrayBuffer(4);
    this.open(id, socket, toWorker, credit);
    const local = socket.address() as { address: string; port: number };
    this.post({
      type: 'accepted', server, channel: id, toWorker: toWorker.describe(), credit,
      remoteAddress: socket.remoteAddress ?? '', remotePort: socket.remotePort ?? 0,
      localAddress: local.address, localPort: local.port,
    });
  }

  private open(id: number, socket: Socket, toWorker: FrameRing, credit: SharedArrayBuffer): void {
    const channel = new WorkerChannel(id, socket, toWorker, credit, this.mainBell, this.post, (c) => this.channels.delete(c));
    this.channels.set(id, channel);
    // The main thread may have filled the ring (and rung) before this message arrived: look now.
    channel.pullFromMain();
  }
}
