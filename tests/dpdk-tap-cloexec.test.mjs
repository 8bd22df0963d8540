// DPDK's descriptors stay out of child processes (root; CI runs it): a child spawned while a
// stack runs on net_tap (wtap8, two queues, RX interrupts, so EAL init, vdev probe, configure,
// queue setup and port start have all opened theirs) inherits none of them, not even
// /dev/net/tun, which DPDK opens without close-on-exec; closing the stack then removes the tap
// interface at once while that child is still running. Before the shim marked them
// close-on-exec, such a child (a python server a test spawned, curl) kept the tap alive.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';

import { tapOrSkip, tapPlan } from './support/tap.mjs';

const FILE = 'tests/dpdk-tap-cloexec.test.mjs';
const plan = tapPlan(8);

/** Descriptor numbers of process `pid` mapped to what each refers to. */
function descriptors(pid) {
  const out = new Map();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(Number(fd), readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Closed between the listing and the readlink (the listing's own descriptor): not held.
    }
  }
  return out;
}

const isRunning = (child) => child.exitCode === null && child.signalCode === null;

if (tapOrSkip(FILE, ['sleep'])) {
  const { createStack } = await import('../dist/index.js');
  const { DpdkLink } = await import('../dist/links/dpdk.js');
  const { addressKernelSide } = await import('../dist/demo/tap.js');

  test('a child spawned while the stack runs holds no DPDK descriptor, and closing the stack removes the tap while it runs', async () => {
    assert.not.ok(existsSync(`/sys/class/net/${plan.iface}`), `${plan.iface} already exists: another process owns it`);
    // What this process holds before DPDK runs (stdio, whatever its parent passed down): a
    // child may inherit these, and nothing else.
    const before = descriptors('self');
    const link = DpdkLink.open({ eal: { hugepages: false, vdevs: [plan.vdev] }, queues: 2, rxInterrupts: true });
    const second = new DpdkLink({ port: link.portId, queue: 1 });
    addressKernelSide(plan.iface, `${plan.kernel}/${plan.prefix}`);
    const stacks = [
      await createStack({ link, address: `${plan.stack}/${plan.prefix}`, seed: 8 }),
      await createStack({ link: second, address: `${plan.stack}/${plan.prefix}`, seed: 8 }),
    ];
    assert.ok(link.port.isStarted(), 'both queues attached: the port started');
    const ours = [...descriptors('self').values()];
    assert.ok(ours.includes('/dev/net/tun'), 'this process holds net_tap\'s /dev/net/tun descriptors');

    const child = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      await new Promise((resolve, reject) => { child.once('spawn', resolve); child.once('error', reject); });
      // Wait for sleep's exec, so the descriptors listed are those that survived it.
      for (let i = 0; i < 200 && !readlinkSync(`/proc/${child.pid}/exe`).endsWith('/sleep'); i++) {
        await new Promise((r) => setTimeout(r, 5));
      }
      const inherited = [...descriptors(child.pid)].filter(([fd]) => fd > 2);
      const fromDpdk = inherited.filter(([fd, target]) => before.get(fd) !== target);
      assert.equal(fromDpdk, [], 'descriptors the child inherited that were not open before DPDK started');

      for (const s of stacks) await s.close({ timeoutMs: 200 });
      assert.ok(isRunning(child), 'the child still runs');
      assert.not.ok(existsSync(`/sys/class/net/${plan.iface}`), `${plan.iface} is gone once the stack closed`);
    } finally {
      child.kill('SIGKILL');
    }
  });
}

test.run();
