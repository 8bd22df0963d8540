// Interop with the Linux kernel across net_tap (root; CI runs it): the stack is the client.
// A kernel server, Python's `http.server` bound to the kernel side of tap wtap4, serves a
// 64 MiB file; node:http on the stack's socket downloads it (the stack resolves the kernel's
// MAC with ARP, opens the connection, receives, closes). The body is the file, byte for byte;
// tshark finds no malformed frame and no bad checksum in a capture of the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';

import { tapOrSkip, openTap, spawnHelper, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-client.test.mjs';
const TAP = 4;
const SIZE = 64 * 1024 * 1024;
const SEED = 4;
const SERVER_PORT = 8000;

/** Starts `python3 -m http.server` on host:port serving `root`; resolves once it listens. */
async function kernelHttpServer(root, host, port) {
  const child = spawnHelper('python3', ['-u', '-m', 'http.server', String(port), '--bind', host, '--directory', root]);
  let out = '';
  const exited = new Promise((resolve) => child.on('close', resolve));
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { out += d; if (/Serving HTTP on/.test(out)) resolve(); });
    child.stderr.on('data', (d) => { out += d; });
    exited.then((code) => reject(new Error(`python3 -m http.server exited (${code}): ${out.trim()}`)));
  });
  return { stop: async () => { child.kill('SIGTERM'); await exited; } };
}

if (tapOrSkip(FILE, ['python3', 'tcpdump', 'tshark'])) {
  const { createStack } = await import('../dist/index.js');
  const { seededChunks, seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-client-'));
  const { plan, link } = await openTap(TAP);
  const stack = await createStack({ link, address: `${plan.stack}/${plan.prefix}`, seed: 14, poll: 'busy' });
  const served = join(dir, 'served');
  mkdirSync(served);
  await pipeline(Readable.from(seededChunks(SEED, SIZE)), createWriteStream(join(served, 'file.bin')));
  const server = await kernelHttpServer(served, plan.kernel, SERVER_PORT);

  test.after(async () => {
    await server.stop();
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test("the stack's node:http client downloads a 64 MiB file from a kernel http.server, intact", async () => {
    const pcap = join(dir, 'client.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const socketClosed = [];
    const res = await new Promise((resolve, reject) => {
      const req = http.get({
        host: plan.kernel, port: SERVER_PORT, path: '/file.bin',
        createConnection: (o) => {
          const sock = stack.net.connect({ host: o.host, port: o.port });
          socketClosed.push(new Promise((r) => sock.once('close', r)));
          return sock;
        },
      }, resolve);
      req.on('error', reject);
    });
    const hash = createHash('sha256');
    let received = 0;
    res.on('data', (d) => { received += d.length; hash.update(d); });
    await new Promise((resolve, reject) => { res.on('end', resolve); res.on('error', reject); });
    await Promise.all(socketClosed);
    const { dropped } = await capture.stop();
    // The kernel's own address is local to this process: only the stack's socket may carry it.
    assert.is(socketClosed.length, 1, 'one connection, opened by the stack');
    assert.is(res.statusCode, 200);
    assert.is(Number(res.headers['content-length']), SIZE);
    assert.is(received, SIZE);
    assert.is(hash.digest('hex'), seededSha256(SEED, SIZE));
    const c = stack.counters();
    assert.is(c['tcp.conn.active_opens'], 1);
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
    assert.ok(seen.frames - seen.fromStack + dropped >= Math.ceil(SIZE / 1448), `frames from the kernel: ${seen.frames - seen.fromStack}, dropped: ${dropped}`);
  });
}

test.run();
