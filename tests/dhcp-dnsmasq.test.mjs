// DHCP against a real server across net_tap (root; CI runs it): dnsmasq on the kernel side of
// tap wtap43 leases the stack an address of 10.99.43.50-60; the kernel then pings the stack
// at that address and curls a TCP service on it; the stack renews (unicast, 4 s after binding by
// `dhcp.renewAfterMs`; dnsmasq's shortest lease is 2 minutes) and releases the lease on
// close, which dnsmasq logs and removes from its lease file. tshark reads the capture with
// no malformed packet and no bad checksum, DHCP dissected as DHCP.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, spawnHelper, startCapture } from './support/tap.mjs';

const FILE = 'tests/dhcp-dnsmasq.test.mjs';
const TAP = 43;
const RENEW_AFTER_MS = 4000;

if (tapOrSkip(FILE, ['dnsmasq', 'ping', 'curl', 'tcpdump', 'tshark'])) {
  const { createStack } = await import('../dist/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-dhcp-'));
  const leaseFile = join(dir, 'leases');
  writeFileSync(leaseFile, '');
  const pcap = join(dir, 'dhcp.pcap');
  const { plan, link } = await openTap(TAP);
  const capture = await startCapture(plan.iface, pcap);
  const dnsmasq = spawnHelper('dnsmasq', ['--no-daemon', '--conf-file=/dev/null', '--user=root', '--pid-file=',
    `--interface=${plan.iface}`, '--bind-interfaces', '--dhcp-range=10.99.43.50,10.99.43.60,255.255.255.0,2m',
    `--dhcp-leasefile=${leaseFile}`, '--port=0', '--log-dhcp', `--dhcp-option=option:dns-server,${plan.kernel},10.99.43.3`]);
  let log = '';
  dnsmasq.stdout.on('data', (d) => { log += d; });
  dnsmasq.stderr.on('data', (d) => { log += d; });
  const dnsmasqExited = new Promise((resolve) => dnsmasq.on('close', resolve));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dnsmasq did not start: ${log}`)), 10_000);
    const check = () => { if (/DHCP, IP range/.test(log)) { clearTimeout(timer); resolve(); } else setTimeout(check, 20); };
    check();
  });

  let stack = null;
  let closed = null;
  /** The first renewal: the lease then, and the client's counters at that moment. */
  let firstRenewal = null;

  test.after(async () => {
    if (stack && !closed) await stack.close({ timeoutMs: 500 });
    dnsmasq.kill('SIGTERM');
    await dnsmasqExited;
    rmSync(dir, { recursive: true, force: true });
  });

  test('createStack({ address: "dhcp" }) leases an address of the range with mask, router and DNS', async () => {
    stack = await createStack({ link, address: 'dhcp', seed: 43, poll: 'busy', dhcp: { timeoutMs: 20_000, renewAfterMs: RENEW_AFTER_MS } });
    stack.dhcp.once('renewed', (lease) => { firstRenewal = { lease, counters: stack.dhcp.counters() }; });
    const lease = stack.dhcp.lease();
    const last = Number(lease.address.split('.')[3]);
    assert.ok(lease.address.startsWith('10.99.43.') && last >= 50 && last <= 60, lease.address);
    assert.equal([lease.prefix, lease.gateway, lease.dns, lease.server, lease.leaseSec], [24, plan.kernel, [plan.kernel, '10.99.43.3'], plan.kernel, 120]);
    assert.is(stack.address, lease.address);
    assert.is(stack.prefix, 24);
    assert.is(stack.dhcp.state, 'BOUND');
    assert.match(log, new RegExp(`DHCPACK\\(${plan.iface}\\) ${lease.address.replaceAll('.', '\\.')} ${stack.mac}`));
  });

  test('the kernel pings the leased address and curls a service on it', async () => {
    const ping = await run('ping', ['-n', '-q', '-c', '3', '-i', '0.05', '-W', '2', stack.address], { timeoutMs: 20_000 });
    assert.is(ping.code, 0, ping.out + ping.err);
    const server = stack.net.createServer((socket) => {
      socket.end('HTTP/1.0 200 OK\r\nContent-Length: 16\r\n\r\nleased by dhcp!\n');
    });
    await new Promise((resolve) => server.listen(8043, resolve));
    const curl = await run('curl', ['-sS', '--max-time', '10', `http://${stack.address}:8043/`], { timeoutMs: 20_000 });
    assert.is(curl.code, 0, curl.err);
    assert.is(curl.out, 'leased by dhcp!\n');
    server.close();
  });

  test('the lease is renewed with a unicast REQUEST to dnsmasq', async () => {
    const before = stack.dhcp.lease();
    const deadline = Date.now() + 10_000;
    while (firstRenewal === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const { lease: renewed, counters: c } = firstRenewal;
    assert.is(renewed.address, before.address);
    assert.ok(renewed.obtainedUs > before.obtainedUs);
    assert.equal([c['dhcp.tx.renew'], c['dhcp.renewed'], c['dhcp.rx.ack'], c['dhcp.tx.probe']], [1, 1, 2, 3]);
    const acks = log.match(new RegExp(`DHCPACK\\(${plan.iface}\\) ${before.address.replaceAll('.', '\\.')}`, 'g')) ?? [];
    assert.ok(acks.length >= 2, log);
    assert.match(readFileSync(leaseFile, 'utf8'), before.address);
  });

  test('close() releases the lease: dnsmasq logs DHCPRELEASE and drops it from the lease file', async () => {
    const address = stack.address;
    closed = await stack.close({ timeoutMs: 500 });
    const deadline = Date.now() + 5000;
    while (!/DHCPRELEASE/.test(log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.match(log, new RegExp(`DHCPRELEASE\\(${plan.iface}\\) ${address.replaceAll('.', '\\.')} ${stack.mac}`));
    while (readFileSync(leaseFile, 'utf8').includes(address) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.not.match(readFileSync(leaseFile, 'utf8'), address);
    assert.is(stack.dhcp.counters()['dhcp.tx.release'], 1);
  });

  test('tshark: DISCOVER, OFFER, REQUEST, ACK, renewal REQUEST/ACK pairs, RELEASE; the 3 ARP probes; nothing malformed', async () => {
    await capture.stop();
    const opts = ['-n', '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-r', pcap];
    const types = await run('tshark', [...opts, '-Y', 'dhcp', '-T', 'fields', '-e', 'dhcp.option.dhcp']);
    assert.is(types.code, 0, types.err);
    // 1 Discover, 2 Offer, 3 Request, 5 ACK, 7 Release (RFC 2132 9.6).
    const seen = types.out.trim().split('\n');
    assert.equal(seen.slice(0, 4), ['1', '2', '3', '5']);
    assert.equal(seen.at(-1), '7');
    const renewals = seen.slice(4, -1);
    assert.ok(renewals.length >= 2 && renewals.join(',') === Array(renewals.length / 2).fill('3,5').join(','), seen.join(','));
    const probes = await run('tshark', [...opts, '-Y', `arp.src.proto_ipv4 == 0.0.0.0 && arp.src.hw_mac == ${stack.mac}`]);
    assert.is(probes.out.trim().split('\n').length, 3, probes.out);
    const bad = await run('tshark', [...opts, '-Y', '_ws.malformed || _ws.expert.severity == "Error" || ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad"']);
    assert.is(bad.code, 0, bad.err);
    assert.is(bad.out.trim(), '', 'no malformed frame, no bad checksum');
  });
}

test.run();
