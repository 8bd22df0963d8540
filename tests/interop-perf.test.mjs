// `wasm-tcpip perf --link tap` (root; CI runs it): the kernel's TCP sends seeded bytes to a
// sink on the stack across net_tap wtap6. Prints the memory link's JSON fields, `intact` true
// with the seeded stream's SHA-256, exits 0, and the tap is gone afterwards. Failures to
// start are errors naming the fix: the interface taken, not root, options the tap can't use.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { tapOrSkip, tapPlan } from './support/tap.mjs';

const FILE = 'tests/interop-perf.test.mjs';
const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const plan = tapPlan(6);
const TAP_ARGS = ['--tap', plan.iface, '--kernel', `${plan.kernel}/${plan.prefix}`, '--stack', plan.stack];

function perf(args, options = {}) {
  return spawnSync(process.execPath, [CLI, 'perf', ...args], { cwd: ROOT_DIR, encoding: 'utf8', timeout: 120_000, ...options });
}

if (tapOrSkip(FILE, ['ss'])) {
  const { seededSha256 } = await import('../dist/util/seeded-bytes.js');

  test('perf --link tap --bytes 32M --json: the memory link fields, intact, exit 0, tap removed', () => {
    const r = perf(['--link', 'tap', '--bytes', '32M', '--seed', '5', '--json', ...TAP_ARGS]);
    assert.is(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    const memory = JSON.parse(perf(['--link', 'memory', '--bytes', '64K', '--json']).stdout);
    assert.equal(Object.keys(result).sort(), Object.keys(memory).sort());
    assert.is(result.link, 'tap');
    assert.is(result.bytes, 32 * 1024 * 1024);
    assert.is(result.received, result.bytes);
    assert.is(result.sha256, seededSha256(5, result.bytes));
    assert.is(result.intact, true);
    assert.is(result.seed, 5);
    assert.is(result.clock, 'real');
    assert.ok(result.seconds > 0 && result.goodputMbps > 0);
    assert.ok(Number.isSafeInteger(result.retransmits) && result.retransmits >= 0);
    assert.not.ok(existsSync(`/sys/class/net/${plan.iface}`), 'the tap went away with the command');
  });

  test('text output: one line with size, goodput, retransmits and intact', () => {
    const r = perf(['--link', 'tap', '--bytes', '4M', ...TAP_ARGS]);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^tap: 4\.0 MiB of 4\.0 MiB in \d+\.\d{3} s: \d+\.\d Mbit\/s, \d+ retransmits, intact\n$/);
  });

  test('the interface already exists: an error naming the fix, exit 1, the interface left alone', () => {
    execFileSync('ip', ['tuntap', 'add', 'dev', plan.iface, 'mode', 'tap']);
    try {
      const r = perf(['--link', 'tap', '--bytes', '1M', ...TAP_ARGS]);
      assert.is(r.status, 1);
      assert.match(r.stderr, `interface ${plan.iface} already exists (a running demo or perf owns it?): stop that process or pick another name with --tap (ERR_WASM_TCPIP_TAP_IN_USE)`);
      assert.ok(existsSync(`/sys/class/net/${plan.iface}`));
    } finally {
      execFileSync('ip', ['tuntap', 'del', 'dev', plan.iface, 'mode', 'tap']);
    }
  });

  test('options the tap link cannot take are usage errors (exit 2)', () => {
    const impaired = perf(['--link', 'tap', '--impair', 'loss=0.01', ...TAP_ARGS]);
    assert.is(impaired.status, 2);
    assert.match(impaired.stderr, '--impair applies to --link memory only');
    const badKernel = perf(['--link', 'tap', '--kernel', '10.99.6.1', '--stack', plan.stack, '--tap', plan.iface]);
    assert.is(badKernel.status, 2);
    assert.match(badKernel.stderr, "--kernel: '10.99.6.1' is not an IPv4 address with a prefix, like 10.99.0.1/24");
  });

  test('as an unprivileged user: an error saying root is needed, with the alternative', () => {
    const r = perf(['--link', 'tap', '--bytes', '1M', ...TAP_ARGS], { uid: 65534, gid: 65534 });
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, 'needs root (CAP_NET_ADMIN): run it as root, or use --link memory (ERR_WASM_TCPIP_DPDK_PERMISSION)');
  });
}

test.run();
