// Every synchronized state against the segments that must not change it (RFC 9293 3.10.7.4,
// RFC 5961): SYN and SYN-ACK get a challenge ACK; an RST inside the window but not at
// RCV.NXT gets a challenge ACK; an RST outside the window is ignored; ACKs and data outside
// the window get <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>. The state never changes.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, State, openPassive } from './helpers/tcp-stack.mjs';

/** Puts a fresh connection in `state`; returns it with `sndMax` and `rcvNxt` as the stack has them. */
function inState(state) {
  const s = new TestStack({ config: { tcpChallengeAcksPerSec: 1000 } });
  s.now = 1_000_000;
  const c = openPassive(s);
  let snd = c.snd;
  let rcv = c.rcv;
  const finFromUs = () => { s.x.tcpShutdown(c.h, 1); s.poll(); snd += 1; };
  const finFromPeer = (ackOurs) => { c.send({ flags: 'FA', seq: rcv, ack: ackOurs ? snd : snd - 1 }); rcv += 1; };
  switch (state) {
    case State.ESTABLISHED: break;
    case State.FIN_WAIT_1: finFromUs(); break;
    case State.FIN_WAIT_2: finFromUs(); c.send({ flags: 'A', seq: rcv, ack: snd }); break;
    case State.CLOSE_WAIT: finFromPeer(true); break;
    case State.LAST_ACK: finFromPeer(true); finFromUs(); break;
    case State.CLOSING: finFromUs(); finFromPeer(false); break;
    case State.TIME_WAIT: finFromUs(); c.send({ flags: 'A', seq: rcv, ack: snd }); finFromPeer(true); break;
    default: throw new Error(`no setup for state ${state}`);
  }
  assert.is(s.info(c.h).state, state);
  // Without a listener, a SYN cannot open a new incarnation from TIME-WAIT (tcp-time-wait
  // covers that): the state's own rules apply.
  s.x.tcpClose(c.l);
  return { s, c, snd, rcv };
}

const STATES = ['ESTABLISHED', 'FIN_WAIT_1', 'FIN_WAIT_2', 'CLOSE_WAIT', 'LAST_ACK', 'CLOSING', 'TIME_WAIT'];
const CASES = [
  ['SYN in the window', ({ rcv, snd }) => ({ flags: 'S', seq: rcv + 10, ack: 0 }), 'challenge'],
  ['SYN outside the window', ({ rcv }) => ({ flags: 'S', seq: rcv + 1_000_000, ack: 0 }), 'challenge'],
  ['SYN-ACK', ({ rcv, snd }) => ({ flags: 'SA', seq: rcv - 1, ack: snd }), 'challenge'],
  ['RST in the window, not at RCV.NXT', ({ rcv, snd }) => ({ flags: 'R', seq: rcv + 1, ack: 0 }), 'challenge'],
  ['RST outside the window', ({ rcv }) => ({ flags: 'R', seq: rcv + 1_000_000, ack: 0 }), 'nothing'],
  ['ACK beyond the window', ({ rcv, snd }) => ({ flags: 'A', seq: rcv + 1_000_000, ack: snd }), 'ack'],
  ['data before RCV.NXT (old duplicate)', ({ rcv, snd }) => ({ flags: 'PA', seq: rcv - 20, ack: snd, payload: 'x'.repeat(10) }), 'ack'],
  ['ACK of data never sent', ({ rcv, snd }) => ({ flags: 'A', seq: rcv, ack: snd + 1000 }), 'ack'],
];

for (const name of STATES) {
  for (const [what, make, expect] of CASES) {
    test(`${name}: ${what} -> ${expect}`, () => {
      const { s, c, snd, rcv } = inState(State[name]);
      const out = c.send(make({ snd, rcv }));
      const got = out.map((f) => [f.tcp.flags, f.tcp.seq, f.tcp.ack, f.tcp.payload.length]);
      if (expect === 'nothing') assert.equal(got, []);
      else assert.equal(got, [['A', snd, rcv, 0]]);
      assert.is(s.info(c.h).state, State[name]);
    });
  }
}

test.run();
