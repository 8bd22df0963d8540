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
import { decodeFrame } from '../dist/pktdrill/wire.js';

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

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
