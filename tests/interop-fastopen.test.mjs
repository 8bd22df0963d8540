// Interop with the Linux kernel's TCP Fast Open (RFC 7413) across net_tap (root; CI runs it).
// (a) The kernel's `curl --tcp-fastopen` asks a server on the stack (createServer with
// `fastOpen`, stack `tcp: { fastOpen: true }`) twice. The first connection's SYN carries a
// cookie request and the stack's SYN-ACK a cookie; the second SYN carries that cookie and the
// HTTP request, which the server's application reads before the handshake completes (the
// child is accepted with the data readable).
// (b) The stack's `net.connect({ fastOpen: true })` talks twice to a kernel server (python3,
// socket option TCP_FASTOPEN): the first SYN asks for a cookie, the kernel's SYN-ACK gives
// one, the second SYN carries it with the request and the kernel acknowledges the data in its
// SYN-ACK. Captures on tap wtap45 show the SYNs' options and payloads; the counters agree.
// net.ipv4.tcp_fastopen is set to 3 (client and server) for the run and restored after (it is
// global to the network namespace).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-fastopen.test.mjs';
const TAP = 45;
const HTTP_PORT = 8080;
const KERNEL_PORT = 9090;

/**
 * A TCP Fast Open server in the kernel (qlen 16) on `addr`:KERNEL_PORT answering each
 * connection with 'ok:' + what it read; prints 'ready' once listening.
 */
const KERNEL_SERVER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_FASTOPEN, 16)
s.bind((sys.argv[1], ${KERNEL_PORT}))
s.listen(16)
print('ready', flush=True)
while True:
    c, _ = s.accept()
    data = c.recv(4096)
    c.sendall(b'ok:' + data)
    c.close()
`;

/** SYN segments of a capture: [{ fromStack, ack, len, fo, cookie, seq, ackNo }]. */
async function synsOf(pcap, stackAddr) {
  const fields = ['ip.src', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.len', 'tcp.option_kind', 'tcp.options.tfo.cookie', 'tcp.seq_raw', 'tcp.ack_raw'];
  const r = await run('tshark', ['-n', '-r', pcap, '-Y', 'tcp.flags.syn == 1', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
    ...fields.flatMap((f) => ['-e', f])]);
  if (r.code !== 0) throw new Error(`tshark -r ${pcap} failed: ${r.err.trim()}`);
  return r.out.split('\n').filter(Boolean).map((line) => {
    const [src, , ack, len, kinds, cookie, seq, ackNo] = line.split('\t');
    return { fromStack: src === stackAddr, ack: ack === '1' || ack === 'True', len: Number(len), fo: (kinds ?? '').split(',').includes('34'), cookie: cookie ?? '', seq: Number(seq), ackNo: Number(ackNo) };
  });
}
const SYSCTL = '/proc/sys/net/ipv4/tcp_fastopen';

if (tapOrSkip(FILE, ['curl', 'tcpdump', 'tshark'])) {
  const { createStack } = await import('../dist/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-fastopen-'));
  const sysctlBefore = readFileSync(SYSCTL, 'utf8').trim();
  writeFileSync(SYSCTL, '3');
  const { plan, link } = await openTap(TAP);
  // A cookie the kernel cached for this address in an earlier run (another key) would turn
  // the first connection into a bad-cookie case: forget it.
  await run('ip', ['tcp_metrics', 'delete', plan.stack]);
  const stack = await createStack({ link, address: `${plan.stack}/${plan.prefix}`, seed: 45, poll: 'busy', tcp: { fastOpen: true } });

  /** The request each accepted connection received. */
  const accepted = [];
  const server = stack.net.createServer({ fastOpen: { queue: 16 } }, (socket) => {
    const entry = { request: '' };
    accepted.push(entry);
    socket.on('data', (chunk) => {
      entry.request += chunk.toString('latin1');
      if (entry.request.includes('\r\n\r\n')) socket.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n');
    });
    socket.on('error', () => {});
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(HTTP_PORT, resolve); });

  test.after(async () => {
    writeFileSync(SYSCTL, sysctlBefore);
    server.close();
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('kernel curl --tcp-fastopen: cookie requested then used; the second request rides in the SYN', async () => {
    const pcap = join(dir, 'fastopen.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const url = `http://${plan.stack}:${HTTP_PORT}/`;
    const first = await run('curl', ['-sS', '--max-time', '20', '--tcp-fastopen', url]);
    const second = await run('curl', ['-sS', '--max-time', '20', '--tcp-fastopen', url]);
    const waitClosed = Date.now() + 5000;
    while (stack.counters()['tcp.conn.closed'] < 2 && Date.now() < waitClosed) await new Promise((r) => setTimeout(r, 20));
    await capture.stop();
    assert.is(first.code, 0, first.err);
    assert.is(first.out, 'ok\n');
    assert.is(second.code, 0, second.err);
    assert.is(second.out, 'ok\n');

    const c = stack.counters();
    assert.is(c['tcp.tfo.cookie_requests'], 1);
    assert.is(c['tcp.tfo.cookies_sent'], 1);
    assert.is(c['tcp.tfo.accepted_syn_data'], 1);
    assert.is(c['tcp.tfo.bad_cookie'], 0);
    // Both requests reached the application, the second from the SYN's data.
    assert.is(accepted.length, 2);
    assert.match(accepted[0].request, /^GET \/ HTTP\/1\.1\r\n/);
    assert.match(accepted[1].request, /^GET \/ HTTP\/1\.1\r\n/);

    // The capture: SYNs from the kernel and SYN-ACKs from the stack, with the Fast Open option.
    const syns = await synsOf(pcap, plan.stack);
    assert.is(syns.length, 4, JSON.stringify(syns));
    const [syn1, synAck1, syn2, synAck2] = syns;
    // 1: the kernel asks for a cookie (empty option, no data); the stack's SYN-ACK gives one.
    assert.equal([syn1.fromStack, syn1.fo, syn1.cookie, syn1.len], [false, true, '', 0]);
    assert.equal([synAck1.fromStack, synAck1.ack, synAck1.fo], [true, true, true]);
    assert.is(synAck1.cookie.replace(/:/g, '').length, 16);
    // 2: the kernel sends that cookie with the request as SYN data; the SYN-ACK acknowledges it all.
    assert.equal([syn2.fromStack, syn2.fo, syn2.cookie], [false, true, synAck1.cookie]);
    assert.ok(syn2.len > 0, 'the request is in the SYN');
    assert.equal([synAck2.fromStack, synAck2.fo], [true, false]);
    assert.is(synAck2.ackNo, (syn2.seq + 1 + syn2.len) >>> 0);
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
  });

  test('stack connect({ fastOpen: true }) to a kernel Fast Open server: the second request rides in the SYN and is acknowledged', async () => {
    const py = spawn('setpriv', ['--pdeathsig', 'TERM', 'python3', '-c', KERNEL_SERVER, plan.kernel], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const lines = createInterface({ input: py.stdout })[Symbol.asyncIterator]();
      const first = await lines.next();
      assert.is(first.value, 'ready');
      const pcap = join(dir, 'fastopen-client.pcap');
      const capture = await startCapture(plan.iface, pcap);
      const before = stack.counters();
      const ask = (request) => new Promise((resolve, reject) => {
        const sock = stack.net.connect({ host: plan.kernel, port: KERNEL_PORT, fastOpen: true });
        sock.write(request);
        const chunks = [];
        sock.on('data', (d) => chunks.push(d));
        sock.on('end', () => resolve(Buffer.concat(chunks).toString()));
        sock.on('error', reject);
      });
      assert.is(await ask('first'), 'ok:first');
      assert.is(await ask('second'), 'ok:second');
      await new Promise((r) => setTimeout(r, 200)); // the last ACKs into the capture
      await capture.stop();
      const c = stack.counters();
      const delta = (name) => c[name] - (before[name] ?? 0);
      assert.is(delta('tcp.tfo.client_cookie_requests'), 1);
      assert.is(delta('tcp.tfo.client_cookies_cached'), 1);
      assert.is(delta('tcp.tfo.client_syn_data'), 1);
      assert.is(delta('tcp.tfo.client_syn_data_acked'), 1);
      assert.is(delta('tcp.tfo.fallbacks'), 0);

      const syns = await synsOf(pcap, plan.stack);
      assert.is(syns.length, 4, JSON.stringify(syns));
      const [syn1, synAck1, syn2, synAck2] = syns;
      assert.equal([syn1.fromStack, syn1.fo, syn1.cookie, syn1.len], [true, true, '', 0]);
      assert.equal([synAck1.fromStack, synAck1.ack, synAck1.fo], [false, true, true]);
      assert.ok(synAck1.cookie.length > 0, 'the kernel gave a cookie');
      assert.equal([syn2.fromStack, syn2.fo, syn2.cookie, syn2.len], [true, true, synAck1.cookie, 'second'.length]);
      assert.is(synAck2.fromStack, false);
      assert.is(synAck2.ackNo, (syn2.seq + 1 + syn2.len) >>> 0, 'the kernel acknowledged the SYN data');
      const seen = await checkCapture(pcap, plan.stack);
      assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
      notedNegativeZero(seen);
    } finally {
      py.kill('SIGTERM');
    }
  });
}

test.run();
