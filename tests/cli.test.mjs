// The command line: help, perf (JSON fields, exit codes), demo in memory mode, usage errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { seededChunks, seededSha256 } from '../dist/util/seeded-bytes.js';
import { parseSize, formatBytes } from '../dist/util/units.js';

const cli = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const run = (...args) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

test('--help lists every command with a one-line description', () => {
  const r = run('--help');
  assert.is(r.status, 0);
  for (const name of ['demo', 'perf', 'replay', 'pktdrill']) {
    assert.match(r.stdout, new RegExp(`^  ${name}\\s+\\S.+$`, 'm'), `${name} is listed with a description`);
  }
  const bare = run();
  assert.is(bare.status, 2, 'no command is a usage error');
  assert.match(bare.stdout, /Usage: wasm-tcpip <command>/);
});

test('an unknown command and a bad option exit 2 and say what is wrong', () => {
  const r = run('frobnicate');
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  const p = run('perf', '--bytes', 'lots');
  assert.is(p.status, 2);
  assert.match(p.stderr, /--bytes: 'lots' is not a size/);
  const i = run('perf', '--impair', 'loss=2');
  assert.is(i.status, 2);
  assert.match(i.stderr, /loss/);
});

test('perf --json prints one object with the documented fields and exits 0 when intact', () => {
  const r = run('perf', '--link', 'memory', '--bytes', '2M', '--impair', 'loss=0.02,reorder=0.02,dup=0.01,delay=1ms', '--seed', '3', '--json');
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 1, 'exactly one line of output');
  const j = JSON.parse(lines[0]);
  for (const k of ['bytes', 'seconds', 'goodputMbps', 'retransmits', 'intact']) assert.ok(k in j, `has ${k}`);
  assert.is(j.bytes, 2 * 1024 * 1024);
  assert.is(j.received, j.bytes);
  assert.is(j.intact, true);
  assert.is(j.sha256, seededSha256(3, j.bytes), 'the sink saw exactly the seeded stream');
  assert.is(j.clock, 'virtual', 'an impaired link runs on simulated time by default');
  assert.ok(j.retransmits > 0, 'losses were repaired by retransmission');
});

test('perf on the same seed and impairment repeats exactly on the virtual clock', () => {
  const args = ['perf', '--bytes', '1M', '--impair', 'loss=0.05,delay=1ms', '--seed', '9', '--json'];
  const a = JSON.parse(run(...args).stdout);
  const b = JSON.parse(run(...args).stdout);
  assert.is(a.simSeconds, b.simSeconds);
  assert.is(a.retransmits, b.retransmits);
});

test('demo --memory serves /bytes/N with a matching x-sha256 and closes cleanly', () => {
  const r = run('demo', '--memory', '--requests', '2', '--bytes', '200000');
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /GET \/bytes\/200000\?seed=1: 200, .* sha256 matches x-sha256/);
  assert.match(r.stdout, /GET \/bytes\/200000\?seed=2: 200, .* sha256 matches x-sha256/);
  assert.match(r.stdout, /2 intact, 0 failed/);
});

test('seeded bytes do not depend on chunking, and sizes parse as binary units', () => {
  const whole = Buffer.concat([...seededChunks(11, 100_003)]);
  const small = Buffer.concat([...seededChunks(11, 100_003, 4)]);
  assert.ok(whole.equals(small));
  assert.is(whole.length, 100_003);
  assert.is.not(seededSha256(11, 64), seededSha256(12, 64));
  assert.is(parseSize('64M'), 64 * 1024 * 1024);
  assert.is(parseSize('1G'), 1024 ** 3);
  assert.is(parseSize('1500'), 1500);
  assert.is(parseSize('64KiB'), 65536);
  assert.throws(() => parseSize('1.5M'), /not a size/);
  assert.is(formatBytes(1536), '1.5 KiB');
});

test.run();
