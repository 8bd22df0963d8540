// Drives one WASM stack instance directly, frame by frame, for the iface, UDP, fuzz and DPDK
// tests: configure, put frames in RX descriptors, call input/poll on a virtual time, read TX
// frames with their descriptor fields, and use the UDP ABI (assembly/udp/api.ts).

import { StackInstance } from '../../dist/wasm/instance.js';
import { ipAddress } from '../../dist/testing/frames.js';
import { descAt, readDesc, writeRx } from '../helpers/descriptors.mjs';

export const RxFlag = { IP_CSUM_GOOD: 1, IP_CSUM_BAD: 2, L4_CSUM_GOOD: 4, L4_CSUM_BAD: 8 };
export const TxFlag = { IPV4: 1, IP_CSUM: 2, TCP_CSUM: 4, UDP_CSUM: 8, TSO: 16 };
export const Offload = { TX_IPV4_CSUM: 1, TX_TCP_CSUM: 2, TX_UDP_CSUM: 4, TX_TSO: 8, RX_CSUM: 16 };
/** A stack instance, configured (`config` keys of assembly/abi/config.ts) and initialised. */
export function stackInstance(config = {}) {
  const s = new StackInstance();
  for (const [k, v] of Object.entries(config)) s.setConfig(k, v);
  s.init();
  return s;
}

/** A stack at 10.61.0.2/24 with MAC 02:00:00:00:0a:02 (namespace B of the fixtures), plus `config`. */
export function makeStack(config = {}) {
  return stackInstance({ macHi: 0x0200, macLo: 0x00000a02, ipv4Addr: ipAddress('10.61.0.2'), ipv4Prefix: 24, ...config });
}

/** Reads TX descriptors 0..n-1: `{ bytes, flags, l2, l3, l4, tsoMss }` (and addr, len, rss) each. */
export function readTx(s, n) {
  s.refreshViews();
  const base = s.exports.txDescBase();
  return Array.from({ length: n }, (_, i) => readDesc(s, descAt(base, i)));
}

/** Feeds `frames` (Uint8Arrays) at `nowUs` with RX `flags`; returns the frames sent. */
export function feed(s, frames, nowUs = 0, flags = 0) {
  s.refreshViews();
  const base = s.exports.rxDescBase();
  frames.forEach((f, i) => writeRx(s, descAt(base, i), f, flags));
  return readTx(s, s.exports.input(frames.length, nowUs));
}

/** Runs timers at `nowUs`; returns the frames sent. */
export function poll(s, nowUs) {
  return readTx(s, s.exports.poll(nowUs));
}

/** Counter values, and the change since `before`. */
export const counters = (s) => s.counters();
export function delta(s, before) {
  const now = s.counters();
  const d = {};
  for (const [k, v] of Object.entries(now)) if (v !== (before[k] ?? 0)) d[k] = v - (before[k] ?? 0);
  return d;
}

// ---- UDP ABI ----

/** Writes IPv4 `addr` as ::ffff:a.b.c.d into the exchange slot. */
export function setAddr(s, addr) {
  s.refreshViews();
  const p = s.exports.udpAddrPtr();
  s.u8.fill(0, p, p + 16);
  s.u8[p + 10] = 0xff; s.u8[p + 11] = 0xff;
  s.dv.setUint32(p + 12, addr >>> 0, false);
}

/** Opens a socket and binds it to `addr`:`port`; returns the handle (or throws with the errno). */
export function udpOpenBound(s, port, addr = 0) {
  const h = s.exports.udpOpen();
  if (h < 0) throw new Error(`udpOpen: ${h}`);
  setAddr(s, addr);
  const r = s.exports.udpBind(h, port);
  if (r !== 0) throw new Error(`udpBind: ${r}`);
  return h;
}

/** Queues `data` from socket `h` to `addr`:`port`; returns udpSendTo's answer. */
export function udpSend(s, h, addr, port, data) {
  setAddr(s, addr);
  s.refreshViews();
  s.u8.set(data, s.exports.udpBufferPtr());
  return s.exports.udpSendTo(h, port, data.length);
}

/** Takes the oldest datagram of `h`: `{ data, addr, port }`, or the negative errno. */
export function udpRecv(s, h) {
  const n = s.exports.udpRecvFrom(h);
  if (n < 0) return n;
  s.refreshViews();
  const p = s.exports.udpAddrPtr();
  const b = s.exports.udpBufferPtr();
  return { data: s.u8.slice(b, b + n), addr: s.dv.getUint32(p + 12, false), port: s.dv.getUint32(p + 16, true) };
}

/** The notify list's handles, then cleared. */
export function takeNotified(s) {
  s.refreshViews();
  const p = s.exports.notifyListPtr();
  const out = Array.from({ length: s.exports.notifyListLen() }, (_, i) => s.dv.getUint32(p + i * 4, true));
  s.exports.notifyClear();
  return out;
}
