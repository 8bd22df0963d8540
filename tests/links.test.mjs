// MemoryLink and impair(): frames between two stand-in stacks (tests/support/rings.mjs),
// each impairment checked against what the receiver observes, with a fixed seed (the
// counts are deterministic, so they are pinned exactly, and also checked against their
// statistical expectation), determinism, rate and delay timing on a VirtualClock, option
// validation, and one pass over a real stack instance's rings.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { MemoryLink, impair } from '../dist/index.js';
import { VirtualClock } from '../dist/clock/clock.js';
import { Prng } from '../dist/util/prng.js';
import { parseImpairmentSpec } from '../dist/links/impair.js';
import { fakeRings, send, receive, rxDesc, txDesc, numberedFrame, frameNumber } from './support/rings.mjs';

const noWake = () => {};

/** Two ends attached to stand-in rings. */
function pairOf(options, ringOptions) {
  const [a, b] = MemoryLink.pair(options);
  const ra = fakeRings(ringOptions);
  const rb = fakeRings(ringOptions);
  a.attach(ra, noWake);
  b.attach(rb, noWake);
  return { a, b, ra, rb };
}

/**
 * Sends `count` numbered frames from a to b, one every `spacingUs`, receiving at b right
 * after each send, then drains; returns what b got, with the receive times.
 */
function runThrough(options, { count = 10_000, spacingUs = 10, length = 128 } = {}) {
  const { a, b, ra, rb } = pairOf(options);
  const got = [];
  const take = (now) => { for (const f of receive(rb, b, now)) got.push({ n: frameNumber(f), data: f, at: now }); };
  let now = 0;
  for (let i = 0; i < count; i++) {
    now = i * spacingUs;
    send(ra, a, [numberedFrame(i, length)], now);
    take(now);
  }
  for (let t = b.pendingUs(); t !== Infinity; t = b.pendingUs()) take(Math.max(t, now));
  return { got, stats: a.stats, rxStats: b.stats };
}

/** |observed - n p| within 4.5 standard deviations of a binomial(n, p). */
function assertBinomial(observed, n, p, what) {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(Math.abs(observed - mean) <= 4.5 * sd, `${what}: ${observed} is not within 4.5 sd of ${mean}`);
}

test('a frame sent by one end arrives at the other byte for byte, in both directions', () => {
  const { a, b, ra, rb } = pairOf({});
  const f1 = numberedFrame(1, 60);
  const f2 = numberedFrame(2, 1514);
  send(ra, a, [f1, f2], 100);
  assert.is(b.pendingUs(), 100);
  assert.is(b.receive(99), 0, 'not before it was sent');
  assert.is(b.receive(100), 2);
  const d0 = rxDesc(rb, 0);
  assert.equal(d0.data, f1);
  assert.is(d0.flags, 0);
  assert.is(d0.addr, rb.instance.dv.getUint32(rb.rxDesc, true), 'written at the slot address');
  assert.equal(rxDesc(rb, 1).data, f2);
  assert.is(b.pendingUs(), Infinity);
  send(rb, b, [f2], 200);
  assert.equal(receive(ra, a, 200), [f2]);
  assert.equal(
    { tx: a.stats.txFrames, txBytes: a.stats.txBytes, rx: a.stats.rxFrames, rxBytes: a.stats.rxBytes },
    { tx: 2, txBytes: 60 + 1514, rx: 1, rxBytes: 1514 },
  );
  assert.equal({ tx: b.stats.txFrames, rx: b.stats.rxFrames }, { tx: 1, rx: 2 });
  assert.is(a.kind, 'memory');
  assert.is(a.mtu, 1500);
  assert.is(a.offloads, 0);
  assert.is(a.polled, false);
});

test('receive fills at most the RX ring; the rest waits for the next burst', () => {
  const { a, b, ra, rb } = pairOf({}, { rxSlots: 4, txSlots: 8 });
  send(ra, a, Array.from({ length: 7 }, (_, i) => numberedFrame(i)), 0);
  assert.equal(receive(rb, b, 0).map(frameNumber), [0, 1, 2, 3]);
  assert.equal(receive(rb, b, 0).map(frameNumber), [4, 5, 6]);
});

test('the receiving end is woken at the time a frame becomes pending, once per new earliest frame', () => {
  const [a, b] = MemoryLink.pair({ delay: '2ms' });
  const ra = fakeRings();
  const wakes = [];
  a.attach(ra, noWake);
  send(ra, a, [numberedFrame(0)], 50);
  b.attach(fakeRings(), (at) => wakes.push(at));
  assert.equal(wakes, [2050], 'a frame queued before attach wakes at attach');
  send(ra, a, [numberedFrame(1)], 60);
  assert.equal(wakes, [2050], 'a frame behind the pending one needs no wake');
});

test('a full queue drops and counts (dropped.queueFull)', () => {
  const { a, b, ra, rb } = pairOf({ queue: 4 });
  send(ra, a, Array.from({ length: 6 }, (_, i) => numberedFrame(i)), 0);
  assert.equal(receive(rb, b, 0).map(frameNumber), [0, 1, 2, 3]);
  assert.is(a.stats['dropped.queueFull'], 2);
});

test('a frame larger than the link carries is dropped (dropped.oversize)', () => {
  const { a, b, ra, rb } = pairOf({ mtu: 576 }, { slotBytes: 2048 });
  send(ra, a, [numberedFrame(0, 576 + 14), numberedFrame(1, 1514)], 0);
  assert.equal(receive(rb, b, 0).map(frameNumber), [0]);
  assert.is(a.stats['dropped.oversize'], 1);
});

test('loss: the frames missing at the receiver are exactly those counted', () => {
  const { got, stats } = runThrough({ loss: 0.1, seed: 1 });
  assert.is(got.length, 10_000 - stats['dropped.loss']);
  assert.is(stats['dropped.loss'], 1007);
  assertBinomial(stats['dropped.loss'], 10_000, 0.1, 'losses');
  const numbers = got.map((g) => g.n);
  assert.equal(numbers, [...numbers].sort((x, y) => x - y), 'loss alone keeps order');
});

test('duplicate: each duplicate arrives right after its original, identical', () => {
  const { got, stats } = runThrough({ duplicate: 0.05, seed: 2 });
  let dups = 0;
  for (let i = 1; i < got.length; i++) {
    if (got[i].n === got[i - 1].n) {
      dups++;
      assert.equal(got[i].data, got[i - 1].data);
    }
  }
  assert.is(dups, stats.duplicated);
  assert.is(got.length, 10_000 + stats.duplicated);
  assert.is(stats.duplicated, 542);
  assertBinomial(stats.duplicated, 10_000, 0.05, 'duplicates');
});

test('reorder: every frame arrives once; each held-back frame arrives one place late', () => {
  const { got, stats } = runThrough({ reorder: 0.05, seed: 3 });
  const numbers = got.map((g) => g.n);
  assert.equal([...numbers].sort((x, y) => x - y), Array.from({ length: 10_000 }, (_, i) => i));
  let late = 0;
  for (let i = 1; i < numbers.length; i++) {
    if (numbers[i] < numbers[i - 1]) {
      late++;
      assert.is(numbers[i], numbers[i - 1] - 1, `frame ${numbers[i]} is overtaken by exactly one`);
    }
  }
  assert.is(late, stats.reordered);
  assert.is(stats.reordered, 474);
  assertBinomial(stats.reordered, 10_000, 0.05 * 0.95, 'reordered');
});

test('reorder with a gap: a held-back frame is overtaken by that many frames', () => {
  const { got, stats } = runThrough({ reorder: 0.02, reorderGap: 3, seed: 4 }, { count: 2000 });
  const numbers = got.map((g) => g.n);
  let late = 0;
  for (let i = 1; i < numbers.length; i++) {
    if (numbers[i] < numbers[i - 1]) {
      late++;
      assert.equal(numbers.slice(i - 3, i), [numbers[i] + 1, numbers[i] + 2, numbers[i] + 3]);
    }
  }
  assert.is(late, stats.reordered);
  assert.ok(stats.reordered > 0);
});

test('reorder: a held-back frame with nothing behind it leaves after reorderHold', () => {
  const { a, b, ra, rb } = pairOf({ reorder: 1, reorderHold: '300us' });
  send(ra, a, [numberedFrame(7)], 1000);
  assert.is(b.pendingUs(), 1300);
  assert.is(b.receive(1299), 0);
  assert.equal(receive(rb, b, 1300).map(frameNumber), [7]);
  assert.is(a.stats.reordered, 0, 'not overtaken, so not counted as reordered');
});

test('corrupt: exactly the counted frames differ from what was sent, each by one bit', () => {
  const { got, stats } = runThrough({ corrupt: 0.02, seed: 5 });
  let corrupted = 0;
  assert.is(got.length, 10_000);
  // Without loss or reordering the k-th frame received is the k-th sent (a flipped bit may
  // be in the number the frame carries, so the number cannot identify it).
  for (const [k, g] of got.entries()) {
    const sent = numberedFrame(k);
    let bits = 0;
    for (let i = 0; i < sent.length; i++) {
      let x = sent[i] ^ g.data[i];
      while (x) { bits += x & 1; x >>= 1; }
    }
    if (bits) corrupted++;
    assert.ok(bits <= 1);
  }
  assert.is(corrupted, stats.corrupted);
  assert.is(stats.corrupted, 196);
  assertBinomial(stats.corrupted, 10_000, 0.02, 'corrupted');
});

test('delay and jitter: arrival within delay ± jitter, never earlier than sent, order kept', () => {
  const { got, stats } = runThrough({ delay: '1ms', jitter: '200us', seed: 6 }, { count: 2000, spacingUs: 500 });
  assert.is(got.length, 2000);
  let prev = -1;
  for (const g of got) {
    const sentAt = g.n * 500;
    // `runThrough` receives at send times, so arrival is observed at the first send time at or after it.
    assert.ok(g.at >= sentAt + 800, `frame ${g.n} early`);
    assert.ok(g.n > prev, 'order kept');
    prev = g.n;
  }
  assert.is(stats.delayed, 2000);
});

test('delay: the receiver is told the exact arrival time', () => {
  const { a, b, ra } = pairOf({ delay: 1500 });
  send(ra, a, [numberedFrame(0)], 10_000);
  assert.is(b.pendingUs(), 11_500);
});

/** Runs a MemoryLink pair on a VirtualClock: b receives whenever it is woken. */
function onVirtualClock(options, sends) {
  const clock = new VirtualClock({ auto: false });
  const [a, b] = MemoryLink.pair(options);
  const ra = fakeRings();
  const rb = fakeRings();
  const arrivals = [];
  const pump = () => {
    for (const f of receive(rb, b, clock.nowUs())) arrivals.push([frameNumber(f), clock.nowUs()]);
    const next = b.pendingUs();
    if (next !== Infinity) clock.setTimer(next, pump);
  };
  a.attach(ra, noWake);
  b.attach(rb, (at) => clock.setTimer(at, pump));
  for (const [atUs, frames] of sends) clock.setTimer(atUs, () => send(ra, a, frames, clock.nowUs()));
  while (clock.step());
  return { arrivals, stats: a.stats };
}

test('rate: frames are serialised at the rate, back to back, on a virtual clock', () => {
  // 8 Mbit/s is one byte per µs: a 1000-byte frame takes 1000 µs on the wire.
  const frames = Array.from({ length: 5 }, (_, i) => numberedFrame(i, 1000));
  const { arrivals, stats } = onVirtualClock({ rate: '8mbit', delay: 100 }, [[0, frames], [10_000, [numberedFrame(5, 500)]]]);
  assert.equal(arrivals, [[0, 1100], [1, 2100], [2, 3100], [3, 4100], [4, 5100], [5, 10_600]]);
  assert.is(stats.delayed, 6);
});

test('rate: a backlog past rateQueue bytes is tail-dropped (dropped.rateQueue)', () => {
  const frames = Array.from({ length: 10 }, (_, i) => numberedFrame(i, 1000));
  const { arrivals, stats } = onVirtualClock({ rate: 8e6, rateQueue: 3000 }, [[0, frames], [2500, [numberedFrame(10, 1000)]]]);
  // At 2500 µs the backlog is 500 bytes, so frame 10 fits.
  assert.equal(arrivals, [[0, 1000], [1, 2000], [2, 3000], [10, 4000]]);
  assert.is(stats['dropped.rateQueue'], 7);
});

test('determinism: the same seed gives the same deliveries at the same times; another seed does not', () => {
  const options = { loss: 0.05, duplicate: 0.03, reorder: 0.05, corrupt: 0.02, delay: '1ms', jitter: '300us', rate: '100mbit' };
  const flatten = (r) => ({ got: r.got.map((g) => [g.n, g.at, Buffer.from(g.data).toString('hex')]), stats: r.stats });
  const one = flatten(runThrough({ ...options, seed: 42 }, { count: 3000 }));
  const two = flatten(runThrough({ ...options, seed: 42 }, { count: 3000 }));
  const other = flatten(runThrough({ ...options, seed: 43 }, { count: 3000 }));
  assert.equal(one, two);
  assert.not.equal(one.got, other.got);
});

test('impairments draw from their own streams: adding one does not move another', () => {
  const lossOnly = runThrough({ loss: 0.1, seed: 9 }, { count: 2000 });
  const lossAndDuplicate = runThrough({ loss: 0.1, duplicate: 0.5, seed: 9 }, { count: 2000 });
  const distinct = lossAndDuplicate.got.map((g) => g.n).filter((n, i, all) => i === 0 || all[i - 1] !== n);
  assert.ok(lossAndDuplicate.stats.duplicated > 0);
  assert.equal(distinct, lossOnly.got.map((g) => g.n));
});

test('the two directions are impaired independently', () => {
  const { a, b, ra, rb } = pairOf({ loss: 0.5, seed: 11 });
  const lostAB = [];
  const lostBA = [];
  for (let i = 0; i < 64; i++) {
    send(ra, a, [numberedFrame(i)], i);
    if (receive(rb, b, i).length === 0) lostAB.push(i);
    send(rb, b, [numberedFrame(i)], i);
    if (receive(ra, a, i).length === 0) lostBA.push(i);
  }
  assert.not.equal(lostAB, lostBA);
});

test('closing an end drops what is queued (dropped.closed) and what is sent afterwards', async () => {
  const { a, b, ra } = pairOf({ delay: 1000 });
  send(ra, a, [numberedFrame(0), numberedFrame(1)], 0);
  await b.close();
  assert.is(b.pendingUs(), Infinity);
  assert.is(b.receive(5000), 0);
  send(ra, a, [numberedFrame(2)], 10);
  assert.is(a.stats['dropped.closed'], 3);
  assert.is(a.stats.txFrames, 3);
});

test('options are validated: TypeError/RangeError naming the option', () => {
  const cases = [
    [{ loss: 2 }, RangeError, /MemoryLink: loss must be a probability from 0 to 1, got 2/],
    [{ loss: '5%' }, TypeError, /MemoryLink: loss must be a probability/],
    [{ delay: '1 fortnight' }, RangeError, /MemoryLink: delay must be a duration such as/],
    [{ delay: -1 }, RangeError, /MemoryLink: delay must be a non-negative number of µs/],
    [{ jitter: {} }, TypeError, /MemoryLink: jitter must be µs as a number or a string/],
    [{ rate: 'fast' }, RangeError, /MemoryLink: rate must be a rate such as '10mbit'/],
    [{ rateQueue: 0 }, RangeError, /MemoryLink: rateQueue must be a positive integer/],
    [{ reorderGap: 0 }, RangeError, /MemoryLink: reorderGap must be an integer from 1 to 1000/],
    [{ mtu: 9001 }, RangeError, /MemoryLink: mtu must be an integer from 68 to 9000, got 9001/],
    [{ queue: 1.5 }, RangeError, /MemoryLink: queue must be an integer number of frames/],
    [{ seed: -1 }, RangeError, /MemoryLink: seed must be a non-negative integer/],
    [{ seed: '7' }, TypeError, /MemoryLink: seed must be a non-negative integer, got string/],
    [{ los: 0.1 }, TypeError, /MemoryLink: unknown option los \(known: loss, /],
  ];
  for (const [options, type, message] of cases) {
    assert.throws(() => MemoryLink.pair(options), (e) => e instanceof type && message.test(e.message) && typeof e.code === 'string', JSON.stringify(options));
  }
});

test('rates and durations accept units', () => {
  const timeOf = (options) => {
    const { a, b, ra } = pairOf(options);
    send(ra, a, [numberedFrame(0, 125)], 0);
    return b.pendingUs();
  };
  assert.is(timeOf({ delay: '1.5ms' }), 1500);
  assert.is(timeOf({ delay: '2s' }), 2_000_000);
  assert.is(timeOf({ delay: '250us' }), 250);
  assert.is(timeOf({ rate: '1mbit' }), 1000); // 1000 bits at 1 Mbit/s
  assert.is(timeOf({ rate: '1gbps' }), 1);
  assert.is(timeOf({ rate: '100kbit/s' }), 10_000);
});

test('aToB / bToA impair one direction over the shared options', () => {
  const { a, b, ra, rb } = pairOf({ delay: 100, aToB: { loss: 1 }, bToA: { delay: 300 } });
  send(ra, a, [numberedFrame(0)], 0);
  send(rb, b, [numberedFrame(1)], 0);
  assert.is(b.pendingUs(), Infinity);
  assert.is(a.stats['dropped.loss'], 1);
  assert.is(a.pendingUs(), 300);
  assert.throws(() => MemoryLink.pair({ aToB: { mtu: 1 } }), (e) => e instanceof TypeError && /MemoryLink: aToB: unknown option mtu/.test(e.message));
  assert.throws(() => MemoryLink.pair({ bToA: { loss: 3 } }), (e) => e instanceof RangeError && /MemoryLink: bToA: loss must be a probability/.test(e.message));
});

test('impairments from a command-line spec', () => {
  assert.equal(parseImpairmentSpec('loss=0.05,reorder=0.05,dup=0.02,delay=1ms'), { loss: 0.05, reorder: 0.05, duplicate: 0.02, delay: '1ms' });
  assert.equal(parseImpairmentSpec(' rate=10mbit , jitter=200 '), { rate: '10mbit', jitter: 200 });
  assert.equal(parseImpairmentSpec(''), {});
  assert.throws(() => parseImpairmentSpec('loss'), (e) => e instanceof RangeError && /--impair must be items key=value/.test(e.message));
  assert.throws(() => parseImpairmentSpec('lag=3'), (e) => e instanceof RangeError && /"lag=3"/.test(e.message));
  assert.throws(() => parseImpairmentSpec('loss=1.5'), (e) => e instanceof RangeError && /--impair: loss must be a probability/.test(e.message));
});

/** A link that records what it is asked to send and feeds what a test gives it. */
function fakeInner() {
  const inner = {
    kind: 'fake', mtu: 1500, offloads: 0, polled: false, sent: [], toDeliver: [],
    attach(rings) { this.rings = rings; },
    receive() {
      const frames = this.toDeliver.splice(0, this.rings.rxSlots);
      const { dv, u8 } = this.rings.instance;
      frames.forEach((f, i) => {
        const d = this.rings.rxDesc + i * 32;
        u8.set(f, dv.getUint32(d, true));
        dv.setUint32(d + 4, f.length, true);
        dv.setUint32(d + 8, 0b101, true);
        dv.setUint32(d + 12, 0xabcd, true);
      });
      return frames.length;
    },
    transmit(count, nowUs) { for (let i = 0; i < count; i++) this.sent.push({ ...txDesc(this.rings, i), at: nowUs }); },
    pendingUs() { return Infinity; },
    close() { return Promise.resolve(); },
  };
  return inner;
}

test('impair(): the transmit side of any link, descriptor fields kept', () => {
  const inner = fakeInner();
  const link = impair(inner, { delay: '1ms', seed: 1 });
  const rings = fakeRings();
  link.attach(rings, noWake);
  assert.is(link.kind, 'fake');
  send(rings, link, [numberedFrame(0), numberedFrame(1)], 0, { flags: 0b110, l2: 14, l3: 20, l4: 32, tsoMss: 1448 });
  assert.is(inner.sent.length, 0, 'held for the delay');
  assert.is(link.pendingUs(), 1000);
  assert.is(link.receive(1000), 0);
  assert.equal(inner.sent.map((s) => [frameNumber(s.data), s.at, s.flags, s.l2, s.l3, s.l4, s.tsoMss]), [
    [0, 1000, 0b110, 14, 20, 32, 1448],
    [1, 1000, 0b110, 14, 20, 32, 1448],
  ]);
  assert.is(link.pendingUs(), Infinity);
});

test('impair(): with no delay, frames go out in the same transmit call; losses counted', () => {
  const inner = fakeInner();
  const link = impair(inner, { loss: 0.25, seed: 3 });
  const rings = fakeRings();
  link.attach(rings, noWake);
  for (let i = 0; i < 400; i++) send(rings, link, [numberedFrame(i)], i);
  assert.is(inner.sent.length + link.stats.transmit['dropped.loss'], 400);
  assertBinomial(link.stats.transmit['dropped.loss'], 400, 0.25, 'losses');
  assert.is(link.stats.receive, undefined);
});

test('impair(): receive side, flags and RSS kept, frames put back at the slot addresses', () => {
  const inner = fakeInner();
  const link = impair(inner, { sides: 'receive', delay: 50, duplicate: 1 });
  const rings = fakeRings();
  link.attach(rings, noWake);
  inner.toDeliver.push(numberedFrame(3));
  assert.is(link.receive(0), 0);
  assert.is(link.pendingUs(), 50);
  assert.is(link.receive(50), 2);
  const d = rxDesc(rings, 1);
  assert.equal([frameNumber(d.data), d.flags, d.rss, d.addr], [3, 0b101, 0xabcd, rings.instance.dv.getUint32(rings.rxDesc + 32, true)]);
  assert.is(link.stats.receive.duplicated, 1);
  send(rings, link, [numberedFrame(4)], 60);
  assert.is(inner.sent.length, 1, 'transmit side untouched');
});

test('impair() validates its options', () => {
  assert.throws(() => impair(fakeInner(), { sides: 'up' }), (e) => e instanceof RangeError && /impair: sides must be/.test(e.message));
  assert.throws(() => impair(fakeInner(), { corrupt: -0.1 }), (e) => e instanceof RangeError && /impair: corrupt/.test(e.message));
  assert.throws(() => impair(fakeInner(), { delay: 1, lag: 2 }), (e) => e instanceof TypeError && /impair: unknown option lag/.test(e.message));
});

test('Prng: a pure function of seed and stream', () => {
  const draw = (seed, stream) => { const p = new Prng(seed, stream); return Array.from({ length: 8 }, () => p.nextU32()); };
  assert.equal(draw(1, 0), draw(1, 0));
  assert.not.equal(draw(1, 0), draw(2, 0));
  assert.not.equal(draw(1, 0), draw(1, 1));
  assert.not.equal(draw(2 ** 40, 0), draw(0, 0), 'high seed bits count');
  const p = new Prng(5);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) { const x = p.nextFloat(); assert.ok(x >= 0 && x < 1); sum += x; }
  assert.ok(Math.abs(sum / 10_000 - 0.5) < 0.02);
});

test('a MemoryLink between two real stack instances uses their rings as laid out by the stack', async () => {
  const { StackInstance, wasmPath } = await import('../dist/wasm/instance.js');
  if (!existsSync(wasmPath())) {
    if (process.env.CI) assert.unreachable('build/stack.wasm is missing in CI: run `npm run build`');
    console.log('skip: build/stack.wasm not built (npm run build:wasm); real-ring check not run');
    return;
  }
  const rings = () => {
    const inst = new StackInstance();
    inst.init();
    const ex = inst.exports;
    return { instance: inst, rxDesc: ex.rxDescBase(), rxSlots: ex.rxSlotCount(), rxSlotBytes: ex.rxSlotBytes(), txDesc: ex.txDescBase(), txSlots: ex.txSlotCount(), txSlotBytes: ex.txSlotBytes() };
  };
  const ra = rings();
  const rb = rings();
  const [a, b] = MemoryLink.pair({ seed: 1 });
  a.attach(ra, noWake);
  b.attach(rb, noWake);
  const frame = numberedFrame(77, 1514);
  send(ra, a, [frame], 5);
  assert.is(b.receive(5), 1);
  const d = rxDesc(rb, 0);
  assert.equal(d.data, frame);
  assert.is(d.addr % 64, 0, 'the stack’s own 64-byte-aligned slot');
});

test('a real stack behind the StackDriver is woken by the link and answers across the delay', async () => {
  const { StackInstance, wasmPath } = await import('../dist/wasm/instance.js');
  const { StackDriver } = await import('../dist/stack/driver.js');
  if (!existsSync(wasmPath())) {
    if (process.env.CI) assert.unreachable('build/stack.wasm is missing in CI: run `npm run build`');
    console.log('skip: build/stack.wasm not built (npm run build:wasm); driver check not run');
    return;
  }
  const inst = new StackInstance();
  inst.setConfig('ipv4Addr', 0x0a000001); // 10.0.0.1
  inst.setConfig('macHi', 0x0200);
  inst.setConfig('macLo', 0x00000001);
  inst.init();
  const [a, b] = MemoryLink.pair({ delay: 500 });
  const clock = new VirtualClock({ auto: false });
  new StackDriver(inst, a, clock, { onNotify() {} });
  const rb = fakeRings();
  const wakes = [];
  b.attach(rb, (at) => wakes.push(at));
  // ARP request from 02:00:00:00:00:02 / 10.0.0.2: who has 10.0.0.1?
  const request = new Uint8Array(60);
  request.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06,
    0, 1, 0x08, 0x00, 6, 4, 0, 1, 2, 0, 0, 0, 0, 2, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
  send(rb, b, [request], 0);
  clock.advanceTo(999);
  assert.is(inst.counters()['deliver.arp.request'], 1, 'the driver pumped when the request arrived, at 500');
  assert.is(b.receive(999), 0);
  assert.equal(wakes, [1000], 'the far end is told the reply lands at 2 x 500 µs');
  const replies = receive(rb, b, 1000).filter((f) => f[12] === 0x08 && f[13] === 0x06 && f[21] === 2);
  assert.is(replies.length, 1);
  assert.equal([...replies[0].subarray(0, 6)], [2, 0, 0, 0, 0, 2], 'addressed to the asker');
  assert.equal([...replies[0].subarray(28, 32)], [10, 0, 0, 1], 'from 10.0.0.1');
});

test.run();
