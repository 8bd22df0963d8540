// net_af_packet on one end of a veth pair (root; CI runs it): the port's MAC is the kernel
// interface's own, so DpdkLink offers the stack none (`mac` undefined), `DpdkLink.open` puts
// the interface in promiscuous mode (it would otherwise drop unicast frames for the stack's
// MAC, as a real NIC does), and the kernel on the other end of the pair pings the stack and
// learns, by ARP, the stack's own MAC, not the interface's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

import { dpdkOrSkip, IN_CI, rootOrSkip } from './support/dpdk.mjs';

const FILE = 'tests/dpdk-af-packet.test.mjs';
const IFF_PROMISC = 0x100;
const DPDK_SIDE = `wafp${process.pid % 10000}`;
const KERNEL_SIDE = `wafk${process.pid % 10000}`;
const KERNEL = '10.96.0.1';
const STACK = '10.96.0.2';

const runAsync = (cmd, args) => new Promise((resolve) => {
  execFile(cmd, args, (e, out, err) => resolve({ code: e ? e.code ?? 1 : 0, out: String(out) + String(err) }));
});

/** True when `ip` and `ping` are here; otherwise prints why this file skips (fails under CI). */
function commandsOrSkip() {
  if (spawnSync('sh', ['-c', 'command -v ip && command -v ping'], { stdio: 'ignore' }).status === 0) return true;
  const why = 'needs ip and ping: apt-get install iproute2 iputils-ping';
  if (IN_CI) throw new Error(`${FILE}: CI installs its packages, but it ${why}`);
  console.log(`skip: ${FILE}: ${why}`);
  return false;
}

if (dpdkOrSkip(FILE) && rootOrSkip(FILE) && commandsOrSkip()) {
  const { createStack } = await import('../dist/index.js');
  const { DpdkLink } = await import('../dist/links/dpdk.js');

  execFileSync('ip', ['link', 'add', DPDK_SIDE, 'type', 'veth', 'peer', 'name', KERNEL_SIDE]);
  test.after(() => execFileSync('ip', ['link', 'del', DPDK_SIDE]));
  for (const iface of [DPDK_SIDE, KERNEL_SIDE]) execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
  execFileSync('ip', ['addr', 'add', `${KERNEL}/24`, 'dev', KERNEL_SIDE]);
  execFileSync('ip', ['link', 'set', KERNEL_SIDE, 'up']);
  execFileSync('ip', ['link', 'set', DPDK_SIDE, 'up']);

  test('the stack answers with its own MAC on a promiscuous af_packet port', async () => {
    const link = DpdkLink.open({ eal: { hugepages: false, vdevs: [`net_af_packet0,iface=${DPDK_SIDE}`] } });
    assert.is(link.port.info().driver, 'net_af_packet');
    assert.is(link.mac, undefined, "the port's MAC is the kernel interface's, not the stack's");
    const flags = Number(readFileSync(`/sys/class/net/${DPDK_SIDE}/flags`, 'utf8').trim());
    assert.is(flags & IFF_PROMISC, IFF_PROMISC, 'the interface is promiscuous');
    const stack = await createStack({ link, address: `${STACK}/24`, seed: 96, poll: 'busy' });
    try {
      const own = readFileSync(`/sys/class/net/${DPDK_SIDE}/address`, 'utf8').trim();
      assert.is.not(stack.mac, own);
      const ping = await runAsync('ping', ['-n', '-q', '-c', '3', '-i', '0.05', '-W', '2', STACK]);
      assert.is(ping.code, 0, ping.out);
      assert.match(ping.out, /3 packets transmitted, 3 received, 0% packet loss/);
      const neighbour = execFileSync('ip', ['neigh', 'show', STACK, 'dev', KERNEL_SIDE], { encoding: 'utf8' });
      assert.is(/lladdr ([0-9a-f:]{17})/.exec(neighbour)?.[1], stack.mac, neighbour);
      assert.is(stack.counters()['icmp.tx.echo_reply'], 3);
    } finally {
      await stack.close({ timeoutMs: 200 });
    }
  });
}

test.run();
