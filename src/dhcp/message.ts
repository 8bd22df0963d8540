// DHCP messages (RFC 2131 2, options RFC 2132): encoding what a client sends, decoding what
// a server answers.
//
// Guarantees:
// - `encodeClientMessage` gives the exact bytes of a BOOTREQUEST: the 236-byte fixed part, the
//   magic cookie, the options in a fixed order, END, then zero padding to 300 bytes (the
//   BOOTP minimum relays and old servers expect, RFC 1542 2.1). Same input, same bytes.
// - `decodeServerMessage` never throws on peer bytes: a message that is not a usable
//   BOOTREPLY (too short, wrong cookie, op, hardware type or length, no or unknown message
//   type) gives `{ message: null, problem }`; inside a usable message, an option that is
//   truncated, has a length its code does not allow, or a malformed value is ignored and
//   named in `problems`, and a missing END is reported but what came before it is kept.
//   Options split over several instances are joined (RFC 3396 5). Option overload (52) is
//   not followed: sname/file are never read as options (reported as `overload_ignored`).
// - Addresses are numbers in host order (10.0.0.1 = 0x0a000001), as everywhere in the host.

/** DHCP message types (option 53, RFC 2132 9.6). */
export const MessageType = {
  DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8,
} as const;

/** Option codes this client writes or reads (RFC 2132). */
export const Option = {
  PAD: 0,
  SUBNET_MASK: 1,
  ROUTER: 3,
  DNS_SERVERS: 6,
  REQUESTED_ADDRESS: 50,
  LEASE_TIME: 51,
  OVERLOAD: 52,
  MESSAGE_TYPE: 53,
  SERVER_ID: 54,
  PARAMETER_REQUEST_LIST: 55,
  MESSAGE: 56,
  RENEWAL_TIME: 58,
  REBINDING_TIME: 59,
  CLIENT_ID: 61,
  END: 255,
} as const;

const BOOTREQUEST = 1;
const BOOTREPLY = 2;
/** Hardware type of Ethernet (RFC 1700 "ARP hardware types"). */
export const HTYPE_ETHERNET = 1;
/** Bytes before the options: op .. file (RFC 2131 2, figure 1). */
const FIXED_LEN = 236;
/** 99.130.83.99 (RFC 2131 3, RFC 2132 2). */
const MAGIC_COOKIE = 0x63825363;
const OPTIONS_OFFSET = FIXED_LEN + 4;
/** Smallest BOOTP message (RFC 1542 2.1). */
const MIN_MESSAGE_LEN = 300;

// Offsets of the fixed fields (RFC 2131 2).
const OP = 0, HTYPE = 1, HLEN = 2, XID = 4, SECS = 8, FLAGS = 10, CIADDR = 12, YIADDR = 16,
  SIADDR = 20, CHADDR = 28, COOKIE = 236;

/** What the client asks the server for (option 55): mask, router, DNS, lease, server id, T1, T2. */
export const PARAMETERS_REQUESTED = [Option.SUBNET_MASK, Option.ROUTER, Option.DNS_SERVERS,
  Option.LEASE_TIME, Option.SERVER_ID, Option.RENEWAL_TIME, Option.REBINDING_TIME];

export interface ClientMessage {
  type: number;
  xid: number;
  /** Seconds since the client began this acquisition or renewal (capped at 65535). */
  secs: number;
  /** Our address in RENEWING/REBINDING and in a RELEASE; 0 otherwise. */
  ciaddr: number;
  /** Our 6-byte MAC (chaddr; the client identifier is 1 + this, RFC 2132 9.14). */
  mac: Uint8Array;
  /** Option 50 (SELECTING's REQUEST, DECLINE), 0 to leave it out. */
  requestedAddress?: number;
  /** Option 54 (SELECTING's REQUEST, DECLINE, RELEASE), 0 to leave it out. */
  serverId?: number;
}

/** Encodes a client message; see the module guarantees for the layout. */
export function encodeClientMessage(m: ClientMessage): Uint8Array {
  const options: number[] = [Option.MESSAGE_TYPE, 1, m.type];
  options.push(Option.CLIENT_ID, 7, HTYPE_ETHERNET, ...m.mac);
  if (m.requestedAddress) options.push(Option.REQUESTED_ADDRESS, 4, ...be32Bytes(m.requestedAddress));
  if (m.serverId) options.push(Option.SERVER_ID, 4, ...be32Bytes(m.serverId));
  // RFC 2131 table 5: a DECLINE or RELEASE asks for nothing.
  if (m.type !== MessageType.RELEASE && m.type !== MessageType.DECLINE) options.push(Option.PARAMETER_REQUEST_LIST, PARAMETERS_REQUESTED.length, ...PARAMETERS_REQUESTED);
  options.push(Option.END);
  const out = new Uint8Array(Math.max(MIN_MESSAGE_LEN, OPTIONS_OFFSET + options.length));
  const dv = new DataView(out.buffer);
  out[OP] = BOOTREQUEST;
  out[HTYPE] = HTYPE_ETHERNET;
  out[HLEN] = 6;
  dv.setUint32(XID, m.xid >>> 0);
  dv.setUint16(SECS, Math.min(0xffff, Math.max(0, Math.floor(m.secs))));
  // Broadcast bit clear (RFC 2131 4.1): the stack takes unicast to the offered address before
  // it has it (assembly/iface/ipv4.ts), so the server may answer unicast.
  dv.setUint16(FLAGS, 0);
  dv.setUint32(CIADDR, m.ciaddr >>> 0);
  out.set(m.mac, CHADDR);
  dv.setUint32(COOKIE, MAGIC_COOKIE);
  out.set(options, OPTIONS_OFFSET);
  return out;
}

/** A server's message, with the options this client uses. */
export interface ServerMessage {
  type: number;
  xid: number;
  /** The address offered or acknowledged. */
  yiaddr: number;
  siaddr: number;
  chaddr: Uint8Array;
  serverId: number | null;
  /** Prefix length from option 1, null when absent or not a contiguous mask. */
  prefix: number | null;
  routers: number[];
  dns: number[];
  leaseSec: number | null;
  renewalSec: number | null;
  rebindingSec: number | null;
  /** Option 56 (a NAK's reason), as text. */
  text: string | null;
}

/**
 * Names of what can be wrong (counted by the client as `drop.dhcp.<name>` for a dropped
 * message, `dhcp.option.<name>` for an ignored option).
 */
export type MessageProblem = 'truncated' | 'bad_cookie' | 'not_reply' | 'bad_hardware' | 'no_message_type'
  | 'unknown_message_type';
export type OptionProblem = 'truncated' | 'missing_end' | 'bad_length' | 'bad_mask' | 'overload_ignored';

export interface Decoded {
  message: ServerMessage | null;
  /** Why `message` is null. */
  problem: MessageProblem | null;
  /** Options ignored (and why), in the order met. */
  problems: OptionProblem[];
}

/** Decodes a server's message; never throws (see the module guarantees). */
export function decodeServerMessage(bytes: Uint8Array): Decoded {
  const problems: OptionProblem[] = [];
  const fail = (problem: MessageProblem): Decoded => ({ message: null, problem, problems });
  if (bytes.length < OPTIONS_OFFSET) return fail('truncated');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(COOKIE) !== MAGIC_COOKIE) return fail('bad_cookie');
  if (bytes[OP] !== BOOTREPLY) return fail('not_reply');
  if (bytes[HTYPE] !== HTYPE_ETHERNET || bytes[HLEN] !== 6) return fail('bad_hardware');

  const raw = collectOptions(bytes, problems);
  const typeBytes = raw.get(Option.MESSAGE_TYPE);
  if (!typeBytes || typeBytes.length !== 1) return fail('no_message_type');
  const type = typeBytes[0];
  if (type !== MessageType.OFFER && type !== MessageType.ACK && type !== MessageType.NAK) return fail('unknown_message_type');

  const single = (code: number): number | null => {
    const v = raw.get(code);
    if (v === undefined) return null;
    if (v.length !== 4) { problems.push('bad_length'); return null; }
    return be32(v, 0);
  };
  const list = (code: number): number[] => {
    const v = raw.get(code);
    if (v === undefined) return [];
    if (v.length === 0 || v.length % 4 !== 0) { problems.push('bad_length'); return []; }
    const out: number[] = [];
    for (let i = 0; i < v.length; i += 4) out.push(be32(v, i));
    return out;
  };
  const mask = single(Option.SUBNET_MASK);
  let prefix: number | null = null;
  if (mask !== null) {
    prefix = maskToPrefix(mask);
    if (prefix === null) problems.push('bad_mask');
  }
  if (raw.has(Option.OVERLOAD)) problems.push('overload_ignored');
  const text = raw.get(Option.MESSAGE);
  return {
    message: {
      type,
      xid: dv.getUint32(XID),
      yiaddr: dv.getUint32(YIADDR),
      siaddr: dv.getUint32(SIADDR),
      chaddr: bytes.slice(CHADDR, CHADDR + 6),
      serverId: single(Option.SERVER_ID),
      prefix,
      routers: list(Option.ROUTER),
      dns: list(Option.DNS_SERVERS),
      leaseSec: single(Option.LEASE_TIME),
      renewalSec: single(Option.RENEWAL_TIME),
      rebindingSec: single(Option.REBINDING_TIME),
      text: text === undefined ? null : String.fromCharCode(...text.filter((c) => c >= 0x20 && c < 0x7f)),
    },
    problem: null,
    problems,
  };
}

/**
 * The options area as code -> value bytes (RFC 2132 2: PAD and END have no length; every
 * other option is code, length, value). Instances of one code are joined (RFC 3396 5).
 */
function collectOptions(bytes: Uint8Array, problems: OptionProblem[]): Map<number, Uint8Array> {
  const found = new Map<number, Uint8Array>();
  let i = OPTIONS_OFFSET;
  for (;;) {
    if (i >= bytes.length) { problems.push('missing_end'); break; }
    const code = bytes[i];
    if (code === Option.END) break;
    if (code === Option.PAD) { i++; continue; }
    if (i + 1 >= bytes.length || i + 2 + bytes[i + 1] > bytes.length) { problems.push('truncated'); break; }
    const value = bytes.subarray(i + 2, i + 2 + bytes[i + 1]);
    const before = found.get(code);
    if (before === undefined) found.set(code, value);
    else {
      const joined = new Uint8Array(before.length + value.length);
      joined.set(before);
      joined.set(value, before.length);
      found.set(code, joined);
    }
    i += 2 + bytes[i + 1];
  }
  return found;
}

/** Prefix length of a contiguous netmask, or null (RFC 950: ones then zeros). */
export function maskToPrefix(mask: number): number | null {
  const m = mask >>> 0;
  const inverted = ~m >>> 0;
  if ((inverted & (inverted + 1)) !== 0) return null;
  let prefix = 0;
  for (let bit = 31; bit >= 0 && ((m >>> bit) & 1) === 1; bit--) prefix++;
  return prefix;
}

function be32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

function be32Bytes(v: number): number[] {
  return [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];
}
