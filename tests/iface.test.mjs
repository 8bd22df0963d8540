// The interface layer (assembly/iface/*): Ethernet dispatch, ARP (answer, learn, resolve,
// retry, fail, bounded table, expiry, gratuitous), ICMP echo and unreachable (RFC 1122 rules,
// rate limit), IPv4 input checks and the output API's errors and offload flags. The stack
// plays namespace B of the fixtures (10.61.0.2, 02:00:00:00:0a:02) so the kernel's own
// frames go in and the kernel's own answers are what must come out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ipAddress as ip, macAddress as mac, be16, be32, internetChecksum as refChecksum, onesSum as refSum, pseudoHeaderSum as pseudoSum,
  buildEthernet as ethernet, buildArp as arp, buildIpv4 as ipv4, icmpEcho, buildUdp as udp, buildTcp, BROADCAST_MAC,
} from '../dist/testing/frames.js';
import { formatMac as macStr } from '../dist/net/ipv4.js';
import { fixture } from './helpers/fixtures.mjs';
import { makeStack, feed, poll, counters, delta, udpSend, udpOpenBound, RxFlag, TxFlag, Offload } from './support/wasm-stack.mjs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStack, MemoryLink, Recorder, VirtualClock } from '../dist/index.js';

const A_MAC = mac('02:00:00:00:0a:01');
const B_MAC = mac('02:00:00:00:0a:02');
const A_IP = ip('10.61.0.1');
const B_IP = ip('10.61.0.2');
const SEC = 1_000_000;

/** The bytes of `f` padded with zeros to the 60-byte Ethernet minimum. */
const padded = (f) => (f.length >= 60 ? f : Uint8Array.from([...f, ...new Array(60 - f.length).fill(0)]));
const arpFrom = (srcMac, srcIp, dstIp, op = 1, targetMac = new Uint8Array(6), ethDst = BROADCAST_MAC) =>
  ethernet(ethDst, srcMac, 0x0806, arp(op, srcMac, srcIp, targetMac, dstIp));
const ipFrame = (src, dst, proto, payload, opts, ethDst = B_MAC, ethSrc = A_MAC) => ethernet(ethDst, ethSrc, 0x0800, ipv4(src, dst, proto, payload, opts));
/** Checks an IPv4 frame's header and returns its fields. */
function ipOf(f) {
  assert.is(be16(f, 12), 0x0800);
  assert.is(refChecksum(f.subarray(14, 34)), 0, 'IPv4 header checksum');
  return { src: be32(f, 26), dst: be32(f, 30), proto: f[23], ttl: f[22], tos: f[15], df: (f[20] & 0x40) !== 0, total: be16(f, 16) };
}

test('ARP: the kernel\'s request for our address gets the kernel\'s reply, byte for byte', () => {
  const s = makeStack();
  const [req, rep] = fixture('arp-ping');
  const before = counters(s);
  const out = feed(s, [req]);
  assert.is(out.length, 1);
  assert.equal(Array.from(out[0].bytes), Array.from(padded(rep)));
  assert.is(out[0].flags, 0);
  assert.equal(delta(s, before), { 'eth.rx.frames': 1, 'deliver.arp.request': 1, 'arp.tx.reply': 1, 'eth.tx.frames': 1 });
  assert.is(s.exports.arpEntriesInUse(), 1, 'the asker is learned (RFC 826)');
});

test('ICMP echo: the kernel\'s request gets a reply equal to the kernel\'s but for the IP ID', () => {
  const s = makeStack();
  const [req, , echo, kernelReply] = fixture('arp-ping');
  feed(s, [req]);
  const before = counters(s);
  const [out] = feed(s, [echo], 10);
  const f = out.bytes;
  assert.is(f.length, kernelReply.length);
  const h = ipOf(f);
  assert.equal(h, { src: B_IP, dst: A_IP, proto: 1, ttl: 64, tos: 0, df: false, total: 52 });
  // Everything but the identification and the header checksum equals the kernel's reply.
  const mask = (b) => { const c = b.slice(); c.fill(0, 18, 20); c.fill(0, 24, 26); return Array.from(c); };
  assert.equal(mask(f), mask(kernelReply));
  assert.is(refChecksum(f.subarray(34)), 0, 'ICMP checksum (updated per RFC 1624)');
  assert.equal(delta(s, before), { 'eth.rx.frames': 1, 'deliver.icmp.echo_request': 1, 'icmp.tx.echo_reply': 1, 'ipv4.tx.packets': 1, 'eth.tx.frames': 1 });
});

test('ARP resolution: a reply waits for ARP, the request goes out, the answer releases it', () => {
  const s = makeStack();
  const echo = fixture('arp-ping')[2];
  const before = counters(s);
  const out = feed(s, [echo], 5);
  assert.is(out.length, 1, 'only the ARP request leaves');
  const r = out[0].bytes;
  assert.equal(Array.from(r), Array.from(padded(arpFrom(B_MAC, B_IP, A_IP))));
  assert.is(s.exports.arpPendingFree(), 64 - 1);
  assert.is(s.exports.nextDeadlineUs(), 5 + SEC, 'retry in 1 s');
  const rep = fixture('arp-ping')[1];
  // The kernel's reply from A, turned around: A answers B.
  const answer = arpFrom(A_MAC, A_IP, B_IP, 2, B_MAC, B_MAC);
  const out2 = feed(s, [answer], 20);
  assert.is(out2.length, 1, 'the queued echo reply leaves');
  assert.equal(macStr(out2[0].bytes.subarray(0, 6)), macStr(A_MAC));
  assert.is(ipOf(out2[0].bytes).dst, A_IP);
  assert.is(out2[0].bytes[34], 0, 'echo reply');
  assert.is(s.exports.arpPendingFree(), 64);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 2, 'deliver.icmp.echo_request': 1, 'icmp.tx.echo_reply': 1, 'ipv4.tx.queued_for_arp': 1,
    'arp.tx.request': 1, 'deliver.arp.reply': 1, 'eth.tx.frames': 2,
  });
  assert.is(rep.length, 42);
  // The deadline is a bound, never late: at worst one early poll, after which it is exact.
  const early = s.exports.nextDeadlineUs();
  assert.ok(early <= 20 + 60 * SEC);
  assert.is(poll(s, early).length, 0);
  assert.is(s.exports.nextDeadlineUs(), 20 + 60 * SEC, 'next: the entry\'s expiry (arpTtlSec 60)');
});

test('ARP failure: 3 requests 1 s apart, then queued frames dropped and senders get EHOSTUNREACH', () => {
  const s = makeStack();
  const h = udpOpenBound(s, 5000);
  const dead = ip('10.61.0.77');
  assert.is(udpSend(s, h, dead, 9, [1, 2, 3]), 3);
  assert.is(udpSend(s, h, dead, 9, [4]), 1);
  const before = counters(s);
  let out = poll(s, 0);
  assert.is(out.length, 1);
  assert.is(be32(out[0].bytes, 38), dead, 'request 1 asks for the dead host');
  assert.is(poll(s, SEC - 1).length, 0);
  assert.is(poll(s, SEC).length, 1, 'request 2');
  assert.is(poll(s, 2 * SEC).length, 1, 'request 3');
  assert.is(poll(s, 3 * SEC).length, 0, 'no fourth request');
  assert.equal(delta(s, before), {
    'arp.tx.request': 3, 'udp.tx.datagrams': 2, 'ipv4.tx.queued_for_arp': 2, 'arp.resolve.failed': 1, 'drop.arp_tx.unresolved': 2,
    'eth.tx.frames': 3,
  });
  assert.is(udpSend(s, h, dead, 9, [5]), -113, 'EHOSTUNREACH while the failure holds');
  assert.is(s.exports.arpPendingFree(), 64);
  assert.is(s.exports.nextDeadlineUs(), -1, 'a failed entry needs no timer');
  assert.is(poll(s, 60 * SEC).length, 0);
  assert.is(udpSend(s, h, dead, 9, [6]), -113, 'the first sender after the hold is still told');
  assert.is(udpSend(s, h, dead, 9, [7]), 1, 'then resolution starts over');
  assert.is(poll(s, 60 * SEC + 1).length, 1, 'a new request');
});

test('ARP: frames released after resolution keep their order when the TX ring is short', () => {
  const s = makeStack({ txSlots: 1 });
  const h = udpOpenBound(s, 5000);
  for (const n of [1, 2, 3]) udpSend(s, h, A_IP, 9, [n]);
  let out = poll(s, 0);
  assert.is(be16(out[0].bytes, 12), 0x0806, 'the one slot carries the ARP request');
  const what = (f) => (f.bytes[23] === 17 ? `udp${f.bytes[42]}` : `icmp${f.bytes[34]}`);
  const sent = [];
  sent.push(...feed(s, [arpFrom(A_MAC, A_IP, B_IP, 2, B_MAC, B_MAC)], 1).map(what));
  // An echo request in the next burst: its reply must not overtake the datagrams still waiting.
  sent.push(...feed(s, [fixture('arp-ping')[2]], 2).map(what));
  for (let t = 3; t < 8; t++) sent.push(...poll(s, t).map(what));
  assert.equal(sent, ['udp1', 'udp2', 'udp3', 'icmp0']);
  assert.is(s.exports.arpPendingFree(), 64);
});

test('ARP table: bounded by arpEntries (oldest evicted), entries expire after arpTtlSec, a request refreshes', () => {
  const s = makeStack({ arpEntries: 4, arpTtlSec: 10 });
  const hosts = [11, 12, 13, 14, 15, 16].map((n) => ip(`10.61.0.${n}`));
  hosts.forEach((h, i) => feed(s, [arpFrom(mac(`02:00:00:00:01:${10 + i}`), h, B_IP)], i * SEC));
  assert.is(s.exports.arpEntriesInUse(), 4);
  assert.is(counters(s)['arp.table.evicted'], 2);
  // The newest four remain: sending to .16 needs no ARP, sending to .11 does.
  const u = udpOpenBound(s, 7000);
  udpSend(s, u, hosts[5], 9, [1]);
  let out = poll(s, 6 * SEC);
  assert.is(be16(out[0].bytes, 12), 0x0800, '.16 is known: the datagram leaves at once');
  udpSend(s, u, hosts[0], 9, [1]);
  out = poll(s, 6 * SEC);
  assert.is(be16(out[0].bytes, 12), 0x0806, '.11 was evicted: ARP first');
  // .14 learned at 3 s, refreshed at 12 s: alive at 20 s; .15 (4 s) expired at 14 s.
  feed(s, [arpFrom(mac('02:00:00:00:01:13'), hosts[3], B_IP)], 12 * SEC);
  poll(s, 20 * SEC);
  udpSend(s, u, hosts[3], 9, [1]);
  out = poll(s, 20 * SEC);
  assert.is(be16(out[0].bytes, 12), 0x0800);
  udpSend(s, u, hosts[4], 9, [1]);
  out = poll(s, 20 * SEC);
  assert.is(be16(out[0].bytes, 12), 0x0806);
});

test('ARP: an entry in use is refreshed by unicast probes at expiry and keeps carrying traffic; unanswered, it is forgotten', () => {
  const s = makeStack({ arpTtlSec: 10 });
  feed(s, [fixture('arp-ping')[0]], 0);
  const h = udpOpenBound(s, 5000);
  udpSend(s, h, A_IP, 9, [1]);
  assert.is(poll(s, 5 * SEC).length, 1);
  const before = counters(s);
  let out = poll(s, 10 * SEC);
  assert.is(out.length, 1);
  const probe = out[0].bytes;
  assert.equal(macStr(probe.subarray(0, 6)), macStr(A_MAC), 'unicast to the known MAC');
  assert.is(be16(probe, 20), 1, 'a request');
  assert.is(be32(probe, 38), A_IP);
  udpSend(s, h, A_IP, 9, [2]);
  out = poll(s, 10 * SEC + 500);
  assert.is(be16(out[0].bytes, 12), 0x0800, 'traffic flows while the entry is refreshed');
  feed(s, [arpFrom(A_MAC, A_IP, B_IP, 2, B_MAC, B_MAC)], 10 * SEC + 600);
  assert.equal(delta(s, before), {
    'arp.tx.probe': 1, 'eth.tx.frames': 2, 'udp.tx.queued': 1, 'udp.tx.datagrams': 1, 'ipv4.tx.packets': 1, 'eth.rx.frames': 1,
    'deliver.arp.reply': 1,
  });
  // Refreshed: the next expiry is 10 s after the answer; used again, probed again, unanswered.
  udpSend(s, h, A_IP, 9, [3]);
  poll(s, 11 * SEC);
  assert.is(poll(s, 20 * SEC + 599).length, 0);
  const probes = [20, 21, 22, 23].map((t) => poll(s, t * SEC + 600).length);
  assert.equal(probes, [1, 1, 1, 0], 'three probes 1 s apart, then the entry is forgotten');
  assert.is(s.exports.arpEntriesInUse(), 0);
});

test('ARP: gratuitous ARP updates a known neighbour, teaches nothing new, and our own address is defended', () => {
  const s = makeStack();
  feed(s, [fixture('arp-ping')[0]]);
  const newMac = mac('02:00:00:00:0b:01');
  let before = counters(s);
  feed(s, [arpFrom(newMac, A_IP, A_IP)]);
  assert.equal(delta(s, before), { 'eth.rx.frames': 1, 'arp.rx.gratuitous': 1, 'deliver.arp.update': 1 });
  const [reply] = feed(s, [fixture('arp-ping')[2]]);
  assert.equal(macStr(reply.bytes.subarray(0, 6)), macStr(newMac), 'the reply goes to the new MAC');
  before = counters(s);
  feed(s, [arpFrom(mac('02:00:00:00:0c:01'), ip('10.61.0.50'), ip('10.61.0.50'))]);
  feed(s, [arpFrom(mac('02:00:00:00:0c:02'), B_IP, B_IP)]);
  feed(s, [arpFrom(mac('02:00:00:00:0c:03'), ip('10.61.0.51'), ip('10.61.0.52'))]);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 3, 'arp.rx.gratuitous': 1, 'drop.arp.not_for_us': 2, 'drop.arp.address_conflict': 1,
  });
  assert.is(s.exports.arpEntriesInUse(), 1);
  // An ARP probe (sender 0.0.0.0, RFC 5227) for our address is answered and teaches nothing.
  const out = feed(s, [arpFrom(mac('02:00:00:00:0c:04'), 0, B_IP)]);
  assert.is(out.length, 1);
  assert.is(be16(out[0].bytes, 20), 2);
  assert.is(s.exports.arpEntriesInUse(), 1);
});

test('Ethernet: other hosts, multicast, VLANs, IPv6, LLC and unknown types are counted drops', () => {
  const s = makeStack();
  feed(s, [fixture('arp-ping')[0]]);
  const [tagged, prioTagged] = fixture('vlan');
  const echo = fixture('arp-ping')[2];
  const other = echo.slice(); other[5] = 0x99;
  const multicast = echo.slice(); multicast.set([0x01, 0x00, 0x5e, 0, 0, 1], 0);
  const badSource = echo.slice(); badSource[6] = 0x03;
  const v6 = echo.slice(); v6[12] = 0x86; v6[13] = 0xdd;
  const llc = echo.slice(); llc[12] = 0x00; llc[13] = 0x40;
  const unknown = echo.slice(); unknown[12] = 0x88; unknown[13] = 0xb5;
  const before = counters(s);
  const out = feed(s, [tagged, other, multicast, badSource, v6, llc, unknown, echo.subarray(0, 13), prioTagged]);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 9, 'drop.eth.vlan': 1, 'drop.eth.other_host': 1, 'drop.eth.multicast': 1, 'drop.eth.bad_source': 1,
    'drop.eth.ipv6_unsupported': 1, 'drop.eth.llc': 1, 'drop.eth.ethertype': 1, 'drop.eth.truncated': 1,
    'deliver.icmp.echo_request': 1, 'icmp.tx.echo_reply': 1, 'ipv4.tx.packets': 1, 'eth.tx.frames': 1,
  });
  assert.is(out.length, 1, 'the priority-tagged (VLAN 0) echo request is answered, untagged');
  assert.is(be16(out[0].bytes, 12), 0x0800);
});

test('IPv4 input: fragments, foreign destinations, bad sources (broadcast, multicast, loopback, ours, 0 but for UDP) and checksums are counted drops', () => {
  const s = makeStack();
  feed(s, [fixture('arp-ping')[0]]);
  const frags = fixture('fragment').slice(0, 3);
  const payload = icmpEcho(8, 1, 1, [1, 2, 3, 4]);
  const badCsum = ipFrame(A_IP, B_IP, 1, payload); badCsum[24] ^= 1;
  const before = counters(s);
  const out = feed(s, [
    ...frags,
    ipFrame(A_IP, ip('10.61.0.3'), 1, payload),
    ipFrame(A_IP, ip('224.0.0.251'), 17, udp(A_IP, ip('224.0.0.251'), 5353, 5353, [0])),
    ipFrame(ip('10.61.0.255'), B_IP, 1, payload),
    ipFrame(ip('224.1.1.1'), B_IP, 1, payload),
    ipFrame(ip('127.0.0.1'), B_IP, 1, payload),
    ipFrame(B_IP, B_IP, 1, payload),
    ipFrame(0, B_IP, 1, payload),
    badCsum,
    ipFrame(A_IP, B_IP, 1, payload, {}, BROADCAST_MAC),
  ]);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 12, 'drop.ipv4.fragment_no_reassembly': 3, 'drop.ipv4.not_for_us': 1, 'drop.ipv4.multicast_not_joined': 1,
    'drop.ipv4.bad_source': 5, 'drop.ipv4.bad_checksum': 1, 'drop.ipv4.unicast_in_link_broadcast': 1,
  });
  assert.is(out.length, 0);
});

test('IPv4 input: RX checksum flags are trusted, bad ones drop', () => {
  const s = makeStack();
  feed(s, [fixture('arp-ping')[0]]);
  const noHeaderCsum = ipFrame(A_IP, B_IP, 1, icmpEcho(8, 1, 1, [9])); noHeaderCsum[24] = 0; noHeaderCsum[25] = 0;
  let before = counters(s);
  assert.is(feed(s, [noHeaderCsum], 0, RxFlag.IP_CSUM_GOOD).length, 1, 'header checksum skipped');
  assert.is(feed(s, [fixture('arp-ping')[2]], 0, RxFlag.IP_CSUM_BAD).length, 0);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 2, 'deliver.icmp.echo_request': 1, 'icmp.tx.echo_reply': 1, 'ipv4.tx.packets': 1, 'drop.ipv4.bad_checksum': 1,
    'eth.tx.frames': 1,
  });
  // TCP: the checksum is checked before TCP sees it, unless the port did.
  const seg = buildTcp(A_IP, B_IP, { srcPort: 40000, dstPort: 80, seq: 1, ack: 0, flags: 0x02, win: 65535 });
  const bad = seg.slice(); bad[4] ^= 1;
  before = counters(s);
  feed(s, [ipFrame(A_IP, B_IP, 6, seg), ipFrame(A_IP, B_IP, 6, bad), ipFrame(A_IP, ip('10.61.0.255'), 6, seg, {}, BROADCAST_MAC)]);
  feed(s, [ipFrame(A_IP, B_IP, 6, bad)], 0, RxFlag.L4_CSUM_GOOD);
  feed(s, [ipFrame(A_IP, B_IP, 6, seg)], 0, RxFlag.L4_CSUM_BAD);
  const d = delta(s, before);
  assert.is(d['deliver.tcp'], 2);
  assert.is(d['drop.ipv4.tcp_bad_checksum'], 2);
  assert.is(d['drop.ipv4.tcp_to_broadcast'], 1);
});

test('ICMP unreachable: protocol and port unreachable like the kernel\'s, with RFC 1122 exceptions', () => {
  const s = makeStack();
  const [req] = fixture('arp-ping');
  feed(s, [req]);
  const [dgram, kernelErr] = fixture('icmp-port-unreachable');
  let before = counters(s);
  const [out] = feed(s, [dgram]);
  const mask = (b) => { const c = b.slice(); c.fill(0, 18, 20); c.fill(0, 24, 26); return Array.from(c); };
  assert.equal(mask(out.bytes), mask(kernelErr), 'port unreachable: the kernel\'s bytes but for the IP ID');
  assert.is(ipOf(out.bytes).tos, 0xc0);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 1, 'drop.udp.port_closed': 1, 'icmp.tx.unreachable': 1, 'ipv4.tx.packets': 1, 'eth.tx.frames': 1,
  });
  // Protocol unreachable (code 2) for an unknown protocol.
  const [proto] = feed(s, [ipFrame(A_IP, B_IP, 253, [1, 2, 3, 4])]);
  assert.is(proto.bytes[34], 3);
  assert.is(proto.bytes[35], 2);
  assert.is(refChecksum(proto.bytes.subarray(34, 14 + ipOf(proto.bytes).total)), 0);
  // Never about: broadcast destinations, link-layer broadcasts, non-first fragments, ICMP errors, bad sources.
  before = counters(s);
  const toBcast = ipFrame(A_IP, ip('10.61.0.255'), 17, udp(A_IP, ip('10.61.0.255'), 1, 9, [0]), {}, BROADCAST_MAC);
  const unknownBcast = ipFrame(A_IP, ip('255.255.255.255'), 253, [0], {}, BROADCAST_MAC);
  const icmpErr = ipFrame(A_IP, B_IP, 253, []);
  const errAboutErr = ipFrame(A_IP, B_IP, 1, kernelErr.subarray(34));
  const out2 = feed(s, [toBcast, unknownBcast, icmpErr.subarray(0, 0), errAboutErr]);
  assert.is(out2.length, 0);
  const d = delta(s, before);
  assert.is(d['icmp.tx.error_suppressed'], 1, 'unknown protocol to broadcast');
  assert.is(d['drop.udp.port_closed'], 1);
  assert.is(d['deliver.icmp.error'], 1, 'an ICMP error received is never answered');
  assert.is(d['drop.eth.truncated'], 1);
});

test('ICMP errors are rate-limited by a token bucket on the host clock', () => {
  const s = makeStack({ icmpErrorsPerSec: 2 });
  feed(s, [fixture('arp-ping')[0]], 0);
  const probe = (port) => ipFrame(A_IP, B_IP, 17, udp(A_IP, B_IP, 40000, port, [1]));
  const before = counters(s);
  assert.is(feed(s, [1, 2, 3, 4, 5].map(probe), 0).length, 2);
  assert.is(feed(s, [probe(6)], SEC / 2).length, 1, 'half a second refills one token');
  assert.is(feed(s, [probe(7), probe(8)], SEC / 2).length, 0);
  assert.is(feed(s, [probe(9), probe(10), probe(11)], 10 * SEC).length, 2, 'the bucket holds one second\'s worth');
  assert.is(delta(s, before)['drop.icmp_tx.rate_limited'], 6);
  // A host clock in epoch microseconds with a high rate: elapsed * rate would overflow 64 bits.
  const fast = makeStack({ icmpErrorsPerSec: 100_000 });
  feed(fast, [fixture('arp-ping')[0]], 0);
  const errors = feed(fast, [probe(12), probe(13), probe(14)], 1.7e15).filter((f) => be16(f.bytes, 12) === 0x0800);
  assert.is(errors.length, 3, 'the expired, now used, ARP entry is refreshed by a probe besides');
});

test('ICMP echo: an all-zero reply still gets a checksum that verifies (0xFFFF, not the -0 of RFC 1624 eqn 3)', () => {
  const s = makeStack();
  feed(s, [fixture('arp-ping')[0]]);
  const [out] = feed(s, [ipFrame(A_IP, B_IP, 1, icmpEcho(8, 0, 0, []))]);
  const icmp = out.bytes.subarray(34, 42);
  assert.equal(Array.from(icmp), [0, 0, 0xff, 0xff, 0, 0, 0, 0]);
  assert.is(refChecksum(icmp), 0);
  const [out2] = feed(s, [ipFrame(A_IP, B_IP, 1, icmpEcho(8, 0x1234, 7, [0, 0, 5]))]);
  assert.is(refChecksum(out2.bytes.subarray(34, 45)), 0);
});

test('ICMP: echo to broadcast is ignored (as Linux), other types are counted', () => {
  const s = makeStack();
  feed(s, [fixture('arp-ping')[0]]);
  const before = counters(s);
  const out = feed(s, [
    ipFrame(A_IP, ip('10.61.0.255'), 1, icmpEcho(8, 1, 1, [1]), {}, BROADCAST_MAC),
    ipFrame(A_IP, B_IP, 1, icmpEcho(13, 1, 1, new Array(12).fill(0))),
    ipFrame(A_IP, B_IP, 1, icmpEcho(8, 1, 1, [1]).subarray(0, 7)),
    ipFrame(A_IP, B_IP, 1, (() => { const m = icmpEcho(8, 1, 1, [1]); m[8] ^= 1; return m; })()),
  ]);
  assert.is(out.length, 0);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 4, 'drop.icmp.broadcast_echo': 1, 'drop.icmp.unhandled_type': 1, 'drop.icmp.truncated': 1, 'drop.icmp.bad_checksum': 1,
  });
});

test('output API: no route without a gateway; via the gateway\'s MAC when off-link', () => {
  let s = makeStack();
  const h = udpOpenBound(s, 1000);
  assert.is(udpSend(s, h, ip('8.8.8.8'), 53, [1]), -101, 'ENETUNREACH');
  assert.is(udpSend(s, h, B_IP, 53, [1]), -101, 'our own address: no loopback path');
  assert.is(poll(s, 1).length, 0, 'and no ARP request for ourselves');
  s = makeStack({ ipv4Gateway: ip('10.61.0.1') });
  feed(s, [fixture('arp-ping')[0]]);
  const h2 = udpOpenBound(s, 1000);
  assert.is(udpSend(s, h2, ip('8.8.8.8'), 53, [1]), 1);
  const [out] = poll(s, 1);
  assert.equal(macStr(out.bytes.subarray(0, 6)), macStr(A_MAC), 'to the gateway\'s MAC');
  assert.is(ipOf(out.bytes).dst, ip('8.8.8.8'));
});

test('output API: with offloads the port gets flags and header lengths, the checksum field the pseudo-header sum', () => {
  const s = makeStack({ offloads: Offload.TX_IPV4_CSUM | Offload.TX_UDP_CSUM });
  feed(s, [fixture('arp-ping')[0]]);
  const h = udpOpenBound(s, 1234);
  udpSend(s, h, A_IP, 9999, [1, 2, 3, 4, 5]);
  const [out] = poll(s, 1);
  assert.is(out.flags, TxFlag.IPV4 | TxFlag.IP_CSUM | TxFlag.UDP_CSUM);
  assert.equal([out.l2, out.l3, out.l4], [14, 20, 8]);
  assert.is(be16(out.bytes, 24), 0, 'IP checksum left to the port');
  assert.is(be16(out.bytes, 40), pseudoSum(B_IP, A_IP, 17, 13), 'UDP field holds the pseudo-header sum');
  // Without offloads: software checksums, no flags but IPV4.
  const s2 = makeStack();
  feed(s2, [fixture('arp-ping')[0]]);
  const h2 = udpOpenBound(s2, 1234);
  udpSend(s2, h2, A_IP, 9999, [1, 2, 3, 4, 5]);
  const [o2] = poll(s2, 1);
  assert.is(o2.flags, TxFlag.IPV4);
  assert.is(refChecksum(o2.bytes.subarray(14, 34)), 0);
  assert.is(refChecksum(o2.bytes.subarray(34, 47), pseudoSum(B_IP, A_IP, 17, 13)), 0);
  assert.is(o2.bytes.length, 60, 'padded to the Ethernet minimum');
});

test('two stacks ping each other: ARP request/reply, then echo request/reply', () => {
  const a = makeStack({ macLo: 0x00000a01, ipv4Addr: A_IP, seedLo: 1 });
  const b = makeStack({ seedLo: 2 });
  assert.is(a.exports.icmpEchoSend(B_IP, 0x77, 1, 56), 0, 'queued for the next burst');
  const kinds = [];
  let toB = poll(a, 0);
  let toA = [];
  for (let t = 1; t < 10 && (toB.length || toA.length); t++) {
    for (const f of toB) kinds.push(`a>b ${be16(f.bytes, 12) === 0x0806 ? 'arp' : 'icmp' + f.bytes[34]}`);
    toA = feed(b, toB.map((f) => f.bytes), t);
    for (const f of toA) kinds.push(`b>a ${be16(f.bytes, 12) === 0x0806 ? 'arp' : 'icmp' + f.bytes[34]}`);
    toB = feed(a, toA.map((f) => f.bytes), t);
  }
  assert.equal(kinds, ['a>b arp', 'b>a arp', 'a>b icmp8', 'b>a icmp0']);
  assert.is(a.exports.icmpLastReplyFrom() >>> 0, B_IP);
  assert.is(a.exports.icmpLastReplyIdent(), 0x77);
  assert.is(a.exports.icmpLastReplySeq(), 1);
  assert.is(a.exports.icmpLastReplyDataLen(), 56);
  assert.is(a.exports.icmpEchoSend(B_IP, 0x77, 2, 1500), -90, 'EMSGSIZE: no fragmentation');
  assert.is(a.exports.icmpEchoSend(ip('8.8.8.8'), 0x77, 2, 10), -101, 'ENETUNREACH: no gateway');
  for (let i = 0; i < 16; i++) assert.is(a.exports.icmpEchoSend(B_IP, 0x78, i, 8), 0);
  assert.is(a.exports.icmpEchoSend(B_IP, 0x78, 16, 8), -11, 'EAGAIN: 16 requests wait already');
  const sent = poll(a, 20);
  assert.is(sent.length, 16, 'B is known: all 16 leave in one burst');
  assert.equal(sent.map((f) => be16(f.bytes, 40)), Array.from({ length: 16 }, (_, i) => i));
});

test('two stacks over a MemoryLink ping each other; tshark reads ARP and echo with good checksums in the recording', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-ping-'));
  const path = join(dir, 'ping.pcap');
  const [la, lb] = MemoryLink.pair({ seed: 1 });
  const recorded = new Recorder(la, { path });
  // One virtual clock for both: time jumps from event to event, no test waits on wall time.
  const clock = new VirtualClock();
  const a = await createStack({ link: recorded, address: '10.0.0.1/24', mac: '02:00:00:00:00:01', clock });
  const b = await createStack({ link: lb, address: '10.0.0.2/24', mac: '02:00:00:00:00:02', clock });
  try {
    const ex = a.instance.exports;
    for (let seq = 1; seq <= 3; seq++) {
      assert.is(ex.icmpEchoSend(ip('10.0.0.2'), 0x4242, seq, 32), 0);
      a.driver.kick();
      for (let i = 0; i < 1000 && ex.icmpLastReplySeq() !== seq; i++) await new Promise((r) => setImmediate(r));
      assert.is(ex.icmpLastReplySeq(), seq, `echo reply ${seq} arrived`);
    }
    assert.is(ex.icmpLastReplyFrom() >>> 0, ip('10.0.0.2'));
  } finally {
    // Closing a stack closes its link: the recorder completes the file.
    await a.close();
    await b.close();
  }
  const probe = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    if (process.env.CI) assert.unreachable('tshark is missing in CI: install it (apt-get install tshark)');
    console.log('skip: tshark is not installed (apt-get install tshark); the recorded pcap was not decoded');
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  const run = (args) => {
    const r = spawnSync('tshark', ['-r', path, '-o', 'ip.check_checksum:TRUE', ...args], { encoding: 'utf8' });
    assert.is(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const rows = run(['-T', 'fields', '-E', 'separator=,', '-e', 'arp.opcode', '-e', 'icmp.type', '-e', 'icmp.seq',
    '-e', 'ip.checksum.status', '-e', 'icmp.checksum.status']).split('\n');
  // What A sent and received, in order: its ARP request and B's reply, then three pings.
  assert.equal(rows, ['1,,,,', '2,,,,', ',8,1,1,1', ',0,1,1,1', ',8,2,1,1', ',0,2,1,1', ',8,3,1,1', ',0,3,1,1']);
  assert.is(run(['-Y', '_ws.malformed || _ws.expert.severity == error']), '', 'no malformed packet, no expert error');
  rmSync(dir, { recursive: true, force: true });
});

test.run();
