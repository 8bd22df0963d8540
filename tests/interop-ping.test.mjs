// Interop with the Linux kernel across net_tap (root; CI runs it): the kernel's own `ping`
// sends 100 echo requests, 10 ms apart, to the stack on the DPDK side of tap wtap1. Every
// one is answered (no loss), the stack counts exactly the requests it answered, and tshark
// finds no malformed frame and no bad checksum in a capture of the run. The kernel learns, by
// ARP, a MAC for the stack that is not its own interface's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-ping.test.mjs';
const TAP = 1;
const PINGS = 100;

if (tapOrSkip(FILE, ['ping', 'tcpdump', 'tshark'])) {
  const { createStack } = await import('../dist/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-ping-'));
  const { plan, link } = await openTap(TAP);
  const stack = await createStack({ link, address: `${plan.stack}/${plan.prefix}`, seed: 11, poll: 'busy' });

  test.after(async () => {
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test(`kernel ping: ${PINGS} echo requests, ${PINGS} replies, no loss; the capture is clean`, async () => {
    const pcap = join(dir, 'ping.pcap');
    const capture = await startCapture(plan.iface, pcap);
    // -W 2: a lost reply ends the wait after 2 s, so a broken stack fails fast, not slowly.
    const ping = await run('ping', ['-n', '-q', '-c', String(PINGS), '-i', '0.01', '-W', '2', '-s', '1000', plan.stack], { timeoutMs: 60_000 });
    const dropped = (await capture.stop()).dropped;
    assert.is(ping.code, 0, ping.out + ping.err);
    assert.match(ping.out, new RegExp(`${PINGS} packets transmitted, ${PINGS} received, 0% packet loss`));
    const c = stack.counters();
    assert.is(c['deliver.icmp.echo_request'], PINGS);
    assert.is(c['icmp.tx.echo_reply'], PINGS);
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
    // Requests and replies (an ARP exchange on top) are all there, but for what tcpdump dropped.
    assert.ok(seen.frames + dropped >= 2 * PINGS, `frames captured: ${seen.frames}, dropped by the kernel: ${dropped}`);
    assert.ok(seen.fromStack + dropped >= PINGS, `frames from the stack: ${seen.fromStack}`);
  });

  // net_tap gives its port the MAC of the kernel's tap interface, so a stack announcing the
  // port's MAC would share one address with the kernel on one Ethernet link (Linux tolerates it
  // on a lone tap; a bridge with the tap as a port drops the stack's frames, its own address as
  // source). DpdkLink leaves `mac` undefined on such ports and the stack derives its own.
  test("the kernel's neighbour entry for the stack is not its own interface's MAC", async () => {
    const ping = await run('ping', ['-n', '-q', '-c', '1', '-W', '2', plan.stack], { timeoutMs: 10_000 });
    assert.is(ping.code, 0, ping.out);
    const neighbour = await run('ip', ['neigh', 'show', plan.stack, 'dev', plan.iface]);
    const learned = /lladdr ([0-9a-f:]{17})/.exec(neighbour.out)?.[1];
    assert.is(learned, stack.mac, neighbour.out);
    const own = readFileSync(`/sys/class/net/${plan.iface}/address`, 'utf8').trim();
    assert.is.not(stack.mac, own, `the stack's MAC ${stack.mac} is the kernel interface's own`);
  });
}

test.run();
