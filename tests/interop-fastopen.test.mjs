// Interop with the Linux kernel's TCP Fast Open client (RFC 7413) across net_tap (root; CI
// runs it): the kernel's `curl --tcp-fastopen` asks a server on the stack (createServer with
// `fastOpen`, stack `tcp: { fastOpen: true }`) twice. The first connection's SYN carries a
// cookie request and the stack's SYN-ACK a cookie; the second SYN carries that cookie and the
// HTTP request, which the server's application reads before the handshake completes (the
// child is accepted with the data readable). A capture on tap wtap45 shows both SYNs' options
// and payloads; the stack's counters agree. net.ipv4.tcp_fastopen is set to 3 (client and
// server) for the run and restored after (it is global to the network namespace).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-fastopen.test.mjs';
const TAP = 45;
const HTTP_PORT = 8080;
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
    const fields = ['ip.src', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.len', 'tcp.option_kind', 'tcp.options.tfo.cookie', 'tcp.seq_raw', 'tcp.ack_raw'];
    const r = await run('tshark', ['-n', '-r', pcap, '-Y', 'tcp.flags.syn == 1', '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,',
      ...fields.flatMap((f) => ['-e', f])]);
    assert.is(r.code, 0, r.err);
    const syns = r.out.split('\n').filter(Boolean).map((line) => {
      const [src, , ack, len, kinds, cookie, seq, ackNo] = line.split('\t');
      return { fromStack: src === plan.stack, ack: ack === '1' || ack === 'True', len: Number(len), fo: (kinds ?? '').split(',').includes('34'), cookie: cookie ?? '', seq: Number(seq), ackNo: Number(ackNo) };
    });
    assert.is(syns.length, 4, r.out);
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
}

test.run();
