// TCP Fast Open, server side (RFC 7413): cookies for clients that ask, and data accepted on
// a SYN that carries a valid cookie.
//
// Guarantees:
// - Only with Cfg.TcpFastOpen bit 2 and on listeners that opted in (TcpOpt.FASTOPEN with a
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
// Nothing allocates.

import { cfg, Cfg } from "../abi/config";
import { defineCounter, bump } from "../abi/counters";
import { sipHash24 } from "../util/siphash";
import { ringWriteAt, ringCommit, ringFree } from "../util/bytering";
import { TcpOptions, HAS_FASTOPEN } from "../wire/tcp";
import { Tcb, TF, tcbAt, tcbRecvRing } from "./tcb";
import { TcpState } from "./state";
import { listenerChildEstablished } from "./listen";

const COOKIE_REQUESTS = defineCounter("tcp.tfo.cookie_requests");
const COOKIES_SENT = defineCounter("tcp.tfo.cookies_sent");
const ACCEPTED_SYN_DATA = defineCounter("tcp.tfo.accepted_syn_data");
const BAD_COOKIE = defineCounter("tcp.tfo.bad_cookie");
/** A valid cookie arrived while the listener had its limit of Fast Open children pending. */
const QUEUE_FULL = defineCounter("drop.tcp.tfo_queue_full");

/** Bytes of the cookies we issue. */
@inline export const FASTOPEN_COOKIE_BYTES: u32 = 8;
/** Cfg.TcpFastOpen bit: the server side is on. */
@inline const SERVER_BIT: u32 = 2;

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
