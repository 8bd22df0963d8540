// net_pcap: a capture replayed through the real DPDK RX/TX path, without privileges. Frames
// read from the file must reach the stack's RX descriptors byte for byte (copying and zero-
// copy), frames transmitted must land in the output capture byte for byte, and a stack on
// that path answers the kernel's ARP request and ping from the fixtures.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { dpdkOrSkip, ringsOf, putTx, rxAll } from './support/dpdk.mjs';
import { stackInstance } from './support/wasm-stack.mjs';
import { fixture } from './helpers/fixtures.mjs';

const dpdk = dpdkOrSkip('tests/dpdk-pcap.test.mjs');
const { startEal, openPort } = await import('../dist/dpdk/index.js');
const { DpdkLink } = await import('../dist/links/dpdk.js');
const { PcapWriter } = await import('../dist/pcap/writer.js');
const { PcapReader } = await import('../dist/pcap/reader.js');
const { createStack } = await import('../dist/index.js');

const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-pcap-'));
const NAMES = ['arp-ping', 'udp', 'icmp-port-unreachable', 'fragment', 'tcp', 'vlan', 'tcp-linux-handshake'];
const ALL = NAMES.flatMap((n) => fixture(n));

function writeCapture(path, frames) {
  const w = PcapWriter.open(path);
  frames.forEach((f, i) => w.write(f, 0, f.length, 1_000_000 + i));
  w.close();
}

let serial = 0;
/** A net_pcap port replaying `frames`, recording to the returned output path. */
function pcapPort(frames) {
  const n = serial++;
  const input = join(dir, `in${n}.pcap`);
  const output = join(dir, `out${n}.pcap`);
  writeCapture(input, frames);
  const id = dpdk.eal.attachVdev(`net_pcap_t${n},rx_pcap=${input},tx_pcap=${output}`);
  return { id, output, ...openPort(id) };
}

if (dpdk) {
  startEal({ hugepages: false });

  for (const zeroCopy of [false, true]) {
    test(`replay: every fixture frame arrives byte for byte (${zeroCopy ? 'zero-copy' : 'copying'}), and leaves into the output capture`, () => {
      const { id, port, output } = pcapPort(ALL);
      const s = stackInstance();
      const rings = ringsOf(s);
      let options = {};
      if (zeroCopy) {
        const plan = dpdk.Queue.plan(id, rings);
        options = { zeroCopyOffset: s.exports.extbufReserve(plan.zeroCopyBytes, plan.zeroCopyAlign), zeroCopyBytes: plan.zeroCopyBytes };
      }
      const q = new dpdk.Queue(id, 0, s.exports.memory.buffer, rings, options);
      assert.is(q.zeroCopy, zeroCopy, q.zeroCopyReason ?? '');
      port.start();
      const got = rxAll(q, s, ALL.length);
      assert.is(got.length, ALL.length);
      got.forEach((g, i) => assert.equal(g.bytes, ALL[i], `frame ${i}`));
      assert.is(q.stats()[zeroCopy ? 'rxZeroCopy' : 'rxCopied'], ALL.length);
      // Send them back out, a burst at a time (TX slots hold one ring's worth).
      const slots = rings.txSlots;
      for (let at = 0; at < ALL.length; at += slots) {
        const chunk = ALL.slice(at, at + slots);
        putTx(s, chunk);
        assert.is(q.tx(chunk.length), chunk.length);
      }
      q.close();
      port.close();
      const written = PcapReader.readAll(output).frames.map((f) => f.data);
      assert.is(written.length, ALL.length);
      written.forEach((w, i) => assert.equal(w, ALL[i], `output frame ${i}`));
    });
  }

  test('a stack on net_pcap answers the recorded ARP request and ping', async () => {
    const [arpRequest, , echoRequest] = fixture('arp-ping');
    const { id, output } = pcapPort([arpRequest, echoRequest]);
    const link = new DpdkLink({ port: id });
    const stack = await createStack({ link, address: '10.61.0.2/24', mac: '02:00:00:00:0a:02', seed: 1 });
    for (let i = 0; i < 200 && link.stats().rxFrames < 2; i++) await new Promise((r) => setTimeout(r, 5));
    await stack.close({ timeoutMs: 100 });
    new dpdk.Port(id).close();
    const out = PcapReader.readAll(output).frames.map((f) => Buffer.from(f.data));
    assert.is(link.stats().rxFrames, 2);
    const arp = out.find((f) => f.readUInt16BE(12) === 0x0806);
    const icmp = out.find((f) => f.readUInt16BE(12) === 0x0800 && f[23] === 1);
    assert.ok(arp, 'an ARP frame went out');
    assert.is(arp.readUInt16BE(20), 2, 'ARP reply');
    assert.is(arp.subarray(28, 32).join('.'), '10.61.0.2', 'sender is the stack');
    assert.is(arp.subarray(0, 6).toString('hex'), '020000000a01', 'to the asker');
    assert.ok(icmp, 'an ICMP frame went out');
    assert.is(icmp[34], 0, 'echo reply');
    assert.equal(icmp.subarray(38, 42), Buffer.from(echoRequest.subarray(38, 42)), 'same identifier and sequence');
    assert.equal(icmp.subarray(42), Buffer.from(echoRequest.subarray(42)), 'same payload');
  });

  test.after(() => rmSync(dir, { recursive: true, force: true }));
}

test.run();
