// A stack instance for TCP tests, driven through the real exported ABI on a virtual clock:
// frames in (RX descriptors + `input`), frames out (TX descriptors, parsed and checksum-checked
// by src/testing/frames.ts), the tcp* socket calls, the info struct and the counters. The
// instance is the host's own StackInstance (src/wasm/instance.ts), the debug build by default.

import { StackInstance } from '../../dist/wasm/instance.js';
import { descAt, readDesc, writeRx } from './descriptors.mjs';
import {
  parseFrame, ipAddress, macAddress, buildEthernet, buildArp, ipv4Frame, tcpSegment, BROADCAST_MAC, ETH_ARP, STACK_IP, PEER_IP, PEER_MAC,
} from '../../dist/testing/frames.js';

// The ABI's own numbering (src/net/tcp-abi.ts), under the names the TCP tests use.
export { TcpState as State, InfoFlag, TcpOption as Opt } from '../../dist/net/tcp-abi.js';
export const Errno = {
  EBADF: 9, EAGAIN: 11, EINVAL: 22, EPIPE: 32, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETUNREACH: 101,
  ECONNRESET: 104, ENOBUFS: 105, ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111,
};

export class TestStack {
  /** `config`: slot name -> value (see assembly/abi/config.ts); ipv4Addr given as a dotted string. */
  constructor({ ip = STACK_IP, prefix = 24, config = {}, debug = true } = {}) {
    this.instance = new StackInstance({ debug });
    this.x = this.instance.exports;
    this.setConfig('ipv4Addr', ipAddress(ip));
    this.setConfig('ipv4Prefix', prefix);
    // Learned neighbours stay for a day, so hour-long virtual timelines need no ARP traffic.
    this.setConfig('arpTtlSec', 86400);
    for (const [k, v] of Object.entries(config)) this.setConfig(k, v);
    this.instance.init();
    this.now = 0;
  }

  /** Views over linear memory as it is now. */
  get mem() { this.instance.refreshViews(); return this.instance; }
  get dv() { return this.mem.dv; }
  get u8() { return this.mem.u8; }

  setConfig(key, value) { this.instance.setConfig(key, value); }

  /** Raw output frames (copies) of the last burst: `m` TX descriptors. */
  takeTx(m) {
    const mem = this.mem;
    const base = this.x.txDescBase();
    return Array.from({ length: m }, (_, i) => readDesc(mem, descAt(base, i)).bytes);
  }

  /**
   * Feeds frames at `nowUs` (default: the current virtual time) with RX descriptor flags
   * `rxFlags` (RxFlag bits: 4 = L4 checksum verified by the port); returns parsed output frames.
   */
  input(frames, nowUs = this.now, rxFlags = 0) {
    this.now = nowUs;
    const list = Array.isArray(frames) ? frames : [frames];
    const mem = this.mem;
    const base = this.x.rxDescBase();
    list.forEach((f, i) => writeRx(mem, descAt(base, i), f, rxFlags));
    const m = this.x.input(list.length, nowUs);
    return this.takeTx(m).map(parseFrame);
  }

  /** Runs timers and pending output at `nowUs`; returns parsed output frames. */
  poll(nowUs = this.now) {
    this.now = nowUs;
    return this.takeTx(this.x.poll(nowUs)).map(parseFrame);
  }

  /** Next deadline of the whole stack in µs, or -1. */
  deadline() { return this.x.nextDeadlineUs(); }

  /** Next TCP deadline in µs, or -1. */
  tcpDeadline() { return this.x.tcpNextDeadline(); }

  /** Teaches the stack a peer's MAC (a broadcast ARP request from it for STACK_IP); returns the stack's ARP reply frames. */
  learnPeer(ip, mac) {
    const m = macAddress(mac);
    return this.input(buildEthernet(BROADCAST_MAC, m, ETH_ARP, buildArp(1, m, ipAddress(ip), new Uint8Array(6), ipAddress(STACK_IP))));
  }

  counters() { return this.instance.counters(); }

  counter(name) {
    const i = this.instance.counterNames.indexOf(name);
    if (i < 0) throw new Error(`no counter ${name}`);
    return Number(this.dv.getBigUint64(this.x.countersPtr() + i * 8, true));
  }

  /** The TcpInfo struct of handle `h` (see assembly/tcp/api.ts), or null for a bad handle. */
  info(h) {
    const p = this.x.tcpInfoPtr(h);
    if (p === 0) return null;
    const dv = this.dv;
    return {
      state: dv.getUint32(p, true), error: dv.getUint32(p + 4, true), flags: dv.getUint32(p + 8, true),
      readable: dv.getUint32(p + 12, true), writeRoom: dv.getUint32(p + 16, true),
      localAddr: dv.getUint32(p + 20, true), remoteAddr: dv.getUint32(p + 24, true),
      localPort: dv.getUint16(p + 28, true), remotePort: dv.getUint16(p + 30, true),
      bytesIn: Number(dv.getBigUint64(p + 32, true)), bytesOut: Number(dv.getBigUint64(p + 40, true)),
      retransmits: dv.getUint32(p + 48, true), srttUs: dv.getUint32(p + 52, true),
      cwnd: dv.getUint32(p + 56, true), mss: dv.getUint32(p + 60, true),
      acceptQueue: dv.getUint32(p + 64, true), unsent: dv.getUint32(p + 68, true),
    };
  }

  /** Queues `data` on `h` as far as the send ring takes it; returns the bytes queued. */
  write(h, data) {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    let done = 0;
    while (done < bytes.length) {
      const room = this.x.tcpWriteRoom(h);
      if (room === 0) break;
      const n = Math.min(room, bytes.length - done);
      this.u8.set(bytes.subarray(done, done + n), this.x.tcpWritePtr(h));
      const r = this.x.tcpWriteCommit(h, n);
      if (r !== 0) throw new Error(`tcpWriteCommit: ${r}`);
      done += n;
    }
    return done;
  }

  /** Takes every readable byte of `h`. */
  read(h) {
    const parts = [];
    for (;;) {
      const n = this.x.tcpReadAvail(h);
      if (n === 0) break;
      const p = this.x.tcpReadPtr(h);
      parts.push(this.u8.slice(p, p + n));
      if (this.x.tcpReadConsume(h, n) !== 0) throw new Error('tcpReadConsume failed');
    }
    return Buffer.concat(parts);
  }

  /** Handles in the notify list (TCP only, as indexes), then clears it. */
  notified() {
    const n = this.x.notifyListLen();
    const p = this.x.notifyListPtr();
    const dv = this.dv;
    const out = [];
    for (let i = 0; i < n; i++) {
      const h = dv.getUint32(p + i * 4, true);
      if (h >>> 24 === 1) out.push(h & 0xffffff);
    }
    this.x.notifyClear();
    return out;
  }

  /** Pool statistics (connections, slab free bytes, ports in use). */
  pools() {
    return {
      connections: this.x.tcpConnectionsInUse(), slabFree: this.x.tcpSlabFreeBytes(), ports: this.x.tcpPortsInUse(),
    };
  }
}

/**
 * A connection seen from the peer's side: `rcv` is the peer's next sequence number (what the
 * stack should ACK), `snd` the stack's next sequence number (what the peer ACKs).
 * `seg(spec)` builds a frame from the peer with ports, seq and ack filled in.
 */
export class PeerConn {
  constructor(stack, { port, peerPort, rcv, snd, h = -1, l = -1, ts = null }) {
    Object.assign(this, { stack, port, peerPort, rcv, snd, h, l, ts });
  }

  seg({ flags = 'A', seq = this.rcv, ack = this.snd, win = 65535, payload, options, rawOptions } = {}) {
    return ipv4Frame(tcpSegment({ sport: this.peerPort, dport: this.port, flags, seq, ack, win, payload, options, rawOptions }));
  }

  /** Sends a segment at `nowUs` and returns the stack's output frames. */
  send(spec, nowUs) { return this.stack.input(this.seg(spec), nowUs); }
}

/** Listens on `port` and completes a handshake from the peer; returns an accepted PeerConn. */
export function openPassive(s, { port = 80, peerPort = 40000, isn = 1000, options = { mss: 1460 }, win = 65535,
  backlog = 0, synBacklog = 0, sndBuf = 0, rcvBuf = 0, nowUs = s.now } = {}) {
  if (s.peerLearned !== true) { s.learnPeer(PEER_IP, PEER_MAC); s.peerLearned = true; }
  const l = s.listeners?.[port] ?? s.x.tcpListen(0, port, backlog, synBacklog, sndBuf, rcvBuf);
  if (l < 0) throw new Error(`tcpListen: ${l}`);
  s.listeners = { ...(s.listeners ?? {}), [port]: l };
  const out = s.input(ipv4Frame(tcpSegment({ sport: peerPort, dport: port, flags: 'S', seq: isn, win, options })), nowUs);
  if (out.length !== 1 || out[0].tcp?.flags !== 'SA') throw new Error(`expected a SYN-ACK, got ${out.length} frames`);
  const iss = out[0].tcp.seq;
  const ackOpts = options.ts ? { ts: [options.ts[0] + 1, out[0].tcp.options.ts[0]] } : undefined;
  const after = s.input(ipv4Frame(tcpSegment({ sport: peerPort, dport: port, flags: 'A', seq: isn + 1, ack: iss + 1, win, options: ackOpts })), nowUs);
  if (after.length !== 0) throw new Error(`handshake ACK answered with ${after.length} frames`);
  const h = s.x.tcpAccept(l);
  if (h < 0) throw new Error(`tcpAccept: ${h}`);
  s.notified();
  return new PeerConn(s, { port, peerPort, rcv: isn + 1, snd: iss + 1, h, l, ts: out[0].tcp.options.ts ?? null });
}

/** Connects from the stack to the peer and completes the handshake; returns the PeerConn. */
export function openActive(s, { port = 80, isn = 5000, options = { mss: 1460 }, win = 65535, nowUs = s.now } = {}) {
  if (s.peerLearned !== true) { s.learnPeer(PEER_IP, PEER_MAC); s.peerLearned = true; }
  const h = s.x.tcpConnect(ipAddress(PEER_IP), port, 0, 0, 0);
  if (h < 0) throw new Error(`tcpConnect: ${h}`);
  const syn = s.poll(nowUs);
  if (syn.length !== 1 || syn[0].tcp?.flags !== 'S') throw new Error('expected a SYN');
  const iss = syn[0].tcp.seq;
  const peerPort = syn[0].tcp.sport;
  const out = s.input(ipv4Frame(tcpSegment({ sport: port, dport: peerPort, flags: 'SA', seq: isn, ack: iss + 1, win, options })), nowUs);
  if (out.length !== 1 || out[0].tcp?.flags !== 'A') throw new Error('expected the handshake ACK');
  s.notified();
  return new PeerConn(s, { port: peerPort, peerPort: port, rcv: isn + 1, snd: iss + 1, h });
}
