// Output under pressure and the host-facing side of sending and receiving: a full TX ring
// stops output cleanly and the next poll continues; a full send ring reports writable again
// when ACKs free it; SHUT_RD discards; reads reopen the window.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, State, InfoFlag, openPassive } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp } from '../dist/testing/frames.js';

const T0 = 1_000_000;

test('a full TX ring stops output; the next poll continues where it stopped', () => {
  // Without RACK-TLP (tcpRack 0): no tail loss probe among the polls this test counts.
  const s = new TestStack({ config: { txSlots: 4, tcpRack: 0 } });
  s.now = T0;
  const c = openPassive(s);
  s.write(c.h, new Uint8Array(10 * 1460));
  const first = s.poll(T0);
  assert.equal(first.map((f) => f.tcp.seq - c.snd), [0, 1460, 2920, 4380]);
  assert.is(s.tcpDeadline(), T0); // more output waits: due at once
  const second = s.poll(T0 + 1);
  assert.equal(second.map((f) => f.tcp.seq - c.snd), [5840, 7300, 8760, 10220]);
  const third = s.poll(T0 + 2);
  assert.equal(third.map((f) => f.tcp.seq - c.snd), [11680, 13140]);
  assert.is(s.tcpDeadline(), T0 + 200000); // only the retransmission timer is left
});

test('a full send ring: writeRoom 0, then writable again (notified) when the ACK frees it', () => {
  const s = new TestStack();
  const c = openPassive(s, { sndBuf: 4096 });
  assert.is(s.write(c.h, new Uint8Array(5000)), 4096);
  assert.is(s.info(c.h).writeRoom, 0);
  s.poll();
  s.notified();
  c.send({ flags: 'A', ack: c.snd + 1460 });
  assert.equal(s.notified(), [c.h]);
  assert.is(s.info(c.h).writeRoom, 1460);
  assert.is(s.info(c.h).bytesOut, 1460);
});

test('shutdown(SHUT_RD): unread data is dropped, later data acknowledged and discarded', () => {
  const s = new TestStack();
  const c = openPassive(s);
  c.send({ flags: 'PA', payload: 'before' });
  assert.is(s.x.tcpShutdown(c.h, 0), 0);
  assert.is(s.info(c.h).readable, 0);
  const out = c.send({ flags: 'PA', seq: c.rcv + 6, payload: 'after' });
  assert.equal(out.map((f) => [f.tcp.flags, f.tcp.ack]), [['A', c.rcv + 11]]);
  assert.is(s.info(c.h).readable, 0);
  assert.is(s.info(c.h).state, State.ESTABLISHED);
});

test('shutdown(SHUT_RDWR): FIN sent and reads discarded', () => {
  const s = new TestStack();
  const c = openPassive(s);
  s.x.tcpShutdown(c.h, 2);
  const out = s.poll();
  assert.equal(out.map((f) => f.tcp.flags), ['FA']);
  const i = s.info(c.h);
  assert.equal([i.state, i.flags], [State.FIN_WAIT_1, InfoFlag.CONNECTED | InfoFlag.WRITE_SHUT]);
});

test('reading after a zero window opens it with an update of the whole buffer', () => {
  const s = new TestStack();
  const c = openPassive(s, { rcvBuf: 2048 });
  const out = c.send({ flags: 'PA', payload: new Uint8Array(2048) });
  assert.equal(out.map((f) => f.tcp.win), []);
  assert.equal(s.poll(s.now + 40000).map((f) => [f.tcp.ack, f.tcp.win]), [[c.rcv + 2048, 0]]);
  s.read(c.h);
  assert.equal(s.poll().map((f) => [f.tcp.ack, f.tcp.win]), [[c.rcv + 2048, 2048]]);
});

test('a pending delayed ACK waits for the reader to drain, then carries the opened window', () => {
  const s = new TestStack();
  s.now = T0;
  const c = openPassive(s, { options: { mss: 1460, wscale: 2 } });
  assert.is(c.send({ flags: 'PA', payload: new Uint8Array(10) }).length, 0);
  const p = s.x.tcpReadPtr(c.h);
  assert.ok(p > 0);
  assert.is(s.x.tcpReadConsume(c.h, 4), 0);
  assert.is(s.poll().length, 0);
  assert.is(s.x.tcpReadConsume(c.h, 6), 0);
  assert.equal(s.poll().map((f) => [f.tcp.flags, f.tcp.ack, f.tcp.win]), [['A', c.rcv + 10, 262144 >> 3]]);
});

test('sender SWS avoidance (RFC 1122 4.2.3.4): a window under one MSS is used once it is half the largest offered', () => {
  const s = new TestStack();
  const c = openPassive(s, { win: 1000 });
  s.write(c.h, new Uint8Array(3000));
  // MSS 1460 but the peer never offered more than 1000: 1000 bytes are worth sending.
  assert.equal(s.poll().map((f) => [f.tcp.seq - c.snd, f.tcp.payload.length]), [[0, 1000]]);
  // The right edge moves to 1200: 200 usable bytes are less than half of 1000: held back.
  assert.is(c.send({ flags: 'A', ack: c.snd + 900, win: 300 }).length, 0);
  assert.equal(c.send({ flags: 'A', ack: c.snd + 1000, win: 1000 }).map((f) => f.tcp.payload.length), [1000]);
});

test('a reset for a closed port finds the TX ring full: dropped and counted', () => {
  const s = new TestStack({ config: { txSlots: 1 } });
  s.learnPeer('10.0.0.2', '02:00:00:00:00:02');
  const frames = [1, 2].map((i) => ipv4(tcp({ sport: 40000 + i, dport: 81, flags: 'S', seq: i })));
  const out = s.input(frames);
  assert.is(out.length, 1);
  assert.is(s.counter('drop.tcp.rst_no_tx_buffer'), 1);
});

test.run();
