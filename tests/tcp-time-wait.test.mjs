// TIME-WAIT (RFC 9293 3.6.1, 3.10.7.4): 2*MSL (Cfg tcpTimeWaitMs, 60 s as Linux) with the port
// held, FIN retransmissions ACKed with the timer restarted, RST, and a new SYN taking over the
// tuple (RFC 6191 rules, with a listener).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, State, openPassive, openActive } from './helpers/tcp-stack.mjs';

const T0 = 1_000_000;
const fields = (out) => out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack, f.tcp.payload.length]);

/** Active close from the stack (it connected): FIN, ACK, peer FIN: TIME-WAIT. */
function timeWait(config = {}) {
  const s = new TestStack({ config });
  s.now = T0;
  const before = s.pools();
  const c = openActive(s);
  s.x.tcpClose(c.h);
  s.poll(T0);
  c.send({ flags: 'FA', ack: c.snd + 1 }, T0);
  c.snd += 1;
  c.rcv += 1;
  assert.is(s.pools().connections, 1);
  return { s, c, before };
}

test('TIME-WAIT lasts exactly 60 s; the port stays held until then', () => {
  const { s, before } = timeWait();
  assert.is(s.tcpDeadline(), T0 + 60_000_000);
  assert.is(s.x.tcpPortsInUse(), 1);
  s.poll(T0 + 59_999_999);
  assert.is(s.pools().connections, 1);
  s.poll(T0 + 60_000_000);
  assert.equal(s.pools(), before);
});

test('tcpTimeWaitMs is configurable', () => {
  const { s, before } = timeWait({ tcpTimeWaitMs: 1000 });
  s.poll(T0 + 1_000_000);
  assert.equal(s.pools(), before);
});

test('a retransmitted FIN is ACKed and restarts the 2*MSL timer', () => {
  const { s, c } = timeWait();
  assert.equal(fields(c.send({ flags: 'FA', seq: c.rcv - 1 }, T0 + 5_000_000)), [['A', c.snd, c.rcv, 0]]);
  assert.is(s.tcpDeadline(), T0 + 65_000_000);
});

test('any other segment is ACKed; RST ends TIME-WAIT early (RFC 9293; as Linux without rfc1337)', () => {
  const { s, c, before } = timeWait();
  assert.equal(fields(c.send({ flags: 'A', seq: c.rcv + 100000 })), [['A', c.snd, c.rcv, 0]]);
  c.send({ flags: 'R' });
  assert.equal(s.pools(), before);
});

test('a SYN with a higher sequence number to a listening port takes over the tuple', () => {
  const s = new TestStack();
  s.now = T0;
  const c = openPassive(s, { port: 80, peerPort: 40000 });
  s.x.tcpClose(c.h);
  s.poll(T0);
  c.send({ flags: 'FA', ack: c.snd + 1 });
  assert.is(s.pools().connections, 2); // listener + TIME-WAIT
  const out = c.send({ flags: 'S', seq: c.rcv + 100000, options: { mss: 1460 } });
  // The new ISS lies 65537 beyond the old SND.NXT (as Linux), whatever the clock says.
  assert.equal(out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack]), [['SA', (c.snd + 1 + 65537) >>> 0, c.rcv + 100001]]);
  assert.is(s.counter('tcp.conn.time_wait_reused'), 1);
  assert.is(s.pools().connections, 2); // listener + the new half-open one
});

test('a SYN with an old sequence number in TIME-WAIT gets a challenge ACK, not a connection', () => {
  const s = new TestStack();
  s.now = T0;
  const c = openPassive(s, { port: 80, peerPort: 40000 });
  s.x.tcpClose(c.h);
  s.poll(T0);
  c.send({ flags: 'FA', ack: c.snd + 1 });
  const out = c.send({ flags: 'S', seq: c.rcv - 50 });
  assert.equal(fields(out), [['A', c.snd + 1, c.rcv + 1, 0]]);
  assert.is(s.info(c.l).acceptQueue, 0);
  assert.is(s.counter('tcp.conn.time_wait_reused'), 0);
});

test.run();
