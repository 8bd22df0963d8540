// Interop with the Linux kernel across net_tap (root; CI runs it): the kernel's `socat`
// uploads a 64 MiB file over its own TCP to a sink on the stack (tap wtap3). The sink counts
// and hashes what arrives: the byte count and SHA-256 are the file's, the connection closes
// with a FIN both ways, and tshark finds no malformed frame and no bad checksum in a capture.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

import { tapOrSkip, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-upload.test.mjs';
const TAP = 3;
const SIZE = 64 * 1024 * 1024;
const SEED = 3;
const SINK_PORT = 9000;

if (tapOrSkip(FILE, ['socat', 'tcpdump', 'tshark'])) {
  const { createStack } = await import('../dist/index.js');
  const { seededChunks, seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-upload-'));
  const { plan, link } = await openTap(TAP);
  const stack = await createStack({ link, address: `${plan.stack}/${plan.prefix}`, seed: 13, poll: 'busy' });

  test.after(async () => {
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('kernel socat uploads 64 MiB to a sink on the stack: byte count and sha256 match', async () => {
    const upload = join(dir, 'upload');
    await pipeline(Readable.from(seededChunks(SEED, SIZE)), createWriteStream(upload));
    const hash = createHash('sha256');
    let received = 0;
    let ended = false;
    const sink = stack.net.createServer((sock) => {
      sock.on('data', (d) => { received += d.length; hash.update(d); });
      sock.on('end', () => { ended = true; sock.end(); });
    });
    await new Promise((resolve) => sink.listen(SINK_PORT, resolve));
    const closed = new Promise((resolve) => sink.on('connection', (sock) => sock.on('close', resolve)));
    const pcap = join(dir, 'upload.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const socat = await run('socat', ['-u', `OPEN:${upload},rdonly`, `TCP4:${plan.stack}:${SINK_PORT}`]);
    await closed;
    const { dropped } = await capture.stop();
    sink.close();
    assert.is(socat.code, 0, socat.err);
    assert.ok(ended, 'the sink saw the kernel FIN');
    assert.is(received, SIZE);
    assert.is(hash.digest('hex'), seededSha256(SEED, SIZE));
    const c = stack.counters();
    assert.is(c['tcp.conn.passive_opens'], 1);
    assert.is(c['tcp.tx.retransmits'], 0, 'the receiving side had nothing to retransmit');
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
    // 64 MiB in segments of at most 1448 payload bytes (timestamps on) from the kernel.
    assert.ok(seen.frames - seen.fromStack + dropped >= Math.ceil(SIZE / 1448), `frames from the kernel: ${seen.frames - seen.fromStack}, dropped: ${dropped}`);
  });
}

test.run();
