// The stack side of DHCP (assembly/iface/ipv4.ts, ipv4-configure.ts): what an unconfigured
// stack takes in and sends, and ipv4Configure at run time, frame by frame on one instance.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeStack, feed, poll, delta, udpOpenBound, udpSend, udpRecv } from './support/wasm-stack.mjs';
import {
  buildEthernet as ethernet, buildIpv4 as ipv4, buildUdp as udp, buildArp as arp, ipAddress as ip, macAddress as mac, BROADCAST_MAC, be16, be32,
  buildTcp,
} from '../dist/testing/frames.js';

const OWN_MAC = mac('02:00:00:00:0a:02');
const SERVER_MAC = mac('02:00:00:00:0a:01');
const SERVER = ip('10.61.0.1');
const OFFERED = ip('10.61.0.50');

const unconfigured = () => makeStack({ ipv4Addr: 0, ipv4Prefix: 0 });
const toUs = (dst, dport, { dstMac = OWN_MAC, src = SERVER } = {}) =>
  ethernet(dstMac, SERVER_MAC, 0x0800, ipv4(src, dst, 17, udp(src, dst, 67, dport, [1, 2, 3, 4])));

test('unconfigured: unicast UDP to port 68 and broadcast are taken, other unicast dropped as unconfigured', () => {
  const s = unconfigured();
  const h = udpOpenBound(s, 68);
  const before = s.counters();
  assert.equal(feed(s, [toUs(OFFERED, 68), toUs(0xffffffff, 68, { dstMac: BROADCAST_MAC }), toUs(OFFERED, 69)]), []);
  assert.equal(delta(s, before), { 'eth.rx.frames': 3, 'deliver.udp': 2, 'drop.ipv4.unconfigured': 1 });
  const first = udpRecv(s, h);
  assert.equal([first.addr, first.port, [...first.data]], [SERVER, 67, [1, 2, 3, 4]]);
  assert.is(udpRecv(s, h).port, 67);
});

test('unconfigured: no ARP answer, no ICMP error, no unicast output', () => {
  const s = unconfigured();
  const before = s.counters();
  const request = ethernet(BROADCAST_MAC, SERVER_MAC, 0x0806, arp(1, SERVER_MAC, SERVER, new Uint8Array(6), OFFERED));
  const probe = ethernet(BROADCAST_MAC, SERVER_MAC, 0x0806, arp(1, SERVER_MAC, SERVER, new Uint8Array(6), 0));
  // A unicast datagram to port 68 with no socket there: a configured stack would answer port unreachable.
  assert.equal(feed(s, [request, probe, toUs(OFFERED, 68)]), []);
  const d = delta(s, before);
  assert.is(d['arp.tx.reply'], undefined);
  assert.is(d['drop.udp.port_closed'], 1);
  assert.is(d['icmp.tx.unreachable'], undefined);
  const h = udpOpenBound(s, 68);
  s.exports.udpSetBroadcast(h, 1);
  assert.is(udpSend(s, h, SERVER, 67, [9]), -101, 'unicast: ENETUNREACH while unconfigured');
  assert.is(s.exports.tcpConnect(SERVER, 80, 0, 0, 0), -101);
});

test('unconfigured: UDP to 255.255.255.255 leaves from 0.0.0.0 to the broadcast MAC, no ARP', () => {
  const s = unconfigured();
  const h = udpOpenBound(s, 68);
  s.exports.udpSetBroadcast(h, 1);
  assert.is(udpSend(s, h, 0xffffffff, 67, [7, 7]), 2);
  const out = poll(s, 0);
  assert.is(out.length, 1);
  const f = out[0].bytes;
  assert.equal([...f.subarray(0, 6)], [...BROADCAST_MAC]);
  assert.equal([be16(f, 12), f[23], be32(f, 26), be32(f, 30), be16(f, 34), be16(f, 36)], [0x0800, 17, 0, 0xffffffff, 68, 67]);
  const expected = ethernet(BROADCAST_MAC, OWN_MAC, 0x0800, ipv4(0, 0xffffffff, 17, udp(0, 0xffffffff, 68, 67, [7, 7]), { df: false, id: be16(f, 18) }));
  assert.equal([...f], [...expected, ...new Array(60 - expected.length).fill(0)], 'exact frame (padded to 60), UDP checksum over the 0.0.0.0 pseudo-header');
  assert.is(s.counters()['arp.tx.request'] ?? 0, 0);
});

test('ipv4Configure: the new address takes effect; bad prefix or gateway refused; TCP of the old address aborted', () => {
  const s = unconfigured();
  assert.is(s.exports.ipv4Configure(OFFERED, 33, 0), -22);
  assert.is(s.exports.ipv4Configure(OFFERED, 24, ip('10.62.0.1')), -22, 'gateway off-link');
  assert.is(s.exports.ipv4Configure(OFFERED, 24, OFFERED), -22, 'gateway = address');
  assert.is(s.getConfig('ipv4Addr'), 0, 'nothing changed');
  assert.is(s.exports.ipv4Configure(OFFERED, 24, SERVER), 0);
  assert.equal([s.getConfig('ipv4Addr'), s.getConfig('ipv4Prefix'), s.getConfig('ipv4Gateway')], [OFFERED, 24, SERVER]);
  // Configured now: an ARP request for the address is answered, unicast to port 69 reaches UDP.
  const request = ethernet(BROADCAST_MAC, SERVER_MAC, 0x0806, arp(1, SERVER_MAC, SERVER, new Uint8Array(6), OFFERED));
  const reply = feed(s, [request], 1);
  assert.is(reply.length, 1);
  assert.equal([be16(reply[0].bytes, 12), be16(reply[0].bytes, 20)], [0x0806, 2]);

  const h = s.exports.tcpConnect(SERVER, 80, 40000, 0, 0);
  assert.ok(h >= 0, `connect ${h}`);
  const syn = poll(s, 2);
  assert.is(syn.length, 1);
  const synSeq = be32(syn[0].bytes, 38);
  // The peer answers: ESTABLISHED on the old address.
  feed(s, [ethernet(OWN_MAC, SERVER_MAC, 0x0800, ipv4(SERVER, OFFERED, 6, buildTcp(SERVER, OFFERED, { srcPort: 80, dstPort: 40000, seq: 1000, ack: synSeq + 1, flags: 0x12, win: 65535 })))], 3);
  s.refreshViews();
  assert.is(s.dv.getUint32(s.exports.tcpInfoPtr(h), true), 4, 'ESTABLISHED');
  const before = s.counters();
  assert.is(s.exports.ipv4Configure(ip('10.61.0.51'), 24, SERVER), 0);
  assert.equal(delta(s, before), { 'ipv4.addr.changed': 1, 'ipv4.addr.connections_aborted': 1, 'tcp.conn.closed': 1 });
  s.refreshViews();
  const info = s.exports.tcpInfoPtr(h);
  assert.equal([s.dv.getUint32(info, true), s.dv.getUint32(info + 4, true)], [0, 103], 'CLOSED with ECONNABORTED');
  assert.equal(poll(s, 4), [], 'no RST from an address that is no longer ours');
  assert.is(s.exports.ipv4Configure(0, 24, SERVER), 0, 'unconfigure: prefix and gateway dropped');
  assert.equal([s.getConfig('ipv4Addr'), s.getConfig('ipv4Prefix'), s.getConfig('ipv4Gateway')], [0, 0, 0]);
});

test.run();
