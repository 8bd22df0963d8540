// EAL on hugepages (root only; CI runs as root): the test reserves and mounts hugepages
// itself when the machine has none, starts EAL with `hugepages: true` (--in-memory), and
// frames cross a ring loopback byte for byte with zero-copy receive. What it changed on the
// machine (page count, mount) is put back when the process ends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

import { dpdkOrSkip, rootOrSkip, ringsOf, putTx, rxAll } from './support/dpdk.mjs';
import { stackInstance } from './support/wasm-stack.mjs';
import { seededBytes as bytes } from './helpers/seeded.mjs';

const dpdk = dpdkOrSkip('tests/dpdk-hugepages.test.mjs');
const root = dpdk && rootOrSkip('tests/dpdk-hugepages.test.mjs (reserving hugepages)');
const { startEal, ealArgs, hugepageStatus, openPort } = await import('../dist/dpdk/index.js');

const NR = '/proc/sys/vm/nr_hugepages';
const PAGES_NEEDED = 256; // 512 MiB of 2 MiB pages

/** Reserves and mounts hugepages if needed; returns how to undo it. */
function ensureHugepages() {
  const before = hugepageStatus();
  const undo = [];
  if (before.free < PAGES_NEEDED) {
    const total = Number(readFileSync(NR, 'utf8'));
    writeFileSync(NR, String(total + PAGES_NEEDED - before.free));
    undo.push(() => writeFileSync(NR, String(total)));
  }
  if (!before.mounted) {
    mkdirSync('/dev/hugepages', { recursive: true });
    execFileSync('mount', ['-t', 'hugetlbfs', 'nodev', '/dev/hugepages']);
    undo.push(() => execFileSync('umount', ['-l', '/dev/hugepages']));
  }
  return () => {
    for (const u of undo.reverse()) {
      try {
        u();
      } catch (e) {
        console.log(`dpdk-hugepages: could not restore the machine: ${e.message}`);
      }
    }
  };
}

if (root) {
  test.before(() => {
    if (dpdk.eal.isStarted()) return;
    process.on('exit', ensureHugepages());
  });

  test('with hugepages mounted and free, EAL runs in memory on them', () => {
    if (dpdk.eal.isStarted()) {
      // Only under a runner that puts several files in one process (npx uvu): EAL starts once.
      console.log('skip: tests/dpdk-hugepages.test.mjs: EAL already runs in this process without hugepages; run the file on its own (scripts/test.mjs does)');
      return;
    }
    const h = hugepageStatus();
    if (h.free < PAGES_NEEDED) {
      // The kernel could not find contiguous memory for them: nothing to test on this machine.
      console.log(`skip: only ${h.free} hugepages could be reserved`);
      return;
    }
    const args = ealArgs({ hugepages: true });
    assert.ok(args.includes('--in-memory') && !args.includes('--no-huge'), args.join(' '));
    const r = startEal({ hugepages: true });
    assert.is(r.initialisedNow, true);
    assert.ok(hugepageStatus().free < h.free, 'EAL took hugepages');
    const id = dpdk.ringPorts.createLoopback('huge');
    const { port } = openPort(id);
    const s = stackInstance();
    const rings = ringsOf(s);
    const plan = dpdk.Queue.plan(id, rings);
    const region = s.exports.extbufReserve(plan.zeroCopyBytes, plan.zeroCopyAlign);
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, rings, { zeroCopyOffset: region, zeroCopyBytes: plan.zeroCopyBytes });
    assert.is(q.zeroCopy, true, q.zeroCopyReason ?? '');
    port.start();
    const frames = [bytes(60, 1), bytes(1514, 2)];
    putTx(s, frames);
    assert.is(q.tx(2), 2);
    assert.equal(rxAll(q, s, 2).map((g) => g.bytes), frames);
    q.close();
    port.close();
  });
}

test.run();
