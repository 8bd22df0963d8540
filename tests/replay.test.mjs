// Golden replays (tests/replay/NAME.{in.pcap,json,out.pcap}): replaying NAME.in.pcap into a
// stack configured by NAME.json must give NAME.out.pcap byte for byte, twice; a difference is
// reported as the first differing frame and field.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readReplayConfig, parseReplayConfig } from '../dist/replay/config.js';
import { runReplay } from '../dist/replay/replay.js';
import { comparePcaps, formatDifference } from '../dist/replay/compare.js';
import { PcapReader } from '../dist/pcap/reader.js';
import { decodeFrame, buildTcp, encodeTcpOptions } from '../dist/testing/frames.js';
import { PcapWriter } from '../dist/pcap/writer.js';
import { runPeerReplay } from '../dist/replay/peer.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'tests/replay');
const tmp = mkdtempSync(join(tmpdir(), 'replay-test-'));
const names = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -'.json'.length)).sort();

test('there are golden replays', () => {
  assert.equal(names, ['closed-port-rst', 'discard-lossy-200k', 'echo-20k']);
});

for (const name of names) {
  test(`golden replay ${name}: identical output, twice`, async () => {
    const config = readReplayConfig(join(dir, `${name}.json`));
    const first = join(tmp, `${name}.1.pcap`);
    const second = join(tmp, `${name}.2.pcap`);
    const r = await runReplay({ input: join(dir, `${name}.in.pcap`), config, out: first });
    assert.ok(r.framesIn > 0 && r.framesOut > 0, `${r.framesIn} in, ${r.framesOut} out`);
    const c = comparePcaps(first, join(dir, `${name}.out.pcap`));
    assert.ok(c.identical, c.difference && formatDifference(c.difference));
    await runReplay({ input: join(dir, `${name}.in.pcap`), config, out: second });
    const cmp = spawnSync('cmp', [first, second], { encoding: 'utf8' });
    assert.is(cmp.status, 0, `cmp: ${cmp.stdout}${cmp.stderr}`);
  });
}

test('the lossy golden has holes that retransmissions fill, and the data arrives whole', async () => {
  const config = readReplayConfig(join(dir, 'discard-lossy-200k.json'));
  const r = await runReplay({ input: join(dir, 'discard-lossy-200k.in.pcap'), config });
  assert.is(r.app.bytesReceived, 200000);
  assert.is(r.app.corruptBytes, 0);
  assert.is(r.app.finished, 1);
  assert.ok(r.counters['tcp.rx.out_of_order'] > 0, 'no segment arrived beyond a hole');
  // A segment below the highest sequence number seen so far came late: a retransmission
  // (or a reordered segment) filling a hole.
  let highest = -1, late = 0;
  const reader = PcapReader.open(join(dir, 'discard-lossy-200k.in.pcap'));
  for (let rec = reader.next(); rec !== null; rec = reader.next()) {
    const f = decodeFrame(rec.data.slice(rec.offset, rec.offset + rec.capturedLength));
    if (!f.tcp || f.tcp.payload.length === 0) continue;
    if (f.tcp.seq < highest) late++;
    highest = Math.max(highest, f.tcp.seq);
  }
  reader.close();
  assert.ok(late > 0, 'no hole was filled');
});

test('a difference is reported with its frame number and field, decoded', async () => {
  const golden = new Uint8Array(readFileSync(join(dir, 'echo-20k.out.pcap')));
  // Frame 4 is the server's SYN-ACK; flip a bit of its TCP sequence number.
  const mutated = golden.slice();
  let off = 24;
  for (let k = 1; k < 4; k++) off += 16 + new DataView(mutated.buffer).getUint32(off + 8, true);
  mutated[off + 16 + 14 + 20 + 7] ^= 0x01;
  const c = comparePcaps(mutated, golden);
  assert.is(c.identical, false);
  assert.is(c.difference.frame, 4);
  assert.is(c.difference.field, 'tcp.seq');
  assert.is(Number(c.difference.actual) ^ Number(c.difference.expected), 1);
  assert.match(formatDifference(c.difference), /^first difference at frame 4: tcp\.seq: expected \d+, actual \d+\n {2}expected frame: 10\.0\.0\.1:7 > 10\.0\.0\.2:\d+ S\. /);
  const shorter = comparePcaps(golden.slice(0, off), golden);
  assert.equal([shorter.difference.frame, shorter.difference.field, shorter.difference.actual], [4, 'frame', '(no frame)']);
});

test('CLI: replay --expect exits 0 when identical and 1 with the difference otherwise', () => {
  const cli = join(root, 'dist/cli/main.js');
  const ok = spawnSync(process.execPath, [cli, 'replay', join(dir, 'echo-20k.in.pcap'), '--config', join(dir, 'echo-20k.json'),
    '--out', join(tmp, 'cli.pcap'), '--expect', join(dir, 'echo-20k.out.pcap')], { encoding: 'utf8' });
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /replay: 19 frames in, 18 frames out \(0 not addressed to the stack\)/);
  assert.match(ok.stdout, /identical to .*echo-20k\.out\.pcap \(37 frames\)/);
  const bad = spawnSync(process.execPath, [cli, 'replay', join(dir, 'echo-20k.in.pcap'), '--config', join(dir, 'closed-port-rst.json'),
    '--out', join(tmp, 'cli2.pcap'), '--expect', join(dir, 'echo-20k.out.pcap')], { encoding: 'utf8' });
  assert.is(bad.status, 1);
  assert.match(bad.stdout, /differs from .*: first difference at frame 4: /);
  const usage = spawnSync(process.execPath, [cli, 'replay', join(dir, 'echo-20k.in.pcap')], { encoding: 'utf8' });
  assert.is(usage.status, 2);
  assert.match(usage.stderr, /--config <stack\.json> is required/);
});

test('stack config errors name the key', () => {
  assert.throws(() => parseReplayConfig({ address: '10.0.0.1', mac: '02:00:00:00:00:01' }), /"address" must be an IPv4 address with a prefix like "10\.0\.0\.2\/24", got "10\.0\.0\.1"/);
  assert.throws(() => parseReplayConfig({ address: '10.0.0.1/24', mac: '02:00:00:00:00:01', listen: [{ port: 7, app: 'chargen' }] }), /"listen\[0\]\.app" must be "echo" or "discard"/);
  assert.throws(() => parseReplayConfig({ address: '10.0.0.1/24', mac: '02:00:00:00:00:01', lisen: [] }), /unknown key "lisen"/);
});

// Peer replay: a real Linux client's upload (tests/replay/peer/, with its provenance) played
// against the stack in the server's place.
const KERNEL_UPLOAD = join(dir, 'peer/kernel-upload-100k.pcap');

/** The capture with each frame passed through `edit` (return null to drop it). */
function editCapture(path, edit) {
  const chunks = [];
  const w = new PcapWriter((c) => chunks.push(c.slice()));
  const r = PcapReader.open(path);
  for (let rec = r.next(), i = 1; rec !== null; rec = r.next(), i++) {
    const out = edit(rec.data.slice(rec.offset, rec.offset + rec.capturedLength), i);
    if (out) w.write(out, 0, out.length, rec.tsUs);
  }
  r.close();
  w.close();
  return Buffer.concat(chunks);
}

test('peer replay: the stack takes the Linux server\'s place and gets the same byte stream', () => {
  const r = runPeerReplay({ capture: KERNEL_UPLOAD });
  assert.equal(r.violations, []);
  assert.is(r.segmentsIn, 76);
  assert.is(r.expectedBytes, 100000);
  assert.is(r.deliveredBytes, 100000);
  assert.is(r.streamIdentical, true);
  assert.is(r.closed, true);
  // Rewritten onto another address and port, the result is the same.
  const moved = runPeerReplay({ capture: KERNEL_UPLOAD, stack: { ip: 0x0a3e0009, port: 9000 } });
  assert.equal([moved.streamIdentical, moved.violations, moved.closed], [true, [], true]);
});

test('peer replay: the stack takes the Linux client\'s place and downloads the same byte stream', () => {
  const r = runPeerReplay({ capture: join(dir, 'peer/kernel-download-100k.pcap'), play: 'acceptor' });
  assert.equal(r.violations, []);
  assert.is(r.expectedBytes, 100000);
  assert.is(r.deliveredBytes, 100000);
  assert.is(r.streamIdentical, true);
  assert.is(r.closed, true);
  // The side the stack would replace sent data: refused, saying why.
  assert.throws(() => runPeerReplay({ capture: join(dir, 'peer/kernel-download-100k.pcap') }),
    /the side the stack replaces sent 100000 bytes in the capture; peer replay supports conversations where it sends none \(play the other side\)/);
});

test('peer replay: a missing segment shows in the stream, a segment the peer would refuse is named', () => {
  // Frame 10 carries client data (bytes 4344..5792): without it the stream has a hole.
  const hole = editCapture(KERNEL_UPLOAD, (f, i) => (i === 10 ? null : f));
  const r = runPeerReplay({ capture: hole });
  assert.is(r.streamIdentical, false);
  assert.is(r.deliveredBytes, 4344);
  // The client's FIN segment advertises a zero window: the stack's FIN is then beyond it.
  const closedWindow = editCapture(KERNEL_UPLOAD, (f) => {
    const d = decodeFrame(f);
    if (!d.tcp || !(d.tcp.flags & 1) || d.ipv4.src !== 0x0a3e0001) return f;
    const seg = buildTcp(d.ipv4.src, d.ipv4.dst, { srcPort: d.tcp.srcPort, dstPort: d.tcp.dstPort, seq: d.tcp.seq, ack: d.tcp.ack,
      flags: d.tcp.flags, win: 0, options: encodeTcpOptions(d.tcp.options), payload: d.tcp.payload });
    const out = f.slice();
    out.set(seg, 14 + d.ipv4.headerLen);
    return out;
  });
  const z = runPeerReplay({ capture: closedWindow });
  assert.is(z.streamIdentical, true);
  assert.equal(z.violations.map((v) => v.replace(/^\d+ µs: /, '')), ['sequence 1+1 beyond the peer\'s window']);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
