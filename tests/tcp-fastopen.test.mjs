// TCP Fast Open (RFC 7413). Server: the option's bytes, cookies as SipHash-2-4 of the
// client's address, a cookie request answered with a cookie, SYN data accepted with a valid
// cookie and readable before the handshake completes, a bad cookie ignored with a fresh
// cookie, the per-listener pending limit, and the option ignored where Fast Open is off.
// Client: a cookie request, the cookie cached, the next SYN carrying it and the data, SYN
// data not acknowledged sent again after the handshake, and the fallback on a SYN timeout.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Errno, State, InfoFlag, Opt } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp, ipAddress, PEER_IP, PEER_MAC } from '../dist/testing/frames.js';
import { sipHash24Bytes } from './helpers/siphash.mjs';

const KEY = [0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c]; // key bytes 00..0f
const FO_CONFIG = { tcpFastOpen: 2, tcpFastOpenKey0: KEY[0], tcpFastOpenKey1: KEY[1], tcpFastOpenKey2: KEY[2], tcpFastOpenKey3: KEY[3] };

// ---- the independent SipHash-2-4 model (tests/helpers/siphash.mjs), checked below against the paper's appendix A vector ----
const sipHash24 = sipHash24Bytes;
const keyBytes = Buffer.from([...Array(16).keys()]);

/** The cookie the stack must give `ip`: SipHash-2-4 of its 4 bytes, the 8 output bytes little-endian. */
function expectedCookie(ip) {
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(sipHash24(keyBytes, Buffer.from(ip.split('.').map(Number))));
  return out.toString('hex');
}

function optionBytes(f) {
  const raw = f.raw;
  const t = 14 + 20;
  const hl = (raw[t + 12] >> 4) * 4;
  return Array.from(raw.slice(t + 20, t + hl));
}

function fastOpenStack({ queue = 4, config = FO_CONFIG } = {}) {
  const s = new TestStack({ config });
  s.learnPeer(PEER_IP, PEER_MAC);
  const l = s.x.tcpListen(0, 80, 0, 0, 0, 0);
  if (queue > 0) assert.is(s.x.tcpListenFastOpen(l, queue), 0);
  return { s, l };
}

const syn = ({ sport = 40000, isn = 1000, fastOpen, payload, rawOptions } = {}) =>
  ipv4(tcp({ sport, dport: 80, flags: 'S', seq: isn, win: 65535, options: { mss: 1460, fastOpen }, payload, rawOptions }));

test('siphash reference: the test SipHash gives the paper\'s appendix A vector', () => {
  assert.is(sipHash24(keyBytes, Buffer.from([...Array(15).keys()])), 0xa129ca6149be45e5n);
});

test('option bytes: a cookie request is 22 02; the SYN-ACK carries NOP NOP 22 0a + 8 cookie bytes after MSS', () => {
  const { s } = fastOpenStack();
  const req = syn({ fastOpen: '' });
  // The request as the test peer sends it: MSS, then NOP NOP + kind 34 length 2.
  assert.equal(Array.from(req.slice(14 + 20 + 20, 14 + 20 + 28)), [2, 4, 5, 180, 1, 1, 34, 2]);
  const out = s.input(req);
  assert.is(out.length, 1);
  assert.is(out[0].tcp.flags, 'SA');
  const cookie = expectedCookie(PEER_IP);
  assert.equal(optionBytes(out[0]), [2, 4, 5, 180, 1, 1, 34, 10, ...Buffer.from(cookie, 'hex')]);
  assert.is(out[0].tcp.options.fastOpen, cookie);
  assert.is(BigInt.asUintN(64, s.x.tcpFastOpenCookie(ipAddress(PEER_IP))), Buffer.from(cookie, 'hex').readBigUInt64LE());
  assert.is(s.counter('tcp.tfo.cookie_requests'), 1);
  assert.is(s.counter('tcp.tfo.cookies_sent'), 1);
});

test('cookie request with data: only the SYN is acknowledged, the data waits for the handshake', () => {
  const { s, l } = fastOpenStack();
  const out = s.input(syn({ fastOpen: '', payload: 'early' }));
  assert.is(out[0].tcp.ack, 1001);
  assert.is(s.x.tcpAccept(l), -Errno.EAGAIN);
  assert.is(s.counter('tcp.tfo.accepted_syn_data'), 0);
});

test('valid cookie + data: child readable in the accept queue before the ACK of the SYN-ACK; SYN-ACK acks SYN+data', () => {
  const { s, l } = fastOpenStack();
  const payload = 'GET / HTTP/1.0\r\n\r\n';
  const out = s.input(syn({ fastOpen: expectedCookie(PEER_IP), payload }));
  assert.is(out.length, 1);
  assert.is(out[0].tcp.flags, 'SA');
  assert.is(out[0].tcp.ack, 1001 + payload.length);
  assert.is(out[0].tcp.options.fastOpen, undefined); // a valid cookie is not sent again
  assert.is(s.counter('tcp.tfo.accepted_syn_data'), 1);
  assert.equal(s.notified(), [l]);
  const h = s.x.tcpAccept(l);
  assert.ok(h >= 0);
  const info = s.info(h);
  assert.is(info.state, State.SYN_RECEIVED);
  assert.is(info.flags & InfoFlag.FAST_OPEN, InfoFlag.FAST_OPEN);
  assert.is(info.flags & InfoFlag.CONNECTED, 0);
  assert.is(s.read(h).toString(), payload);
  // The handshake's ACK then completes it; the data is not delivered twice.
  const iss = out[0].tcp.seq;
  const after = s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'A', seq: 1001 + payload.length, ack: iss + 1 })));
  assert.is(after.length, 0);
  assert.is(s.info(h).state, State.ESTABLISHED);
  assert.is(s.x.tcpReadAvail(h), 0);
  assert.is(s.info(h).bytesIn, payload.length);
});

test('the SYN-ACK\'s window leaves out the SYN data already in the receive ring', () => {
  const { s } = fastOpenStack({ config: { ...FO_CONFIG, tcpRecvBuffer: 1024 } });
  const out = s.input(syn({ fastOpen: expectedCookie(PEER_IP), payload: 'x'.repeat(100) }));
  assert.is(out[0].tcp.ack, 1101);
  assert.is(out[0].tcp.win, 1024 - 100);
});

test('the SYN+data retransmitted (SYN-ACK lost): the same SYN-ACK again, the data kept once', () => {
  const { s, l } = fastOpenStack();
  const first = s.input(syn({ fastOpen: expectedCookie(PEER_IP), payload: 'abc' }));
  const again = s.input(syn({ fastOpen: expectedCookie(PEER_IP), payload: 'abc' }));
  assert.is(again.length, 1);
  assert.is(again[0].tcp.seq, first[0].tcp.seq);
  assert.is(again[0].tcp.ack, 1004);
  const h = s.x.tcpAccept(l);
  assert.is(s.read(h).toString(), 'abc');
  assert.is(s.x.tcpAccept(l), -Errno.EAGAIN);
});

test('invalid cookie: data ignored, only the SYN acknowledged, a fresh valid cookie sent', () => {
  const { s, l } = fastOpenStack();
  const out = s.input(syn({ fastOpen: '0011223344556677', payload: 'forged' }));
  assert.is(out[0].tcp.ack, 1001);
  assert.is(out[0].tcp.options.fastOpen, expectedCookie(PEER_IP));
  assert.is(s.counter('tcp.tfo.bad_cookie'), 1);
  assert.is(s.counter('tcp.tfo.accepted_syn_data'), 0);
  assert.is(s.x.tcpAccept(l), -Errno.EAGAIN);
  // A 4-byte cookie (valid length, wrong size for ours) is a bad cookie too.
  const short = s.input(syn({ sport: 40001, fastOpen: 'aabbccdd', payload: 'x' }));
  assert.is(short[0].tcp.ack, 1001);
  assert.is(s.counter('tcp.tfo.bad_cookie'), 2);
});

test('pending limit (RFC 7413 5.1): over the listener\'s queue the SYN data is not taken, counted', () => {
  const { s, l } = fastOpenStack({ queue: 1 });
  const cookie = expectedCookie(PEER_IP);
  const a = s.input(syn({ sport: 40000, fastOpen: cookie, payload: 'one' }));
  assert.is(a[0].tcp.ack, 1004);
  const b = s.input(syn({ sport: 40001, fastOpen: cookie, payload: 'two' }));
  assert.is(b[0].tcp.ack, 1001);
  assert.is(s.counter('drop.tcp.tfo_queue_full'), 1);
  // The first completes its handshake: room for another.
  s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'A', seq: 1004, ack: a[0].tcp.seq + 1 })));
  const c = s.input(syn({ sport: 40002, fastOpen: cookie, payload: 'three' }));
  assert.is(c[0].tcp.ack, 1006);
  assert.is(s.counter('tcp.tfo.accepted_syn_data'), 2);
  assert.ok(s.x.tcpAccept(l) >= 0);
});

test('a pending Fast Open child reset by the peer frees its place in the queue', () => {
  const { s, l } = fastOpenStack({ queue: 1 });
  const cookie = expectedCookie(PEER_IP);
  s.input(syn({ sport: 40000, fastOpen: cookie, payload: 'one' }));
  const h = s.x.tcpAccept(l);
  s.input(ipv4(tcp({ sport: 40000, dport: 80, flags: 'R', seq: 1004 })));
  assert.is(s.info(h).error, Errno.ECONNRESET);
  const c = s.input(syn({ sport: 40001, fastOpen: cookie, payload: 'two' }));
  assert.is(c[0].tcp.ack, 1004);
});

test('Fast Open off: a listener without it, or the stack without it, ignores the option', () => {
  const { s } = fastOpenStack({ queue: 0 });
  const out = s.input(syn({ fastOpen: expectedCookie(PEER_IP), payload: 'data' }));
  assert.is(out[0].tcp.ack, 1001);
  assert.is(out[0].tcp.options.fastOpen, undefined);
  const req = s.input(syn({ sport: 40001, fastOpen: '' }));
  assert.is(req[0].tcp.options.fastOpen, undefined);
  assert.is(s.counter('tcp.tfo.cookie_requests'), 0);

  const plain = new TestStack();
  const l = plain.x.tcpListen(0, 80, 0, 0, 0, 0);
  assert.is(plain.x.tcpListenFastOpen(l, 4), -95); // EOPNOTSUPP
});

test('config: tcpFastOpen takes 0 to 3 (Linux\'s bits: 1 client, 2 server)', () => {
  assert.throws(() => new TestStack({ config: { tcpFastOpen: 4 } }), /tcpFastOpen/);
  assert.throws(() => new TestStack({ config: { tcpFastOpenCacheEntries: 65537 } }), /tcpFastOpenCacheEntries/);
});

test('malformed Fast Open options make the option absent, never a dropped SYN or a trap', () => {
  const { s } = fastOpenStack();
  // Odd cookie length (5), too short (2), too long (18): each a plain SYN.
  for (const [i, opt] of [[34, 7, 1, 2, 3, 4, 5, 1], [34, 4, 1, 2], [34, 20, ...Array(18).fill(9)]].entries()) {
    const raw = [...opt];
    while (raw.length % 4) raw.push(1);
    const out = s.input(syn({ sport: 41000 + i, rawOptions: raw, payload: 'zz' }));
    assert.is(out.length, 1);
    assert.is(out[0].tcp.flags, 'SA');
    assert.is(out[0].tcp.ack, 1001);
    assert.is(out[0].tcp.options.fastOpen, undefined);
  }
  assert.is(s.counter('drop.tcp.bad_options'), 0);
  assert.is(s.counter('tcp.tfo.bad_cookie'), 0);
});


// ---- client ----

const SERVER_COOKIE = 'aabbccddeeff0011';

/** A client stack; `open(data)` connects with Fast Open, writes `data` and returns { h, syn }. */
function clientStack(config = { tcpFastOpen: 1 }) {
  const s = new TestStack({ config });
  s.learnPeer(PEER_IP, PEER_MAC);
  return {
    s,
    open(data, nowUs = s.now) {
      const h = s.x.tcpConnect(ipAddress(PEER_IP), 80, 0, 0, 0);
      assert.is(s.x.tcpSetOption(h, Opt.FASTOPEN, 1, 0, 0), 0);
      if (data) assert.is(s.write(h, data), data.length);
      const out = s.poll(nowUs);
      assert.is(out.length, 1);
      return { h, syn: out[0].tcp };
    },
  };
}
const synAck = (syn, { ack = syn.seq + 1, cookie } = {}) =>
  ipv4(tcp({ sport: 80, dport: syn.sport, flags: 'SA', seq: 7000, ack, win: 65535, options: { mss: 1460, fastOpen: cookie } }));

test('client: no cookie cached: the SYN is a request without data; the SYN-ACK\'s cookie is cached; data after the handshake', () => {
  const { s, open } = clientStack();
  const { h, syn } = open('hello');
  assert.is(syn.flags, 'S');
  assert.is(syn.options.fastOpen, '');
  assert.is(syn.payload.length, 0);
  const out = s.input(synAck(syn, { cookie: SERVER_COOKIE }));
  // The handshake's ACK carries the waiting data.
  const data = out.filter((f) => f.tcp.payload.length > 0);
  assert.is(data.length, 1);
  assert.is(Buffer.from(data[0].tcp.payload).toString(), 'hello');
  assert.is(data[0].tcp.seq, syn.seq + 1);
  assert.is(s.counter('tcp.tfo.client_cookie_requests'), 1);
  assert.is(s.counter('tcp.tfo.client_cookies_cached'), 1);
  assert.is(s.counter('tcp.tfo.client_syn_data'), 0);
  assert.is(s.info(h).flags & InfoFlag.FAST_OPEN, 0);
});

test('client: with the cookie cached the next SYN carries it and the data; the SYN-ACK acknowledges both', () => {
  const { s, open } = clientStack();
  const first = open(null);
  s.input(synAck(first.syn, { cookie: SERVER_COOKIE }));
  const { h, syn } = open('GET / HTTP/1.0\r\n\r\n');
  assert.is(syn.flags, 'S');
  assert.is(syn.options.fastOpen, SERVER_COOKIE);
  assert.is(Buffer.from(syn.payload).toString(), 'GET / HTTP/1.0\r\n\r\n');
  const out = s.input(synAck(syn, { ack: syn.seq + 1 + syn.payload.length }));
  assert.is(out.length, 1);
  assert.is(out[0].tcp.flags, 'A');
  assert.is(out[0].tcp.payload.length, 0); // nothing sent twice
  assert.is(s.counter('tcp.tfo.client_syn_data'), 1);
  assert.is(s.counter('tcp.tfo.client_syn_data_acked'), 1);
  const info = s.info(h);
  assert.is(info.state, State.ESTABLISHED);
  assert.is(info.flags & InfoFlag.FAST_OPEN, InfoFlag.FAST_OPEN);
  assert.is(info.bytesOut, syn.payload.length);
  assert.is(info.unsent, 0);
  // Data is capped by the server's cached MSS minus 40 bytes of option room (as Linux).
  const big = 'x'.repeat(3000);
  const third = open(big);
  assert.is(third.syn.payload.length, 1460 - 40);
});

test('client: a SYN-ACK that acknowledges only the SYN: the SYN data goes again right after the handshake (RFC 7413 4.2.2)', () => {
  const { s, open } = clientStack();
  s.input(synAck(open(null).syn, { cookie: SERVER_COOKIE }));
  const { syn } = open('abcdef');
  const out = s.input(synAck(syn));
  const data = out.filter((f) => f.tcp.payload.length > 0);
  assert.is(data.length, 1);
  assert.is(data[0].tcp.seq, syn.seq + 1);
  assert.is(Buffer.from(data[0].tcp.payload).toString(), 'abcdef');
  assert.is(s.counter('tcp.tfo.client_syn_data_not_acked'), 1);
  assert.is(s.counter('tcp.tfo.client_syn_data_acked'), 0);
});

test('client: a SYN-ACK that acknowledges part of the SYN data: the rest goes after the handshake', () => {
  const { s, open } = clientStack();
  s.input(synAck(open(null).syn, { cookie: SERVER_COOKIE }));
  const { h, syn } = open('abcdef');
  const out = s.input(synAck(syn, { ack: syn.seq + 4 }));
  const data = out.filter((f) => f.tcp.payload.length > 0);
  assert.is(data.length, 1);
  assert.is(data[0].tcp.seq, syn.seq + 4);
  assert.is(Buffer.from(data[0].tcp.payload).toString(), 'def');
  assert.is(s.info(h).bytesOut, 3);
});

test('client: a SYN with data that times out goes again without data or option, and the cookie is forgotten (RFC 7413 4.1.3)', () => {
  const { s, open } = clientStack();
  s.input(synAck(open(null).syn, { cookie: SERVER_COOKIE }));
  const { h, syn } = open('payload', 1_000_000);
  assert.is(syn.payload.length, 7);
  const again = s.poll(1_000_000 + 1_000_000); // the initial RTO, 1 s (RFC 6298 2.1)
  assert.is(again.length, 1);
  assert.is(again[0].tcp.flags, 'S');
  assert.is(again[0].tcp.seq, syn.seq);
  assert.is(again[0].tcp.payload.length, 0);
  assert.is(again[0].tcp.options.fastOpen, undefined);
  assert.is(s.counter('tcp.tfo.fallbacks'), 1);
  // The handshake completes; the data goes after it.
  const out = s.input(synAck(syn));
  const data = out.filter((f) => f.tcp.payload.length > 0);
  assert.is(Buffer.from(data[0].tcp.payload).toString(), 'payload');
  assert.is(s.info(h).state, State.ESTABLISHED);
  // The next connection asks for a cookie again.
  assert.is(open('x').syn.options.fastOpen, '');
});

test('client: the option only before the SYN leaves, and only with the client bit', () => {
  const { s, open } = clientStack();
  const { h } = open(null);
  assert.is(s.x.tcpSetOption(h, Opt.FASTOPEN, 1, 0, 0), -Errno.EINVAL);
  const off = new TestStack({ config: { tcpFastOpen: 2 } });
  off.learnPeer(PEER_IP, PEER_MAC);
  const h2 = off.x.tcpConnect(ipAddress(PEER_IP), 80, 0, 0, 0);
  assert.is(off.x.tcpSetOption(h2, Opt.FASTOPEN, 1, 0, 0), -95); // EOPNOTSUPP
});

test.run();
