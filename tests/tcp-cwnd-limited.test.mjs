// cwnd grows only while the flight uses it (RFC 7661 4.3, RFC 9438 5.8; assembly/tcp/cc/hooks.ts
// ccRateLimited): a transfer limited by the peer's receive window keeps cwnd bounded, where
// it used to grow on every ACK.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, openPassive } from './helpers/tcp-stack.mjs';

const MSS = 1460;
const PEER_WINDOW = 6 * MSS; // 8760 bytes: below the initial window (10 SMSS)
const NEWRENO = 1;
const CUBIC = 2;

/** 100 rounds of: the stack sends what the 8760-byte window allows, the peer ACKs all of it. */
function windowLimitedTransfer(congestion) {
  const s = new TestStack({ config: { tcpCongestion: congestion } });
  const c = openPassive(s, { win: PEER_WINDOW });
  const chunk = new Uint8Array(64 * 1024);
  const cwnds = [];
  let sent = 0;
  let answer = [];
  for (let round = 0; round < 100; round++) {
    s.write(c.h, chunk);
    const data = [...answer, ...s.poll()].filter((f) => f.tcp.payload.length > 0);
    const bytes = data.reduce((n, f) => n + f.tcp.payload.length, 0);
    assert.is(bytes, PEER_WINDOW, `round ${round}: the receive window, not cwnd, limits the flight`);
    sent += bytes;
    answer = c.send({ flags: 'A', ack: c.snd + sent, win: PEER_WINDOW });
    cwnds.push(s.info(c.h).cwnd);
  }
  return { s, cwnds };
}

test('NewReno: slow start stops at twice the flight actually used (+ one ACK of growth)', () => {
  const { s, cwnds } = windowLimitedTransfer(NEWRENO);
  // 14600 -> 17520 (flight 8760 >= cwnd/2: grows by 2 SMSS, RFC 3465 L=2) -> 20440, then
  // 2 * 8760 = 17520 < 20440: no more growth, however many ACKs follow.
  assert.equal(cwnds.slice(0, 3), [17520, 20440, 20440]);
  assert.ok(cwnds.every((w) => w === 20440 || w === 17520));
  assert.is(cwnds[99], 20440);
  assert.is(s.counter('tcp.cc.rate_limited_acks'), 98);
});

test('CUBIC: the same bound (slow start is shared), and no epoch starts without congestion avoidance', () => {
  const { s, cwnds } = windowLimitedTransfer(CUBIC);
  assert.is(cwnds[99], 20440);
  assert.is(Math.max(...cwnds), 20440);
  assert.is(s.counter('tcp.cc.rate_limited_acks'), 98);
  assert.is(s.counter('tcp.cc.cubic.epochs'), 0);
});

test('the flight that fills cwnd still grows it (tcp-established: 14600 -> 16060 on one SMSS acked)', () => {
  const s = new TestStack();
  const c = openPassive(s);
  s.write(c.h, new Uint8Array(30 * MSS));
  assert.is(s.poll().length, 10);
  c.send({ flags: 'A', ack: c.snd + MSS });
  assert.is(s.info(c.h).cwnd, 16060);
  assert.is(s.counter('tcp.cc.rate_limited_acks'), 0);
});

test.run();
