// FIN-WAIT-1 and FIN-WAIT-2: our FIN is out (RFC 9293 3.10.4, 3.10.7.4): the FIN segment and
// its retransmission, half-close (the peer may keep sending), the peer's FIN and ACK in every
// order, RST, and the orphan rules after tcpClose (bounded FIN-WAIT-2, data after close).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Errno, InfoFlag, State, openPassive } from './helpers/tcp-stack.mjs';

const T0 = 1_000_000;
const fields = (out) => out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack, f.tcp.payload.length]);

function finWait1({ close = false } = {}) {
  const s = new TestStack();
  s.now = T0;
  const before = s.pools();
  const c = openPassive(s);
  const h = c.h;
  if (close) s.x.tcpClose(h); else s.x.tcpShutdown(h, 1);
  const out = s.poll(T0);
  assert.equal(fields(out), [['FA', c.snd, c.rcv, 0]]);
  return { s, c, h, before };
}

test('shutdown(SHUT_WR) sends FIN: FIN-WAIT-1, writes refused with EPIPE', () => {
  const { s, h } = finWait1();
  const i = s.info(h);
  assert.equal([i.state, i.flags], [State.FIN_WAIT_1, InfoFlag.CONNECTED | InfoFlag.WRITE_SHUT]);
  assert.is(s.x.tcpWriteCommit(h, 1), -Errno.EPIPE);
  assert.is(s.x.tcpWriteRoom(h), 0);
});

test('queued data goes before the FIN', () => {
  const s = new TestStack();
  const c = openPassive(s);
  s.write(c.h, 'tail');
  s.x.tcpShutdown(c.h, 1);
  assert.equal(fields(s.poll()), [['FPA', c.snd, c.rcv, 4]]);
});

test('the FIN is retransmitted after the RTO (200 ms), then 400 ms later', () => {
  const { s, c } = finWait1();
  assert.equal(fields(s.poll(T0 + 200000)), [['FA', c.snd, c.rcv, 0]]);
  assert.equal(fields(s.poll(T0 + 600000)), [['FA', c.snd, c.rcv, 0]]);
});

test('ACK of our FIN: FIN-WAIT-2, no timer while the host holds the handle', () => {
  const { s, c, h } = finWait1();
  assert.is(c.send({ flags: 'A', ack: c.snd + 1 }).length, 0);
  assert.is(s.info(h).state, State.FIN_WAIT_2);
  assert.equal(s.notified(), [h]);
  assert.is(s.tcpDeadline(), -1);
});

test('half-close: the peer keeps sending in FIN-WAIT-1 and FIN-WAIT-2', () => {
  const { s, c, h } = finWait1();
  c.send({ flags: 'PA', ack: c.snd, payload: 'one' });
  c.send({ flags: 'PA', seq: c.rcv + 3, ack: c.snd + 1, payload: 'two' });
  assert.is(s.info(h).state, State.FIN_WAIT_2);
  assert.is(s.read(h).toString(), 'onetwo');
});

test("the peer's FIN before its ACK of ours: CLOSING; then the ACK: TIME-WAIT", () => {
  const { s, c, h } = finWait1();
  assert.equal(fields(c.send({ flags: 'FA', ack: c.snd })), [['A', c.snd + 1, c.rcv + 1, 0]]);
  assert.is(s.info(h).state, State.CLOSING);
  assert.is(c.send({ flags: 'A', seq: c.rcv + 1, ack: c.snd + 1 }).length, 0);
  assert.is(s.info(h).state, State.TIME_WAIT);
});

test("FIN+ACK of our FIN in FIN-WAIT-1: straight to TIME-WAIT with an ACK", () => {
  const { s, c, h } = finWait1();
  assert.equal(fields(c.send({ flags: 'FA', ack: c.snd + 1 })), [['A', c.snd + 1, c.rcv + 1, 0]]);
  assert.is(s.info(h).state, State.TIME_WAIT);
  assert.ok(s.info(h).flags & InfoFlag.PEER_FIN);
});

test("FIN in FIN-WAIT-2: TIME-WAIT with an ACK", () => {
  const { s, c, h } = finWait1();
  c.send({ flags: 'A', ack: c.snd + 1 });
  assert.equal(fields(c.send({ flags: 'FA', ack: c.snd + 1 })), [['A', c.snd + 1, c.rcv + 1, 0]]);
  assert.is(s.info(h).state, State.TIME_WAIT);
});

test('RST in FIN-WAIT-1 and FIN-WAIT-2: ECONNRESET', () => {
  let { s, c, h } = finWait1();
  c.send({ flags: 'R' });
  assert.equal([s.info(h).state, s.info(h).error], [State.CLOSED, Errno.ECONNRESET]);
  ({ s, c, h } = finWait1());
  c.send({ flags: 'A', ack: c.snd + 1 });
  c.send({ flags: 'R' });
  assert.equal([s.info(h).state, s.info(h).error], [State.CLOSED, Errno.ECONNRESET]);
});

test('SYN in FIN-WAIT-2 gets a challenge ACK', () => {
  const { s, c, h } = finWait1();
  c.send({ flags: 'A', ack: c.snd + 1 });
  assert.equal(fields(c.send({ flags: 'S', seq: 77 })), [['A', c.snd + 1, c.rcv, 0]]);
  assert.is(s.info(h).state, State.FIN_WAIT_2);
});

test('orphaned FIN-WAIT-2 (after tcpClose) gives up after tcpTimeWaitMs, as Linux tcp_fin_timeout', () => {
  const { s, c, before } = finWait1({ close: true });
  c.send({ flags: 'A', ack: c.snd + 1 }, T0 + 10);
  assert.is(s.tcpDeadline(), T0 + 10 + 60_000_000);
  s.poll(T0 + 10 + 60_000_000);
  s.x.tcpClose(c.l);
  assert.equal(s.pools(), before);
});

test('data arriving after tcpClose is answered with RST (RFC 1122 4.2.2.13, as Linux)', () => {
  const { s, c, before } = finWait1({ close: true });
  c.send({ flags: 'A', ack: c.snd + 1 });
  assert.equal(fields(c.send({ flags: 'PA', ack: c.snd + 1, payload: 'late' })), [['R', c.snd + 1, 0, 0]]);
  assert.is(s.counter('drop.tcp.data_after_close'), 1);
  s.x.tcpClose(c.l);
  assert.equal(s.pools(), before);
});

test.run();
