// Interop with the Linux kernel across DPDK's net_tap (root only; CI runs as root): the
// kernel side of the tap is addressed, the stack runs on the DPDK side, and the kernel's own
// `ping` must get every reply. The port's checksum offloads are checked against the kernel:
// it marks what it sends as verified, and accepts what the port completed. As a user without
// privileges, the same device fails with ERR_WASM_TCPIP_DPDK_PERMISSION naming the fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { dpdkOrSkip, rootOrSkip, ringsOf, putTx, takeRx } from './support/dpdk.mjs';
import { stackInstance } from './support/wasm-stack.mjs';
import { seededBytes as bytes } from './helpers/seeded.mjs';

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

/**
 * An Ethernet + IPv4 + TCP (ACK) frame from 10.98.t.2:5555 to 10.98.t.1:`dport`, checksums
 * left 0 for the port's offloads to fill; `dst` is the destination MAC (broadcast if omitted).
 */
function tcpFrame({ t, src, dst, dport, seq = 0, payload }) {
  const f = Buffer.alloc(54 + payload.length);
  if (dst) Buffer.from(dst).copy(f, 0);
  else f.fill(0xff, 0, 6);
  Buffer.from(src).copy(f, 6);
  f.writeUInt16BE(0x0800, 12);
  f.set([0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0], 14);
  f.writeUInt16BE(40 + payload.length, 16);
  f.set([10, 98, t, 2, 10, 98, t, 1], 26);
  f.writeUInt16BE(5555, 34);
  f.writeUInt16BE(dport, 36);
  f.writeUInt32BE(seq, 38);
  f.writeUInt16BE(0x5010, 46); // data offset 5, ACK
  f.writeUInt16BE(65535, 48);
  Buffer.from(payload).copy(f, 54);
  return f;
}

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
      "import('./dist/dpdk/index.js').then((m) => { try { m.startEal({ hugepages: false, vdevs: ['net_tap9,iface=wttnobody'] }); console.log('started'); } " +
      "catch (e) { console.log(e.code); console.log(e.message.split('\\n')[0]); } })";
    const r = spawnSync(process.execPath, ['-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)), uid: 65534, gid: 65534, encoding: 'utf8', timeout: 60_000,
    });
    const [code, message] = r.stdout.trim().split('\n');
    assert.is(code, 'ERR_WASM_TCPIP_DPDK_PERMISSION', r.stdout + r.stderr);
    assert.match(message, /net_tap9 needs root \(CAP_NET_ADMIN\).*run as root/);
  });

  test('two queues on net_tap: RSS on with the symmetric key', () => {
    const t = tag + 2;
    startEal({ hugepages: false, vdevs: [`net_tap${t},iface=wtr${process.pid % 100000}`] });
    const { port, configured } = openPort(`net_tap${t}`, { queues: 2 });
    assert.is(configured.queues, 2);
    assert.is(configured.rss.enabled, true);
    assert.equal([...configured.rss.key], Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? 0x6d : 0x5a)));
    assert.ok(configured.rss.hashFunctions !== 0);
    port.close();
  });

  test('RX interrupts on net_tap: an idle queue sleeps without CPU and wakes on traffic', async () => {
    const t = tag + 3;
    const iface = `wti${process.pid % 100000}`;
    startEal({ hugepages: false, vdevs: [`net_tap${t},iface=${iface}`] });
    const { port, configured } = openPort(`net_tap${t}`, { rxInterrupts: true });
    assert.is(configured.rxInterrupts, true);
    const s = stackInstance();
    const q = new dpdk.Queue(port.portId, 0, s.exports.memory.buffer, ringsOf(s));
    assert.is(await q.waitForFrames(10).catch((e) => e.code), 'ERR_WASM_TCPIP_DPDK_STATE', 'not before start');
    port.start();
    const sock = createSocket('udp4');
    try {
      execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
      execFileSync('ip', ['addr', 'add', `10.98.${t}.1/24`, 'dev', iface]);
      execFileSync('ip', ['link', 'set', iface, 'up']);
      execFileSync('ip', ['neigh', 'replace', `10.98.${t}.2`, 'lladdr', '02:00:00:00:00:09', 'dev', iface]);
      while (q.rx() > 0);
      const cpu0 = process.cpuUsage();
      assert.is(await q.waitForFrames(200), false, 'nothing arrives: the wait times out');
      const cpu = process.cpuUsage(cpu0);
      assert.ok(cpu.user + cpu.system < 50_000, `the wait slept (${cpu.user + cpu.system} us of CPU)`);
      const woken = q.waitForFrames(5000);
      sock.send('wake up', 9, `10.98.${t}.2`);
      assert.is(await woken, true, 'a datagram from the kernel wakes it');
      assert.is(q.rx(), 1);
    } finally {
      sock.close();
      q.close();
      port.close();
    }
  });

  test('checksum offloads on net_tap: RX flags say verified, TX checksums completed by the port', async () => {
    const t = tag + 1;
    const iface = `wto${process.pid % 100000}`;
    const kernelIp = `10.98.${t}.1`;
    const dpdkIp = [10, 98, t, 2];
    startEal({ hugepages: false, vdevs: [`net_tap${t},iface=${iface}`] });
    const { port, configured } = openPort(`net_tap${t}`);
    const TX_ALL = 1 | 2 | 4;
    const RX_CSUM = 16;
    assert.is(configured.offloads & (TX_ALL | RX_CSUM), TX_ALL | RX_CSUM, 'net_tap offers IPv4/TCP/UDP checksums both ways');
    const s = stackInstance();
    const q = new dpdk.Queue(port.portId, 0, s.exports.memory.buffer, ringsOf(s));
    port.start();
    const sock = createSocket('udp4');
    try {
      const portMac = port.info().mac;
      execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
      execFileSync('ip', ['addr', 'add', `${kernelIp}/24`, 'dev', iface]);
      execFileSync('ip', ['link', 'set', iface, 'up']);
      execFileSync('ip', ['neigh', 'replace', dpdkIp.join('.'), 'lladdr', [...portMac].map((b) => b.toString(16).padStart(2, '0')).join(':'), 'dev', iface]);
      const kernelMac = Buffer.from(readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().split(':').map((h) => parseInt(h, 16)));
      await new Promise((r) => sock.bind(0, kernelIp, r));
      const kernelPort = sock.address().port;

      // Kernel to DPDK: the frame arrives flagged as verified by the port.
      await new Promise((r) => sock.send('from the kernel', 7777, dpdkIp.join('.'), r));
      let frame;
      for (let i = 0; i < 500 && !frame; i++) {
        const n = q.rx();
        frame = takeRx(s, n).find((f) => f.bytes.length > 42 && f.bytes[23] === 17);
        if (!frame) await new Promise((r) => setTimeout(r, 2));
      }
      assert.ok(frame, 'the datagram reached the DPDK queue');
      assert.is(Buffer.from(frame.bytes.subarray(42)).toString(), 'from the kernel');
      assert.is(frame.flags & 0b1111, 0b0101, 'IP and L4 checksums good, none bad');

      // DPDK to kernel: checksums left blank, the port fills them; the kernel accepts the datagram.
      const payload = Buffer.from('from dpdk, checksummed by the port');
      const f = Buffer.alloc(42 + payload.length);
      kernelMac.copy(f, 0);
      portMac.copy(f, 6);
      f.writeUInt16BE(0x0800, 12);
      f.set([0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0], 14);
      f.writeUInt16BE(28 + payload.length, 16);
      f.set(dpdkIp, 26);
      f.set(kernelIp.split('.').map(Number), 30);
      f.writeUInt16BE(7777, 34);
      f.writeUInt16BE(kernelPort, 36);
      f.writeUInt16BE(8 + payload.length, 38);
      payload.copy(f, 42);
      const got = new Promise((r) => sock.once('message', (m) => r(m)));
      putTx(s, [f], [{ flags: 1 | 2 | 8, l2: 14, l3: 20, l4: 8 }]);
      assert.is(q.tx(1), 1);
      assert.equal(await got, payload);
      const st = q.stats();
      assert.is(st.txSoftwareIpCsum + st.txSoftwareL4Csum, 0, 'the port computed both checksums');
    } finally {
      sock.close();
      q.close();
      port.close();
    }
  });

  test('TSO on net_tap: one 4000-byte TCP segment leaves as four 1000-byte segments with good checksums', async () => {
    const t = tag + 4;
    const iface = `wts${process.pid % 100000}`;
    startEal({ hugepages: false, vdevs: [`net_tap${t},iface=${iface}`] });
    const { port, configured } = openPort(`net_tap${t}`);
    assert.ok((configured.offloads & 8) !== 0, 'net_tap offers TSO');
    const s = stackInstance({ txSlotSize: 8192 });
    const q = new dpdk.Queue(port.portId, 0, s.exports.memory.buffer, ringsOf(s));
    port.start();
    const pcap = join(tmpdir(), `wasm-tcpip-tso-${process.pid}.pcap`);
    let tshark;
    try {
      execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
      execFileSync('ip', ['addr', 'add', `10.98.${t}.1/24`, 'dev', iface]);
      execFileSync('ip', ['link', 'set', iface, 'up']);
      tshark = spawn('tshark', ['-q', '-i', iface, '-w', pcap, '-f', 'tcp port 5555'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let said = '';
      await new Promise((resolve) => tshark.stderr.on('data', (d) => { said += d; if (/Capturing on/.test(said)) resolve(); }));
      await new Promise((r) => setTimeout(r, 1000)); // dumpcap reports ready a little before it captures
      const kernelMac = Buffer.from(readFileSync(`/sys/class/net/${iface}/address`, 'utf8').trim().split(':').map((h) => parseInt(h, 16)));
      const f = tcpFrame({ t, src: port.info().mac, dst: kernelMac, dport: 5556, seq: 1_000_000, payload: bytes(4000, 5) });
      putTx(s, [f], [{ flags: 1 | 2 | 4 | 16, l2: 14, l3: 20, l4: 20, tsoMss: 1000 }]);
      assert.is(q.tx(1), 1);
      await new Promise((r) => setTimeout(r, 500));
      tshark.kill('SIGINT');
      await new Promise((r) => tshark.on('close', r));
      tshark = null;
      const fields = spawnSync('tshark', ['-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
        '-T', 'fields', '-e', 'tcp.seq_raw', '-e', 'tcp.len', '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status',
        '-Y', 'tcp.srcport == 5555'], { encoding: 'utf8' });
      const rows = fields.stdout.trim().split('\n').map((l) => l.split('\t'));
      // checksum.status 1 is "Good" in tshark's fields output.
      assert.equal(rows, [0, 1, 2, 3].map((i) => [String(1_000_000 + i * 1000), '1000', '1', '1']), fields.stdout + fields.stderr);
      assert.is(q.stats().txDropTsoUnsupported + q.stats().txDropBadOffload, 0);
    } finally {
      tshark?.kill('SIGINT');
      rmSync(pcap, { force: true });
      q.close();
      port.close();
    }
  });

  // Regression: TSO frames copied into the zero-copy pool's pinned external buffers crashed
  // the process (SIGSEGV in rte_pktmbuf_free_bulk inside net_tap's software GSO, which attaches
  // indirect mbufs to the frame); the shim now copies TSO frames into ordinary mbufs.
  test('TSO on a zero-copy queue on net_tap: 80 frames of 20000 bytes leave as 1600 segments, no crash', async () => {
    const t = tag + 5;
    const iface = `wtz${process.pid % 100000}`;
    startEal({ hugepages: false, vdevs: [`net_tap${t},iface=${iface}`] });
    const { port } = openPort(`net_tap${t}`);
    const s = stackInstance({ txSlotSize: 65536 + 128 });
    const layout = ringsOf(s);
    const plan = dpdk.Queue.plan(port.portId, layout);
    const zeroCopyOffset = s.exports.extbufReserve(plan.zeroCopyBytes, plan.zeroCopyAlign);
    s.refreshViews();
    const q = new dpdk.Queue(port.portId, 0, s.exports.memory.buffer, layout, { zeroCopyOffset, zeroCopyBytes: plan.zeroCopyBytes });
    port.start();
    try {
      assert.is(q.zeroCopy, true, q.zeroCopyReason);
      execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
      execFileSync('ip', ['addr', 'add', `10.98.${t}.1/24`, 'dev', iface]);
      execFileSync('ip', ['link', 'set', iface, 'up']);
      const f = tcpFrame({ t, src: port.info().mac, dport: 5557, payload: bytes(20000, 6) });
      const before = port.stats();
      for (let round = 0; round < 20; round++) {
        putTx(s, [f, f, f, f], Array(4).fill({ flags: 1 | 2 | 4 | 16, l2: 14, l3: 20, l4: 20, tsoMss: 1000 }));
        assert.is(q.tx(4), 4);
      }
      const after = port.stats();
      assert.is(after.txPackets - before.txPackets, 80 * 20);
      assert.is(after.txErrors - before.txErrors, 0);
      const st = q.stats();
      assert.is(st.txFrames, 80);
      assert.is(st.txDropNoMbuf + st.txDropQueueFull + st.txDropBadOffload, 0);
    } finally {
      q.close();
      port.close();
    }
  });

  // net_tap refuses a TSO frame whose pieces with their headers exceed the MTU and stops the
  // burst there; the shim drops that frame alone, under its own counter, and sends the rest.
  test('a TSO frame net_tap refuses is dropped alone and counted; the rest of the burst leaves', async () => {
    const t = tag + 6;
    const iface = `wtd${process.pid % 100000}`;
    startEal({ hugepages: false, vdevs: [`net_tap${t},iface=${iface}`] });
    const { port } = openPort(`net_tap${t}`);
    const s = stackInstance({ txSlotSize: 8192 });
    const q = new dpdk.Queue(port.portId, 0, s.exports.memory.buffer, ringsOf(s));
    port.start();
    try {
      execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
      execFileSync('ip', ['link', 'set', iface, 'up']);
      const segment = (payloadBytes) => tcpFrame({ t, src: port.info().mac, dport: 5558, payload: bytes(payloadBytes, 7) });
      const plain = { flags: 1 | 2 | 4, l2: 14, l3: 20, l4: 20 };
      // Pieces of 1460: 1460 + 54 header bytes > MTU 1500, which net_tap counts against.
      const tooBig = { flags: 1 | 2 | 4 | 16, l2: 14, l3: 20, l4: 20, tsoMss: 1460 };
      const before = port.stats();
      putTx(s, [segment(100), segment(4380), segment(100)], [plain, tooBig, plain]);
      assert.is(q.tx(3), 2, 'the two ordinary frames leave');
      const st = q.stats();
      assert.is(st.txDropTsoRefused, 1);
      assert.is(st.txDropQueueFull, 0, 'the frame after the refused one was not dropped with it');
      assert.is(port.stats().txPackets - before.txPackets, 2);
    } finally {
      q.close();
      port.close();
    }
  });

  test('the kernel pings the stack across net_tap: 100 of 100 replies', async () => {
    startEal({ hugepages: false, vdevs: [`net_tap${tag},iface=${IFACE}`] });
    const { port, configured } = openPort(`net_tap${tag}`);
    assert.ok(port.info().driver === 'net_tap');
    const link = new DpdkLink({ port: port.portId });
    // The link announces the port's offloads, and for TSO net_tap's limits (a piece and its
    // headers within the MTU: src/links/dpdk.ts TSO_LIMITED_DRIVERS).
    assert.is(link.offloads, configured.offloads);
    if (configured.offloads & 8) assert.equal(link.tsoLimits, { maxWirePacket: port.state().mtu, maxSegments: 32 });
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
