// SYN cookies (RFC 4987 3.6): when a listener's SYN queue is full, a SYN is answered with a
// SYN-ACK whose initial sequence number encodes what the handshake needs, and no state is
// kept; the ACK that completes the handshake brings it back and the connection is made then.
// Cfg.TcpSynCookies chooses when, as Linux's net.ipv4.tcp_syncookies: 0 never, 1 when the SYN
// queue overflows (the default), 2 for every SYN.
//
// The cookie (our ISN), from the 4-tuple, the peer's ISN and a counter of 64-second periods:
//   cookie = H(tuple, ALL_PERIODS) + peerIsn + (period << 24) + ((H(tuple, period) + mssIndex) mod 2^24)
// H is SipHash-2-4 (util/siphash.ts) truncated to 32 bits, under a 128-bit key derived from
// the host seed for this purpose alone (not the ISN key, not the Fast Open key). The first
// hash hides the period and makes the ISN unpredictable off-path (RFC 6528 3); the low 24
// bits carry a MAC of the tuple and period plus the index of the MSS in a table of four
// (536, 1300, 1440, 1460: the common IPv4 path MSS values, as Linux's msstab), the largest
// not above the peer's MSS. A guess therefore succeeds with probability 4 / 2^24 per period.
//
// Guarantees:
// - An ACK is checked as a cookie only for a listener without the connection, and only with
//   Cfg.TcpSynCookies 2 or when a cookie went out within the last two periods (as Linux, which
//   checks only after a recent overflow); any other stray ACK gets the RFC 9293 3.10.7.2 reset
//   as before. A checked ACK is valid when (ack - 1) decodes to the current or the previous
//   period (a cookie lives 64 to 128 s) and its MAC matches; anything else counts in
//   tcp.syncookies.failed and gets the reset.
// - Options: without timestamps in the SYN, the SYN-ACK offers the MSS only (no window scale,
//   no SACK: a cookie cannot remember them, RFC 7323 2.2 then means neither side scales) and
//   ECN is not used. With timestamps, the low 6 bits of our SYN-ACK TSval carry the peer's
//   window shift (bits 0-3, 15 = none), SACK-permitted (bit 4) and ECN-setup (bit 5), the
//   TSval rounded down so it is never ahead of our clock (as Linux's cookie_init_timestamp);
//   the ACK's TSecr gives them back. The echo is then not an RTT sample. A Fast Open option
//   or SYN data is ignored: the SYN-ACK acknowledges the SYN alone (as Linux).
// - The connection is created from the ACK exactly as a SYN-queue child would have been
//   (tcp/listen.ts), in SYN-RECEIVED, and the ACK then completes the handshake on it.
// Counters: tcp.syncookies.sent, tcp.syncookies.accepted, tcp.syncookies.failed.
// Nothing allocates after init.

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { now } from "../util/time";
import { sipHashWords } from "../util/siphash";
import { deriveKey, KeyPurpose } from "../util/random";
import { ipv4OutputBegin, ipv4OutputFinish } from "../iface/ipv4";
import {
  TcpOptions, tcpEmit, tcpSeq, tcpAckNum, tcpFlags,
  TCP_SYN, TCP_ACK_FLAG, TCP_ECE, TCP_CWR,
  HAS_MSS, HAS_WSCALE, HAS_TIMESTAMP, HAS_SACK_PERM,
} from "../wire/tcp";
import { TCP_ECN_OFF } from "./ecn";
import { ourMss, tsNow } from "./output";
import { scaleFor } from "./connect";

const SENT = defineCounter("tcp.syncookies.sent");
const ACCEPTED = defineCounter("tcp.syncookies.accepted");
const FAILED = defineCounter("tcp.syncookies.failed");
const DROP_NO_TX_BUFFER = defineCounter("drop.tcp.syncookie_no_tx_buffer");

/** Cfg.TcpSynCookies values. */
@inline export const SYNCOOKIES_OFF: u32 = 0;
@inline export const SYNCOOKIES_ON_OVERFLOW: u32 = 1;
@inline export const SYNCOOKIES_ALWAYS: u32 = 2;

/** Length of one cookie period, µs (64 s, as Linux). */
@inline const PERIOD_US: i64 = 64 * 1000000;
/** The hash input standing for "no period" (the first hash does not depend on it). */
@inline const ALL_PERIODS: u32 = 0xFFFFFFFF;
@inline const MAC_MASK: u32 = 0xFFFFFF;

// Option bits in the low bits of our SYN-ACK TSval.
@inline const TS_OPTION_BITS: u32 = 6;
@inline const TS_OPTION_MASK: u32 = (1 << TS_OPTION_BITS) - 1;
@inline const TS_WSCALE_MASK: u32 = 0xF;
@inline const TS_NO_WSCALE: u32 = 0xF;
@inline const TS_SACK_BIT: u32 = 1 << 4;
@inline const TS_ECN_BIT: u32 = 1 << 5;
/** Largest window shift (RFC 7323 2.3). */
@inline const MAX_WSCALE: u32 = 14;
/** Send MSS without the option (RFC 9293 3.7.1). */
@inline const DEFAULT_MSS: u32 = 536;

/** IP protocol number of TCP. */
@inline const PROTO_TCP: u8 = 6;

let key0: u64 = 0;
let key1: u64 = 0;
/** When the last cookie went out, µs (only meaningful once `anySent`). */
let lastSentUs: i64 = 0;
let anySent: bool = false;
/** ECN control bits of the SYN behind the last valid cookie (see `synCookieAccept`). */
let synEcnBits: u32 = 0;

/** Scratch options for the SYN-ACK (created once at start). */
const synAckOpts = new TcpOptions();

/** Derives the cookie key from the host seed (call once at init, after the config is validated). */
export function synCookieInit(): void {
  key0 = deriveKey(KeyPurpose.SynCookieK0);
  key1 = deriveKey(KeyPurpose.SynCookieK1);
  lastSentUs = 0;
  anySent = false;
}

/** The MSS of table entry `i` (0..3). */
@inline function mssAt(i: u32): u32 {
  return i == 0 ? 536 : i == 1 ? 1300 : i == 2 ? 1440 : 1460;
}

/** Index of the largest table MSS not above `mss` (0 when even 536 is above it). */
function mssIndex(mss: u32): u32 {
  let i: u32 = 3;
  while (i > 0 && mssAt(i) > mss) i--;
  return i;
}

/** The current 64-second period. */
@inline function periodNow(): u32 { return <u32>(now() / PERIOD_US); }

@inline function tupleHash(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32, period: u32): u32 {
  return <u32>sipHashWords(key0, key1, localAddr, remoteAddr, (localPort << 16) | (remotePort & 0xFFFF), period);
}

/** The cookie for a SYN with ISN `peerIsn`, this period, MSS table entry `idx`. */
export function synCookieMake(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32,
                              peerIsn: u32, idx: u32): u32 {
  const period = periodNow();
  return tupleHash(localAddr, localPort, remoteAddr, remotePort, ALL_PERIODS) + peerIsn + (period << 24) +
    ((tupleHash(localAddr, localPort, remoteAddr, remotePort, period) + idx) & MAC_MASK);
}

/**
 * The MSS table index a cookie encodes, or -1 when it is not a cookie of the current or the
 * previous period for this tuple and peer ISN.
 */
export function synCookieCheck(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32,
                               peerIsn: u32, cookie: u32): i32 {
  const v = cookie - tupleHash(localAddr, localPort, remoteAddr, remotePort, ALL_PERIODS) - peerIsn;
  const current = periodNow();
  const age = (current - (v >> 24)) & 0xFF;
  if (age > 1) return -1;
  const idx = ((v & MAC_MASK) - tupleHash(localAddr, localPort, remoteAddr, remotePort, current - age)) & MAC_MASK;
  return idx < 4 ? <i32>idx : -1;
}

/** Whether an ACK to a listener without a connection should be checked as a cookie. */
export function synCookieExpected(): bool {
  const mode = cfg(Cfg.TcpSynCookies);
  if (mode == SYNCOOKIES_ALWAYS) return true;
  return mode == SYNCOOKIES_ON_OVERFLOW && anySent && now() - lastSentUs < 2 * PERIOD_US;
}

/**
 * Answers the SYN at `seg` (options `o`, from `remoteAddr:remotePort` to `localAddr:localPort`)
 * with a cookie SYN-ACK advertising `rcvBuf` (the child's receive ring). Nothing is kept.
 */
export function synCookieSend(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32,
                              seg: usize, o: TcpOptions, rcvBuf: u32): void {
  const peerIsn = tcpSeq(seg);
  const ours = ourMss(remoteAddr);
  const peerMss = (o.present & HAS_MSS) != 0 && o.mss > 0 ? o.mss : DEFAULT_MSS;
  const idx = mssIndex(peerMss < ours ? peerMss : ours);
  const iss = synCookieMake(localAddr, localPort, remoteAddr, remotePort, peerIsn, idx);
  const out = synAckOpts;
  out.clear();
  out.present = HAS_MSS;
  out.mss = ours;
  let flags = TCP_SYN | TCP_ACK_FLAG;
  if ((o.present & HAS_TIMESTAMP) != 0) {
    // Only what the TSval can carry back is offered (module header).
    let bits: u32 = TS_NO_WSCALE;
    if ((o.present & HAS_WSCALE) != 0) {
      bits = o.wscale;
      out.present |= HAS_WSCALE;
      out.wscale = scaleFor(rcvBuf);
    }
    if ((o.present & HAS_SACK_PERM) != 0 && cfg(Cfg.TcpSack) == 1) {
      bits |= TS_SACK_BIT;
      out.present |= HAS_SACK_PERM;
    }
    // RFC 3168 6.1.1: an ECN-setup SYN is answered by an ECN-setup SYN-ACK (ECE alone).
    if ((tcpFlags(seg) & (TCP_ECE | TCP_CWR)) == (TCP_ECE | TCP_CWR) && cfg(Cfg.TcpEcn) != TCP_ECN_OFF) {
      bits |= TS_ECN_BIT;
      flags |= TCP_ECE;
    }
    const clock = tsNow();
    let tsVal = (clock & ~TS_OPTION_MASK) | bits;
    if (<i32>(tsVal - clock) > 0) tsVal -= 1 << TS_OPTION_BITS;
    out.present |= HAS_TIMESTAMP;
    out.tsVal = tsVal;
    out.tsEcr = o.tsVal;
  }
  // RFC 7323 2.2: the window of a SYN-ACK is not scaled.
  const window = rcvBuf > 0xFFFF ? 0xFFFF : rcvBuf;
  const p = ipv4OutputBegin(remoteAddr, PROTO_TCP);
  if (p == 0) { bump(DROP_NO_TX_BUFFER); return; }
  const hl = tcpEmit(p, localPort, remotePort, iss, peerIsn + 1, flags, window, out);
  if (ipv4OutputFinish(hl) < 0) return;
  bump(SENT);
  anySent = true;
  lastSentUs = now();
}

/**
 * Checks the ACK at `seg` (options `o`) as the end of a cookie handshake. When valid, rewrites
 * `o` into the options of the SYN it answers (MSS from the table; window scale, SACK-permitted
 * and timestamps as the TSecr says, TS.Recent from this ACK's TSval) for the child to be made
 * from, remembers the SYN's ECN control bits (`synCookieSynFlags`), and returns the ISN we
 * sent (ack - 1); `o.tsEcr` becomes 0 (not an RTT sample). Returns -1 after counting a
 * failure. The caller counts the connection with `synCookieAccepted` once it exists.
 */
export function synCookieAccept(localAddr: u32, localPort: u32, remoteAddr: u32, remotePort: u32,
                                seg: usize, o: TcpOptions): i64 {
  const peerIsn = tcpSeq(seg) - 1;
  const iss = tcpAckNum(seg) - 1;
  const idx = synCookieCheck(localAddr, localPort, remoteAddr, remotePort, peerIsn, iss);
  if (idx < 0) { bump(FAILED); return -1; }
  let present = HAS_MSS;
  synEcnBits = 0;
  if ((o.present & HAS_TIMESTAMP) != 0) {
    const bits = o.tsEcr & TS_OPTION_MASK;
    const shift = bits & TS_WSCALE_MASK;
    if (shift != TS_NO_WSCALE) {
      if (shift > MAX_WSCALE) { bump(FAILED); return -1; }
      present |= HAS_WSCALE;
      o.wscale = shift;
    }
    if ((bits & TS_SACK_BIT) != 0) present |= HAS_SACK_PERM;
    if ((bits & TS_ECN_BIT) != 0) synEcnBits = TCP_ECE | TCP_CWR;
    present |= HAS_TIMESTAMP;
    o.tsEcr = 0;
  }
  o.present = present;
  o.mss = mssAt(<u32>idx);
  o.sackCount = 0;
  return <i64>iss;
}

/** ECN control bits of the SYN the last valid cookie answered (ECE|CWR or 0). */
export function synCookieSynFlags(): u32 { return synEcnBits; }

/** A connection was made from a valid cookie. */
export function synCookieAccepted(): void { bump(ACCEPTED); }
