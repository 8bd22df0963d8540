// Connections the application has closed but that still have bytes to deliver: the host
// keeps their handles until the peer acknowledged everything and our FIN, then lets go.
//
// Why: a handle given back with `tcpClose` is the stack's alone, and the host can no longer
// see whether its data got through. Holding it until the FIN is acknowledged lets
// `stack.close()` keep its promise that no written byte is lost before the timeout.
//
// Guarantees: semantics are those of a kernel's orphaned socket (as Linux): the FIN follows
// the queued data; received data left unread, at the close or arriving later, turns the
// close into an RST (RFC 1122 4.2.2.13; sent here with tcpAbort, since the stack's tcpClose
// sends that RST only before our FIN went out, and Linux sends it after a shutdown too); a
// handle is released exactly once, when its FIN is acknowledged (FIN-WAIT-2, TIME-WAIT,
// CLOSED), when it fails, on unread data, or when `abortAll` resets it.

import type { Endpoint } from './context.js';
import { InfoFlag, Shut, TcpState, type TcpAbi, type TcpInfo } from './tcp-abi.js';

function finAcknowledged(info: TcpInfo): boolean {
  const s = info.state;
  return s === TcpState.CLOSED || s === TcpState.TIME_WAIT || (s === TcpState.FIN_WAIT_2 && info.unsent === 0);
}

export class Lingerer {
  private readonly handles = new Set<number>();

  constructor(
    private readonly tcp: TcpAbi,
    private readonly register: (handle: number, endpoint: Endpoint) => void,
    private readonly unregister: (handle: number) => void,
    /** Gets the output of a close (an RST for unread data) sent by the next poll. */
    private readonly kick: () => void,
  ) {}

  /** Connections still delivering. */
  get size(): number {
    return this.handles.size;
  }

  /** Closes `h` gracefully: at once when nothing is left to deliver, else once it is delivered. */
  release(h: number): void {
    const info = this.tcp.info(h);
    if (info !== null && info.readable > 0) {
      this.tcp.abort(h);
      return;
    }
    if (info === null || this.done(info)) {
      this.tcp.close(h);
      return;
    }
    if ((info.flags & InfoFlag.WRITE_SHUT) === 0) this.tcp.shutdown(h, Shut.WR);
    this.handles.add(h);
    this.register(h, { onNotify: () => this.check(h) });
  }

  /** Re-examines every lingering connection (after each burst of the stack). */
  checkAll(): void {
    for (const h of this.handles) this.check(h);
  }

  /** Resets every lingering connection; returns how many. */
  abortAll(): number {
    const n = this.handles.size;
    for (const h of this.handles) {
      this.unregister(h);
      this.tcp.abort(h);
    }
    this.handles.clear();
    if (n > 0) this.kick();
    return n;
  }

  private check(h: number): void {
    if (!this.handles.has(h)) return;
    const info = this.tcp.info(h);
    const unread = info !== null && info.readable > 0;
    if (info !== null && !unread && !this.done(info)) return;
    this.handles.delete(h);
    this.unregister(h);
    if (unread) this.tcp.abort(h);
    else this.tcp.close(h);
    this.kick();
  }

  /** Nothing left to wait for: delivered, or failed. */
  private done(info: TcpInfo): boolean {
    if (info.error !== 0) return true;
    if (info.state === TcpState.SYN_SENT || info.state === TcpState.SYN_RECEIVED) return true;
    return finAcknowledged(info);
  }
}
