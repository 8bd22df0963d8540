// The DPDK shim without privileges: EAL start, ports, queues over net_ring ports (loopback and
// crossed pairs), copying and zero-copy receive, transmit validation, software checksums, and
// the coded errors. Frames must arrive byte for byte; counters are asserted exactly.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { dpdkOrSkip, ringsOf, putTx, takeRx, rxAll } from './support/dpdk.mjs';
import { stackInstance } from './support/wasm-stack.mjs';
import { seededBytes as bytes } from './helpers/seeded.mjs';
import { Desc as DESC } from '../dist/links/link.js';
import { fixture } from './helpers/fixtures.mjs';

const dpdk = dpdkOrSkip('tests/dpdk.test.mjs');
const { startEal, ealArgs, openPort, hugepageStatus, DpdkError } = await import('../dist/dpdk/index.js');
const { DpdkLink } = await import('../dist/links/dpdk.js');

const TX_IP_CSUM = 1 << 1;
const TX_TCP_CSUM = 1 << 2;
const TX_UDP_CSUM = 1 << 3;
const TX_TSO = 1 << 4;

let serial = 0;
/** A configured ring loopback port with a fresh name. */
function loopback(config = {}, ring = {}) {
  const id = dpdk.ringPorts.createLoopback(`lo${serial++}`, ring);
  const { port, configured } = openPort(id, config);
  return { id, port, configured };
}

function frame(len, seed) {
  const f = bytes(len, seed);
  f.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5], 0); // local experimental ethertype
  return f;
}

function codeOf(fn) {
  try {
    fn();
  } catch (e) {
    return e.code;
  }
  return 'no error';
}

/** A line of /proc/self/status (the main thread's, as the thread group leader's). */
function status(key) {
  return readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith(`${key}:`)).split(/\s+/)[1];
}

if (dpdk) {
  const cpusBefore = status('Cpus_allowed_list');
  startEal({ hugepages: false, memoryMb: 512 });

  test('EAL leaves the main thread on every CPU it had, and handles every real-time signal', () => {
    assert.is(status('Cpus_allowed_list'), cpusBefore, 'EAL pins its main thread; the shim restores the affinity');
    const caught = BigInt(`0x${status('SigCgt')}`);
    const realtime = ((1n << 64n) - 1n) ^ ((1n << 33n) - 1n); // signals 34 (SIGRTMIN) .. 64 (SIGRTMAX)
    assert.is((caught & realtime).toString(16), realtime.toString(16), 'net_tap finds no free real-time signal and polls');
  });

  test('EAL starts once: same options are a no-op, other options a coded error', () => {
    const again = startEal({ hugepages: false, memoryMb: 512 });
    assert.is(again.initialisedNow, false);
    assert.is(codeOf(() => startEal({ hugepages: false, memoryMb: 256 })), 'ERR_WASM_TCPIP_DPDK_EAL_STARTED');
    assert.equal(ealArgs({ memoryMb: 512, hugepages: false }), ['wasm-tcpip', '-l', '0', '--no-telemetry', '--no-huge', '-m', '512', '--no-shconf', '--no-pci']);
  });

  test('a vdev is hot-plugged by a later start, and one that fails to probe is an error', () => {
    const r = startEal({ hugepages: false, memoryMb: 512, vdevs: ['net_null7'] });
    assert.ok(r.ports.some((p) => p.name === 'net_null7' && p.driver === 'net_null'));
    let err;
    try {
      dpdk.eal.attachVdev('net_nosuchdriver0');
    } catch (e) {
      err = e;
    }
    assert.is(err.code, 'ERR_WASM_TCPIP_DPDK_PROBE');
    assert.match(err.message, /net_nosuchdriver0.*failed to probe/);
  });

  test('port errors carry codes: no port, too many queues, wrong order', () => {
    assert.is(codeOf(() => new dpdk.Port(200)), 'ERR_WASM_TCPIP_DPDK_NO_PORT');
    assert.is(codeOf(() => openPort('net_ring_nope')), 'ERR_WASM_TCPIP_DPDK_NO_PORT');
    const id = dpdk.ringPorts.createLoopback(`lo${serial++}`, { queues: 2 });
    const port = new dpdk.Port(id);
    assert.is(codeOf(() => port.configure({ queues: 3 })), 'ERR_WASM_TCPIP_DPDK_QUEUES');
    const s = stackInstance();
    assert.is(codeOf(() => new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s))), 'ERR_WASM_TCPIP_DPDK_STATE', 'queue before configure');
    port.configure({ queues: 2 });
    assert.is(codeOf(() => port.start()), 'ERR_WASM_TCPIP_DPDK_STATE', 'start before queues');
    assert.is(port.startIfReady(), false);
    const q0 = new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s));
    const s2 = stackInstance();
    assert.is(codeOf(() => new dpdk.Queue(id, 0, s2.exports.memory.buffer, ringsOf(s2))), 'ERR_WASM_TCPIP_DPDK_STATE', 'queue taken');
    assert.is(codeOf(() => new dpdk.Queue(id, 2, s2.exports.memory.buffer, ringsOf(s2))), 'ERR_WASM_TCPIP_DPDK_QUEUES', 'queue out of range');
    const q1 = new dpdk.Queue(id, 1, s2.exports.memory.buffer, ringsOf(s2));
    assert.is(port.startIfReady(), true);
    assert.is(codeOf(() => port.configure({ queues: 1 })), 'ERR_WASM_TCPIP_DPDK_STATE', 'configure while started');
    assert.is(codeOf(() => port.close()), 'ERR_WASM_TCPIP_DPDK_STATE', 'close with queues attached');
    q0.close();
    q1.close();
    port.close();
    assert.is(codeOf(() => port.stats()), 'ERR_WASM_TCPIP_DPDK_PORT');
  });

  test('loopback, copying: frames come back byte for byte into the RX slots', () => {
    const { id, port } = loopback();
    const s = stackInstance();
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s));
    assert.is(q.zeroCopy, false);
    assert.is(q.zeroCopyReason, 'no zero-copy region was given');
    port.start();
    const frames = [frame(60, 1), frame(1514, 2), frame(64, 3), frame(2048, 4)];
    putTx(s, frames);
    assert.is(q.tx(frames.length), 4);
    const got = rxAll(q, s, 4);
    assert.is(got.length, 4);
    const slots = takeRx(s, 4).map((r) => r.addr);
    got.forEach((g, i) => {
      assert.equal(g.bytes, frames[i], `frame ${i}`);
      assert.is(g.addr, slots[i]);
      assert.is(g.flags, 0);
    });
    const st = q.stats();
    assert.is(st.txFrames, 4);
    assert.is(st.txBytes, 60 + 1514 + 64 + 2048);
    assert.is(st.rxFrames, 4);
    assert.is(st.rxCopied, 4);
    assert.is(st.rxZeroCopy, 0);
    assert.equal(port.stats().rxPackets, 4);
    q.close();
    port.close();
  });

  test('loopback, zero-copy: descriptors point into the lent region, mbufs return after the burst', () => {
    const { id, port } = loopback();
    const s = stackInstance();
    const rings = ringsOf(s);
    const plan = dpdk.Queue.plan(id, rings);
    const region = s.exports.extbufReserve(plan.zeroCopyBytes, plan.zeroCopyAlign);
    assert.is(region % 4096, 0);
    assert.is(s.exports.extbufReserve(4096, 4096), 0, 'one region per instance');
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, rings, { zeroCopyOffset: region, zeroCopyBytes: plan.zeroCopyBytes });
    assert.is(q.zeroCopy, true);
    assert.is(q.zeroCopyReason, null);
    port.start();
    const frames = Array.from({ length: 40 }, (_, i) => frame(60 + i * 37, 100 + i));
    putTx(s, frames);
    assert.is(q.tx(frames.length), 40);
    const got = rxAll(q, s, 40);
    assert.is(got.length, 40);
    got.forEach((g, i) => {
      assert.equal(g.bytes, frames[i], `frame ${i}`);
      assert.ok(g.addr >= region && g.addr + g.bytes.length <= region + plan.zeroCopyBytes, `frame ${i} is in the region`);
    });
    const st = q.stats();
    assert.is(st.rxZeroCopy, 40);
    assert.is(st.rxCopied, 0);
    q.rx();
    assert.is(q.stats().mbufsFree, plan.mbufs, 'every mbuf is back once the next burst began');
    q.close();
    port.close();
  });

  test('zero-copy: a frame rewritten in place over a received one leaves in its own mbuf', () => {
    const { id, port } = loopback();
    const s = stackInstance();
    const rings = ringsOf(s);
    const plan = dpdk.Queue.plan(id, rings);
    const region = s.exports.extbufReserve(plan.zeroCopyBytes, plan.zeroCopyAlign);
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, rings, { zeroCopyOffset: region, zeroCopyBytes: plan.zeroCopyBytes });
    port.start();
    const first = [frame(200, 31), frame(1400, 32)];
    putTx(s, first);
    q.tx(2);
    const got = rxAll(q, s, 2);
    // Reply in place: swap the MACs of frame 0 and shorten it; frame 1 goes out from a TX slot.
    s.refreshViews();
    const at = got[0].addr;
    const reply = got[0].bytes.slice(0, 120);
    reply.set(got[0].bytes.subarray(6, 12), 0);
    reply.set(got[0].bytes.subarray(0, 6), 6);
    s.u8.set(reply, at);
    const other = frame(90, 33);
    putTx(s, [other, other], [{ addr: at, len: 120 }, {}]);
    assert.is(q.tx(2), 2);
    const st = q.stats();
    assert.is(st.txInPlace, 1);
    assert.is(st.txFrames, 4);
    const back = rxAll(q, s, 2);
    assert.equal(back.map((g) => g.bytes), [reply, other]);
    q.rx();
    assert.is(q.stats().mbufsFree, plan.mbufs, 'the in-place mbuf was freed by the port, the other held one by the next burst');
    q.close();
    port.close();
  });

  test('crossed ring pair: each side receives what the other sent; oversize frames are counted', () => {
    const [a, b] = dpdk.ringPorts.createPair(`pa${serial}`, `pb${serial++}`);
    openPort(a);
    openPort(b);
    const sa = stackInstance();
    const sb = stackInstance({ mtu: 1000, rxSlotSize: 1024, txSlotSize: 1024 });
    const qa = new dpdk.Queue(a, 0, sa.exports.memory.buffer, ringsOf(sa));
    const qb = new dpdk.Queue(b, 0, sb.exports.memory.buffer, ringsOf(sb));
    assert.ok(new dpdk.Port(a).startIfReady());
    assert.ok(new dpdk.Port(b).startIfReady());
    const toB = [frame(100, 7), frame(1514, 8), frame(1024, 9)];
    const toA = [frame(900, 10)];
    putTx(sa, toB);
    putTx(sb, toA);
    assert.is(qa.tx(3), 3);
    assert.is(qb.tx(1), 1);
    const atB = rxAll(qb, sb, 2);
    const atA = rxAll(qa, sa, 1);
    assert.equal(atB.map((g) => g.bytes), [toB[0], toB[2]]);
    assert.equal(atA.map((g) => g.bytes), toA);
    assert.is(qb.stats().rxDropOversize, 1, 'the 1514-byte frame does not fit a 1024-byte slot');
    assert.is(qa.rx(), 0, 'nothing echoes back');
  });

  test('transmit drops what a descriptor gets wrong, and counts it', () => {
    const { id, port } = loopback();
    const s = stackInstance();
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s));
    port.start();
    const memBytes = s.exports.memory.buffer.byteLength;
    const good = frame(80, 11);
    putTx(s, [good, good, good, good, good], [
      { len: 0 },
      { len: 13 },
      { len: 4000 },
      { addr: memBytes - 40 },
      {},
    ]);
    assert.is(q.tx(5), 1);
    assert.is(q.stats().txDropBadDescriptor, 4);
    assert.equal(rxAll(q, s, 1).map((g) => g.bytes), [good]);
  });

  test('a stopped port receives nothing and counts what it was asked to send', () => {
    const { id, port } = loopback();
    const s = stackInstance();
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s));
    port.start();
    port.stop();
    const f = frame(100, 41);
    putTx(s, [f, f]);
    assert.is(q.tx(2), 0);
    assert.is(q.rx(), 0);
    assert.is(q.stats().txDropPortStopped, 2);
    port.start();
    assert.is(q.tx(2), 2);
    assert.equal(rxAll(q, s, 2).map((g) => g.bytes), [f, f]);
    q.close();
    port.close();
  });

  test('checksums the port cannot offload are computed in software, byte-exact with Linux', () => {
    const { id, port, configured } = loopback();
    assert.is(configured.offloads, 0, 'net_ring offloads nothing');
    const s = stackInstance();
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s));
    port.start();
    const tcp = fixture('tcp');
    const udp = fixture('udp')[0];
    const syn = tcp[0];
    const data = tcp.find((f) => f.length > 66 + 0 && ((f[14 + 20 + 13] & 0x08) !== 0)); // PSH: the 3-byte segment
    const blank = (f, l4sum) => {
      const c = f.slice();
      c[24] = 0; c[25] = 0;
      c[l4sum] = 0; c[l4sum + 1] = 0;
      return c;
    };
    const sent = [blank(syn, 14 + 20 + 16), blank(data, 14 + 20 + 16), blank(udp, 14 + 20 + 6)];
    const l4 = (f) => (f[14 + 20 + 12] >> 4) * 4;
    putTx(s, sent, [
      { flags: TX_IP_CSUM | TX_TCP_CSUM, l2: 14, l3: 20, l4: l4(syn) },
      { flags: TX_IP_CSUM | TX_TCP_CSUM, l2: 14, l3: 20, l4: l4(data) },
      { flags: TX_IP_CSUM | TX_UDP_CSUM, l2: 14, l3: 20, l4: 8 },
    ]);
    assert.is(q.tx(3), 3);
    const got = rxAll(q, s, 3);
    assert.equal(got.map((g) => g.bytes), [syn, data, udp]);
    const st = q.stats();
    assert.is(st.txSoftwareIpCsum, 3);
    assert.is(st.txSoftwareL4Csum, 3);
  });

  test('offload requests that cannot be honoured are dropped and counted', () => {
    const { id, port } = loopback();
    const s = stackInstance();
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s));
    port.start();
    const syn = fixture('tcp')[0];
    const arp = fixture('arp-ping')[0];
    putTx(s, [syn, arp, syn], [
      { flags: TX_TSO | TX_TCP_CSUM | TX_IP_CSUM, l2: 14, l3: 20, l4: 40, tsoMss: 1460 },
      { flags: TX_IP_CSUM, l2: 14, l3: 20 },
      { flags: TX_TCP_CSUM, l2: 14, l3: 20, l4: 200 },
    ]);
    assert.is(q.tx(3), 0);
    const st = q.stats();
    assert.is(st.txDropTsoUnsupported, 1);
    assert.is(st.txDropBadOffload, 2, 'an ARP frame is not IPv4; a TCP header past the frame');
  });

  test('random descriptors and frames: nothing crashes, every frame is sent or counted', () => {
    const { id, port } = loopback({}, { ringSize: 4096 });
    const s = stackInstance({ txSlots: 64, rxSlots: 256 });
    const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s));
    port.start();
    const memBytes = s.exports.memory.buffer.byteLength;
    let seed = 12345;
    const rnd = (n) => {
      seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
      return seed % n;
    };
    const txDesc = s.exports.txDescBase();
    const slots = Array.from({ length: 64 }, (_, i) => s.dv.getUint32(txDesc + i * DESC.SIZE + DESC.ADDR, true));
    let asked = 0;
    let sent = 0;
    for (let round = 0; round < 300; round++) {
      slots.forEach((a, i) => s.dv.setUint32(txDesc + i * DESC.SIZE + DESC.ADDR, a, true)); // undo last round's bad addresses
      const count = 1 + rnd(64);
      const frames = [];
      const fields = [];
      for (let i = 0; i < count; i++) {
        const len = rnd(8) === 0 ? rnd(5000) : 14 + rnd(1500);
        const f = bytes(Math.min(len, 2048), seed);
        if (rnd(2)) { f[12] = 0x08; f[13] = 0x00; f[14] = 0x40 | (5 + rnd(11)); }
        frames.push(f);
        fields.push({
          len, flags: rnd(32), l2: rnd(40), l3: rnd(80), l4: rnd(80), tsoMss: rnd(9000),
          ...(rnd(16) === 0 ? { addr: rnd(2) ? memBytes - rnd(100) : 0xfffffff0 } : {}),
        });
      }
      putTx(s, frames, fields);
      asked += count;
      sent += q.tx(count);
      while (q.rx() > 0);
    }
    const st = q.stats();
    const dropped = st.txDropBadDescriptor + st.txDropNoMbuf + st.txDropBadOffload + st.txDropTsoUnsupported + st.txDropTsoRefused + st.txDropPrepare + st.txDropQueueFull + st.txDropPortStopped;
    assert.is(st.txFrames, sent);
    assert.is(sent + dropped, asked, 'every frame is sent or counted once');
    assert.ok(sent > 0 && st.txDropBadDescriptor > 0 && st.txDropBadOffload > 0, JSON.stringify(st));
    q.close();
    port.close();
  });

  test('DpdkLink: attach reserves the zero-copy region, starts the port, passes frames both ways', async () => {
    const { id } = loopback({ mtu: 1500 });
    const link = new DpdkLink({ port: id });
    assert.is(link.kind, 'dpdk');
    assert.is(link.polled, true);
    assert.is(link.mtu, 1500);
    assert.is(link.offloads, 0);
    assert.is(link.mac, undefined, 'a ring port has no MAC of its own');
    const s = stackInstance();
    link.attach(ringsOf(s), () => {});
    assert.ok(new dpdk.Port(id).isStarted());
    assert.is(link.stats().zeroCopy, true);
    const f = frame(300, 21);
    putTx(s, [f]);
    link.transmit(1, 0);
    assert.is(link.receive(0), 1);
    assert.equal(takeRx(s, 1)[0].bytes, f);
    assert.is(link.stats().rxZeroCopy, 1);
    await link.close();
    assert.is(new dpdk.Port(id).isStarted(), true, 'a ring port does not DMA: its other queues keep running');
    assert.is(link.receive(0), 0);
  });

  test('DpdkLink.open starts EAL, configures the port, and closes it with the link', async () => {
    const link = DpdkLink.open({ eal: { hugepages: false, memoryMb: 512, vdevs: ['net_ring5'] }, mtu: 1400 });
    assert.is(link.mtu, 1400);
    const s = stackInstance({ mtu: 1400 });
    link.attach(ringsOf(s), () => {});
    assert.is(new dpdk.Port(link.portId).isStarted(), true);
    await link.close();
    assert.is(dpdk.eal.ports().some((p) => p.name === 'net_ring5'), false, 'the port and its device are gone');
  });

  test('DpdkLink without zero-copy says why it copies', async () => {
    const { id } = loopback();
    const link = new DpdkLink({ port: id, zeroCopy: false });
    const s = stackInstance();
    link.attach(ringsOf(s), () => {});
    assert.is(link.stats().zeroCopy, false);
    assert.is(link.stats().zeroCopyReason, 'no zero-copy region was given');
    await link.close();
  });

  test('port information, link status, statistics and RSS are reported', async () => {
    const id = dpdk.ringPorts.createLoopback(`lo${serial++}`, { queues: 2 });
    const { port, configured } = openPort(id, { queues: 2 });
    assert.is(configured.queues, 2);
    assert.is(configured.rss.enabled, false, 'net_ring cannot hash');
    const info = port.info();
    assert.is(info.driver, 'net_ring');
    assert.is(info.maxRxQueues, 2);
    const s0 = stackInstance();
    const s1 = stackInstance();
    const q0 = new dpdk.Queue(id, 0, s0.exports.memory.buffer, ringsOf(s0));
    const q1 = new dpdk.Queue(id, 1, s1.exports.memory.buffer, ringsOf(s1));
    port.start();
    const status = await port.waitForLink(1000);
    assert.is(status.up, true);
    putTx(s1, [frame(100, 1), frame(200, 2)]);
    q1.tx(2);
    assert.is(rxAll(q1, s1, 2).length, 2);
    assert.is(q0.rx(), 0, 'queue 0 has its own ring');
    const st = port.stats();
    assert.is(st.rxPackets, 2);
    assert.is(st.txPackets, 2);
    const x = port.xstats();
    assert.is(x.rx_good_packets, 2);
    assert.is(x.tx_good_packets, 2);
    assert.is(x.rx_q1_packets, 2);
    assert.is(x.rx_q0_packets, 0);
    port.resetStats();
    assert.is(port.stats().rxPackets, 0);
  });

  test('bad arguments are coded errors, never crashes', () => {
    assert.is(codeOf(() => new dpdk.Port('x')), 'ERR_INVALID_ARG_TYPE');
    assert.is(codeOf(() => new dpdk.Port(-1)), 'ERR_WASM_TCPIP_DPDK_NO_PORT');
    const { id } = loopback();
    const s = stackInstance();
    assert.is(codeOf(() => new dpdk.Queue(id, 0, {}, ringsOf(s))), 'ERR_INVALID_ARG_TYPE');
    assert.is(codeOf(() => new dpdk.Queue(id, 0, s.exports.memory.buffer, { ...ringsOf(s), rxDesc: 1 << 31 })), 'ERR_INVALID_ARG_VALUE');
    assert.is(codeOf(() => new dpdk.Queue(id, 0, s.exports.memory.buffer, ringsOf(s), { zeroCopyOffset: 100, zeroCopyBytes: 4096 })), 'ERR_INVALID_ARG_VALUE');
    assert.is(codeOf(() => dpdk.ringPorts.createLoopback('x', { ringSize: 1000 })), 'ERR_INVALID_ARG_VALUE');
  });
}

test('without libdpdk, loading the addon says which package to install', () => {
  const script = "import('./dist/dpdk/addon.js').then((m) => { try { m.loadDpdk(); } catch (e) { console.log(e.code + ' ' + e.message); } })";
  const root = fileURLToPath(new URL('..', import.meta.url));
  const r = spawnSync(process.execPath, ['-e', script], { cwd: root, env: { ...process.env, WASM_TCPIP_NO_DPDK: '1' }, encoding: 'utf8' });
  assert.is(r.stdout.trim(), 'ERR_WASM_TCPIP_NO_DPDK wasm-tcpip: the DPDK link needs libdpdk, which is not installed: install it with `apt-get install libdpdk-dev dpdk pkg-config`, then `npm run build:addon`');
});

test('asking for hugepages when none are usable names the fix', () => {
  const h = hugepageStatus();
  if (h.mounted && h.free > 0) {
    console.log('skip: hugepages are available here, so asking for them cannot fail');
    return;
  }
  let err;
  try {
    ealArgs({ hugepages: true });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof DpdkError);
  assert.is(err.code, 'ERR_WASM_TCPIP_DPDK_NO_HUGEPAGES');
  assert.match(err.message, /nr_hugepages.*mount -t hugetlbfs/);
});

test.run();
