#!/usr/bin/env node
// Throughput between the Linux kernel's TCP and the stack across net_tap (root only): curl
// downloading from node:http on the stack, and a Node child process uploading through a
// kernel socket to a sink on the stack, each checked intact (length and SHA-256), for
// zero-copy and copying receive, and with the port's TSO used or not (net_tap segments in
// software, within its limits: src/links/dpdk.ts).
//
// Usage: node bench/dpdk-tap.mjs [--json] [--mib N]   (default 256 MiB each way)

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { startEal, openPort } from '../dist/dpdk/index.js';
import { DpdkLink } from '../dist/links/dpdk.js';
import { createStack } from '../dist/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const MIB = args.includes('--mib') ? Number(args[args.indexOf('--mib') + 1]) : 256;
const BYTES = MIB * 1024 * 1024;
if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
  console.error('bench/dpdk-tap.mjs: net_tap needs root (CAP_NET_ADMIN): run it as root');
  process.exit(1);
}

const BLOCK = Buffer.alloc(1 << 20);
for (let i = 0; i < BLOCK.length; i++) BLOCK[i] = (i * 2654435761) >>> 24;
const blockSha = (() => {
  const h = createHash('sha256');
  for (let sent = 0; sent < BYTES; sent += BLOCK.length) h.update(BLOCK);
  return h.digest('hex');
})();

function run(cmd, cmdArgs) {
  return new Promise((resolve) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let length = 0;
    let err = '';
    child.stdout.on('data', (d) => { length += d.length; hash.update(d); });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code) => resolve({ code, length, sha: hash.digest('hex'), err }));
  });
}

async function measure(zeroCopy, tso, n) {
  const iface = `wtbench${n}`;
  startEal({ vdevs: [`net_tap${80 + n},iface=${iface}`] });
  const { port } = openPort(`net_tap${80 + n}`);
  const link = new DpdkLink({ port: port.portId, zeroCopy });
  const stack = await createStack({ link, address: `10.53.${n}.2/24`, seed: 1, poll: 'busy', tso, tcp: { sendBuffer: 4 << 20, recvBuffer: 4 << 20 } });
  execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`]);
  execFileSync('ip', ['addr', 'add', `10.53.${n}.1/24`, 'dev', iface]);
  execFileSync('ip', ['link', 'set', iface, 'up']);
  await port.waitForLink(5000);

  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': BYTES });
    let sent = 0;
    const more = () => {
      while (sent < BYTES) {
        sent += BLOCK.length;
        if (!res.write(BLOCK)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  });
  const listener = stack.net.createServer((sock) => server.emit('connection', sock));
  await new Promise((r) => listener.listen(8080, r));
  let t0 = process.hrtime.bigint();
  const down = await run('curl', ['-sS', `http://10.53.${n}.2:8080/`]);
  const downS = Number(process.hrtime.bigint() - t0) / 1e9;

  const hash = createHash('sha256');
  let received = 0;
  const sinkDone = new Promise((resolve) => {
    const sink = stack.net.createServer((sock) => {
      sock.on('data', (d) => { received += d.length; hash.update(d); });
      sock.on('end', () => { sock.end(); sink.close(); resolve(); });
    });
    sink.listen(9000);
  });
  const feeder = `import net from 'node:net'; const b = Buffer.alloc(1 << 20); for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
    const s = net.connect(9000, '10.53.${n}.2', () => { let n = 0; const more = () => { while (n < ${BYTES}) { n += b.length; if (!s.write(b)) return void s.once('drain', more); } s.end(); }; more(); });`;
  t0 = process.hrtime.bigint();
  const up = run(process.execPath, ['--input-type=module', '-e', feeder]);
  await sinkDone;
  const upS = Number(process.hrtime.bigint() - t0) / 1e9;
  await up;
  const st = link.stats();
  const c = stack.counters();
  listener.close();
  await stack.close({ timeoutMs: 1000 });
  port.close();
  return {
    receive: st.zeroCopy ? 'zero-copy' : 'copy',
    tso: { frames: c['tcp.tx.tso_frames'] ?? 0, segments: c['tcp.tx.tso_segments'] ?? 0, refused: st.txDropTsoRefused },
    download: { bytes: down.length, seconds: +downS.toFixed(3), gbitPerS: +((down.length * 8) / downS / 1e9).toFixed(2), intact: down.length === BYTES && down.sha === blockSha },
    upload: { bytes: received, seconds: +upS.toFixed(3), gbitPerS: +((received * 8) / upS / 1e9).toFixed(2), intact: received === BYTES && hash.digest('hex') === blockSha },
  };
}

const results = [await measure(true, true, 0), await measure(true, false, 1), await measure(false, true, 2)];
if (json) {
  console.log(JSON.stringify({ bench: 'dpdk-tap', mib: MIB, results }, null, 2));
} else {
  for (const r of results) {
    const tso = r.tso.frames ? `TSO ${r.tso.frames} frames/${r.tso.segments} segments` : 'no TSO';
    console.log(`rx ${r.receive.padEnd(9)}  ${tso.padEnd(31)}  kernel download ${r.download.gbitPerS} Gbit/s (intact: ${r.download.intact})  kernel upload ${r.upload.gbitPerS} Gbit/s (intact: ${r.upload.intact})  ${MIB} MiB each`);
  }
}
