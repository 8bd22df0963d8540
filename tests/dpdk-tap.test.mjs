// Interop with the Linux kernel across DPDK's net_tap (root only; CI runs as root): the
// kernel side of the tap is addressed, the stack runs on the DPDK side, and the kernel's own
// `ping` must get every reply. Also, as a user without privileges, the same device fails with
// ERR_WASM_TCPIP_DPDK_PERMISSION naming the fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import { dpdkOrSkip, rootOrSkip } from './support/dpdk.mjs';

const dpdk = dpdkOrSkip('tests/dpdk-tap.test.mjs');
const root = dpdk && rootOrSkip('tests/dpdk-tap.test.mjs (net_tap)');
const { startEal, openPort } = await import('../dist/dpdk/index.js');
const { DpdkLink } = await import('../dist/links/dpdk.js');
const { createStack } = await import('../dist/index.js');

// Unique per process, so parallel test files and a running demo never collide.
const tag = process.pid % 200 + 20;
const IFACE = `wtt${process.pid % 100000}`;
const KERNEL = `10.98.${tag}.1`;
const STACK = `10.98.${tag}.2`;

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('close', (code) => resolve({ code, out }));
  });
}

if (root) {
  test('as an unprivileged user, net_tap fails with a permission error naming the fix', () => {
    const script =
      "import('./dist/dpdk/index.js').then((m) => { try { m.startEal({ vdevs: ['net_tap9,iface=wttnobody'] }); console.log('started'); } " +
      "catch (e) { console.log(e.code); console.log(e.message.split('\\n')[0]); } })";
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)), uid: 65534, gid: 65534, encoding: 'utf8', timeout: 60_000,
    });
    const [code, message] = r.stdout.trim().split('\n');
    assert.is(code, 'ERR_WASM_TCPIP_DPDK_PERMISSION', r.stdout + r.stderr);
    assert.match(message, /net_tap9 needs root \(CAP_NET_ADMIN\).*run as root/);
  });

  test('the kernel pings the stack across net_tap: 100 of 100 replies', async () => {
    startEal({ vdevs: [`net_tap${tag},iface=${IFACE}`] });
    const { port, configured } = openPort(`net_tap${tag}`);
    assert.ok(port.info().driver === 'net_tap');
    const link = new DpdkLink({ port: port.portId });
    assert.is(link.offloads, configured.offloads);
    const stack = await createStack({ link, address: `${STACK}/24`, seed: 3 });
    try {
      execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${IFACE}.disable_ipv6=1`]);
      execFileSync('ip', ['addr', 'add', `${KERNEL}/24`, 'dev', IFACE]);
      execFileSync('ip', ['link', 'set', IFACE, 'up']);
      const status = await port.waitForLink(5000);
      assert.is(status.up, true);
      const ping = await run('ping', ['-c', '100', '-i', '0.01', '-W', '2', '-I', IFACE, STACK]);
      assert.match(ping.out, /100 packets transmitted, 100 received, 0% packet loss/, ping.out);
      const c = stack.instance.counters();
      assert.is(c['icmp.tx.echo_reply'], 100);
      assert.is(link.stats().txDropBadOffload + link.stats().txDropQueueFull, 0);
    } finally {
      await stack.close({ timeoutMs: 100 });
      port.close();
    }
  });
}

test.run();
