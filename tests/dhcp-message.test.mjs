// DHCP message encode/decode (src/dhcp/message.ts) against the frames of a real exchange with
// dnsmasq 2.90 (tests/fixtures/dhcp-dnsmasq.hex), and malformed options: truncated, overlong,
// missing END, wrong lengths, a bad mask, split options joined (RFC 3396), bad fixed parts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeClientMessage, decodeServerMessage, maskToPrefix, MessageType } from '../dist/dhcp/message.js';
import { fixture } from './helpers/fixtures.mjs';
import { Prng } from '../dist/util/prng.js';
import { parseIpv4 as ip, parseMac as mac } from '../dist/net/ipv4.js';

const frames = fixture('dhcp-dnsmasq');
/** The DHCP payload of a frame: after Ethernet (14), IPv4 without options (20) and UDP (8). */
const payload = (f) => f.subarray(42);
const [discover, offer, request, ack, renew, renewAck, release] = frames.map(payload);
const MAC = mac('02:d0:1f:74:d5:15');
const XID = 0xe51d7a35;
const LEASED = ip('10.99.43.60');
const SERVER = ip('10.99.43.1');
const secsOf = (m) => (m[8] << 8) | m[9];
const xidOf = (m) => new DataView(m.buffer, m.byteOffset).getUint32(4);

test('fixture: seven DHCP frames, all 300-byte messages', () => {
  assert.is(frames.length, 7);
  for (const m of [discover, offer, request, ack, renew, renewAck, release]) assert.is(m.length, 300);
});

test('encode: the DISCOVER, REQUEST, renewal REQUEST and RELEASE are byte for byte what went on the wire', () => {
  assert.equal(encodeClientMessage({ type: MessageType.DISCOVER, xid: XID, secs: 0, ciaddr: 0, mac: MAC }), discover);
  assert.is(secsOf(request), 3, 'the REQUEST left 3 s into the exchange (dnsmasq pings the address first)');
  assert.equal(encodeClientMessage({ type: MessageType.REQUEST, xid: XID, secs: 3, ciaddr: 0, mac: MAC, requestedAddress: LEASED, serverId: SERVER }), request);
  assert.equal(encodeClientMessage({ type: MessageType.REQUEST, xid: xidOf(renew), secs: 0, ciaddr: LEASED, mac: MAC }), renew);
  assert.equal(encodeClientMessage({ type: MessageType.RELEASE, xid: xidOf(release), secs: 0, ciaddr: LEASED, mac: MAC, serverId: SERVER }), release);
});

test('encode: fixed fields and options in order (RFC 2131 2, RFC 2132)', () => {
  const m = encodeClientMessage({ type: MessageType.REQUEST, xid: 0x01020304, secs: 70000, ciaddr: 0, mac: MAC, requestedAddress: LEASED, serverId: SERVER });
  assert.equal([...m.subarray(0, 12)], [1, 1, 6, 0, 1, 2, 3, 4, 0xff, 0xff, 0, 0], 'op, htype, hlen, hops, xid, secs capped, flags');
  assert.equal([...m.subarray(236, 240)], [99, 130, 83, 99]);
  assert.equal([...m.subarray(240, 240 + 34)], [
    53, 1, 3,
    61, 7, 1, ...MAC,
    50, 4, 10, 99, 43, 60,
    54, 4, 10, 99, 43, 1,
    55, 7, 1, 3, 6, 51, 54, 58, 59,
    255,
  ]);
  assert.ok(m.subarray(274).every((b) => b === 0), 'zero padding to 300 bytes');
});

test("decode: dnsmasq's OFFER and ACKs", () => {
  const expected = (type, xid, t1, t2) => ({
    message: {
      type, xid, yiaddr: LEASED, siaddr: SERVER, chaddr: MAC, serverId: SERVER, prefix: 24, routers: [SERVER],
      dns: [SERVER, ip('10.99.43.3')], leaseSec: 120, renewalSec: t1, rebindingSec: t2, text: null,
    },
    problem: null,
    problems: [],
  });
  assert.equal(decodeServerMessage(offer), expected(MessageType.OFFER, XID, 60, 105));
  assert.equal(decodeServerMessage(ack), expected(MessageType.ACK, XID, 60, 105));
  // The renewal's ACK counts T1/T2 from what is left of the lease, as dnsmasq does.
  assert.equal(decodeServerMessage(renewAck), expected(MessageType.ACK, xidOf(renew), 56, 101));
});

/** An ACK whose options area is `options` (after the cookie). */
function withOptions(options) {
  const m = new Uint8Array(240 + options.length);
  m.set(ack.subarray(0, 240));
  m.set(options, 240);
  return m;
}
const TYPE_ACK = [53, 1, 5];

test('malformed options are ignored and named; never a throw', () => {
  // Truncated: the lease-time option says 4 bytes, 2 are there.
  let d = decodeServerMessage(withOptions([...TYPE_ACK, 1, 4, 255, 255, 255, 0, 51, 4, 0, 0]));
  assert.equal([d.message.type, d.message.prefix, d.message.leaseSec, d.problems], [5, 24, null, ['truncated']]);
  // Overlong: a length running past the message's end.
  d = decodeServerMessage(withOptions([...TYPE_ACK, 6, 200, 10, 0, 0, 1]));
  assert.equal([d.message.dns, d.problems], [[], ['truncated']]);
  // A code with no room for its length byte.
  d = decodeServerMessage(withOptions([...TYPE_ACK, 3]));
  assert.equal([d.message.routers, d.problems], [[], ['truncated']]);
  // Missing END: what came before is kept.
  d = decodeServerMessage(withOptions([...TYPE_ACK, 51, 4, 0, 0, 0, 60, 0, 0]));
  assert.equal([d.message.leaseSec, d.problems], [60, ['missing_end']]);
  // Wrong lengths: a 3-byte mask, a 6-byte router list, an empty DNS list, a 2-byte server id.
  d = decodeServerMessage(withOptions([...TYPE_ACK, 1, 3, 255, 255, 0, 3, 6, 1, 2, 3, 4, 5, 6, 6, 0, 54, 2, 1, 1, 255]));
  assert.equal([d.message.prefix, d.message.routers, d.message.dns, d.message.serverId, d.problems],
    [null, [], [], null, ['bad_length', 'bad_length', 'bad_length', 'bad_length']]);
  // A mask that is not ones then zeros.
  d = decodeServerMessage(withOptions([...TYPE_ACK, 1, 4, 255, 0, 255, 0, 255]));
  assert.equal([d.message.prefix, d.problems], [null, ['bad_mask']]);
  // Option overload is not followed; PAD is skipped; a NAK's message text is kept printable.
  d = decodeServerMessage(withOptions([53, 1, 6, 0, 0, 52, 1, 3, 56, 5, 0x62, 0x61, 0x64, 0x0a, 0x21, 255]));
  assert.equal([d.message.type, d.message.text, d.problems], [6, 'bad!', ['overload_ignored']]);
});

test('split options are joined (RFC 3396 5): DNS servers in two instances', () => {
  const d = decodeServerMessage(withOptions([...TYPE_ACK, 6, 4, 10, 0, 0, 1, 6, 4, 10, 0, 0, 2, 255]));
  assert.equal([d.message.dns, d.problems], [[ip('10.0.0.1'), ip('10.0.0.2')], []]);
});

test('unusable messages: dropped with the reason', () => {
  const reasons = (m) => decodeServerMessage(m).problem;
  assert.is(reasons(ack.subarray(0, 239)), 'truncated');
  const cookie = ack.slice(); cookie[236] = 0;
  assert.is(reasons(cookie), 'bad_cookie');
  assert.is(reasons(discover), 'not_reply');
  const hw = ack.slice(); hw[2] = 16;
  assert.is(reasons(hw), 'bad_hardware');
  assert.is(reasons(withOptions([1, 4, 255, 255, 255, 0, 255])), 'no_message_type');
  assert.is(reasons(withOptions([53, 2, 5, 5, 255])), 'no_message_type');
  assert.is(reasons(withOptions([53, 1, 8, 255])), 'unknown_message_type');
  for (let n = 0; n <= ack.length; n++) decodeServerMessage(ack.subarray(0, n));
});

test('20,000 seeded mutations of the OFFER and ACK: every one decodes to a message or a named problem, none throws', () => {
  const prng = new Prng(17);
  const problems = new Set(['truncated', 'bad_cookie', 'not_reply', 'bad_hardware', 'no_message_type', 'unknown_message_type']);
  let messages = 0;
  for (let i = 0; i < 20000; i++) {
    const m = (i & 1 ? offer : ack).slice(0, 240 + prng.below(61));
    // Mutations land in the options area mostly, sometimes in the fixed part.
    for (let k = prng.below(6); k >= 0; k--) m[prng.chance(0.9) ? 240 + prng.below(m.length - 240) : prng.below(240)] = prng.below(256);
    const d = decodeServerMessage(m);
    if (d.message) messages++;
    else assert.ok(problems.has(d.problem), d.problem);
  }
  assert.ok(messages > 1000 && messages < 20000, `${messages} still decoded`);
});

test('maskToPrefix', () => {
  assert.equal([0, 0x80000000, 0xffffff00, 0xffffffff, 0xfffffeff, 0x00ffffff].map(maskToPrefix), [0, 1, 24, 32, null, null]);
});

test.run();
