// The pieces under the workers, without threads: SharedMemoryLink (RSS steering of side B's
// frames over side A's queues, round-robin reception at B, impairments through FramePath, a
// full ring holding frames back, endpoints that survive structured cloning, doorbell wake-ups),
// the SPSC FrameRing, and the shared neighbour table's epoch log.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SharedMemoryLink, SharedMemoryPort, RssSteering, MICROSOFT_RSS_KEY } from '../dist/index.js';
import { FrameRing } from '../dist/workers/frame-ring.js';
import { SharedNeighbourTable } from '../dist/workers/neighbours.js';
import { fakeRings, send, receive, numberedFrame, frameNumber } from './support/rings.mjs';

const noWake = () => {};

/** An Ethernet + IPv4 + TCP header frame from 10.0.0.2:srcPort to 10.0.0.1:dstPort, 80 bytes. */
function tcpFrame(srcPort, dstPort, tag = 0) {
  const f = new Uint8Array(80);
  const v = new DataView(f.buffer);
  v.setUint16(12, 0x0800);
  f[14] = 0x45; v.setUint16(16, 66); f[22] = 64; f[23] = 6;
  v.setUint32(26, 0x0a000002); v.setUint32(30, 0x0a000001);
  v.setUint16(34, srcPort); v.setUint16(36, dstPort);
  f[79] = tag;
  return f;
}

function openAll(port, b) {
  const rb = fakeRings();
  b.attach(rb, noWake);
  const queues = Array.from({ length: port.queues }, (_, k) => {
    const link = port.queue(k);
    const rings = fakeRings();
    link.attach(rings, noWake);
    return { link, rings };
  });
  return { rb, queues };
}

test('frames from B are steered by RSS, each queue receiving its flows in order', () => {
  const [port, b] = SharedMemoryLink.pair({ queues: 4 });
  assert.ok(port instanceof SharedMemoryPort);
  const { rb, queues } = openAll(port, b);
  const frames = Array.from({ length: 32 }, (_, i) => tcpFrame(40000 + i, 80, i));
  send(rb, b, frames, 0);
  const expected = queues.map(() => []);
  for (const f of frames) expected[port.rss.queueOfFrame(f, 0, f.length)].push(f[79]);
  queues.forEach(({ link, rings }, k) => {
    const got = receive(rings, link, 0);
    assert.equal(got.map((f) => f[79]), expected[k], `queue ${k}`);
    for (const f of got) assert.equal(f, frames[f[79]]);
  });
  assert.ok(expected.every((e) => e.length > 0), 'every queue got flows');
  // Frames that are not IPv4 go to queue 0, as a NIC sends what it cannot hash.
  send(rb, b, [numberedFrame(7)], 0);
  assert.equal(receive(queues[0].rings, queues[0].link, 0).map(frameNumber), [7]);
});

test("side B receives every queue's frames, taking turns", () => {
  const [port, b] = SharedMemoryLink.pair({ queues: 3 });
  const { rb, queues } = openAll(port, b);
  queues.forEach(({ link, rings }, k) => send(rings, link, [numberedFrame(k * 10), numberedFrame(k * 10 + 1)], 0));
  assert.equal(receive(rb, b, 0).map(frameNumber), [0, 10, 20, 1, 11, 21]);
  assert.is(b.stats.rxFrames, 6);
  assert.is(queues[1].link.stats.txFrames, 2);
});

test("'spread' steering and a steering function put flows elsewhere than RSS", () => {
  const [spreadPort, spreadB] = SharedMemoryLink.pair({ queues: 4, steer: 'spread' });
  const { rb, queues } = openAll(spreadPort, spreadB);
  const frames = Array.from({ length: 64 }, (_, i) => tcpFrame(30000 + i, 80, i));
  send(rb, spreadB, frames, 0);
  const other = new RssSteering({ queues: 4, key: MICROSOFT_RSS_KEY, reta: spreadPort.rss.reta });
  let differs = 0;
  queues.forEach(({ link, rings }, k) => {
    for (const f of receive(rings, link, 0)) {
      assert.is(other.queueOfFrame(f, 0, f.length), k);
      if (spreadPort.rss.queueOfFrame(f, 0, f.length) !== k) differs++;
    }
  });
  assert.ok(differs > 0, 'some flows land off their RSS queue');

  const [fnPort, fnB] = SharedMemoryLink.pair({ queues: 2, steer: () => 1 });
  const fn = openAll(fnPort, fnB);
  send(fn.rb, fnB, [tcpFrame(1, 2), tcpFrame(3, 4)], 0);
  assert.is(receive(fn.queues[0].rings, fn.queues[0].link, 0).length, 0);
  assert.is(receive(fn.queues[1].rings, fn.queues[1].link, 0).length, 2);
});

test('impairments apply on the way: loss, delay', () => {
  const [lossPort, lossB] = SharedMemoryLink.pair({ queues: 1, loss: 1 });
  const l = openAll(lossPort, lossB);
  send(l.rb, lossB, [numberedFrame(1), numberedFrame(2)], 0);
  assert.is(receive(l.queues[0].rings, l.queues[0].link, 0).length, 0);
  assert.is(lossB.stats['dropped.loss'], 2);

  const [delayPort, delayB] = SharedMemoryLink.pair({ queues: 1, bToA: { delay: '1ms' } });
  const d = openAll(delayPort, delayB);
  send(d.rb, delayB, [numberedFrame(5)], 100);
  assert.is(delayB.pendingUs(), 1100, 'the sender holds the frame until it is due');
  assert.is(receive(d.queues[0].rings, d.queues[0].link, 1099).length, 0);
  delayB.receive(1100); // the sender's next pump moves it into the shared ring
  assert.equal(receive(d.queues[0].rings, d.queues[0].link, 1100).map(frameNumber), [5]);
  // A to B is not delayed.
  send(d.queues[0].rings, d.queues[0].link, [numberedFrame(6)], 0);
  assert.equal(receive(d.rb, delayB, 0).map(frameNumber), [6]);
});

test('a full ring holds frames back in the sender, nothing lost', () => {
  const [port, b] = SharedMemoryLink.pair({ queues: 1, queue: 4 });
  const { rb, queues } = openAll(port, b);
  const { link, rings } = queues[0];
  send(rb, b, [1, 2, 3].map((n) => numberedFrame(n)), 0);
  send(rb, b, [4, 5, 6].map((n) => numberedFrame(n)), 0);
  assert.equal(receive(rings, link, 0).map(frameNumber), [1, 2, 3, 4]);
  b.receive(0); // the sender's next pump moves the held frames
  assert.equal(receive(rings, link, 0).map(frameNumber), [5, 6]);
  assert.is(b.stats['dropped.queueFull'], 0);
});

test('an endpoint survives structured cloning (workerData) and the doorbell wakes the receiver', async () => {
  const [port, b] = SharedMemoryLink.pair({ queues: 2 });
  const rb = fakeRings();
  b.attach(rb, noWake);
  const link = SharedMemoryLink.open(structuredClone(port.endpoint(1)));
  const rings = fakeRings();
  let wakes = 0;
  const woken = new Promise((resolve) => link.attach(rings, (at) => { wakes++; resolve(at); }));
  const f = tcpFrame(1, 2);
  const target = port.rss.queueOfFrame(f, 0, f.length);
  const frame = target === 1 ? f : tcpFrame(...findPortsFor(port.rss, 1));
  send(rb, b, [frame], 0);
  assert.is(await woken, 0);
  assert.is(wakes, 1);
  assert.is(receive(rings, link, 0).length, 1);
  await link.close();
  assert.throws(() => port.endpoint(2), /from 0 to 1/);
  assert.throws(() => SharedMemoryLink.open({}), /SharedMemoryPort.endpoint/);
});

function findPortsFor(rss, queue) {
  for (let p = 1024; ; p++) if (rss.queueOfTuple(0x0a000002, 0x0a000001, p, 80) === queue) return [p, 80];
}

test('options are validated', () => {
  assert.throws(() => SharedMemoryLink.pair({ queues: 0 }), /queues must be an integer from 1 to 64/);
  assert.throws(() => SharedMemoryLink.pair({ mtu: 10 }), /mtu must be an integer from 68 to 9000/);
  assert.throws(() => SharedMemoryLink.pair({ steer: 'nic' }), /steer must be 'rss', 'spread' or a function/);
  assert.throws(() => SharedMemoryLink.pair({ los: 0.1 }), /unknown option los/);
  assert.throws(() => SharedMemoryLink.pair({ loss: 2 }), /loss must be a probability/);
  assert.throws(() => SharedMemoryLink.pair({ queues: 2, rss: { reta: Uint8Array.of(0, 3) } }), /names queue 3/);
});

test('FrameRing: single producer, single consumer, bounded', () => {
  const ring = FrameRing.create(3, 100);
  assert.is(ring.describe().capacity, 4, 'rounded up to a power of two');
  const src = Uint8Array.from({ length: 200 }, (_, i) => i);
  assert.is(ring.frameBytes, 120, 'slots are whole cache lines: 100 bytes asked, 120 held');
  assert.is(ring.push(src, 0, 121, 0), false, 'larger than a slot');
  for (let i = 0; i < 4; i++) assert.ok(ring.push(src, i, 10, 100 + i));
  assert.is(ring.push(src, 0, 10, 0), false, 'full');
  assert.is(ring.size, 4);
  const other = FrameRing.open(structuredClone(ring.describe()));
  for (let i = 0; i < 4; i++) {
    const at = other.peek();
    assert.is(other.lengthAt(at), 10);
    assert.is(other.flagsAt(at), 100 + i);
    assert.equal([...other.bytes.subarray(at, at + 10)], [...src.subarray(i, i + 10)]);
    other.shift();
  }
  assert.is(other.peek(), -1);
  assert.ok(ring.push(src, 0, 10, 0), 'room again');
});

test('shared neighbour table: readers see what others published, once, and skip their own', () => {
  const table = SharedNeighbourTable.create(4);
  const w0 = new SharedNeighbourTable(table.buffer, 0);
  const w1 = new SharedNeighbourTable(table.buffer, 1);
  const mac = Uint8Array.of(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
  assert.is(w1.changed(), false);
  w0.publish(0x0a000002, mac, 0);
  assert.is(w1.changed(), true);
  const seen = [];
  assert.is(w1.read(64, (ip, hi, lo) => seen.push([ip, hi, lo])), 1);
  assert.equal(seen, [[0x0a000002, 0x0211, 0x22334455]]);
  assert.is(w1.changed(), false, 'read once');
  assert.is(w0.read(64, () => assert.unreachable('own entry')), 0);
  // A reader more than `capacity` behind reads the last `capacity` entries.
  for (let i = 0; i < 10; i++) w0.publish(0x0a000010 + i, mac, 0);
  const late = [];
  w1.read(64, (ip) => late.push(ip - 0x0a000010));
  assert.equal(late, [6, 7, 8, 9]);
  // `max` leaves the rest for the next read.
  w0.publish(0x0a000020, mac, 0);
  w0.publish(0x0a000021, mac, 0);
  const first = [];
  assert.is(w1.read(1, (ip) => first.push(ip)), 1);
  assert.is(w1.read(1, (ip) => first.push(ip)), 1);
  assert.equal(first, [0x0a000020, 0x0a000021]);
  assert.is(table.epoch, 13);
});

test.run();
