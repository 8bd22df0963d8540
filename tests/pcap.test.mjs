// pcap writer and reader (round trips in both resolutions and byte orders, bounded chunked
// reading, every kind of damage reported with its byte offset), the Recorder, PcapLink
// replay timing and filtering on a virtual clock, and tshark reading what we write with
// no malformed packet and good checksums.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { MemoryLink, PcapLink, PcapReader, PcapWriter, PcapFormatError, Recorder } from '../dist/index.js';
import { VirtualClock } from '../dist/clock/clock.js';
import { Prng } from '../dist/util/prng.js';
import { fakeRings, send, receive, numberedFrame, frameNumber } from './support/rings.mjs';
import { fixture } from './helpers/fixtures.mjs';

const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-pcap-'));
const file = (name) => join(dir, name);
const noWake = () => {};

// ---- frames with correct checksums, built here (RFC 1071 checksum) ----

function checksum(bytes, start, end, initial = 0) {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (bytes[i] << 8) | (i + 1 < end ? bytes[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

const MAC_A = [0x02, 0, 0, 0, 0, 0x01];
const MAC_B = [0x02, 0, 0, 0, 0, 0x02];
const IP_A = [10, 0, 0, 1];
const IP_B = [10, 0, 0, 2];

function ethernet(dst, src, type, payload) {
  const f = new Uint8Array(Math.max(60, 14 + payload.length));
  f.set(dst, 0); f.set(src, 6); f[12] = type >> 8; f[13] = type & 0xff; f.set(payload, 14);
  return f;
}

function arp(op, sha, spa, tha, tpa) {
  return ethernet(op === 1 ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : tha, sha, 0x0806,
    [0, 1, 0x08, 0x00, 6, 4, 0, op, ...sha, ...spa, ...tha, ...tpa]);
}

function ipv4(src, dst, protocol, payload, id = 1) {
  const p = new Uint8Array(20 + payload.length);
  p.set([0x45, 0, (p.length >> 8) & 0xff, p.length & 0xff, id >> 8, id & 0xff, 0x40, 0, 64, protocol, 0, 0, ...src, ...dst]);
  p.set(payload, 20);
  const c = checksum(p, 0, 20);
  p[10] = c >> 8; p[11] = c & 0xff;
  return p;
}

function icmpEcho(type, id, seq, data) {
  const m = new Uint8Array(8 + data.length);
  m.set([type, 0, 0, 0, id >> 8, id & 0xff, seq >> 8, seq & 0xff]); m.set(data, 8);
  const c = checksum(m, 0, m.length);
  m[2] = c >> 8; m[3] = c & 0xff;
  return m;
}

function udp(src, dst, sport, dport, data) {
  const u = new Uint8Array(8 + data.length);
  u.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, u.length >> 8, u.length & 0xff, 0, 0]); u.set(data, 8);
  const pseudo = new Uint8Array([...src, ...dst, 0, 17, u.length >> 8, u.length & 0xff]);
  const c = checksum(u, 0, u.length, (~checksum(pseudo, 0, 12)) & 0xffff) || 0xffff;
  u[6] = c >> 8; u[7] = c & 0xff;
  return u;
}

const payload = new TextEncoder().encode('wasm-tcpip pcap test payload');
const builtFrames = [
  arp(1, MAC_A, IP_A, [0, 0, 0, 0, 0, 0], IP_B),
  arp(2, MAC_B, IP_B, MAC_A, IP_A),
  ethernet(MAC_B, MAC_A, 0x0800, ipv4(IP_A, IP_B, 1, icmpEcho(8, 0x1234, 1, payload))),
  ethernet(MAC_A, MAC_B, 0x0800, ipv4(IP_B, IP_A, 1, icmpEcho(0, 0x1234, 1, payload))),
  ethernet(MAC_B, MAC_A, 0x0800, ipv4(IP_A, IP_B, 17, udp(IP_A, IP_B, 40000, 40001, payload))),
];

/** The frames of tests/fixtures/FILE (a .hex file). */
const fixtureFrames = (file) => fixture(file.replace(/\.hex$/, ''));

function writePcap(path, frames, options = {}, tsOf = (i) => 1_700_000_000_000_000 + i * 1500) {
  const w = PcapWriter.open(path, options);
  frames.forEach((f, i) => w.write(f, 0, f.length, tsOf(i)));
  w.close();
}

// ---- writer and reader ----

test('round trip: µs and ns, little- and big-endian, timestamps and bytes exact', () => {
  const frames = [...builtFrames, numberedFrame(9, 1514)];
  const times = [0, 1, 999_999, 1_000_000, 1_700_000_000_123_456, 4_000_000_000_000_000];
  for (const resolution of ['us', 'ns']) {
    for (const littleEndian of [true, false]) {
      const path = file(`rt-${resolution}-${littleEndian}.pcap`);
      writePcap(path, frames, { resolution, littleEndian }, (i) => times[i]);
      const { header, frames: back } = PcapReader.readAll(path);
      assert.equal(header, { resolution, littleEndian, versionMajor: 2, versionMinor: 4, snaplen: 262144, linktype: 1 });
      assert.equal(back.map((f) => f.tsUs), times);
      assert.equal(back.map((f) => f.data), frames);
      assert.equal(back.map((f) => f.originalLength), frames.map((f) => f.length));
    }
  }
});

test('the file header and a record header, byte for byte', () => {
  const path = file('bytes.pcap');
  writePcap(path, [Uint8Array.of(1, 2, 3)], { resolution: 'ns' }, () => 2_000_001.5);
  assert.is(Buffer.from(readFileSync(path)).toString('hex'),
    '4d3cb2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000' +
    '02000000' + 'dc050000' + '03000000' + '03000000' + '010203');
});

test('nanosecond files keep sub-microsecond timestamps', () => {
  const path = file('ns.pcap');
  writePcap(path, [Uint8Array.of(0)], { resolution: 'ns' }, () => 12.345);
  const r = PcapReader.open(path);
  const rec = r.next();
  assert.equal([rec.tsSec, rec.tsFrac], [0, 12_345]);
  r.close();
});

test('snaplen cuts a frame and keeps its original length', () => {
  const path = file('snap.pcap');
  const f = numberedFrame(1, 1000);
  writePcap(path, [f], { snaplen: 96 });
  const { header, frames } = PcapReader.readAll(path);
  assert.is(header.snaplen, 96);
  assert.equal(frames[0].data, f.subarray(0, 96));
  assert.is(frames[0].originalLength, 1000);
});

test('a small write buffer and a small read chunk give the same capture', () => {
  const path = file('chunks.pcap');
  const frames = Array.from({ length: 50 }, (_, i) => numberedFrame(i, 60 + i * 30));
  writePcap(path, frames, { bufferBytes: 64 });
  const r = PcapReader.open(path, { chunkBytes: 40 });
  const back = [];
  for (let rec = r.next(); rec !== null; rec = r.next()) back.push(rec.data.slice(rec.offset, rec.offset + rec.capturedLength));
  r.close();
  assert.equal(back, frames);
  assert.equal(PcapReader.readAll(path).frames.map((f) => f.data), frames);
});

test('a writer refuses writes after close and bad options', () => {
  const w = PcapWriter.open(file('closed.pcap'));
  w.close();
  w.close();
  assert.throws(() => w.write(Uint8Array.of(1), 0, 1, 0), (e) => e.code === 'ERR_WASM_TCPIP_PCAP_CLOSED');
  assert.throws(() => PcapWriter.open(file('x.pcap'), { resolution: 'ms' }), (e) => e instanceof RangeError && /resolution must be 'us' or 'ns'/.test(e.message));
  assert.throws(() => PcapWriter.open(file('x.pcap'), { snaplen: 0 }), (e) => e instanceof RangeError && /snaplen must be an integer from 1 to 262144/.test(e.message));
  assert.throws(() => PcapWriter.open(join(dir, 'no', 'such', 'dir.pcap')), (e) => e.code === 'ENOENT' && /cannot create .*dir\.pcap/.test(e.message));
});

test('damaged captures: a PcapFormatError with the byte offset, never a hang', () => {
  const good = file('good.pcap');
  writePcap(good, [numberedFrame(1, 100), numberedFrame(2, 100)]);
  const bytes = readFileSync(good);
  const le32 = (b, at, v) => { const c = Uint8Array.from(b); new DataView(c.buffer).setUint32(at, v, true); return c; };
  const cases = [
    ['empty', new Uint8Array(0), 0, /truncated file header: 0 of 24 bytes/],
    ['short header', bytes.subarray(0, 10), 10, /truncated file header: 10 of 24 bytes/],
    ['pcapng', Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0), 0, /pcapng file.*editcap -F pcap/],
    ['not a capture', new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 0, /unknown magic 0x20544547/],
    ['bad version', le32(bytes, 4, 0x00040009), 4, /unsupported version 9\.4/],
    ['cut record header', bytes.subarray(0, 24 + 16 + 100 + 7), 140, /truncated record header of frame 2: 7 of 16 bytes/],
    ['cut frame', bytes.subarray(0, 24 + 16 + 50), 40, /truncated frame 1: 50 of 100 bytes/],
    ['huge length', le32(bytes, 24 + 8, 0x7fffffff), 32, /corrupt record length of frame 1: 2147483647 bytes/],
    ['bad fraction', le32(bytes, 24 + 4, 1_000_000), 28, /corrupt timestamp of frame 1: fraction 1000000/],
  ];
  for (const [what, data, offset, message] of cases) {
    const path = file(`damaged-${what.replace(/ /g, '-')}.pcap`);
    writeFileSync(path, data);
    for (const read of [() => PcapReader.readAll(path), () => { const r = PcapReader.from(data, path); while (r.next()); }]) {
      try {
        read();
        assert.unreachable(`${what}: no error`);
      } catch (e) {
        assert.instance(e, PcapFormatError, what);
        assert.is(e.code, 'ERR_WASM_TCPIP_PCAP_FORMAT', what);
        assert.is(e.offset, offset, `${what}: offset`);
        assert.match(e.message, message, what);
        assert.match(e.message, new RegExp(`at byte offset ${offset}$`), what);
      }
    }
  }
  assert.throws(() => PcapReader.open(file('missing.pcap')), (e) => e.code === 'ENOENT' && /missing\.pcap: cannot open/.test(e.message));
});

test('mutated and cut captures end in frames or a PcapFormatError, nothing else', () => {
  const path = file('fuzz-base.pcap');
  writePcap(path, Array.from({ length: 20 }, (_, i) => numberedFrame(i, 60 + i * 7)));
  const base = readFileSync(path);
  const rng = new Prng(2026);
  let errors = 0;
  for (let round = 0; round < 3000; round++) {
    const data = Uint8Array.from(base.subarray(0, rng.below(base.length + 1)));
    for (let flips = rng.below(4); flips > 0 && data.length > 0; flips--) data[rng.below(data.length)] ^= 1 << rng.below(8);
    try {
      const r = PcapReader.from(data, 'fuzz');
      let frames = 0;
      while (r.next()) frames++;
      assert.ok(frames <= 20);
    } catch (e) {
      if (!(e instanceof PcapFormatError)) throw e;
      assert.ok(e.offset >= 0 && e.offset <= data.length, `offset ${e.offset} inside the ${data.length} bytes`);
      errors++;
    }
  }
  assert.ok(errors > 0);
});

// ---- Recorder ----

test('Recorder writes every frame in and out with the driver’s time', async () => {
  const path = file('recorded.pcap');
  const [a, b] = MemoryLink.pair({ delay: 250 });
  const recorded = new Recorder(a, { path, resolution: 'ns' });
  const ra = fakeRings();
  const rb = fakeRings();
  recorded.attach(ra, noWake);
  b.attach(rb, noWake);
  send(ra, recorded, [numberedFrame(1), numberedFrame(2)], 1000);
  assert.equal(receive(rb, b, 1250).map(frameNumber), [1, 2]);
  send(rb, b, [numberedFrame(3)], 2000);
  assert.equal(receive(ra, recorded, 2250).map(frameNumber), [3]);
  assert.is(recorded.kind, 'memory');
  await recorded.close();
  const { header, frames } = PcapReader.readAll(path);
  assert.is(header.resolution, 'ns');
  assert.equal(frames.map((f) => [frameNumber(f.data), f.tsUs]), [[1, 1000], [2, 1000], [3, 2250]]);
  assert.equal(frames[2].data, numberedFrame(3));
});

test('Recorder: one shared writer for several links, and `record` to pick a direction', async () => {
  const path = file('shared.pcap');
  const writer = PcapWriter.open(path);
  const [a, b] = MemoryLink.pair();
  const ra = fakeRings();
  const rb = fakeRings();
  const recA = new Recorder(a, { writer, record: 'transmit' });
  const recB = new Recorder(b, { writer, record: 'transmit' });
  recA.attach(ra, noWake);
  recB.attach(rb, noWake);
  send(ra, recA, [numberedFrame(1)], 10);
  receive(rb, recB, 10);
  send(rb, recB, [numberedFrame(2)], 20);
  receive(ra, recA, 20);
  await recA.close();
  await recB.close();
  writer.close();
  assert.equal(PcapReader.readAll(path).frames.map((f) => [frameNumber(f.data), f.tsUs]), [[1, 10], [2, 20]]);
  assert.throws(() => new Recorder(a, {}), (e) => e instanceof TypeError && /give `path`/.test(e.message));
  assert.throws(() => new Recorder(a, { path, record: 'in' }), (e) => e instanceof RangeError && /record must be/.test(e.message));
});

// ---- PcapLink ----

/** Drives a PcapLink on a virtual clock as the stack driver would; returns [frame, µs] fed. */
function replay(link, rings = fakeRings()) {
  const clock = new VirtualClock({ auto: false });
  const fed = [];
  const pump = () => {
    for (const f of receive(rings, link, clock.nowUs())) fed.push([f, clock.nowUs()]);
    const next = link.pendingUs();
    if (next !== Infinity) clock.setTimer(next, pump);
  };
  link.attach(rings, (at) => clock.setTimer(at, pump));
  while (clock.step());
  return fed;
}

test('PcapLink feeds frames at the capture’s pace from startUs', () => {
  const path = file('paced.pcap');
  const base = 1_700_000_000_000_000;
  const offsets = [0, 10, 10, 2500, 1_000_000];
  writePcap(path, offsets.map((_, i) => numberedFrame(i)), {}, (i) => base + offsets[i]);
  const link = new PcapLink({ path, startUs: 5000 });
  assert.is(link.pendingUs(), 5000);
  const fed = replay(link);
  assert.equal(fed.map(([f, at]) => [frameNumber(f), at]), offsets.map((o, i) => [i, 5000 + o]));
  assert.ok(link.exhausted);
  assert.equal(link.stats, { rxFrames: 5, rxBytes: 5 * 128, txFrames: 0, txBytes: 0, filtered: 0, 'dropped.truncated': 0, 'dropped.oversize': 0 });
});

test('PcapLink: a timestamp that goes backwards is fed right after its predecessor', () => {
  const offsets = [0, 300, 100, 400];
  const path = file('backwards.pcap');
  writePcap(path, offsets.map((_, i) => numberedFrame(i)), {}, (i) => 1e12 + offsets[i]);
  const fed = replay(new PcapLink({ path }));
  assert.equal(fed.map(([f, at]) => [frameNumber(f), at]), [[0, 0], [1, 300], [2, 300], [3, 400]]);
});

test('PcapLink `to`: only frames addressed to the MAC or IP, through VLAN tags', () => {
  const vlan = (frame, tag) => Uint8Array.from([...frame.subarray(0, 12), 0x81, 0x00, tag >> 8, tag & 0xff, ...frame.subarray(12)]);
  const toB = ethernet(MAC_B, MAC_A, 0x0800, ipv4(IP_A, IP_B, 17, udp(IP_A, IP_B, 1, 2, payload)));
  const toOtherIp = ethernet(MAC_B, MAC_A, 0x0800, ipv4(IP_A, [10, 0, 0, 9], 17, udp(IP_A, [10, 0, 0, 9], 1, 2, payload)));
  const toOtherMac = ethernet([0x02, 0, 0, 0, 0, 0x09], MAC_A, 0x0800, ipv4(IP_A, IP_B, 17, udp(IP_A, IP_B, 1, 2, payload)));
  const arpForB = arp(1, MAC_A, IP_A, [0, 0, 0, 0, 0, 0], IP_B);
  const arpForOther = arp(1, MAC_A, IP_A, [0, 0, 0, 0, 0, 0], [10, 0, 0, 9]);
  const frames = [toB, toOtherIp, toOtherMac, arpForB, arpForOther, vlan(toB, 7), numberedFrame(0)];
  const path = file('filter.pcap');
  writePcap(path, frames);
  const fedTo = (to) => replay(new PcapLink({ path, to })).map(([f]) => frames.findIndex((g) => Buffer.compare(Buffer.from(g), Buffer.from(f)) === 0));
  assert.equal(fedTo({ ip: '10.0.0.2' }), [0, 2, 3, 5]);
  assert.equal(fedTo({ mac: '02:00:00:00:00:02' }), [0, 1, 3, 4, 5, 6]);
  assert.equal(fedTo({ mac: Uint8Array.from(MAC_B), ip: '10.0.0.2' }), [0, 3, 5]);
  const link = new PcapLink({ path, to: { ip: '10.0.0.2' } });
  replay(link);
  assert.is(link.stats.filtered, 3);
});

test('PcapLink drops (and counts) frames cut by snaplen or too large for the RX slots', () => {
  const path = file('cut.pcap');
  writePcap(path, [numberedFrame(0, 100), numberedFrame(1, 1000), numberedFrame(2, 100)], { snaplen: 200 });
  const link = new PcapLink({ path });
  assert.equal(replay(link).map(([f]) => frameNumber(f)), [0, 2]);
  assert.is(link.stats['dropped.truncated'], 1);
  const big = file('big.pcap');
  writePcap(big, [numberedFrame(0, 1514), numberedFrame(1, 600)]);
  const small = new PcapLink({ path: big });
  assert.equal(replay(small, fakeRings({ slotBytes: 1024 })).map(([f]) => frameNumber(f)), [1]);
  assert.is(small.stats['dropped.oversize'], 1);
});

test('PcapLink collects what the stack transmits, with its time; reads a capture from memory', () => {
  const path = file('mem.pcap');
  writePcap(path, [numberedFrame(0)]);
  const link = new PcapLink({ data: readFileSync(path), startUs: 100 });
  const rings = fakeRings();
  link.attach(rings, noWake);
  assert.equal(receive(rings, link, 100).map(frameNumber), [0]);
  send(rings, link, [numberedFrame(5, 60)], 150);
  assert.equal(link.output.map((o) => [frameNumber(o.data), o.tsUs, o.originalLength]), [[5, 150, 60]]);
  assert.is(link.stats.txFrames, 1);
});

test('PcapLink validates its options and the capture’s link type', () => {
  const path = file('raw.pcap');
  writePcap(path, [numberedFrame(0)], { linktype: 101 });
  assert.throws(() => new PcapLink({ path }), (e) => e instanceof PcapFormatError && /link type 101 is not Ethernet/.test(e.message));
  assert.throws(() => new PcapLink({}), (e) => e instanceof TypeError && /give `path`/.test(e.message));
  assert.throws(() => new PcapLink({ path: file('mem.pcap'), to: { ip: '10.0.0.256' } }), (e) => e instanceof RangeError && /to\.ip must be an IPv4 address/.test(e.message));
  assert.throws(() => new PcapLink({ path: file('mem.pcap'), to: { mac: '02:00' } }), (e) => e instanceof RangeError && /to\.mac must be a MAC address/.test(e.message));
  assert.throws(() => new PcapLink({ path: file('mem.pcap'), startUs: -5 }), (e) => e instanceof RangeError && /startUs/.test(e.message));
  assert.throws(() => new PcapLink({ path: file('mem.pcap'), speed: 2 }), (e) => e instanceof TypeError && /unknown option speed/.test(e.message));
});

test('replay through a PcapLink recorded by a Recorder is byte-identical across runs', async () => {
  const input = file('replay-in.pcap');
  writePcap(input, builtFrames);
  const run = async (out) => {
    const link = new Recorder(new PcapLink({ path: input, startUs: 0 }), { path: out });
    const rings = fakeRings();
    const fed = replay(link, rings);
    // An echo "stack": sends back each frame it is fed, at the time it was fed.
    for (const [f, at] of fed) send(rings, link, [f], at);
    await link.close();
    return readFileSync(out);
  };
  const one = await run(file('replay-out-1.pcap'));
  const two = await run(file('replay-out-2.pcap'));
  assert.ok(one.equals(two));
  assert.is(PcapReader.readAll(file('replay-out-1.pcap')).frames.length, builtFrames.length * 2);
});

// ---- tshark ----

function tsharkOrSkip() {
  const probe = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0) return true;
  if (process.env.CI) assert.unreachable('tshark is missing in CI: install it (apt-get install tshark)');
  console.log('skip: tshark is not installed (apt-get install tshark); pcap-read-by-tshark checks not run');
  return false;
}

function tshark(args) {
  const r = spawnSync('tshark', args, { encoding: 'utf8' });
  assert.is(r.status, 0, `tshark ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

test('tshark reads what we write: fields as built, no malformed packet, good checksums', () => {
  if (!tsharkOrSkip()) return;
  const frames = [...builtFrames, ...fixtureFrames('tcp-linux-handshake.hex')];
  for (const resolution of ['us', 'ns']) {
    const path = file(`tshark-${resolution}.pcap`);
    writePcap(path, frames, { resolution }, (i) => 1_700_000_000_000_000 + i * 1500);
    const fields = tshark(['-r', path, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-T', 'fields', '-E', 'separator=,', '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'eth.type',
      '-e', 'arp.opcode', '-e', 'ip.checksum.status', '-e', 'icmp.type', '-e', 'icmp.checksum.status',
      '-e', 'udp.dstport', '-e', 'udp.checksum.status', '-e', 'tcp.flags.str', '-e', 'tcp.options.mss_val']).split('\n');
    assert.equal(fields, [
      '1,1700000000.000000000,0x0806,1,,,,,,,',
      '2,1700000000.001500000,0x0806,2,,,,,,,',
      '3,1700000000.003000000,0x0800,,1,8,1,,,,',
      '4,1700000000.004500000,0x0800,,1,0,1,,,,',
      '5,1700000000.006000000,0x0800,,1,,,40001,1,,',
      '6,1700000000.007500000,0x0800,,1,,,,,··········S·,1460',
      '7,1700000000.009000000,0x0800,,1,,,,,·······A··S·,1460',
      '8,1700000000.010500000,0x0800,,1,,,,,·······A····,',
      '9,1700000000.012000000,0x0800,,1,,,,,·······AP···,',
    ]);
    const bad = tshark(['-r', path, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-Y', '_ws.malformed || _ws.expert.severity == error']);
    assert.is(bad, '', 'no malformed packet, no expert error');
  }
  // The same check sees a damaged checksum: the query above is not blind.
  const damaged = Uint8Array.from(builtFrames[2]);
  damaged[14 + 8] ^= 0x01; // IPv4 TTL
  const path = file('tshark-damaged.pcap');
  writePcap(path, [damaged]);
  assert.is(tshark(['-r', path, '-o', 'ip.check_checksum:TRUE', '-T', 'fields', '-e', 'ip.checksum.status']), '0');
  assert.is(tshark(['-r', path, '-o', 'ip.check_checksum:TRUE', '-Y', '_ws.expert.severity == error', '-T', 'fields', '-e', 'frame.number']), '1');
});

/** Fixture frames with tshark's one-line summary taken when they were captured ("# frame N: ..."). */
function fixtureWithSummaries(name) {
  const lines = readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8').split('\n');
  const summaries = lines.filter((l) => /^# frame \d+: /.test(l)).map((l) => l.replace(/^# frame \d+: /, ''));
  return { frames: fixtureFrames(name), summaries };
}

test('kernel frames carried by a MemoryLink and recorded: tshark decodes them as when captured', async () => {
  if (!tsharkOrSkip()) return;
  // Captured with offloads off (tests/fixtures/README.md): every checksum is final, so all are checked.
  for (const name of ['arp-ping.hex', 'udp.hex', 'icmp-port-unreachable.hex', 'fragment.hex', 'tcp.hex', 'vlan.hex']) {
    const { frames, summaries } = fixtureWithSummaries(name);
    assert.is(summaries.length, frames.length, `${name}: one summary per frame`);
    const path = file(`kernel-${name}.pcap`);
    const [a, b] = MemoryLink.pair({ delay: '100us', seed: 1 });
    const recorded = new Recorder(b, { path, record: 'receive' });
    const ra = fakeRings();
    const rb = fakeRings();
    a.attach(ra, noWake);
    recorded.attach(rb, noWake);
    frames.forEach((f, i) => send(ra, a, [f], i * 1000));
    for (let t = recorded.pendingUs(); t !== Infinity; t = recorded.pendingUs()) receive(rb, recorded, t);
    await recorded.close();
    const checks = ['-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE'];
    const info = tshark(['-r', path, ...checks, '-T', 'fields', '-e', '_ws.col.Info']).split('\n').map((l) => l.trim());
    assert.equal(info, summaries, name);
    const times = tshark(['-r', path, '-T', 'fields', '-e', 'frame.time_epoch']).split('\n');
    assert.equal(times, frames.map((_, i) => ((i * 1000 + 100) / 1e6).toFixed(9)), `${name}: stamped on arrival`);
    assert.is(tshark(['-r', path, ...checks, '-Y', '_ws.malformed || _ws.expert.severity == error']), '', `${name}: no malformed packet, no bad checksum`);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
