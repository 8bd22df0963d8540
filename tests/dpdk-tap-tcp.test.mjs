// TCP interop with the Linux kernel across net_tap (root only; CI runs as root): the stack on
// the DPDK side, the kernel's own TCP on the other. Kernel curl downloads 64 MiB from node:http
// running on the stack; kernel socat uploads 64 MiB to a sink on the stack; the stack's client
// downloads from a kernel server; a capture read by tshark shows no malformed frame and no bad
// checksum in what the stack sent. Every transfer is checked by length and SHA-256.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { dpdkOrSkip, rootOrSkip, bytes } from './support/dpdk.mjs';

const dpdk = dpdkOrSkip('tests/dpdk-tap-tcp.test.mjs');
const root = dpdk && rootOrSkip('tests/dpdk-tap-tcp.test.mjs (net_tap)');
const { startEal, openPort } = await import('../dist/dpdk/index.js');
const { DpdkLink } = await import('../dist/links/dpdk.js');
const { createStack } = await import('../dist/index.js');

const tag = (process.pid % 200) + 20;
const IFACE = `wtc${process.pid % 100000}`;
const KERNEL = `10.96.${tag}.1`;
const STACK = `10.96.${tag}.2`;
const MiB = 1 << 20;
const sha = (b) => createHash('sha256').update(b).digest('hex');
const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-tap-'));

/** Runs a command; resolves with its exit code, stdout (as a Buffer) and stderr. */
function run(cmd, args, { stdoutHash = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let length = 0;
    const chunks = [];
    let err = '';
    child.stdout.on('data', (d) => {
      length += d.length;
      if (stdoutHash) hash.update(d);
      else chunks.push(d);
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, length, sha: stdoutHash ? hash.digest('hex') : null, out: Buffer.concat(chunks).toString(), err }));
  });
}

/** Deterministic content of `n` bytes, 1 MiB blocks from `bytes(MiB, seed)` rotated per block. */
const BLOCK = bytes(MiB, 99);
function* blocks(n) {
  for (let sent = 0, i = 0; sent < n; sent += MiB, i++) {
    const b = Buffer.from(BLOCK);
    b.writeUInt32BE(i, 0);
    yield n - sent >= MiB ? b : b.subarray(0, n - sent);
  }
}
function expectedSha(n) {
  const h = createHash('sha256');
  for (const b of blocks(n)) h.update(b);
  return h.digest('hex');
}

let stack;
let port;
let link;

if (root) {
  test.before(async () => {
    startEal({ hugepages: false, vdevs: [`net_tap${tag},iface=${IFACE}`] });
    port = openPort(`net_tap${tag}`).port;
    link = new DpdkLink({ port: port.portId });
    stack = await createStack({ link, address: `${STACK}/24`, seed: 5, poll: 'busy' });
    execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${IFACE}.disable_ipv6=1`]);
    execFileSync('ip', ['addr', 'add', `${KERNEL}/24`, 'dev', IFACE]);
    execFileSync('ip', ['link', 'set', IFACE, 'up']);
    await port.waitForLink(5000);
  });

  test.after(async () => {
    await stack?.close({ timeoutMs: 500 });
    port?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('kernel curl downloads 64 MiB from node:http on the stack, intact', async () => {
    const size = 64 * MiB;
    const server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-length': size, 'x-sha256': expectedSha(size) });
      const it = blocks(size);
      const more = () => {
        for (let r = it.next(); !r.done; r = it.next()) if (!res.write(r.value)) return void res.once('drain', more);
        res.end();
      };
      more();
    });
    const listener = stack.net.createServer((sock) => server.emit('connection', sock));
    await new Promise((r) => listener.listen(8080, r));
    const headers = join(dir, 'headers');
    const r = await run('curl', ['-sS', '--max-time', '120', '-D', headers, `http://${STACK}:8080/bytes`], { stdoutHash: true });
    listener.close();
    assert.is(r.code, 0, r.err);
    assert.is(r.length, size);
    assert.is(r.sha, expectedSha(size));
  });

  test('kernel socat uploads 64 MiB to a sink on the stack: byte count and hash match', async () => {
    const size = 64 * MiB;
    const file = join(dir, 'upload');
    writeFileSync(file, Buffer.concat([...blocks(size)]));
    const hash = createHash('sha256');
    let received = 0;
    const done = new Promise((resolve) => {
      const sink = stack.net.createServer((sock) => {
        sock.on('data', (d) => { received += d.length; hash.update(d); });
        sock.on('end', () => { sock.end(); sink.close(); resolve(); });
      });
      sink.listen(9000);
    });
    const r = await run('socat', ['-u', `FILE:${file}`, `TCP:${STACK}:9000`]);
    await done;
    assert.is(r.code, 0, r.err);
    assert.is(received, size);
    assert.is(hash.digest('hex'), expectedSha(size));
  });

  test("the stack's client downloads 16 MiB from a kernel server, intact", async () => {
    const size = 16 * MiB;
    const kernelServer = net.createServer((sock) => {
      for (const b of blocks(size)) sock.write(b);
      sock.end();
    });
    await new Promise((r) => kernelServer.listen(7070, KERNEL, r));
    const hash = createHash('sha256');
    let received = 0;
    await new Promise((resolve, reject) => {
      const c = stack.net.connect({ host: KERNEL, port: 7070 });
      c.on('data', (d) => { received += d.length; hash.update(d); });
      c.on('end', resolve);
      c.on('error', reject);
    });
    kernelServer.close();
    assert.is(received, size);
    assert.is(hash.digest('hex'), expectedSha(size));
  });

  test('tshark finds no malformed frame and no bad checksum in what the stack sent', async () => {
    const pcap = join(dir, 'capture.pcap');
    const tshark = spawn('tshark', ['-q', '-i', IFACE, '-w', pcap], { stdio: ['ignore', 'ignore', 'pipe'] });
    let ready = '';
    await new Promise((resolve) => tshark.stderr.on('data', (d) => { ready += d; if (/Capturing on/.test(ready)) resolve(); }));
    await new Promise((r) => setTimeout(r, 1000)); // dumpcap reports ready a little before it captures
    const size = MiB;
    const server = http.createServer((req, res) => res.end(Buffer.concat([...blocks(size)])));
    const listener = stack.net.createServer((sock) => server.emit('connection', sock));
    await new Promise((r) => listener.listen(8081, r));
    const curl = await run('curl', ['-sS', '--max-time', '30', `http://${STACK}:8081/`], { stdoutHash: true });
    const ping = await run('ping', ['-c', '3', '-i', '0.05', STACK]);
    listener.close();
    await new Promise((r) => setTimeout(r, 300)); // let tshark write the last frames out
    tshark.kill('SIGINT');
    await new Promise((r) => tshark.on('close', r));
    assert.is(curl.code, 0, curl.err);
    assert.is(curl.sha, expectedSha(size));
    assert.is(ping.code, 0, ping.out);
    const fromStack = `ip.src == ${STACK} || arp.src.proto_ipv4 == ${STACK}`;
    const count = await run('tshark', ['-r', pcap, '-Y', fromStack]);
    const frames = count.out.trim().split('\n').filter(Boolean).length;
    assert.ok(frames > 100, `the capture holds the stack's frames (${frames})`);
    const bad = await run('tshark', [
      '-r', pcap, '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
      '-Y', `(${fromStack}) && (_ws.malformed || ip.checksum.status == "Bad" || tcp.checksum.status == "Bad" || icmp.checksum.status == "Bad")`,
    ]);
    assert.is(bad.code, 0, bad.err);
    assert.is(bad.out.trim(), '', 'no malformed frame, no bad checksum');
  });
}

test.run();
