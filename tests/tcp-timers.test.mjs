// The timer heap under many connections: every connection's timer fires at exactly its
// deadline, in deadline order, and nextDeadline always names the earliest one, with no scan
// of the table (assembly/tcp/timers.ts).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, Opt, openPassive } from './helpers/tcp-stack.mjs';

test('2,000 keepalive timers with distinct idle times fire exactly in order', () => {
  const s = new TestStack({ debug: false, config: { tcpMaxConnections: 2048, tcpSlabBytes: 32 * 1024 * 1024 } });
  s.now = 1_000_000;
  const N = 2000;
  const conns = [];
  for (let i = 0; i < N; i++) {
    conns.push(openPassive(s, { peerPort: 10000 + i, sndBuf: 4096, rcvBuf: 4096 }));
  }
  // Idle times spread and shuffled: connection i waits 1000 + ((i * 7919) % N) ms.
  const idleMs = (i) => 1000 + ((i * 7919) % N);
  conns.forEach((c, i) => assert.is(s.x.tcpSetOption(c.h, Opt.KEEPALIVE, 1, idleMs(i), 600_000), 0));
  const expected = conns.map((c, i) => ({ at: 1_000_000 + idleMs(i) * 1000, port: c.peerPort })).sort((a, b) => a.at - b.at);
  let fired = 0;
  while (fired < N) {
    const at = s.tcpDeadline();
    assert.is(at, expected[fired].at);
    const out = s.poll(at);
    const due = expected.filter((e) => e.at === at).map((e) => e.port).sort();
    assert.equal(out.map((f) => f.tcp.dport).sort(), due);
    out.forEach((f) => assert.is(f.tcp.flags, 'A'));
    fired += out.length;
  }
  assert.is(s.counter('tcp.timer.keepalive_probe'), N);
  // The next round is one interval (600 s) after each probe.
  assert.is(s.tcpDeadline(), expected[0].at + 600_000_000);
});

test.run();
