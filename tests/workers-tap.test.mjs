// Workers against the Linux kernel across a two-queue net_tap (root only; CI runs as root):
// net_tap does no RSS, the kernel's tun queue selection spreads flows, so frames of a flow land
// on either worker whatever the stacks' RSS says. Kernel clients open 32 concurrent connections
// to the workers' echo: every one completes intact, and the frames that landed on the worker
// that does not own their flow were handed to the owner (counted both ways, none lost).
// Main-thread connections through the bridge to a kernel server: each opened by one worker,
// replies arriving on the other queue are handed back to it; all complete intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { dpdkOrSkip, rootOrSkip } from './support/dpdk.mjs';
import { seededBytes as bytes } from './helpers/seeded.mjs';
import { exchange } from './helpers/sockets.mjs';

const dpdk = dpdkOrSkip('tests/workers-tap.test.mjs');
const root = dpdk && rootOrSkip('tests/workers-tap.test.mjs (net_tap)');

const tag = (process.pid % 200) + 20;
const IFACE = `wwk${process.pid % 100000}`;
const KERNEL = `10.95.${tag}.1`;
const STACK = `10.95.${tag}.2`;
const sha = (b) => createHash('sha256').update(b).digest('hex');

/** Counters once every frame handed out was received (some may be on their way). */
async function settledCounters(workers) {
  for (let i = 0; i < 200; i++) {
    const c = await workers.counters();
    if (c.total['handoff.out'] === c.total['handoff.in']) return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  return workers.counters();
}

if (root) {
  const { startEal, openPort } = await import('../dist/dpdk/index.js');
  const { createStack } = await import('../dist/index.js');
  let workers;
  let port;

  test.before(async () => {
    startEal({ hugepages: false, vdevs: [`net_tap${tag},iface=${IFACE}`] });
    port = openPort(`net_tap${tag}`, { queues: 2 }).port;
    workers = await createStack({
      workers: 2, app: new URL('./workers-app.mjs', import.meta.url), link: { dpdk: { port: port.portId } },
      address: `${STACK}/24`, seed: 4, poll: 'busy',
    });
    execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${IFACE}.disable_ipv6=1`]);
    execFileSync('ip', ['addr', 'add', `${KERNEL}/24`, 'dev', IFACE]);
    execFileSync('ip', ['link', 'set', IFACE, 'up']);
    await port.waitForLink(5000);
  });

  test.after(async () => {
    await workers?.close({ timeoutMs: 1000 });
    port?.close();
  });

  test('32 concurrent kernel connections over two queues: all intact, strays handed to their owner', async () => {
    const data = Array.from({ length: 32 }, (_, i) => bytes(128 * 1024 + i, i + 1));
    const got = await Promise.all(data.map((d) => exchange(net.connect({ host: STACK, port: 7 }), d)));
    got.forEach((g, i) => assert.is(sha(g), sha(data[i]), `connection ${i}`));
    const { total, workers: per } = await settledCounters(workers);
    assert.is(total['tcp.conn.passive_opens'], 32);
    assert.is(total['handoff.in'], total['handoff.out']);
    assert.is(total['handoff.ring_full'], 0);
    assert.is(total['drop.tcp.no_connection'], 0, 'no segment met a worker without its connection');
    console.log(`  hand-offs: ${total['handoff.out']}; connections per worker: ${per.map((c) => c['tcp.conn.passive_opens']).join(' / ')}`);
  });

  test('main-thread connections to a kernel server, each through one worker: all intact', async () => {
    const server = net.createServer((s) => s.pipe(s));
    await new Promise((r) => server.listen(7007, KERNEL, r));
    const data = Array.from({ length: 8 }, (_, i) => bytes(256 * 1024 + i, 100 + i));
    const got = await Promise.all(data.map((d) => exchange(workers.net.connect({ host: KERNEL, port: 7007 }), d)));
    got.forEach((g, i) => assert.is(sha(g), sha(data[i]), `connection ${i}`));
    const { total } = await settledCounters(workers);
    assert.is(total['tcp.conn.active_opens'], 8);
    assert.is(total['handoff.in'], total['handoff.out']);
    server.close();
  });
}

test.run();
