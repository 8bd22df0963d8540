// CLOSE-WAIT and LAST-ACK: the peer closed first (RFC 9293 3.10.7.4): we may still send;
// retransmitted FINs are ACKed; data after the FIN is dropped; our FIN moves to LAST-ACK,
// whose ACK ends the connection; RST in both.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Errno, InfoFlag, State, openPassive } from './helpers/tcp-stack.mjs';

const T0 = 1_000_000;
const fields = (out) => out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack, f.tcp.payload.length]);

function closeWait() {
  const s = new TestStack();
  s.now = T0;
  const before = s.pools();
  const c = openPassive(s);
  c.send({ flags: 'FA' });
  c.rcv += 1;
  s.notified();
  assert.is(s.info(c.h).state, State.CLOSE_WAIT);
  return { s, c, h: c.h, before };
}

test('CLOSE-WAIT: we can still send data', () => {
  const { s, c, h } = closeWait();
  s.write(h, 'reply');
  assert.equal(fields(s.poll()), [['PA', c.snd, c.rcv, 5]]);
});

test('CLOSE-WAIT: a retransmitted FIN is ACKed again', () => {
  const { c } = closeWait();
  assert.equal(fields(c.send({ flags: 'FA', seq: c.rcv - 1 })), [['A', c.snd, c.rcv, 0]]);
});

test('CLOSE-WAIT: data after the FIN is dropped and counted', () => {
  const { s, c, h } = closeWait();
  c.send({ flags: 'PA', payload: 'ghost' });
  assert.is(s.info(h).readable, 0);
  assert.is(s.counter('drop.tcp.data_after_fin'), 1);
});

test('CLOSE-WAIT: RST gives ECONNRESET; SYN gets a challenge ACK', () => {
  let { s, c, h } = closeWait();
  assert.equal(fields(c.send({ flags: 'S', seq: 5 })), [['A', c.snd, c.rcv, 0]]);
  c.send({ flags: 'R' });
  assert.equal([s.info(h).state, s.info(h).error], [State.CLOSED, Errno.ECONNRESET]);
});

test('close in CLOSE-WAIT: FIN, LAST-ACK; its ACK frees everything (handle released)', () => {
  const { s, c, h, before } = closeWait();
  s.x.tcpClose(h);
  assert.equal(fields(s.poll()), [['FA', c.snd, c.rcv, 0]]);
  assert.is(s.x.tcpConnectionsInUse(), 2);
  assert.is(c.send({ flags: 'A', ack: c.snd + 1 }).length, 0);
  s.x.tcpClose(c.l);
  assert.equal(s.pools(), before);
});

test('shutdown in CLOSE-WAIT: LAST-ACK; its ACK closes; the host sees CLOSED and releases', () => {
  const { s, c, h, before } = closeWait();
  s.x.tcpShutdown(h, 1);
  s.poll();
  assert.is(s.info(h).state, State.LAST_ACK);
  c.send({ flags: 'A', ack: c.snd + 1 });
  const i = s.info(h);
  assert.equal([i.state, i.error, i.flags & InfoFlag.CLOSED], [State.CLOSED, 0, InfoFlag.CLOSED]);
  assert.equal(s.notified(), [h]);
  s.x.tcpClose(h);
  s.x.tcpClose(c.l);
  assert.equal(s.pools(), before);
});

test('LAST-ACK: the FIN is retransmitted on RTO; an old ACK changes nothing', () => {
  const { s, c, h } = closeWait();
  s.x.tcpShutdown(h, 1);
  s.poll(T0);
  c.send({ flags: 'A', ack: c.snd }, T0 + 1);
  assert.is(s.info(h).state, State.LAST_ACK);
  assert.equal(fields(s.poll(T0 + 200000)), [['FA', c.snd, c.rcv, 0]]);
});

test('LAST-ACK: RST closes without an error', () => {
  const { s, c, h } = closeWait();
  s.x.tcpShutdown(h, 1);
  s.poll();
  c.send({ flags: 'R' });
  assert.equal([s.info(h).state, s.info(h).error], [State.CLOSED, 0]);
});

test.run();
