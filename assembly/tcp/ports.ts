// TCP local ports: ephemeral port selection (RFC 6056) and the table of ports in use.
//
// Selection is RFC 6056 3.3.3, Algorithm 3 ("Simple Hash-Based Port Selection", the
// double-hash variant): offset = F(localAddr, remoteAddr, remotePort, key1) and
// index = G(localAddr, remoteAddr, remotePort, key2) into a table of 256 counters, then
// ports min + (offset + table[index]++) mod N are tried in turn. F and G are SipHash-2-4
// under two keys derived from the host seed. The range is Cfg.EphemeralLow..EphemeralHigh,
// by default 49152-65535, the IANA dynamic range (RFC 6335 6) that RFC 6056 2.1 cites;
// Linux's 32768-60999 is one config change away.
//
// Tracking: every port has a reference count (connections holding it: an active open from
// its SYN until its TIME-WAIT ends, or a passive connection accepted on it) and a listener
// bit. A port is offered by `portsAcquire` only when it has neither, so an ephemeral port is
// never shared, TIME-WAIT included; `portsBindListen` refuses a port that already has a
// listener (-EADDRINUSE) but, like Node's sockets (libuv sets SO_REUSEADDR), not one held by
// connections only.
//
// RSS hook: with several queues, a worker must pick a port whose flow hashes back to its own
// queue (DESIGN.md "Threads and queues"); `portsSetQueueFilter` installs that predicate.
// By default every port matches.
//
// Guarantees: acquire returns 0 only after trying every port of the range (exhaustion is
// counted in `tcp.ports.exhausted`); releasing a port nobody holds is ignored and counted
// (`tcp.ports.bad_release`), never underflows. `portsInUse()` counts ports with a holder or a
// listener, so a test can check that churn gives every port back. Allocates only in
// `portsInit`.

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { sipHashWords } from "../util/siphash";
import { deriveKey, KeyPurpose, randomBelow } from "../util/random";

/** Linux's EADDRINUSE, returned negated, as Errno.EADDRINUSE in tcp/api.ts (not imported: this
 *  leaf module stays free of the TCP core). */
@inline const EADDRINUSE: i32 = 98;

/** Decides whether a local port keeps a flow on this worker's queue. */
export type PortFilter = (port: u32, localAddr: u32, remoteAddr: u32, remotePort: u32) => bool;

const PORTS_EXHAUSTED = defineCounter("tcp.ports.exhausted");
const PORTS_BAD_RELEASE = defineCounter("tcp.ports.bad_release");

@inline const LISTENER: u32 = 0x80000000;
@inline const REFS: u32 = 0x7FFFFFFF;
/** RFC 6056 3.3.3's TABLE_LENGTH. */
@inline const PERTURB_SLOTS: u32 = 256;

let state: usize = 0;      // u32 per port 0..65535: LISTENER | reference count
let perturb: usize = 0;    // u32 per slot: Algorithm 3's table[]
let inUse: u32 = 0;
let low: u32 = 49152;
let count: u32 = 16384;
let offsetK0: u64 = 0;
let offsetK1: u64 = 0;
let indexK0: u64 = 0;
let indexK1: u64 = 0;
let queueFilter: PortFilter | null = null;

/** Allocates the tables and derives the keys; call once at init, after the config. */
export function portsInit(): void {
  if (state == 0) {
    state = heap.alloc(65536 << 2);
    perturb = heap.alloc(PERTURB_SLOTS << 2);
  }
  memory.fill(state, 0, 65536 << 2);
  memory.fill(perturb, 0, PERTURB_SLOTS << 2);
  inUse = 0;
  low = cfg(Cfg.EphemeralLow);
  count = cfg(Cfg.EphemeralHigh) - low + 1;
  offsetK0 = deriveKey(KeyPurpose.PortOffsetK0);
  offsetK1 = deriveKey(KeyPurpose.PortOffsetK1);
  indexK0 = deriveKey(KeyPurpose.PortIndexK0);
  indexK1 = deriveKey(KeyPurpose.PortIndexK1);
}

/** Installs (or, with null, removes) the RSS predicate ports must satisfy for `portsAcquire`. */
export function portsSetQueueFilter(filter: PortFilter | null): void {
  queueFilter = filter;
}

@inline function entry(port: u32): u32 { return load<u32>(state + (<usize>port << 2)); }

@inline function setEntry(port: u32, value: u32): void {
  const before = entry(port);
  if (before == 0 && value != 0) inUse++;
  else if (before != 0 && value == 0) inUse--;
  store<u32>(state + (<usize>port << 2), value);
}

/**
 * Picks an ephemeral port for a connection to remoteAddr:remotePort from localAddr (host
 * order) and takes one reference on it. Returns the port, or 0 when none is free (the
 * caller answers -EADDRNOTAVAIL).
 */
export function portsAcquire(localAddr: u32, remoteAddr: u32, remotePort: u32): u32 {
  const offset = <u32>(sipHashWords(offsetK0, offsetK1, localAddr, remoteAddr, remotePort, 0) % <u64>count);
  const slot = <usize>(<u32>sipHashWords(indexK0, indexK1, localAddr, remoteAddr, remotePort, 0) & (PERTURB_SLOTS - 1));
  const counterAt = perturb + (slot << 2);
  const filter = queueFilter;
  for (let tries = count; tries > 0; tries--) {
    const step = load<u32>(counterAt);
    store<u32>(counterAt, step + 1);
    const port = low + <u32>((<u64>offset + <u64>step) % <u64>count);
    if (entry(port) != 0) continue;
    if (filter !== null && !filter(port, localAddr, remoteAddr, remotePort)) continue;
    setEntry(port, 1);
    return port;
  }
  bump(PORTS_EXHAUSTED);
  return 0;
}

/** Takes one more reference on `port` (a connection accepted on it, or an explicit bind). */
export function portsRetain(port: u32): void {
  if (port - 1 >= 65535) return;
  const e = entry(port);
  if ((e & REFS) != REFS) setEntry(port, e + 1);
}

/** Drops one reference (the connection reached CLOSED: after TIME-WAIT, for active opens). */
export function portsRelease(port: u32): void {
  if (port - 1 >= 65535 || (entry(port) & REFS) == 0) { bump(PORTS_BAD_RELEASE); return; }
  setEntry(port, entry(port) - 1);
}

/** Marks `port` (1..65535) as listened on: 0, or -EADDRINUSE when it has a listener already. */
export function portsBindListen(port: u32): i32 {
  if (port - 1 >= 65535) return -EADDRINUSE;
  const e = entry(port);
  if (e & LISTENER) return -EADDRINUSE;
  setEntry(port, e | LISTENER);
  return 0;
}

/**
 * Marks a free ephemeral port (no holder, no listener) as listened on, for listen(port 0):
 * the scan starts at a random point of the range (RFC 6056 3.3.1). Returns it, or 0.
 */
export function portsBindListenAny(): u32 {
  const start = randomBelow(count);
  for (let i: u32 = 0; i < count; i++) {
    const port = low + (start + i) % count;
    if (entry(port) == 0) {
      setEntry(port, LISTENER);
      return port;
    }
  }
  bump(PORTS_EXHAUSTED);
  return 0;
}

/** Clears the listener bit of `port` (the listener closed). */
export function portsUnbindListen(port: u32): void {
  if (port - 1 >= 65535) return;
  setEntry(port, entry(port) & REFS);
}

/** References held on `port` (connections), without the listener bit. */
export function portsRefCount(port: u32): u32 {
  return port - 1 >= 65535 ? 0 : entry(port) & REFS;
}

/** True when `port` has a listener. */
export function portsIsListening(port: u32): bool {
  return port - 1 < 65535 && (entry(port) & LISTENER) != 0;
}

/** Ports with at least one holder or a listener. */
export function portsInUse(): u32 {
  return inUse;
}
