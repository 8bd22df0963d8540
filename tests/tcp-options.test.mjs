// Options negotiated per connection (RFC 9293 3.7.1 / RFC 6691 MSS, RFC 7323 window scale,
// timestamps and PAWS): used only when both SYNs carry them, so a peer without them works.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestStack, openPassive } from './helpers/tcp-stack.mjs';

const T0 = 1_000_000;

function withOptions(options, extra = {}) {
  const s = new TestStack({ config: extra.config ?? {} });
  s.now = T0;
  const c = openPassive(s, { options, rcvBuf: extra.rcvBuf ?? 0 });
  return { s, c, h: c.h };
}

test('window scale both ways: our window is shifted by 3, the peer window by its shift', () => {
  const { s, c, h } = withOptions({ mss: 1460, wscale: 4 });
  s.write(h, new Uint8Array(1460));
  const out = s.poll();
  assert.is(out[0].tcp.win, 262144 >> 3);
  assert.equal(out[0].tcp.options, {});
  // The peer advertises 100, scaled by 16: 1600 bytes, room for one full segment only.
  c.send({ flags: 'A', ack: c.snd + 1460, win: 100 });
  s.write(h, new Uint8Array(5000));
  assert.equal(s.poll().map((f) => [f.tcp.seq, f.tcp.payload.length]), [[c.snd + 1460, 1460]]);
});

test('no window scale from the peer: neither side scales, windows cap at 65535', () => {
  const { s, h } = withOptions({ mss: 1460 });
  s.write(h, 'x');
  assert.is(s.poll()[0].tcp.win, 65535);
});

test('MSS is the smaller of the peer MSS and ours (MTU 1500 - 40)', () => {
  assert.is(withOptions({ mss: 9000 }).s.info(1).mss, 1460);
  const { s, h } = withOptions({ mss: 1000 });
  s.write(h, new Uint8Array(3000));
  assert.equal(s.poll().map((f) => f.tcp.payload.length), [1000, 1000, 1000]);
});

test('timestamps: every segment carries TSval (ms clock) and echoes TS.Recent', () => {
  const { s, c, h } = withOptions({ mss: 1460, ts: [500, 0] });
  // TS.Recent follows the newest in-order timestamp (RFC 7323 4.3).
  c.send({ flags: 'PA', payload: 'a', options: { ts: [510, 1] } }, T0 + 7000);
  s.write(h, 'b');
  const out = s.poll(T0 + 8000);
  assert.equal(out[0].tcp.options, { ts: [1008, 510] });
  assert.is(s.info(h).mss, 1448);
});

test('PAWS (RFC 7323 5.3): a segment with an older timestamp is dropped and ACKed', () => {
  const { s, c, h } = withOptions({ mss: 1460, ts: [500, 0] });
  c.send({ flags: 'PA', payload: 'new', options: { ts: [600, 1] } });
  const out = c.send({ flags: 'PA', seq: c.rcv + 3, payload: 'old', options: { ts: [550, 1] } });
  assert.is(out.length, 1);
  assert.equal([out[0].tcp.flags, out[0].tcp.ack], ['A', c.rcv + 3]);
  assert.is(s.read(h).toString(), 'new');
  assert.is(s.counter('drop.tcp.paws'), 1);
});

test('PAWS lets a reordered pure duplicate ACK through (as Linux), so it still counts', () => {
  const { s, c, h } = withOptions({ mss: 1460, ts: [500, 0] });
  s.write(h, new Uint8Array(3 * 1448));
  s.poll();
  c.send({ flags: 'A', ack: c.snd, options: { ts: [600, 1] } });
  // Older timestamp (by 5 ms, under one RTO), nothing new in it: a duplicate ACK.
  c.send({ flags: 'A', ack: c.snd, options: { ts: [595, 1] } });
  assert.is(s.counter('drop.tcp.paws'), 0);
  assert.is(s.counter('tcp.rx.dup_ack'), 2);
});

test('RTT from timestamp echoes: SRTT follows the echoed send time (RFC 7323 4.1)', () => {
  const { s, c, h } = withOptions({ mss: 1460, ts: [500, 0] });
  s.write(h, 'ping');
  const out = s.poll(T0 + 10_000);
  const tsVal = out[0].tcp.options.ts[0];
  c.send({ flags: 'A', ack: c.snd + 4, options: { ts: [700, tsVal] } }, T0 + 60_000);
  // First sample from the handshake (0 ms, T0), then 50 ms: SRTT = 7/8 * 0 + 1/8 * 50 ms.
  assert.is(s.info(h).srttUs, 6250);
});

test.run();
