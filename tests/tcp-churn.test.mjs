// Churn: 10,000 connections opened, used and closed between two stack instances that shuttle
// frames to each other directly, on a virtual clock. Afterwards every pool is back at its
// starting count: connection table, slab bytes, ports (TIME-WAIT included once expired).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack } from './helpers/tcp-stack.mjs';
import { ipAddress as ipToInt } from '../dist/testing/frames.js';

const CONNECTIONS = 10_000;
const BATCH = 250;
const config = { tcpMaxConnections: 4096, tcpSlabBytes: 16 * 1024 * 1024 };

function pair() {
  const a = new TestStack({ ip: '10.0.0.1', debug: false, config: { ...config, macLo: 1, seedLo: 11 } });
  const b = new TestStack({ ip: '10.0.0.2', debug: false, config: { ...config, macLo: 2, seedLo: 22 } });
  return { a, b };
}

/** Moves frames both ways until both sides are quiet; returns the number of frames moved. */
function shuttle(a, b, now) {
  let moved = 0;
  let toB = a.takeTx(a.x.poll(now));
  let toA = b.takeTx(b.x.poll(now));
  for (let round = 0; round < 10_000 && (toA.length || toB.length); round++) {
    moved += toA.length + toB.length;
    const nextToB = toA.length ? feed(a, toA, now) : [];
    const nextToA = toB.length ? feed(b, toB, now) : [];
    toB = nextToB;
    toA = nextToA;
  }
  return moved;
}

function feed(s, frames, now) {
  const out = [];
  const slots = s.x.rxSlotCount();
  for (let i = 0; i < frames.length; i += slots) {
    const chunk = frames.slice(i, i + slots);
    const dv = s.dv;
    const base = s.x.rxDescBase();
    chunk.forEach((f, j) => {
      s.u8.set(f, dv.getUint32(base + j * 32, true));
      dv.setUint32(base + j * 32 + 4, f.length, true);
      dv.setUint32(base + j * 32 + 8, 0, true);
    });
    out.push(...s.takeTx(s.x.input(chunk.length, now)));
  }
  return out;
}

test('10,000 connections: every pool returns to its starting count', () => {
  const { a, b } = pair();
  const startA = a.pools();
  const startB = b.pools();
  const listener = b.x.tcpListen(0, 7, 1024, 1024, 4096, 4096);
  assert.ok(listener >= 0);
  let now = 1_000_000;
  let done = 0;
  let echoed = 0;
  for (let batch = 0; done < CONNECTIONS; batch++) {
    const clients = [];
    for (let i = 0; i < BATCH; i++) {
      const h = a.x.tcpConnect(ipToInt('10.0.0.2'), 7, 0, 4096, 4096);
      assert.ok(h >= 0, `connect ${done + i}: ${h}`);
      clients.push(h);
    }
    shuttle(a, b, now);
    const servers = [];
    for (;;) {
      const h = b.x.tcpAccept(listener);
      if (h < 0) break;
      servers.push(h);
    }
    assert.is(servers.length, BATCH);
    clients.forEach((h, i) => assert.is(a.write(h, `request ${done + i}`), `request ${done + i}`.length));
    shuttle(a, b, now);
    for (const h of servers) {
      const req = b.read(h).toString();
      b.write(h, req.replace('request', 'reply'));
    }
    shuttle(a, b, now);
    clients.forEach((h, i) => {
      assert.is(a.read(h).toString(), `reply ${done + i}`);
      echoed++;
    });
    // Alternate who closes first, so TIME-WAIT lands on both sides.
    const [first, second] = batch % 2 === 0 ? [[a, clients], [b, servers]] : [[b, servers], [a, clients]];
    first[1].forEach((h) => first[0].x.tcpClose(h));
    shuttle(a, b, now);
    second[1].forEach((h) => second[0].x.tcpClose(h));
    shuttle(a, b, now);
    done += BATCH;
    now += 5_000_000;
    // Expire TIME-WAITs that are due.
    shuttle(a, b, now);
  }
  assert.is(echoed, CONNECTIONS);
  now += 61_000_000;
  shuttle(a, b, now);
  b.x.tcpClose(listener);
  assert.equal(a.pools(), startA);
  assert.equal(b.pools(), startB);
  assert.is(a.x.tcpNextDeadline(), -1);
  assert.is(b.x.tcpNextDeadline(), -1);
  assert.is(a.counter('tcp.conn.active_opens'), CONNECTIONS);
  assert.is(b.counter('tcp.conn.passive_opens'), CONNECTIONS);
  assert.is(a.counter('tcp.tx.retransmits') + b.counter('tcp.tx.retransmits'), 0);
  assert.is(a.counter('tcp.tx.rst') + b.counter('tcp.tx.rst'), 0);
});

test.run();
