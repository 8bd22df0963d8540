// CLOSING: simultaneous close (RFC 9293 3.6 figure 13): both FINs crossed; only the ACK of
// our FIN is awaited.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Errno, State, openPassive } from './helpers/tcp-stack.mjs';

const T0 = 1_000_000;
const fields = (out) => out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack, f.tcp.payload.length]);

function closing() {
  const s = new TestStack();
  s.now = T0;
  const c = openPassive(s);
  s.x.tcpShutdown(c.h, 1);
  s.poll(T0);
  // The peer's FIN crosses ours: it does not acknowledge our FIN.
  assert.equal(fields(c.send({ flags: 'FA' })), [['A', c.snd + 1, c.rcv + 1, 0]]);
  c.rcv += 1;
  assert.is(s.info(c.h).state, State.CLOSING);
  return { s, c, h: c.h };
}

test('the ACK of our FIN moves CLOSING to TIME-WAIT', () => {
  const { s, c, h } = closing();
  assert.is(c.send({ flags: 'A', ack: c.snd + 1 }).length, 0);
  assert.is(s.info(h).state, State.TIME_WAIT);
});

test('our FIN is retransmitted from CLOSING after the RTO', () => {
  const { s, c } = closing();
  assert.equal(fields(s.poll(T0 + 200000)), [['FA', c.snd, c.rcv, 0]]);
});

test("the peer's FIN again (its retransmission) is ACKed; still CLOSING", () => {
  const { s, c, h } = closing();
  assert.equal(fields(c.send({ flags: 'FA', seq: c.rcv - 1 })), [['A', c.snd + 1, c.rcv, 0]]);
  assert.is(s.info(h).state, State.CLOSING);
});

test('RST in CLOSING closes without an error', () => {
  const { s, c, h } = closing();
  c.send({ flags: 'R' });
  assert.equal([s.info(h).state, s.info(h).error], [State.CLOSED, 0]);
});

test('SYN in CLOSING gets a challenge ACK', () => {
  const { s, c, h } = closing();
  assert.equal(fields(c.send({ flags: 'S', seq: 1 })), [['A', c.snd + 1, c.rcv, 0]]);
  assert.is(s.info(h).state, State.CLOSING);
  assert.is(s.x.tcpWriteCommit(h, 1), -Errno.EPIPE);
});

test.run();
