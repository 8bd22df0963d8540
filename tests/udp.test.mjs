// UDP sockets (assembly/udp/*) through their ABI: bind rules and errno values, the kernel's
// datagram received with its source, bounded receive queues (full -> counted drop, wrap-around
// keeps order and bytes), sendTo's frames, broadcast permission, and two stacks talking.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ipAddress as ip, macAddress as mac, be16, be32, internetChecksum as refChecksum, pseudoHeaderSum as pseudoSum, buildEthernet as ethernet,
  buildIpv4 as ipv4, buildUdp as udp,
} from '../dist/testing/frames.js';
import { formatMac as macStr } from '../dist/net/ipv4.js';
import { fixture } from './helpers/fixtures.mjs';
import {
  makeStack, feed, poll, counters, delta, setAddr, udpSend, udpRecv, udpOpenBound, takeNotified, RxFlag,
} from './support/wasm-stack.mjs';

const A_MAC = mac('02:00:00:00:0a:01');
const B_MAC = mac('02:00:00:00:0a:02');
const A_IP = ip('10.61.0.1');
const B_IP = ip('10.61.0.2');
const E = { EBADF: -9, EAGAIN: -11, EACCES: -13, EINVAL: -22, EMFILE: -24, EMSGSIZE: -90, EAFNOSUPPORT: -97, EADDRINUSE: -98, EADDRNOTAVAIL: -99 };
const dgram = (sport, dport, data, src = A_IP, opts) => ethernet(B_MAC, A_MAC, 0x0800, ipv4(src, B_IP, 17, udp(src, B_IP, sport, dport, data, opts)));

test('bind: handles, EADDRINUSE on overlap, EADDRNOTAVAIL, EINVAL, EBADF, EAFNOSUPPORT, ephemeral ports', () => {
  const s = makeStack({ udpMaxSockets: 4 });
  const x = s.exports;
  const h = x.udpOpen();
  assert.is(h, (2 << 24) | 0, 'UDP handle kind 2, index 0');
  setAddr(s, 0);
  assert.is(x.udpBind(h, 9999), 0);
  assert.is(x.udpLocalPort(h), 9999);
  assert.is(x.udpBind(h, 9998), E.EINVAL, 'already bound');
  const h2 = x.udpOpen();
  assert.is(x.udpBind(h2, 9999), E.EADDRINUSE, 'wildcard vs wildcard');
  setAddr(s, B_IP);
  assert.is(x.udpBind(h2, 9999), E.EADDRINUSE, 'specific vs wildcard');
  setAddr(s, ip('10.61.0.3'));
  assert.is(x.udpBind(h2, 9000), E.EADDRNOTAVAIL, 'not our address');
  setAddr(s, B_IP);
  assert.is(x.udpBind(h2, 70000), E.EINVAL);
  assert.is(x.udpBind(h2, 9000), 0, 'our own address');
  assert.is(x.udpBind(12345, 1), E.EBADF);
  assert.is(x.udpBind((1 << 24) | 0, 1), E.EBADF, 'a TCP handle');
  const h3 = x.udpOpen();
  s.refreshViews();
  s.u8[x.udpAddrPtr()] = 0x20;
  assert.is(x.udpBind(h3, 1), E.EAFNOSUPPORT, 'IPv6 address');
  setAddr(s, 0);
  assert.is(x.udpBind(h3, 0), 0);
  const eph = x.udpLocalPort(h3);
  assert.ok(eph >= 49152 && eph <= 65535, `ephemeral ${eph}`);
  x.udpOpen();
  assert.is(x.udpOpen(), E.EMFILE, 'udpMaxSockets 4');
  assert.is(x.udpClose(h), 0);
  assert.is(x.udpClose(h), E.EBADF);
  assert.is(x.udpPending(h), E.EBADF);
  const again = x.udpOpen();
  assert.is(again, h, 'the freed slot is reused');
  setAddr(s, 0);
  assert.is(x.udpBind(again, 9999), 0, 'port free again after close');
});

test('receive: the kernel\'s datagram, with its source, after a notification', () => {
  const s = makeStack();
  const h = udpOpenBound(s, 9999);
  const before = counters(s);
  assert.is(feed(s, [fixture('udp')[0]]).length, 0);
  assert.equal(delta(s, before), { 'eth.rx.frames': 1, 'deliver.udp': 1 });
  assert.equal(takeNotified(s), [h]);
  assert.is(s.exports.udpPending(h), 1);
  const d = udpRecv(s, h);
  assert.is(Buffer.from(d.data).toString(), 'hello, wasm-tcpip');
  assert.is(d.addr, A_IP);
  assert.is(d.port, 40000);
  assert.is(udpRecv(s, h), E.EAGAIN);
});

test('receive: checksums (zero = none, bad dropped, port-verified skipped), lengths, specific-address binding', () => {
  const s = makeStack();
  const h = udpOpenBound(s, 7, B_IP);
  const bad = dgram(1, 7, [1, 2, 3]); bad[bad.length - 1] ^= 1;
  const before = counters(s);
  feed(s, [dgram(1, 7, [9], A_IP, { noChecksum: true }), bad]);
  feed(s, [bad], 0, RxFlag.L4_CSUM_GOOD);
  feed(s, [dgram(1, 7, [4])], 0, RxFlag.L4_CSUM_BAD);
  const short = dgram(1, 7, [1, 2, 3, 4]); short[39] = 7;
  const long = dgram(1, 7, [1, 2, 3, 4]); long[39] = 13;
  feed(s, [short, long, dgram(1, 7, [1]).subarray(0, 40)]);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 7, 'deliver.udp': 2, 'drop.udp.bad_checksum': 2, 'drop.udp.bad_length': 2, 'drop.ipv4.total_length_exceeds_frame': 1,
  });
  assert.equal(Array.from(udpRecv(s, h).data), [9]);
  assert.equal(Array.from(udpRecv(s, h).data), [1, 2, 3 ^ 1], 'a bad checksum is not looked at when the port says it is good');
});

test('receive queue: bounded by udpRecvBuffer, full drops counted, wrap-around keeps order and bytes', () => {
  const s = makeStack({ udpRecvBuffer: 1024 });
  const h = udpOpenBound(s, 5000);
  const model = [];
  let seed = 7;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
  let drops = 0;
  let used = 0;
  const size = (n) => 24 + ((n + 3) & ~3);
  for (let round = 0; round < 400; round++) {
    if (rnd(3) !== 0) {
      const len = rnd(300);
      const data = Array.from({ length: len }, (_, i) => (i * 7 + round) & 255);
      const before = counters(s)['drop.udp.recv_queue_full'];
      feed(s, [dgram(1000 + round, 5000, data)], round);
      if (counters(s)['drop.udp.recv_queue_full'] > before) {
        drops++;
        // Records are contiguous: with free space split around the wrap point (and at most one
        // unused tail of < 324 bytes), a refusal means less than this much was free.
        assert.ok(used + 2 * size(len) + 324 > 1024, `dropped with ${used} bytes used`);
      } else {
        model.push({ data, port: 1000 + round });
        used += size(len);
      }
    } else {
      const d = udpRecv(s, h);
      if (model.length === 0) { assert.is(d, E.EAGAIN); continue; }
      const want = model.shift();
      used -= size(want.data.length);
      assert.equal(Array.from(d.data), want.data);
      assert.is(d.port, want.port);
    }
    assert.is(s.exports.udpPending(h), model.length);
  }
  assert.ok(drops > 0, 'the queue filled at times');
  // A datagram bigger than the whole queue is dropped, not truncated.
  while (model.length) { model.shift(); udpRecv(s, h); }
  const before = counters(s)['drop.udp.recv_queue_full'];
  feed(s, [dgram(1, 5000, new Array(1001).fill(1))]);
  assert.is(counters(s)['drop.udp.recv_queue_full'], before + 1);
  assert.is(udpRecv(s, h), E.EAGAIN);
});

test('sendTo: the frame, auto-bind to an ephemeral port, EINVAL, EMSGSIZE, EACCES and SO_BROADCAST, EAGAIN', () => {
  const s = makeStack({ udpRecvBuffer: 4096 });
  feed(s, [fixture('arp-ping')[0]]);
  const x = s.exports;
  const h = x.udpOpen();
  const payload = Buffer.from('hello, kernel');
  assert.is(udpSend(s, h, A_IP, 9999, payload), payload.length);
  const port = x.udpLocalPort(h);
  assert.ok(port >= 49152, 'bound on first send');
  const [out] = poll(s, 1);
  const f = out.bytes;
  assert.equal(macStr(f.subarray(0, 6)), macStr(A_MAC));
  assert.is(be32(f, 26), B_IP);
  assert.is(be32(f, 30), A_IP);
  assert.is(f[23], 17);
  assert.is(be16(f, 34), port);
  assert.is(be16(f, 36), 9999);
  assert.is(be16(f, 38), 8 + payload.length);
  assert.is(refChecksum(f.subarray(34, 42 + payload.length), pseudoSum(B_IP, A_IP, 17, 8 + payload.length)), 0);
  assert.is(Buffer.from(f.subarray(42, 42 + payload.length)).toString(), 'hello, kernel');
  assert.is(udpSend(s, h, A_IP, 0, [1]), E.EINVAL);
  assert.is(udpSend(s, h, 0, 1, [1]), E.EINVAL);
  assert.is(udpSend(s, h, A_IP, 1, new Uint8Array(1473)), E.EMSGSIZE, 'MTU 1500 - 28');
  assert.is(udpSend(s, h, A_IP, 1, new Uint8Array(1472)), 1472);
  poll(s, 2);
  assert.is(udpSend(s, h, ip('10.61.0.255'), 1, [1]), E.EACCES);
  assert.is(x.udpSetBroadcast(h, 1), 0);
  assert.is(udpSend(s, h, ip('255.255.255.255'), 67, [1]), 1);
  const [bc] = poll(s, 3);
  assert.equal(macStr(bc.bytes.subarray(0, 6)), 'ff:ff:ff:ff:ff:ff');
  // The send queue (udpRecvBuffer bytes) fills: EAGAIN until a burst drains it.
  let n = 0;
  while (udpSend(s, h, A_IP, 1, new Uint8Array(500)) === 500) n++;
  assert.is(udpSend(s, h, A_IP, 1, new Uint8Array(500)), E.EAGAIN);
  assert.is(n, 7, '4096 / (24 + 500)');
  assert.is(poll(s, 4).length, 7);
  assert.is(udpSend(s, h, A_IP, 1, new Uint8Array(500)), 500);
  // A datagram the send queue could never hold is EMSGSIZE, not an endless EAGAIN.
  const small = makeStack({ udpRecvBuffer: 1024 });
  const hs = small.exports.udpOpen();
  assert.is(udpSend(small, hs, A_IP, 1, new Uint8Array(1000)), 1000);
  assert.is(udpSend(small, hs, A_IP, 1, new Uint8Array(1000)), E.EAGAIN);
  assert.is(udpSend(small, hs, A_IP, 1, new Uint8Array(1001)), E.EMSGSIZE);
});

test('ICMP errors about our datagrams reach their socket as Linux errno values (RFC 1122 4.1.3.3)', () => {
  const s = makeStack();
  feed(s, [fixture('arp-ping')[0]]);
  const h = udpOpenBound(s, 40001);
  assert.is(udpSend(s, h, A_IP, 9998, Buffer.from('anyone?')), 7);
  const [sent] = poll(s, 1);
  const quote = sent.bytes.subarray(14, 14 + 20 + 8 + 7);
  const icmpError = (type, code, q = quote) => {
    const m = [type, code, 0, 0, 0, 0, 0, 0, ...q];
    const c = refChecksum(Uint8Array.from(m));
    m[2] = c >>> 8; m[3] = c & 255;
    return ethernet(B_MAC, A_MAC, 0x0800, ipv4(A_IP, B_IP, 1, m));
  };
  takeNotified(s);
  const before = counters(s);
  feed(s, [icmpError(3, 3)], 2);
  assert.equal(takeNotified(s), [h]);
  assert.is(s.exports.udpTakeError(h), -111, 'port unreachable: ECONNREFUSED');
  assert.is(s.exports.udpTakeError(h), 0, 'taken once');
  const errnos = [[3, 0, -101], [3, 1, -113], [3, 4, -90], [3, 13, -113], [11, 0, -113], [12, 0, -71]].map(([t, c, want]) => {
    feed(s, [icmpError(t, c)], 3);
    return [s.exports.udpTakeError(h), want];
  });
  for (const [got, want] of errnos) assert.is(got, want);
  // Source quench is ignored (RFC 6633); a quote for a port nobody has is only counted; a
  // quote too short to hold the UDP ports is not UDP's.
  feed(s, [icmpError(4, 0), icmpError(3, 3, Uint8Array.from([...quote.subarray(0, 20), 0x99, 0x99, ...quote.subarray(22)])),
    icmpError(3, 3, quote.subarray(0, 24))], 4);
  assert.is(s.exports.udpTakeError(h), 0);
  assert.equal(delta(s, before), {
    'eth.rx.frames': 10, 'deliver.icmp.error': 10, 'udp.rx.icmp_error': 7, 'udp.rx.icmp_error_unmatched': 1,
  });
  assert.is(s.exports.udpTakeError(12345), -9);
});

test('two stacks exchange datagrams both ways (ARP on the way)', () => {
  const a = makeStack({ macLo: 0x00000a01, ipv4Addr: A_IP });
  const b = makeStack();
  const ha = udpOpenBound(a, 1111);
  const hb = udpOpenBound(b, 2222);
  assert.is(udpSend(a, ha, B_IP, 2222, Buffer.from('ping')), 4);
  let toB = poll(a, 0);
  for (let t = 1; t < 6 && toB.length; t++) {
    const toA = feed(b, toB.map((f) => f.bytes), t);
    toB = feed(a, toA.map((f) => f.bytes), t);
  }
  const got = udpRecv(b, hb);
  assert.is(Buffer.from(got.data).toString(), 'ping');
  assert.equal([got.addr, got.port], [A_IP, 1111]);
  assert.is(udpSend(b, hb, got.addr, got.port, Buffer.from('pong')), 4);
  const back = poll(b, 10);
  assert.is(back.length, 1, 'B learned A from its ARP request: no new resolution');
  feed(a, back.map((f) => f.bytes), 10);
  const reply = udpRecv(a, ha);
  assert.is(Buffer.from(reply.data).toString(), 'pong');
  assert.equal(takeNotified(a), [ha]);
});

test.run();
