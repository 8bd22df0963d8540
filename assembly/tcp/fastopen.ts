// TCP Fast Open (RFC 7413). Server side: cookies for clients that ask, and data accepted on
// a SYN that carries a valid cookie. Client side: a cookie cache, cookie requests, and data
// in the SYN when a cookie for the server is cached.
//
// Server guarantees:
// - Only with Cfg.TcpFastOpen bit 2 and on listeners that opted in (tcpListenFastOpen with a
//   queue length); everywhere else the option is ignored and a SYN is a plain SYN.
// - The cookie is SipHash-2-4 (util/siphash.ts) of the client's IPv4 address under the
//   128-bit key of Cfg.TcpFastOpenKey0..3, truncated to 8 bytes (RFC 7413 4.1.2: a MAC of
//   the client's IP address; SipHash is a PRF for short inputs, so a cookie cannot be forged
//   for another address without the key; 64 bits is the size Linux sends).
// - A cookie request (empty option) or an invalid cookie gets a SYN-ACK carrying the valid
//   cookie; the SYN's data is then not taken (only the SYN is acknowledged, RFC 7413 4.2.2)
//   and the client sends it again after the handshake.
// - A valid cookie with data, while fewer than the listener's queue length of Fast Open
//   children are in SYN-RECEIVED (RFC 7413 5.1 max_qlen), makes a child whose data is in its
//   receive ring at once and which is in the accept queue before the handshake completes
//   (RFC 7413 4.2.2); its SYN-ACK acknowledges SYN + data. Over the limit: counted, and the
//   SYN is treated as a plain SYN (as Linux).
// Client guarantees (RFC 7413 4.1.3), for connections the host marked (TcpOpt.FASTOPEN, `foClient`)
// while Cfg.TcpFastOpen has bit 1:
// - The first SYN carries the cached cookie for the server's address and as much queued data
//   as fits (the server's cached MSS, or 536, minus 40 bytes of options, as Linux), or, with
//   no cookie cached, an empty option (a request) and no data.
// - A cookie in the SYN-ACK is cached (a fixed table of Cfg.TcpFastOpenCacheEntries entries
//   allocated at init, keyed by server address, the oldest entry replaced).
// - SYN data the SYN-ACK does not acknowledge is sent again at once after the handshake
//   (RFC 7413 4.2.2); a SYN with data that times out goes again without data or option and
//   the cookie is forgotten (RFC 7413 4.1.3: a path may drop SYNs with data; Linux also
//   retransmits the SYN without its data).
// Nothing allocates after init.

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { sipHash24 } from "../util/siphash";
import { ringWriteAt, ringCommit, ringFree, ringLength, ringConsume } from "../util/bytering";
import { allocZeroed } from "../frame/rings";
import { TcpOptions, HAS_FASTOPEN, HAS_MSS, FASTOPEN_COOKIE_MIN } from "../wire/tcp";
import { Tcb, TF, tcbAt, tcbRecvRing, tcbSendRing } from "./tcb";
import { TcpState } from "./state";
import { listenerChildEstablished } from "./listen";

const COOKIE_REQUESTS = defineCounter("tcp.tfo.cookie_requests");
const COOKIES_SENT = defineCounter("tcp.tfo.cookies_sent");
const ACCEPTED_SYN_DATA = defineCounter("tcp.tfo.accepted_syn_data");
const BAD_COOKIE = defineCounter("tcp.tfo.bad_cookie");
/** A valid cookie arrived while the listener had its limit of Fast Open children pending. */
const QUEUE_FULL = defineCounter("drop.tcp.tfo_queue_full");
/** Client: SYNs sent with a cookie request (no cookie cached). */
const CLIENT_REQUESTS = defineCounter("tcp.tfo.client_cookie_requests");
/** Client: cookies learned from SYN-ACKs. */
const CLIENT_COOKIES = defineCounter("tcp.tfo.client_cookies_cached");
/** Client: SYNs sent with a cookie and data. */
const CLIENT_SYN_DATA = defineCounter("tcp.tfo.client_syn_data");
/** Client: of those, SYN-ACKs that acknowledged the data. */
const CLIENT_SYN_DATA_ACKED = defineCounter("tcp.tfo.client_syn_data_acked");
/** Client: SYN-ACKs that acknowledged only the SYN: the data went again after the handshake. */
const CLIENT_SYN_DATA_NOT_ACKED = defineCounter("tcp.tfo.client_syn_data_not_acked");
/** Client: a SYN with data timed out; sent again without, cookie forgotten (RFC 7413 4.1.3). */
const FALLBACKS = defineCounter("tcp.tfo.fallbacks");

/** Bytes of the cookies we issue. */
@inline export const FASTOPEN_COOKIE_BYTES: u32 = 8;
/** Cfg.TcpFastOpen bit: the server side is on. */
@inline const SERVER_BIT: u32 = 2;
/** Cfg.TcpFastOpen bit: the client side is on. */
@inline const CLIENT_BIT: u32 = 1;
/** SYN data limit without a cached MSS (RFC 9293 3.7.1 default, as Linux's TCP_MSS_DEFAULT). */
@inline const DEFAULT_SYN_MSS: u32 = 536;
/** Option room the SYN data leaves (as Linux's MAX_TCP_OPTION_SPACE). */
@inline const SYN_OPTION_ROOM: u32 = 40;

// Client cookie cache: entries of 32 bytes.
//   0 u32 server address (host order; 0 = empty)   4 u32 server MSS (0 = unknown)
//   8 u32 cookie length                            12 u32 unused
//  16 cookie bytes (16)
@inline const E_ADDR: usize = 0;
@inline const E_MSS: usize = 4;
@inline const E_LEN: usize = 8;
@inline const E_COOKIE: usize = 16;
@inline const ENTRY_BYTES: usize = 32;
let cache: usize = 0;
let cacheEntries: u32 = 0;
/** Entry replaced next when the table is full (round robin: the oldest insertion). */
let cacheNext: u32 = 0;

export function fastOpenInit(): void {
  cacheEntries = cfg(Cfg.TcpFastOpenCacheEntries);
  cache = allocZeroed(<usize>(cacheEntries > 0 ? cacheEntries : <u32>1) * ENTRY_BYTES);
  cacheNext = 0;
}

/** The cache entry for server `addr`, or 0. */
function cacheFind(addr: u32): usize {
  for (let i: u32 = 0; i < cacheEntries; i++) {
    const e = cache + <usize>i * ENTRY_BYTES;
    if (load<u32>(e, E_ADDR) == addr) return e;
  }
  return 0;
}

/** Client side configured on. */
@inline export function fastOpenClientOn(): bool { return (cfg(Cfg.TcpFastOpen) & CLIENT_BIT) != 0; }

/** Scratch for the hashed message (the address, 4 bytes). */
const message: usize = memory.data(8);

/** The server side is configured on. */
@inline export function fastOpenServerOn(): bool { return (cfg(Cfg.TcpFastOpen) & SERVER_BIT) != 0; }

/** Our cookie for a client address (host order): SipHash-2-4 of its 4 bytes in network order. */
export function fastOpenCookie(addr: u32): u64 {
  store<u32>(message, bswap<u32>(addr));
  const k0 = (<u64>cfg(Cfg.TcpFastOpenKey1) << 32) | <u64>cfg(Cfg.TcpFastOpenKey0);
  const k1 = (<u64>cfg(Cfg.TcpFastOpenKey3) << 32) | <u64>cfg(Cfg.TcpFastOpenKey2);
  return sipHash24(k0, k1, message, 4);
}

/** Writes our cookie for `t`'s peer into the options of its SYN-ACK. */
export function fastOpenAddCookie(t: Tcb, o: TcpOptions): void {
  store<u64>(o.foCookiePtr(), fastOpenCookie(t.remoteAddr));
  o.foLen = FASTOPEN_COOKIE_BYTES;
  o.present |= HAS_FASTOPEN;
  bump(COOKIES_SENT);
}

/**
 * The Fast Open part of a SYN that made `child` (SYN-RECEIVED, rcvNxt = ISN + 1) on listener
 * `l`; `data`/`dataLen` are the SYN's payload. See the module header for the rules.
 */
export function fastOpenSyn(l: Tcb, child: Tcb, o: TcpOptions, data: usize, dataLen: u32): void {
  if ((o.present & HAS_FASTOPEN) == 0 || l.foQueueMax == 0 || !fastOpenServerOn()) return;
  if (o.foLen == 0) {
    bump(COOKIE_REQUESTS);
    child.flags |= TF.FASTOPEN_COOKIE;
    return;
  }
  if (o.foLen != FASTOPEN_COOKIE_BYTES || load<u64>(o.foCookiePtr()) != fastOpenCookie(child.remoteAddr)) {
    bump(BAD_COOKIE);
    child.flags |= TF.FASTOPEN_COOKIE;
    return;
  }
  if (dataLen == 0) return; // a valid cookie alone: an ordinary handshake
  if (l.foPending >= l.foQueueMax) { bump(QUEUE_FULL); return; }
  // The child goes to the accept queue now (RFC 7413 4.2.2: the data is delivered before the
  // handshake completes); the accept queue being full leaves it a plain SYN.
  if (!listenerChildEstablished(child)) return;
  const ring = tcbRecvRing(child);
  const room = ringFree(ring);
  const len = dataLen < room ? dataLen : room;
  ringWriteAt(ring, 0, data, len);
  ringCommit(ring, len);
  child.rcvNxt += len;
  child.rcvAdv = child.rcvNxt;
  child.bytesIn += len;
  child.flags |= TF.FASTOPEN;
  child.foListener = l.index + 1;
  l.foPending++;
  bump(ACCEPTED_SYN_DATA);
}

/**
 * A Fast Open child leaves SYN-RECEIVED (handshake done, or freed): its listener counts one
 * pending child fewer. The listener may be gone or its record reused by then; only a
 * listener on the same port with a count is touched.
 */
export function fastOpenChildDone(t: Tcb): void {
  if (t.foListener == 0) return;
  const l = tcbAt(t.foListener - 1);
  t.foListener = 0;
  if (l.state == TcpState.LISTEN && l.localPort == t.localPort && l.foPending > 0) l.foPending--;
}

/**
 * Client, first SYN of `t` (`foClient` set): how many queued bytes go in it (0 without a
 * cached cookie). Remembers the amount in `t.foSynData`.
 */
export function fastOpenSynDataLen(t: Tcb): u32 {
  if (t.foClient == 0 || t.backoff != 0) return 0;
  const e = cacheFind(t.remoteAddr);
  if (e == 0) return 0;
  const mss = load<u32>(e, E_MSS) != 0 ? load<u32>(e, E_MSS) : DEFAULT_SYN_MSS;
  const room = mss > SYN_OPTION_ROOM ? mss - SYN_OPTION_ROOM : 0;
  const queued = ringLength(tcbSendRing(t));
  const n = queued < room ? queued : room;
  t.foSynData = n;
  return n;
}

/** Client: `t`'s first SYN left (counted here, once, whatever the TX ring made us retry). */
export function fastOpenSynSent(t: Tcb): void {
  if (t.foClient == 0 || t.backoff != 0) return;
  if (t.foSynData > 0) bump(CLIENT_SYN_DATA);
  else if (cacheFind(t.remoteAddr) == 0) bump(CLIENT_REQUESTS);
}

/** Client: the Fast Open option of `t`'s first SYN: the cached cookie, or a request. */
export function fastOpenClientOption(t: Tcb, o: TcpOptions): void {
  if (t.foClient == 0 || t.backoff != 0) return;
  const e = cacheFind(t.remoteAddr);
  if (e == 0) {
    o.foLen = 0;
  } else {
    o.foLen = load<u32>(e, E_LEN);
    memory.copy(o.foCookiePtr(), e + E_COOKIE, <usize>o.foLen);
  }
  o.present |= HAS_FASTOPEN;
}

/**
 * Client: the SYN-ACK of `t` arrived (before the handshake's state change): a cookie it
 * carries is cached with the server's MSS. Returns true when SYN data was sent and the
 * SYN-ACK did not acknowledge all of it: the caller sends the rest again.
 */
export function fastOpenSynAck(t: Tcb, o: TcpOptions, ack: u32): bool {
  if (t.foClient == 0) return false;
  if ((o.present & HAS_FASTOPEN) != 0 && o.foLen >= FASTOPEN_COOKIE_MIN && cacheEntries > 0) {
    let e = cacheFind(t.remoteAddr);
    if (e == 0) {
      e = cache + <usize>cacheNext * ENTRY_BYTES;
      cacheNext = cacheNext + 1 < cacheEntries ? cacheNext + 1 : 0;
    }
    store<u32>(e, t.remoteAddr, E_ADDR);
    store<u32>(e, (o.present & HAS_MSS) != 0 ? o.mss : 0, E_MSS);
    store<u32>(e, o.foLen, E_LEN);
    memory.copy(e + E_COOKIE, o.foCookiePtr(), <usize>o.foLen);
    bump(CLIENT_COOKIES);
  }
  const sent = t.foSynData;
  if (sent == 0) return false;
  // The caller checked ISS < ack <= SND.MAX = ISS + 1 + sent. The send ring holds data from
  // SND.UNA: the acknowledged part of the SYN data leaves it.
  const acked = ack - (t.iss + 1);
  if (acked > 0) {
    ringConsume(tcbSendRing(t), acked);
    t.bytesOut += acked;
  }
  if (acked == sent) {
    bump(CLIENT_SYN_DATA_ACKED);
    t.flags |= TF.FASTOPEN;
    return false;
  }
  bump(CLIENT_SYN_DATA_NOT_ACKED);
  return true;
}

/**
 * Client: the retransmission timer fired in SYN-SENT. A SYN that carried data goes again as a
 * plain SYN (no option, no data) and the server's cookie is forgotten (RFC 7413 4.1.3).
 */
export function fastOpenSynTimeout(t: Tcb): void {
  if (t.foClient == 0 || t.foSynData == 0) return;
  bump(FALLBACKS);
  const e = cacheFind(t.remoteAddr);
  if (e != 0) store<u32>(e, 0, E_ADDR);
  t.foSynData = 0;
  t.foClient = 0;
}
