// Interop with the Linux kernel across net_tap (root; CI runs it), with CUBIC as the stack's
// congestion control: the kernel's `curl` downloads 16 MiB from node:http on a stack created
// with `tcp: { congestion: 'cubic' }` over tap wtap42 (10.99.42.0/24). The body has the
// length and SHA-256 asked for; the stack's counters show the connection ran CUBIC (and no
// NewReno); tshark finds no malformed frame and no bad checksum in a capture of the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-cubic.test.mjs';
const TAP = 42;
const SIZE = 16 * 1024 * 1024;
const SEED = 9;
const HTTP_PORT = 8080;

if (tapOrSkip(FILE, ['curl', 'tcpdump', 'tshark'])) {
  const { createStack } = await import('../dist/index.js');
  const { serveDemoHttp } = await import('../dist/demo/http-app.js');
  const { seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-cubic-'));
  const { plan, link } = await openTap(TAP);
  const stack = await createStack({
    link, address: `${plan.stack}/${plan.prefix}`, seed: 42, poll: 'busy', tcp: { congestion: 'cubic' },
  });
  await serveDemoHttp(stack, HTTP_PORT);

  test.after(async () => {
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('kernel curl downloads 16 MiB from a CUBIC stack: length and sha256 match, CUBIC counted', async () => {
    const pcap = join(dir, 'download.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const headers = join(dir, 'headers');
    const curl = await run('curl', ['-sS', '--max-time', '120', '-D', headers, `http://${plan.stack}:${HTTP_PORT}/bytes/${SIZE}?seed=${SEED}`], { hashStdout: true });
    const waitClosed = Date.now() + 5000;
    while (stack.counters()['tcp.conn.closed'] === 0 && Date.now() < waitClosed) await new Promise((r) => setTimeout(r, 20));
    await capture.stop();
    assert.is(curl.code, 0, curl.err);
    const expected = seededSha256(SEED, SIZE);
    const head = readFileSync(headers, 'utf8');
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head, new RegExp(`\r\ncontent-length: ${SIZE}\r\n`, 'i'));
    assert.is(curl.length, SIZE);
    assert.is(curl.sha, expected);
    const c = stack.counters();
    assert.is(c['tcp.conn.passive_opens'], 1);
    assert.is(c['tcp.cc.cubic.connections'], 1, 'the connection ran CUBIC');
    assert.is(c['tcp.cc.newreno.connections'], 0);
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
    console.log(`note: cubic over net_tap: ${c['tcp.cc.cubic.epochs']} epochs, ${c['tcp.tx.retransmits']} retransmits, ` +
      `${c['tcp.fast_retransmit'] ?? 0} fast retransmits`);
  });
}

test.run();
