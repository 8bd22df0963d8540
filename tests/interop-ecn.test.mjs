// Interop with the Linux kernel's ECN (RFC 3168) across net_tap (root; CI runs it), with
// net.ipv4.tcp_ecn=1 in the kernel for the file's duration (the sysctl is global to the
// network namespace: the old value comes back in test.after). The stack runs tcpEcn 1
// (request and accept). This kernel has no marking qdisc on a tap, so CE comes from a seeded
// `impair({ ce, sides: 'receive' })` on the stack's receive side: the kernel's ECT(0) data
// is marked as a router would, after the capture point. A tcpdump capture on wtap44 read by
// tshark shows the handshakes, the ECN field of every segment and the ECE/CWR exchange.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, tapPlan, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-ecn.test.mjs';
const TAP = 44;
const SIZE = 4 * 1024 * 1024;
const SEED = 44;
const CE_RATE = 0.05;
const HTTP_PORT = 8080;
const KERNEL_PORT = 9044;
const TCP_ECN = '/proc/sys/net/ipv4/tcp_ecn';

/** Every TCP segment of a capture: source, flags, IP ECN field, payload length. */
async function segments(pcap) {
  const fields = ['ip.src', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.flags.ece', 'tcp.flags.cwr', 'ip.dsfield.ecn', 'tcp.len', 'tcp.srcport', 'tcp.dstport'];
  const r = await run('tshark', ['-n', '-r', pcap, '-Y', 'tcp', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`tshark -r ${pcap} failed: ${r.err.trim()}`);
  const bit = (v) => v === '1' || v === 'True';
  return r.out.split('\n').filter(Boolean).map((line) => {
    const [src, syn, ack, ece, cwr, ecn, len, sport, dport] = line.split('\t');
    return { src, syn: bit(syn), ack: bit(ack), ece: bit(ece), cwr: bit(cwr), ecn: Number(ecn), len: Number(len), sport: Number(sport), dport: Number(dport) };
  });
}

if (tapOrSkip(FILE, ['curl', 'tcpdump', 'tshark'])) {
  const { createStack, impair } = await import('../dist/index.js');
  const { serveDemoHttp } = await import('../dist/demo/http-app.js');
  const { seededChunks, seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-ecn-'));
  const plan = tapPlan(TAP);
  const oldEcn = readFileSync(TCP_ECN, 'utf8').trim();
  writeFileSync(TCP_ECN, '1');
  const { link } = await openTap(TAP);
  const impaired = impair(link, { ce: CE_RATE, sides: 'receive', seed: TAP });
  const stack = await createStack({ link: impaired, address: `${plan.stack}/${plan.prefix}`, seed: TAP, poll: 'busy', tcp: { ecn: 1 } });
  await serveDemoHttp(stack, HTTP_PORT);

  test.after(async () => {
    writeFileSync(TCP_ECN, oldEcn);
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('kernel curl downloads from the stack: ECN-setup SYN and SYN-ACK, the stack sends its data ECT(0), ACKs Not-ECT', async () => {
    const pcap = join(dir, 'download.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const before = stack.counters()['tcp.ecn.negotiated'];
    const curl = await run('curl', ['-sS', '--max-time', '120', `http://${plan.stack}:${HTTP_PORT}/bytes/${SIZE}?seed=${SEED}`], { hashStdout: true, timeoutMs: 130_000 });
    await new Promise((r) => setTimeout(r, 200));
    await capture.stop();
    assert.is(curl.code, 0, curl.err);
    assert.is(curl.sha, seededSha256(SEED, SIZE));
    assert.is(stack.counters()['tcp.ecn.negotiated'], before + 1);
    const segs = (await segments(pcap)).filter((s) => s.sport === HTTP_PORT || s.dport === HTTP_PORT);
    const fromStack = segs.filter((s) => s.src === plan.stack);
    const fromKernel = segs.filter((s) => s.src === plan.kernel);
    const syn = fromKernel.find((s) => s.syn);
    const synAck = fromStack.find((s) => s.syn);
    assert.equal([syn.ece, syn.cwr, syn.ecn], [true, true, 0], "the kernel's SYN is ECN-setup");
    assert.equal([synAck.ack, synAck.ece, synAck.cwr, synAck.ecn], [true, true, false, 0], "the stack's SYN-ACK is ECN-setup");
    const data = fromStack.filter((s) => !s.syn && s.len > 0);
    assert.ok(data.length > 1000);
    const ect = data.filter((s) => s.ecn === 2).length;
    const retransmits = stack.counters()['tcp.tx.retransmits'];
    assert.ok(ect >= data.length - retransmits, `${ect} of ${data.length} data segments ECT(0) (${retransmits} retransmissions may be Not-ECT)`);
    assert.ok(data.every((s) => s.ecn === 2 || s.ecn === 0), 'never ECT(1) or CE from the stack');
    assert.ok(fromStack.filter((s) => !s.syn && s.len === 0).every((s) => s.ecn === 0), 'pure ACKs are Not-ECT');
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
  });

  test("the stack downloads from a kernel server: ECN-setup SYN (tcpEcn 1); CE on the kernel's data is echoed with ECE and the kernel answers with CWR", async () => {
    const server = createServer((sock) => {
      (async () => {
        for (const chunk of seededChunks(SEED + 1, SIZE)) {
          if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
        }
        sock.end();
      })();
    });
    await new Promise((r) => server.listen(KERNEL_PORT, plan.kernel, r));
    const pcap = join(dir, 'upload.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const c0 = stack.counters();
    const sock = stack.net.connect({ host: plan.kernel, port: KERNEL_PORT });
    const h = createHash('sha256');
    let n = 0;
    sock.on('data', (d) => { h.update(d); n += d.length; });
    await new Promise((resolve, reject) => { sock.on('end', resolve); sock.on('error', reject); });
    await new Promise((r) => setTimeout(r, 200));
    await capture.stop();
    server.close();
    assert.is(n, SIZE);
    assert.is(h.digest('hex'), seededSha256(SEED + 1, SIZE));
    const c = stack.counters();
    assert.is(c['tcp.ecn.negotiated'], c0['tcp.ecn.negotiated'] + 1);
    assert.ok(c['tcp.ecn.ce_received'] > c0['tcp.ecn.ce_received'], 'CE marks reached TCP');
    assert.ok(c['tcp.ecn.cwr_received'] > c0['tcp.ecn.cwr_received'], 'the kernel sent CWR');
    const segs = (await segments(pcap)).filter((s) => s.sport === KERNEL_PORT || s.dport === KERNEL_PORT);
    const fromStack = segs.filter((s) => s.src === plan.stack);
    const fromKernel = segs.filter((s) => s.src === plan.kernel);
    const syn = fromStack.find((s) => s.syn);
    const synAck = fromKernel.find((s) => s.syn);
    assert.equal([syn.ece, syn.cwr, syn.ecn], [true, true, 0], "the stack's SYN is ECN-setup");
    assert.equal([synAck.ece, synAck.cwr], [true, false], "the kernel's SYN-ACK is ECN-setup");
    const kernelData = fromKernel.filter((s) => !s.syn && s.len > 0);
    assert.ok(kernelData.filter((s) => s.ecn === 2).length > kernelData.length / 2, "the kernel's data is ECT(0)");
    const eceAcks = fromStack.filter((s) => !s.syn && s.ece).length;
    const cwrs = fromKernel.filter((s) => s.cwr && !s.syn).length;
    assert.ok(eceAcks > 0, 'the stack echoed CE with ECE');
    assert.ok(cwrs > 0, 'the kernel reduced its window and said so with CWR');
    console.log(`note: ${impaired.stats.receive.ceMarked} of the kernel's frames marked CE on receive; the stack sent ${eceAcks} segments with ECE, the kernel ${cwrs} with CWR`);
  });
}

test.run();
