// Whole TCP connections for the congestion-control tests: stack B sends `bytes` seeded bytes
// to a sink on stack A over a MemoryLink pair with `impair`, on a virtual clock, so each run
// repeats exactly. Optionally samples the sender's cwnd (its tcpInfo, read through the
// socket's own handle) every `sampleUs` of simulated time.

import { createHash } from 'node:crypto';
import { createStack, MemoryLink, VirtualClock } from '../../dist/index.js';
import { seededChunks, seededSha256 } from '../../dist/util/seeded-bytes.js';

/**
 * Runs one transfer with `tcp` settings on both stacks (256 KiB buffers unless given).
 * Resolves { intact, simSeconds, goodputMbps, trace ([{ t, cwnd, mss }], empty without
 * `sampleUs`), client and server counters, link (the sending end's stats) }.
 */
export async function virtualTransfer({ tcp = {}, bytes, impair, seed = 7, sampleUs = 0 }) {
  const clock = new VirtualClock();
  const [a, b] = MemoryLink.pair({ seed, ...impair });
  const settings = { sendBuffer: 256 * 1024, recvBuffer: 256 * 1024, ...tcp };
  const server = await createStack({ link: a, address: '10.0.0.1/24', seed, clock, tcp: settings });
  const client = await createStack({ link: b, address: '10.0.0.2/24', seed: seed + 1, clock, tcp: settings });
  const hash = createHash('sha256');
  let received = 0;
  const done = new Promise((resolve, reject) => {
    server.net.createServer((sock) => {
      sock.on('data', (d) => { hash.update(d); received += d.length; });
      sock.on('end', () => { sock.end(); resolve(); });
      sock.on('error', reject);
    }).listen(5201);
  });
  const sock = client.net.connect({ host: '10.0.0.1', port: 5201 });
  sock.resume();
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  const start = clock.nowUs();
  const trace = [];
  let sampling = sampleUs > 0;
  const sample = () => {
    if (!sampling) return;
    const info = sock.ctx.tcp.info(sock.handle);
    if (info) trace.push({ t: clock.nowUs() - start, cwnd: info.cwnd, mss: info.mss });
    clock.setTimer(clock.nowUs() + sampleUs, sample);
  };
  sample();
  for (const chunk of seededChunks(seed, bytes)) {
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  }
  sock.end();
  await done;
  sampling = false;
  const simSeconds = (clock.nowUs() - start) / 1e6;
  const result = {
    intact: received === bytes && hash.digest('hex') === seededSha256(seed, bytes),
    trace, simSeconds, goodputMbps: (received * 8) / simSeconds / 1e6,
    client: client.counters(), server: server.counters(), link: b.stats, // b sends the data
  };
  await Promise.all([client.close({ timeoutMs: 5000 }), server.close({ timeoutMs: 5000 })]);
  return result;
}
