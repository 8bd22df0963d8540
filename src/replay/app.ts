// The application a replay stack runs, straight on the TCP ABI: listeners that echo or
// discard, and active opens that send a fixed number of bytes and close.
//
// Guarantees: the app is a pure function of the stack's state: `service()` looks at every
// socket in handle order and moves data as far as the rings allow, so the same frames at the
// same times give the same socket calls; bytes sent are a fixed pattern (byte i of a
// connection is i & 0xff) and bytes received are counted and checked against that pattern,
// so a transfer's integrity is known without storing it.

import type { StackInstance } from '../wasm/instance.js';
import { InfoFlag, tcpInfoOrClosed, tcpExports, type TcpExports } from '../net/tcp-abi.js';
import type { ListenApp, ReplayConfig } from './config.js';

interface Conn {
  handle: number;
  mode: ListenApp | 'source';
  /** Bytes still to send (source). */
  toSend: number;
  sent: number;
  received: number;
  /** Received bytes that broke the i & 0xff pattern (source peers send it). */
  corrupt: number;
  shutdownSent: boolean;
  /** The handshake completion has been counted. */
  connectedSeen: boolean;
}

export interface AppStats {
  accepted: number;
  connected: number;
  /** Connections that finished (closed by both sides, or failed). */
  finished: number;
  failed: number;
  bytesReceived: number;
  bytesSent: number;
  /** Received bytes that did not match the sender's pattern (echo or source data). */
  corruptBytes: number;
}

export class TcpApp {
  readonly stats: AppStats = { accepted: 0, connected: 0, finished: 0, failed: 0, bytesReceived: 0, bytesSent: 0, corruptBytes: 0 };
  private readonly abi: TcpExports;
  private readonly listeners: Array<{ handle: number; app: ListenApp }> = [];
  private readonly conns: Conn[] = [];

  constructor(private readonly instance: StackInstance) {
    this.abi = tcpExports(instance);
  }

  listen(port: number, app: ListenApp): void {
    const h = this.abi.tcpListen(0, port, 128, 0, 0, 0);
    if (h < 0) throw Object.assign(new Error(`wasm-tcpip: cannot listen on port ${port} (errno ${-h})`), { code: 'ERR_WASM_TCPIP_LISTEN' });
    this.listeners.push({ handle: h, app });
  }

  connect(to: number, port: number, send: number): void {
    const h = this.abi.tcpConnect(to, port, 0, 0, 0);
    if (h < 0) {
      this.stats.failed++;
      return;
    }
    this.conns.push({ handle: h, mode: 'source', toSend: send, sent: 0, received: 0, corrupt: 0, shutdownSent: false, connectedSeen: false });
  }

  /** True while some connection is still open. */
  get busy(): boolean { return this.conns.length > 0; }

  /** Moves data and closes finished connections; returns whether it called into the stack. */
  service(): boolean {
    let acted = false;
    const abi = this.abi;
    for (const l of this.listeners) {
      for (let h = abi.tcpAccept(l.handle); h >= 0; h = abi.tcpAccept(l.handle)) {
        this.conns.push({ handle: h, mode: l.app, toSend: 0, sent: 0, received: 0, corrupt: 0, shutdownSent: false, connectedSeen: false });
        this.stats.accepted++;
        acted = true;
      }
    }
    for (let i = 0; i < this.conns.length; i++) {
      const c = this.conns[i];
      if (this.serviceConn(c)) acted = true;
      const info = tcpInfoOrClosed(this.instance, abi, c.handle);
      const done = info.error !== 0 || (info.flags & InfoFlag.CLOSED) !== 0 ||
        ((info.flags & InfoFlag.PEER_FIN) !== 0 && info.readable === 0 && (c.mode !== 'source' || c.shutdownSent));
      if (done) {
        if (info.error !== 0) this.stats.failed++;
        else this.stats.finished++;
        abi.tcpClose(c.handle);
        this.conns.splice(i--, 1);
        acted = true;
      }
    }
    return acted;
  }

  private serviceConn(c: Conn): boolean {
    const abi = this.abi;
    const inst = this.instance;
    let acted = false;
    const info = tcpInfoOrClosed(inst, abi, c.handle);
    if (c.mode === 'source' && (info.flags & InfoFlag.CONNECTED) && !c.connectedSeen) {
      c.connectedSeen = true;
      this.stats.connected++;
    }
    for (;;) {
      const avail = abi.tcpReadAvail(c.handle);
      if (avail === 0) break;
      let n = avail;
      const rp = abi.tcpReadPtr(c.handle);
      if (c.mode === 'echo') {
        n = Math.min(n, abi.tcpWriteRoom(c.handle));
        if (n === 0) break;
        const wp = abi.tcpWritePtr(c.handle);
        inst.refreshViews();
        inst.u8.copyWithin(wp, rp, rp + n);
        abi.tcpWriteCommit(c.handle, n);
        this.stats.bytesSent += n;
      }
      inst.refreshViews();
      const u8 = inst.u8;
      for (let k = 0; k < n; k++) if (u8[rp + k] !== ((c.received + k) & 0xff)) c.corrupt++;
      abi.tcpReadConsume(c.handle, n);
      c.received += n;
      this.stats.bytesReceived += n;
      acted = true;
    }
    this.stats.corruptBytes += c.corrupt;
    c.corrupt = 0;
    if (c.mode === 'source' && (info.flags & InfoFlag.CONNECTED)) {
      while (c.sent < c.toSend) {
        const room = abi.tcpWriteRoom(c.handle);
        if (room === 0) break;
        const n = Math.min(room, c.toSend - c.sent);
        const wp = abi.tcpWritePtr(c.handle);
        inst.refreshViews();
        const u8 = inst.u8;
        for (let k = 0; k < n; k++) u8[wp + k] = (c.sent + k) & 0xff;
        if (abi.tcpWriteCommit(c.handle, n) < 0) break;
        c.sent += n;
        this.stats.bytesSent += n;
        acted = true;
      }
      if (c.sent === c.toSend && !c.shutdownSent) {
        abi.tcpShutdown(c.handle, 1);
        c.shutdownSent = true;
        acted = true;
      }
    }
    return acted;
  }
}

/** Writes a ReplayConfig's identity into a fresh instance (before `init`). */
export function configureInstance(instance: StackInstance, config: ReplayConfig): void {
  const mac = config.mac;
  instance.setConfig('macHi', (mac[0] << 8) | mac[1]);
  instance.setConfig('macLo', ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0);
  instance.setConfig('ipv4Addr', config.address);
  instance.setConfig('ipv4Prefix', config.prefix);
  instance.setConfig('ipv4Gateway', config.gateway);
  instance.setConfig('mtu', config.mtu);
  instance.setConfig('seedLo', config.seed >>> 0);
  instance.setConfig('seedHi', 0);
  for (const [k, v] of config.config) instance.setConfig(k, v);
}
