// Random segments against live connections in every state: the stack never traps, never
// loops, keeps its invariants, and once everything is closed and timed out every pool is back.
// Seeded (xorshift32), so a failure replays exactly.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, openPassive } from './helpers/tcp-stack.mjs';
import { ipv4Frame as ipv4, tcpSegment as tcp } from '../dist/testing/frames.js';
import { xorshift32 as rng } from './helpers/seeded.mjs';

const FLAG_SETS = ['S', 'SA', 'A', 'PA', 'FA', 'F', 'R', 'RA', 'FPA', 'SF', 'SR', '', 'U', 'EC'];

test('50,000 random segments to 16 connections: no trap, pools back afterwards', () => {
  const s = new TestStack({ debug: true, config: { tcpMaxConnections: 64 } });
  s.now = 1_000_000;
  const start = s.pools();
  const r = rng(20261124);
  const conns = [];
  for (let i = 0; i < 16; i++) conns.push(openPassive(s, { peerPort: 30000 + i, options: i % 2 ? { mss: 1200, ts: [5, 0], wscale: 5 } : { mss: 1460 } }));
  for (const [i, c] of conns.entries()) {
    if (i % 4 === 1) s.x.tcpShutdown(c.h, 1);
    if (i % 4 === 2) s.write(c.h, new Uint8Array(20000));
  }
  for (let n = 0; n < 50_000; n++) {
    const c = conns[r() % conns.length];
    const near = (base) => (base + (r() % 3 === 0 ? (r() | 0) : (r() % 70000) - 35000)) >>> 0;
    const len = r() % 4 === 0 ? r() % 1500 : 0;
    const options = r() % 3 === 0 ? { ts: [r(), r()] } : undefined;
    const raw = r() % 50 === 0 ? Array.from({ length: (r() % 10) * 4 }, () => r() & 255) : undefined;
    const frame = ipv4(tcp({
      sport: c.peerPort, dport: c.port, flags: FLAG_SETS[r() % FLAG_SETS.length],
      seq: near(c.rcv), ack: near(c.snd), win: r() & 0xffff, payload: new Uint8Array(len), options, rawOptions: raw,
    }));
    s.input(frame, s.now + (r() % 1000));
    if (n % 97 === 0) s.poll(s.now + (r() % 300_000));
    if (n % 1000 === 0) { for (const k of conns) { s.read(k.h); s.write(k.h, new Uint8Array(r() % 3000)); } }
  }
  for (const c of conns) s.x.tcpAbort(c.h);
  s.x.tcpClose(conns[0].l);
  s.poll(s.now + 1);
  for (let i = 0; i < 20; i++) s.poll(s.now + 100_000_000);
  assert.equal(s.pools(), start);
  assert.is(s.x.tcpNextDeadline(), -1);
});

test.run();
