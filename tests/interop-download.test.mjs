// Interop with the Linux kernel across net_tap (root; CI runs it): the kernel's `curl`
// downloads 64 MiB from node:http running on the stack (the demo service, GET /bytes/N?seed=S)
// over tap wtap2. The body has the length asked for and the SHA-256 of the seeded stream,
// which is also the x-sha256 header; the connection closes with a FIN both ways; tshark finds no malformed frame and no bad checksum in a
// capture of the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-download.test.mjs';
const TAP = 2;
const SIZE = 64 * 1024 * 1024;
const SEED = 7;
const HTTP_PORT = 8080;

if (tapOrSkip(FILE, ['curl', 'tcpdump', 'tshark'])) {
  const { createStack } = await import('../dist/index.js');
  const { serveDemoHttp } = await import('../dist/demo/http-app.js');
  const { seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-download-'));
  const { plan, link } = await openTap(TAP);
  const stack = await createStack({ link, address: `${plan.stack}/${plan.prefix}`, seed: 12, poll: 'busy' });
  await serveDemoHttp(stack, HTTP_PORT);

  test.after(async () => {
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('kernel curl downloads 64 MiB from node:http on the stack: length and sha256 match', async () => {
    const pcap = join(dir, 'download.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const headers = join(dir, 'headers');
    const curl = await run('curl', ['-sS', '--max-time', '120', '-D', headers, `http://${plan.stack}:${HTTP_PORT}/bytes/${SIZE}?seed=${SEED}`], { hashStdout: true });
    // curl closes first; the stack's connection reaches CLOSED (LAST-ACK acknowledged) before
    // the capture stops, so the whole FIN handshake is in it.
    const waitClosed = Date.now() + 5000;
    while (stack.counters()['tcp.conn.closed'] === 0 && Date.now() < waitClosed) await new Promise((r) => setTimeout(r, 20));
    const { dropped } = await capture.stop();
    assert.is(curl.code, 0, curl.err);
    const expected = seededSha256(SEED, SIZE);
    const head = readFileSync(headers, 'utf8');
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, new RegExp(`\r\ncontent-length: ${SIZE}\r\n`, 'i'));
    assert.match(head, new RegExp(`\r\nx-sha256: ${expected}\r\n`, 'i'));
    assert.is(curl.length, SIZE);
    assert.is(curl.sha, expected);
    assert.is(stack.counters()['tcp.conn.passive_opens'], 1);
    assert.ok(stack.counters()['tcp.conn.closed'] >= 1, 'the connection closed with a FIN both ways');
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
    // 64 MiB in segments of at most 1460 bytes: at least 45,965 frames from the stack (the
    // capture is on the kernel side, after the port cut the TSO frames into segments).
    assert.ok(seen.fromStack + dropped >= Math.ceil(SIZE / 1460), `frames from the stack: ${seen.fromStack}, dropped by the kernel: ${dropped}`);
    // The port has TSO (net_tap, within its limits): the stack handed it multi-segment frames.
    const c = stack.counters();
    if (link.tsoLimits) {
      assert.ok(c['tcp.tx.tso_frames'] > 0, 'TSO frames were sent');
      assert.ok(c['tcp.tx.tso_segments'] >= 2 * c['tcp.tx.tso_frames'], 'each stands for two or more segments');
      console.log(`note: TSO: ${c['tcp.tx.tso_frames']} frames for ${c['tcp.tx.tso_segments']} segments`);
    }
  });

  // A connection the host still holds when it reaches CLOSED is freed later by tcpClose:
  // counted once, at CLOSED.
  test('tcp.conn.closed counts the one connection once', () => {
    const c = stack.counters();
    assert.is(c['tcp.conn.passive_opens'], 1);
    assert.is(c['tcp.conn.closed'], 1);
  });
}

test.run();
