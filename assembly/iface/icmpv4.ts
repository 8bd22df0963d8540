// ICMPv4 for a host (RFC 792, RFC 1122 3.2.2): echo answered, errors sent when the rules
// allow and the rate limit has room, echo replies and errors received are counted.
//
// Guarantees:
// - An echo request to our address is answered with the same identifier, sequence number and
//   data; the checksum is updated incrementally for the changed type (RFC 1624), not
//   recomputed. Echo requests to a broadcast address are ignored (RFC 1122 3.2.2.6 allows
//   it; Linux does the same by default with icmp_echo_ignore_broadcasts).
// - `icmpSendUnreachable` never answers (RFC 1122 3.2.2): an ICMP error, a datagram sent to a
//   broadcast or multicast address or as a link-layer broadcast, a non-first fragment, or a
//   datagram whose source is not a single host. It quotes the original IP header and as
//   many following bytes as keep the error within 576 bytes (as Linux; RFC 1812 4.3.2.3).
// - Errors are rate-limited by a token bucket refilled at Cfg.IcmpErrorsPerSec per second
//   (burst: one second's worth), on the host-given clock; 0 disables errors.
// - ICMP errors received are handed to UDP (udp/errors.ts) when they quote one of our
//   datagrams; TCP does not take them yet (it learns of failures by timeouts).
// - Echo requests the host asks for (`icmpEchoSend`, a ping tool) wait in a 16-entry queue
//   and leave in the next burst; the last echo reply received is kept for the host to read.

import { defineCounter, bump } from "../abi/counters";
import { cfg, Cfg } from "../abi/config";
import { now, NEVER } from "../util/time";
import {
  icmpv4Parse, icmpv4Repr, icmpv4EmitEcho, icmpv4EmitError, icmpIsError, IcmpError, IcmpType,
  ICMP_HEADER_LEN, ICMP_TYPE, ICMP_CSUM,
} from "../wire/icmpv4";
import { IpProto, IPV4_HEADER_LEN, IP_VER_IHL, IP_FLAGS_FRAG, IP_PROTO, IP_SRC, IP_DST, IP_FRAG_OFFSET_MASK } from "../wire/ipv4";
import { checksumUpdate16 } from "../wire/checksum";
import { ipv4IsMulticast, ipv4IsValidSource } from "../wire/addr";
import { ethRxWasLinkBroadcast } from "./ethernet";
import { udpIcmpError } from "../udp/errors";
import {
  ipv4OutputBegin, ipv4OutputFinish, ipv4OutputSetTos, ipv4OutputRingFull, ipv4IsBroadcast, ipv4MaxPayload, ipv4RouteCheck,
} from "./ipv4";

const DROP_TRUNCATED = defineCounter("drop.icmp.truncated");
const DROP_BAD_CHECKSUM = defineCounter("drop.icmp.bad_checksum");
const DROP_BROADCAST_ECHO = defineCounter("drop.icmp.broadcast_echo");
const DROP_UNHANDLED_TYPE = defineCounter("drop.icmp.unhandled_type");
const DELIVER_ECHO_REQUEST = defineCounter("deliver.icmp.echo_request");
const DELIVER_ECHO_REPLY = defineCounter("deliver.icmp.echo_reply");
const DELIVER_ERROR = defineCounter("deliver.icmp.error");
const TX_ECHO_REPLY = defineCounter("icmp.tx.echo_reply");
const TX_ECHO_REQUEST = defineCounter("icmp.tx.echo_request");
const TX_UNREACHABLE = defineCounter("icmp.tx.unreachable");
const TX_SUPPRESSED = defineCounter("icmp.tx.error_suppressed");
const TX_DROP_RATE_LIMITED = defineCounter("drop.icmp_tx.rate_limited");
const TX_DROP_NO_BUFFER = defineCounter("drop.icmp_tx.no_buffer");

/** Largest ICMP error datagram (RFC 1812 4.3.2.3: "not exceed 576 bytes"). */
const ERROR_DATAGRAM_MAX: u32 = 576;
const MICROS: i64 = 1_000_000;
const TOS_INTERNETWORK_CONTROL: u8 = 0xC0;

/** Token bucket in millionths of a token: a message costs MICROS. */
let tokens: i64 = 0;
let tokensAt: i64 = 0;

// The last echo reply received, for ping tools and tests.
let lastReplyFrom: u32 = 0;
let lastReplyIdent: u16 = 0;
let lastReplySeq: u16 = 0;
let lastReplyDataLen: u32 = 0;

export function icmpInit(): void {
  tokens = <i64>cfg(Cfg.IcmpErrorsPerSec) * MICROS;
  tokensAt = now();
}

/** Takes a token if the bucket has one (refilled by the time elapsed since the last take). */
function takeToken(): bool {
  const rate = <i64>cfg(Cfg.IcmpErrorsPerSec);
  const t = now();
  const capacity = rate * MICROS;
  const elapsed = t - tokensAt;
  // A second or more refills the bucket; shorter spans add elapsed * rate (no overflow on any clock).
  if (elapsed >= MICROS) tokens = capacity;
  else tokens += elapsed * rate;
  if (tokens > capacity) tokens = capacity;
  tokensAt = t;
  if (tokens < MICROS) return false;
  tokens -= MICROS;
  return true;
}

/** Handles one ICMP message (`len` bytes) from `src`; `ip` is its IP header. */
export function icmpInput(src: u32, dst: u32, msg: usize, len: u32, ip: usize, toBroadcast: bool): void {
  const r = icmpv4Parse(msg, len, true);
  if (r != 0) { bump(r == IcmpError.TRUNCATED ? DROP_TRUNCATED : DROP_BAD_CHECKSUM); return; }
  const type = icmpv4Repr.type;
  if (type == IcmpType.ECHO_REQUEST) {
    if (toBroadcast) { bump(DROP_BROADCAST_ECHO); return; }
    bump(DELIVER_ECHO_REQUEST);
    sendEchoReply(src, msg, len);
  } else if (type == IcmpType.ECHO_REPLY) {
    bump(DELIVER_ECHO_REPLY);
    lastReplyFrom = src;
    lastReplyIdent = icmpv4Repr.ident;
    lastReplySeq = icmpv4Repr.seq;
    lastReplyDataLen = icmpv4Repr.dataLen;
  } else if (icmpIsError(type)) {
    bump(DELIVER_ERROR);
    // RFC 1122 3.2.2: the error goes to the transport of the datagram it quotes.
    udpIcmpError(type, icmpv4Repr.code, msg + ICMP_HEADER_LEN, icmpv4Repr.dataLen);
  } else {
    bump(DROP_UNHANDLED_TYPE);
  }
}

/** RFC 792 echo reply: the request with type 0; checksum by RFC 1624 from the request's. */
function sendEchoReply(to: u32, request: usize, len: u32): void {
  const out = ipv4OutputBegin(to, IpProto.ICMP);
  if (out == 0) { bump(TX_DROP_NO_BUFFER); return; }
  memory.copy(out, request, len);
  const code = <u16>load<u8>(request, 1);
  const oldWord = <u16>(<u16>IcmpType.ECHO_REQUEST << 8) | code;
  const newWord = <u16>(<u16>IcmpType.ECHO_REPLY << 8) | code;
  store<u8>(out, IcmpType.ECHO_REPLY, ICMP_TYPE);
  let csum = checksumUpdate16(bswap<u16>(load<u16>(request, ICMP_CSUM)), oldWord, newWord);
  // Equation 3 gives 0x0000 when the rest of the reply sums to +0 or -0; only 0xFFFF verifies
  // in both cases (an all-zero reply, e.g. id 0, seq 0, no data, sums to +0).
  if (csum == 0) csum = 0xFFFF;
  store<u16>(out, bswap<u16>(csum), ICMP_CSUM);
  if (ipv4OutputFinish(len, 0, true) >= 0) bump(TX_ECHO_REPLY);
}

/** Echo requests the host asked for, waiting for the next burst: dst, ident << 16 | seq, dataLen. */
const PING_QUEUE_SLOTS: u32 = 16;
const pingQueue = memory.data(<i32>(PING_QUEUE_SLOTS * 12), 4);
let pingHead: u32 = 0;
let pingCount: u32 = 0;

/**
 * Queues an echo request to `dst` with `dataLen` bytes of data (a counting pattern); it leaves
 * in the next `input`/`poll` burst. Returns 0, -EMSGSIZE (-90) when the data does not fit one
 * datagram, -EAGAIN (-11) when 16 requests already wait, or what `ipv4RouteCheck` says.
 */
export function icmpEchoSend(dst: u32, ident: u16, seq: u16, dataLen: u32): i32 {
  if (ICMP_HEADER_LEN + dataLen > ipv4MaxPayload(dst)) return -90;
  const route = ipv4RouteCheck(dst);
  if (route < 0) return route;
  if (pingCount == PING_QUEUE_SLOTS) return -11;
  const slot = pingQueue + <usize>((pingHead + pingCount) % PING_QUEUE_SLOTS) * 12;
  store<u32>(slot, dst);
  store<u32>(slot, <u32>ident << 16 | <u32>seq, 4);
  store<u32>(slot, dataLen, 8);
  pingCount++;
  return 0;
}

/** Sends queued echo requests while TX slots last (called in every burst). */
export function icmpFlush(): void {
  while (pingCount > 0) {
    const slot = pingQueue + <usize>pingHead * 12;
    const dst = load<u32>(slot);
    const idSeq = load<u32>(slot, 4);
    const dataLen = load<u32>(slot, 8);
    const out = ipv4OutputBegin(dst, IpProto.ICMP);
    if (out == 0 && ipv4OutputRingFull()) return;
    if (out != 0) {
      for (let i: u32 = 0; i < dataLen; i++) store<u8>(out + ICMP_HEADER_LEN + i, <u8>i);
      icmpv4EmitEcho(out, IcmpType.ECHO_REQUEST, <u16>(idSeq >>> 16), <u16>idSeq, dataLen);
      if (ipv4OutputFinish(ICMP_HEADER_LEN + dataLen, 0, true) >= 0) bump(TX_ECHO_REQUEST);
    }
    pingHead = (pingHead + 1) % PING_QUEUE_SLOTS;
    pingCount--;
  }
}

/** Now while echo requests wait, else NEVER. */
export function icmpNextDeadline(): i64 { return pingCount > 0 ? now() : NEVER; }

export function icmpLastReplyFrom(): u32 { return lastReplyFrom; }
export function icmpLastReplyIdent(): u16 { return lastReplyIdent; }
export function icmpLastReplySeq(): u16 { return lastReplySeq; }
export function icmpLastReplyDataLen(): u32 { return lastReplyDataLen; }

/**
 * Sends Destination Unreachable with `code` about the datagram at `orig` (`origLen` bytes,
 * starting at its IP header), when RFC 1122 3.2.2 allows and the rate limit has room.
 * Returns true when a message was sent or queued.
 */
export function icmpSendUnreachable(code: u8, orig: usize, origLen: u32): bool {
  if (origLen < IPV4_HEADER_LEN) { bump(TX_SUPPRESSED); return false; }
  const headerLen = (<u32>load<u8>(orig, IP_VER_IHL) & 0xF) << 2;
  const origSrc = bswap<u32>(load<u32>(orig, IP_SRC));
  const origDst = bswap<u32>(load<u32>(orig, IP_DST));
  const fragOffset = bswap<u16>(load<u16>(orig, IP_FLAGS_FRAG)) & IP_FRAG_OFFSET_MASK;
  let suppress = headerLen < IPV4_HEADER_LEN || headerLen > origLen ||
    ipv4IsBroadcast(origDst) || ipv4IsMulticast(origDst) || ethRxWasLinkBroadcast() ||
    fragOffset != 0 || origSrc == 0 || !ipv4IsValidSource(origSrc) || ipv4IsBroadcast(origSrc);
  if (!suppress && load<u8>(orig, IP_PROTO) == IpProto.ICMP) {
    // Not about an ICMP error; an ICMP message too short to tell its type is not answered either.
    suppress = origLen < headerLen + 1 || icmpIsError(load<u8>(orig + headerLen, ICMP_TYPE));
  }
  if (suppress) { bump(TX_SUPPRESSED); return false; }
  if (!takeToken()) { bump(TX_DROP_RATE_LIMITED); return false; }
  const room = ERROR_DATAGRAM_MAX - IPV4_HEADER_LEN - ICMP_HEADER_LEN;
  const quoteLen = origLen < room ? origLen : room;
  const out = ipv4OutputBegin(origSrc, IpProto.ICMP);
  if (out == 0) { bump(TX_DROP_NO_BUFFER); return false; }
  const len = icmpv4EmitError(out, IcmpType.DEST_UNREACHABLE, code, 0, orig, quoteLen);
  // Precedence "internetwork control" (RFC 791; RFC 1812 4.3.2.5), as Linux marks its errors.
  ipv4OutputSetTos(TOS_INTERNETWORK_CONTROL);
  if (ipv4OutputFinish(len, 0, true) < 0) return false;
  bump(TX_UNREACHABLE);
  return true;
}
