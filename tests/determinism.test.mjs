// Determinism (issue 6, item 1): two stacks over an impaired MemoryLink on a virtual clock
// with fixed seeds, thousands of frames with loss, reordering, duplication and
// retransmissions, recorded to pcaps: two runs give byte-identical files (`cmp`).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseReplayConfig } from '../dist/replay/config.js';
import { runSession } from '../dist/replay/session.js';
import { PcapReader } from '../dist/pcap/reader.js';

const tmp = mkdtempSync(join(tmpdir(), 'determinism-'));
const BYTES = 4_000_000;
const server = parseReplayConfig({ address: '10.0.0.1/24', mac: '02:00:00:00:00:01', seed: 101, listen: [{ port: 5001, app: 'echo' }] });
const client = parseReplayConfig({ address: '10.0.0.2/24', mac: '02:00:00:00:00:02', seed: 202, connect: [{ to: '10.0.0.1', port: 5001, atMs: 2, send: BYTES }] });
const link = { seed: 9, loss: 0.02, reorder: 0.02, duplicate: 0.01, delay: '1ms', jitter: '200us' };

async function session(tag) {
  const a = join(tmp, `${tag}.server.pcap`), b = join(tmp, `${tag}.client.pcap`);
  const r = await runSession({ a: server, b: client, link, recordA: { path: a }, recordB: { path: b }, untilUs: 600e6, stopWhenDone: true });
  return { r, a, b };
}

function frames(path) {
  const reader = PcapReader.open(path);
  let n = 0;
  while (reader.next() !== null) n++;
  reader.close();
  return n;
}

test('the same session twice gives byte-identical pcaps', async () => {
  const one = await session('one');
  const two = await session('two');
  // The run is worth comparing: thousands of frames, losses, retransmissions, data intact.
  const serverFrames = frames(one.a);
  assert.ok(serverFrames > 5000, `${serverFrames} frames`);
  const stats = one.r.links[0].stats;
  assert.ok(stats['dropped.loss'] > 0 && stats.duplicated > 0 && stats.reordered > 0, JSON.stringify(stats));
  const retransmits = one.r.a.instance.counters()['tcp.tx.retransmits'] + one.r.b.instance.counters()['tcp.tx.retransmits'];
  assert.ok(retransmits > 0, 'no retransmission happened');
  assert.is(one.r.a.app.stats.bytesReceived, BYTES);
  assert.is(one.r.b.app.stats.bytesReceived, BYTES, 'the echo came back whole');
  assert.is(one.r.a.app.stats.corruptBytes + one.r.b.app.stats.corruptBytes, 0);
  for (const [x, y] of [[one.a, two.a], [one.b, two.b]]) {
    assert.is(statSync(x).size, statSync(y).size);
    const cmp = spawnSync('cmp', [x, y], { encoding: 'utf8' });
    assert.is(cmp.status, 0, `cmp ${x} ${y}: ${cmp.stdout}${cmp.stderr}`);
  }
  assert.is(one.r.endUs, two.r.endUs);
});

test('a different link seed gives a different run (the seed is really used)', async () => {
  const a = join(tmp, 'other.server.pcap');
  await runSession({ a: server, b: client, link: { ...link, seed: 10 }, recordA: { path: a }, untilUs: 600e6, stopWhenDone: true });
  const cmp = spawnSync('cmp', ['-s', a, join(tmp, 'one.server.pcap')]);
  assert.is(cmp.status, 1);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
