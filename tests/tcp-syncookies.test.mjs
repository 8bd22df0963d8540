// SYN cookies (RFC 4987 3.6, assembly/tcp/syncookie.ts). With a listener's SYN queue full, a
// SYN gets a SYN-ACK whose ISN is the cookie the test computes independently (SipHash-2-4
// under the key derived from the seed), and no record is taken; the completing ACK makes an
// ESTABLISHED connection with the table MSS and, with timestamps, window scale, SACK and ECN
// from the TSecr's low bits; data flows both ways. Forged, old and misdirected cookies get
// the RFC 9293 3.10.7.2 reset and are counted; tcpSynCookies 0/1/2; a full accept queue; a
// Fast Open SYN with data.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Errno, State } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp, ipAddress, PEER_IP, PEER_MAC, STACK_IP } from '../dist/testing/frames.js';
import { resolveOptions } from '../dist/stack/options.js';
import { MemoryLink } from '../dist/index.js';
import { sipHash24 } from './helpers/siphash.mjs';

// ---- an independent model of the cookie (BigInt) ----
const M64 = (1n << 64n) - 1n;
/** The stack's deriveKey (SplitMix64 finaliser of seed + golden * purpose), seed 0. */
function deriveKey(purpose) {
  let x = (0x9e3779b97f4a7c15n * BigInt(purpose)) & M64;
  x = ((x ^ (x >> 30n)) * 0xbf58476d1ce4e5b9n) & M64;
  x = ((x ^ (x >> 27n)) * 0x94d049bb133111ebn) & M64;
  return x ^ (x >> 31n);
}
const K0 = deriveKey(8);
const K1 = deriveKey(9);
function tupleHash(lport, rport, period) {
  const m = Buffer.alloc(16);
  m.writeUInt32LE(ipAddress(STACK_IP), 0);
  m.writeUInt32LE(ipAddress(PEER_IP), 4);
  m.writeUInt32LE(((lport << 16) | rport) >>> 0, 8);
  m.writeUInt32LE(period >>> 0, 12);
  return Number(sipHash24(K0, K1, m) & 0xffffffffn);
}
const PERIOD_US = 64e6;
/** The cookie for a SYN from PEER_IP:rport with ISN `isn` at `nowUs`, MSS table entry `idx`. */
function cookie(rport, isn, idx, nowUs, lport = 80) {
  const period = Math.floor(nowUs / PERIOD_US);
  return (tupleHash(lport, rport, 0xffffffff) + isn + ((period << 24) >>> 0) +
    ((tupleHash(lport, rport, period) + idx) & 0xffffff)) >>> 0;
}

function optionBytes(f) {
  const raw = f.raw;
  const t = 14 + 20;
  const hl = (raw[t + 12] >> 4) * 4;
  return Array.from(raw.slice(t + 20, t + hl));
}

/** A listener whose SYN queue (length 1) holds one half-open child from port 39999. */
function fullQueue({ config = {}, backlog = 0 } = {}) {
  const s = new TestStack({ config });
  s.learnPeer(PEER_IP, PEER_MAC);
  const l = s.x.tcpListen(0, 80, backlog, 1, 0, 0);
  const first = s.input(syn({ sport: 39999, isn: 5 }));
  assert.is(first[0].tcp.flags, 'SA');
  return { s, l };
}
const syn = ({ sport = 40000, isn = 1000, flags = 'S', options = { mss: 1460 }, payload } = {}) =>
  ipv4(tcp({ sport, dport: 80, flags, seq: isn, win: 65535, options, payload }));
const ack = ({ sport = 40000, seq = 1001, ack, options, payload, win = 1000, flags = 'A' }) =>
  ipv4(tcp({ sport, dport: 80, flags, seq, ack, win, options, payload }));

test('model: the test SipHash gives the paper\'s appendix A vector', () => {
  const k = Buffer.from([...Array(16).keys()]);
  assert.is(sipHash24(k.readBigUInt64LE(0), k.readBigUInt64LE(8), Buffer.from([...Array(15).keys()])), 0xa129ca6149be45e5n);
});

test('SYN queue full, no timestamps: the cookie SYN-ACK offers the MSS only, no record taken; the ACK makes an ESTABLISHED connection', () => {
  const { s, l } = fullQueue();
  const before = s.pools().connections;
  const out = s.input(syn({ options: { mss: 1400, wscale: 7, sackOk: true } }));
  assert.is(out.length, 1);
  const sa = out[0].tcp;
  assert.is(sa.flags, 'SA');
  assert.is(sa.ack, 1001);
  assert.is(sa.seq, cookie(40000, 1000, 1, 0)); // 1300 is the largest table MSS <= 1400
  assert.equal(optionBytes(out[0]), [2, 4, 5, 180]); // MSS 1460 alone: no WS, SACK-permitted or TS
  assert.is(sa.win, 65535);
  assert.is(s.pools().connections, before);
  assert.is(s.counter('tcp.syncookies.sent'), 1);
  assert.is(s.counter('drop.tcp.syn_queue_full'), 0);
  assert.is(s.counter('tcp.conn.passive_opens'), 1);

  assert.is(s.input(ack({ ack: sa.seq + 1 }), 1000).length, 0);
  assert.is(s.counter('tcp.syncookies.accepted'), 1);
  assert.is(s.counter('tcp.conn.established'), 1);
  assert.equal(s.notified(), [l]);
  const h = s.x.tcpAccept(l);
  assert.ok(h >= 0);
  const info = s.info(h);
  assert.is(info.state, State.ESTABLISHED);
  assert.is(info.mss, 1300);
  assert.is(info.remotePort, 40000);
  assert.is(s.pools().connections, before + 1);

  // Data both ways, no window scaling.
  const back = s.input(ack({ ack: sa.seq + 1, payload: 'hello', flags: 'PA' }), 2000);
  assert.is(s.read(h).toString(), 'hello');
  assert.is(s.write(h, 'world'), 5);
  const data = s.poll(2000).concat(back).filter((f) => f.tcp.payload.length > 0);
  assert.is(data.length, 1);
  assert.equal([data[0].tcp.seq, data[0].tcp.ack, Buffer.from(data[0].tcp.payload).toString()], [sa.seq + 1, 1006, 'world']);
  // Unscaled: the right edge of the SYN-ACK's 65535 stays (RFC 9293 3.8.6.2.2), 5 bytes in.
  assert.is(data[0].tcp.win, 65530);
  assert.equal(data[0].tcp.options, {});
});

test('with timestamps: WS, SACK-permitted and ECN ride in the TSval low bits and come back from the TSecr', () => {
  const { s, l } = fullQueue();
  const now = 10e6; // 10 s: TSval clock 10000 ms
  const out = s.input(syn({ flags: 'SEC', options: { mss: 1460, wscale: 7, sackOk: true, ts: [777, 0] } }), now);
  const sa = out[0].tcp;
  assert.is(sa.flags, 'SAE'); // RFC 3168 6.1.1: ECN-setup SYN-ACK
  assert.is(sa.seq, cookie(40000, 1000, 3, now));
  // TSval: 10000 rounded down to 64 (9984) with 7 | SACK (16) | ECN (32) = 55: 10039 > 10000, so one step back.
  const tsVal = 9984 + 55 - 64;
  assert.equal(sa.options, { mss: 1460, sackOk: true, ts: [tsVal, 777], wscale: 3 });
  assert.equal(optionBytes(out[0]), [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0x26, 0xf7, 0, 0, 3, 9, 1, 3, 3, 3]);
  assert.is(s.pools().connections, 2);

  assert.is(s.input(ack({ ack: sa.seq + 1, win: 100, options: { ts: [778, tsVal] } }), now + 1000).length, 0);
  assert.is(s.counter('tcp.syncookies.accepted'), 1);
  assert.is(s.counter('tcp.ecn.negotiated'), 1);
  const h = s.x.tcpAccept(l);
  const info = s.info(h);
  assert.is(info.state, State.ESTABLISHED);
  assert.is(info.mss, 1460 - 12);
  assert.is(info.srttUs, 0); // the TSecr of a cookie is not an RTT sample
  // Send window scaled by the peer's shift 7: 100 << 7 bytes may go out.
  assert.is(s.write(h, Buffer.alloc(20000, 0x61)), 20000);
  const sent = s.poll(now + 2000).filter((f) => f.tcp.payload.length > 0);
  // 12800 bytes of window: 8 full segments of 1448 (the rest waits, sender SWS avoidance).
  assert.is(sent.reduce((n, f) => n + f.tcp.payload.length, 0), 8 * 1448);
  // Our window is scaled by 3, timestamps echo the ACK's TSval, data goes ECT(0).
  assert.is(sent[0].tcp.win, (256 * 1024) >> 3);
  assert.equal(sent[0].tcp.options.ts, [now / 1000 + 2, 778]);
  // SACK: data beyond a hole is reported in a SACK block.
  const ooo = s.input(ack({ seq: 1101, ack: sa.seq + 1, win: 100, payload: 'x'.repeat(100), options: { ts: [779, now / 1000 + 2] } }), now + 3000);
  assert.is(ooo.length, 1);
  assert.equal(ooo[0].tcp.options.sack, [[1101, 1201]]);
});

test('a forged cookie gets <SEQ=SEG.ACK><CTL=RST> and is counted; nothing is created', () => {
  const { s } = fullQueue();
  const sa = s.input(syn())[0].tcp;
  const before = s.pools().connections;
  const out = s.input(ack({ ack: sa.seq + 2 }));
  assert.equal([out[0].tcp.flags, out[0].tcp.seq], ['R', sa.seq + 2]);
  // The right cookie for another port, or for a peer ISN one below (the MSS index, 3 here,
  // would decode as 4: outside the table), fails too.
  assert.is(s.input(ack({ sport: 40001, ack: sa.seq + 1 }))[0].tcp.flags, 'R');
  assert.is(s.input(ack({ seq: 1000, ack: sa.seq + 1 }))[0].tcp.flags, 'R');
  assert.is(s.counter('tcp.syncookies.failed'), 3);
  assert.is(s.counter('tcp.syncookies.accepted'), 0);
  assert.is(s.counter('drop.tcp.listen_not_syn'), 3);
  assert.is(s.pools().connections, before);
});

test('a cookie lives for the current and the previous 64 s period: accepted at 127 s, refused at 128 s', () => {
  const a = fullQueue({ config: { tcpSynCookies: 2 } });
  const saA = a.s.input(syn())[0].tcp;
  assert.is(a.s.input(ack({ ack: saA.seq + 1 }), 127e6).length, 0);
  assert.is(a.s.counter('tcp.syncookies.accepted'), 1);
  const b = fullQueue({ config: { tcpSynCookies: 2 } });
  const saB = b.s.input(syn())[0].tcp;
  assert.equal(saB.seq, saA.seq);
  const out = b.s.input(ack({ ack: saB.seq + 1 }), 128e6);
  assert.equal([out[0].tcp.flags, out[0].tcp.seq], ['R', saB.seq + 1]);
  assert.is(b.s.counter('tcp.syncookies.failed'), 1);
});

test('tcpSynCookies 1: a stray ACK is not checked as a cookie until a cookie went out (no failure counted)', () => {
  const { s } = fullQueue();
  const out = s.input(ack({ ack: 4242 }));
  assert.equal([out[0].tcp.flags, out[0].tcp.seq], ['R', 4242]);
  assert.is(s.counter('tcp.syncookies.failed'), 0);
  s.input(syn());
  s.input(ack({ ack: 4242 }));
  assert.is(s.counter('tcp.syncookies.failed'), 1);
  // Two periods after the last cookie the check stops again.
  s.input(ack({ ack: 4242 }), 128e6);
  assert.is(s.counter('tcp.syncookies.failed'), 1);
});

test('tcpSynCookies 0: a SYN finding the SYN queue full is dropped (counted), no SYN-ACK', () => {
  const { s } = fullQueue({ config: { tcpSynCookies: 0 } });
  assert.is(s.input(syn()).length, 0);
  assert.is(s.counter('drop.tcp.syn_queue_full'), 1);
  assert.is(s.counter('tcp.syncookies.sent'), 0);
});

test('tcpSynCookies 2: every SYN gets a cookie, even with room in the SYN queue; 1: not while there is room', () => {
  const s = new TestStack({ config: { tcpSynCookies: 2 } });
  s.learnPeer(PEER_IP, PEER_MAC);
  const l = s.x.tcpListen(0, 80, 0, 0, 0, 0);
  const out = s.input(syn({ options: { mss: 536 } }));
  assert.is(out[0].tcp.seq, cookie(40000, 1000, 0, 0));
  assert.is(s.pools().connections, 1);
  assert.is(s.counter('tcp.syncookies.sent'), 1);
  s.input(ack({ ack: out[0].tcp.seq + 1 }));
  const h = s.x.tcpAccept(l);
  assert.is(s.info(h).mss, 536);
  const t = new TestStack({ config: { tcpSynCookies: 1 } });
  t.learnPeer(PEER_IP, PEER_MAC);
  t.x.tcpListen(0, 80, 0, 0, 0, 0);
  t.input(syn());
  assert.is(t.counter('tcp.syncookies.sent'), 0);
  assert.is(t.pools().connections, 2);
});

test('a valid cookie while the accept queue is full: dropped and counted, no reset, nothing created', () => {
  const { s, l } = fullQueue({ backlog: 1 });
  const sa = s.input(syn())[0].tcp;
  // The half-open child of port 39999 completes and fills the accept queue.
  s.input(ack({ sport: 39999, seq: 6, ack: s.input(syn({ sport: 39999, isn: 5 }))[0].tcp.seq + 1 }));
  assert.is(s.info(l).acceptQueue, 1);
  const before = s.pools().connections;
  assert.is(s.input(ack({ ack: sa.seq + 1 })).length, 0);
  assert.is(s.counter('drop.tcp.accept_queue_full'), 1);
  assert.is(s.counter('tcp.syncookies.accepted'), 0);
  assert.is(s.pools().connections, before);
  // Once the queue has room, the retransmitted ACK completes it.
  assert.ok(s.x.tcpAccept(l) >= 0);
  assert.is(s.input(ack({ ack: sa.seq + 1 })).length, 0);
  assert.is(s.counter('tcp.syncookies.accepted'), 1);
  assert.is(s.info(s.x.tcpAccept(l)).state, State.ESTABLISHED);
});

test('Fast Open SYN with data while the SYN queue is full: a cookie SYN-ACK acknowledging the SYN alone (as Linux)', () => {
  const key = { tcpFastOpen: 2, tcpFastOpenKey0: 1, tcpFastOpenKey1: 2, tcpFastOpenKey2: 3, tcpFastOpenKey3: 4 };
  const { s, l } = fullQueue({ config: key });
  assert.is(s.x.tcpListenFastOpen(l, 4), 0);
  const out = s.input(syn({ options: { mss: 1460, fastOpen: '' }, payload: 'early' }));
  assert.is(out[0].tcp.ack, 1001);
  assert.is(out[0].tcp.seq, cookie(40000, 1000, 3, 0));
  assert.is(out[0].tcp.options.fastOpen, undefined);
  assert.is(s.counter('tcp.tfo.accepted_syn_data'), 0);
  assert.is(s.x.tcpAccept(l), -Errno.EAGAIN);
});

test('a SYN-ACK to a listener is not taken as a cookie ACK: the usual reset', () => {
  const { s } = fullQueue({ config: { tcpSynCookies: 2 } });
  const sa = s.input(syn())[0].tcp;
  const out = s.input(ack({ flags: 'SA', seq: 1000, ack: sa.seq + 1 }));
  assert.equal([out[0].tcp.flags, out[0].tcp.seq], ['R', sa.seq + 1]);
  assert.is(s.counter('tcp.syncookies.failed'), 0);
});

test('options.tcp.synCookies maps to the tcpSynCookies slot; other values are refused with ERR_OUT_OF_RANGE', () => {
  const base = { link: MemoryLink.pair()[0], address: '10.0.0.1/24' };
  for (const synCookies of [0, 1, 2]) assert.is(resolveOptions({ ...base, tcp: { synCookies } }).slots.get('tcpSynCookies'), synCookies);
  assert.is(resolveOptions(base).slots.get('tcpSynCookies'), undefined, 'unset: the stack default (1)');
  for (const synCookies of [3, -1, true, '1']) {
    try {
      resolveOptions({ ...base, tcp: { synCookies } });
      assert.unreachable(`synCookies ${synCookies} accepted`);
    } catch (e) {
      assert.is(e.code, 'ERR_OUT_OF_RANGE');
      assert.match(e.message, /options\.tcp\.synCookies must be 0 \(never\), 1 \(when a SYN queue is full\) or 2 \(always\)/);
    }
  }
});

test('the stack refuses tcpSynCookies 3 at init, naming the slot', () => {
  assert.throws(() => new TestStack({ config: { tcpSynCookies: 3 } }), /tcpSynCookies/);
});

test.run();
