#!/usr/bin/env node
// What the main-thread bridge costs: round-trip latency and throughput of a TCP echo/sink
// served beside the stack in a worker (direct) and served by main-thread code through the
// bridge (bridged), with a peer stack on the other side of a SharedMemoryLink. The added
// round trip crosses the thread boundary twice (worker -> main, main -> worker): the figure
// per hop is half of it. The added figures are differences of quantiles of two runs, not
// quantiles of a difference: with other load on the machine the p99 one is noise (it can
// even come out negative); the p50 one is the steady cost.
//
// Usage: node bench/bridge.mjs [--json] [--rounds N] [--mib M]
//   N: 64-byte ping-pongs per case (default 5000, after 500 to warm up)
//   M: MiB sent one way for throughput (default 64)
//
// This file is also the application module of its workers (its default export runs there:
// echo on port 7, sink on port 9); the measuring part runs on the main thread only.

import { isMainThread } from 'node:worker_threads';
import { once } from 'node:events';

/** Runs in the worker, beside its stack. */
export default function start({ stack }) {
  const echo = stack.net.createServer({ noDelay: true }, (s) => { s.setNoDelay(true); s.pipe(s); });
  const sink = stack.net.createServer((s) => { s.resume(); s.on('end', () => s.end()); });
  return Promise.all([new Promise((r) => echo.listen(7, r)), new Promise((r) => sink.listen(9, r))]);
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Ping-pong of 64 bytes on one connection; returns round-trip times in µs. */
async function pingPong(socket, rounds, warmup) {
  socket.setNoDelay?.(true);
  const message = Buffer.alloc(64, 0x61);
  const times = [];
  let waiting = null;
  let got = 0;
  socket.on('data', (d) => {
    got += d.length;
    if (got >= 64 && waiting) { got -= 64; const w = waiting; waiting = null; w(); }
  });
  for (let i = 0; i < warmup + rounds; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((resolve) => { waiting = resolve; socket.write(message); });
    if (i >= warmup) times.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
  socket.end();
  return times.sort((a, b) => a - b);
}

/** Sends `bytes` on a new connection and waits until the sink ended; returns MB/s. */
async function throughput(connect, bytes) {
  const socket = connect();
  await once(socket, 'connect');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const t0 = process.hrtime.bigint();
  let sent = 0;
  while (sent < bytes) {
    const n = Math.min(chunk.length, bytes - sent);
    sent += n;
    if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await once(socket, 'drain');
  }
  socket.end();
  socket.resume();
  await once(socket, 'close');
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return bytes / s / 1e6;
}

async function main() {
  const { createStack, SharedMemoryLink } = await import('../dist/index.js');
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const value = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
  const rounds = value('--rounds', 5000);
  const mib = value('--mib', 64);
  if (!(Number.isInteger(rounds) && rounds > 0) || !(mib > 0)) {
    console.error('bench/bridge.mjs: --rounds must be a positive integer and --mib a positive number');
    process.exit(2);
  }
  const [port, b] = SharedMemoryLink.pair({ queues: 1, seed: 1 });
  const workers = await createStack({ workers: 1, app: new URL(import.meta.url), link: port, address: '10.0.0.1/24', seed: 1 });
  const peer = await createStack({ link: b, address: '10.0.0.2/24', seed: 2, tcp: { noDelay: true } });

  // Bridged echo and sink: served by main-thread code.
  const bridgedEcho = workers.net.createServer((s) => s.pipe(s));
  bridgedEcho.listen(8007);
  await once(bridgedEcho, 'listening');
  const bridgedSink = workers.net.createServer((s) => { s.resume(); s.on('end', () => s.end()); });
  bridgedSink.listen(8009);
  await once(bridgedSink, 'listening');

  const connectTo = (p) => () => peer.net.connect({ host: '10.0.0.1', port: p });
  const warmup = Math.min(500, rounds);
  const direct = await pingPong(await connected(connectTo(7)()), rounds, warmup);
  const bridged = await pingPong(await connected(connectTo(8007)()), rounds, warmup);
  // Main-thread client through the bridge to the peer's sink.
  peer.net.createServer((s) => { s.resume(); s.on('end', () => s.end()); }).listen(9);
  const bytes = Math.round(mib * 1024 * 1024);
  const directMBs = await throughput(connectTo(9), bytes);
  const bridgedInMBs = await throughput(connectTo(8009), bytes);
  const bridgedOutMBs = await throughput(() => workers.net.connect({ host: '10.0.0.2', port: 9 }), bytes);

  const p = (t) => ({ p50: +quantile(t, 0.5).toFixed(1), p99: +quantile(t, 0.99).toFixed(1) });
  const d = p(direct);
  const br = p(bridged);
  const result = {
    rounds,
    rttUs: { direct: d, bridged: br },
    addedPerRoundTripUs: { p50: +(br.p50 - d.p50).toFixed(1), p99: +(br.p99 - d.p99).toFixed(1) },
    addedPerHopUs: { p50: +((br.p50 - d.p50) / 2).toFixed(1), p99: +((br.p99 - d.p99) / 2).toFixed(1) },
    throughputMBs: {
      direct: +directMBs.toFixed(1),
      bridgedInbound: +bridgedInMBs.toFixed(1),
      bridgedOutbound: +bridgedOutMBs.toFixed(1),
    },
    mib,
  };
  await workers.close({ timeoutMs: 2000 });
  await peer.close({ timeoutMs: 0 });
  if (json) {
    console.log(JSON.stringify(result));
  } else {
    console.log(`bridge latency, 64-byte ping-pong x ${rounds} (µs)`);
    console.log(`  direct  (handler in the worker)     p50 ${d.p50}  p99 ${d.p99}`);
    console.log(`  bridged (handler on the main thread) p50 ${br.p50}  p99 ${br.p99}`);
    console.log(`  added per round trip                p50 ${result.addedPerRoundTripUs.p50}  p99 ${result.addedPerRoundTripUs.p99}`);
    console.log(`  added per hop (two hops a round trip) p50 ${result.addedPerHopUs.p50}  p99 ${result.addedPerHopUs.p99}`);
    console.log(`throughput, ${mib} MiB one way (MB/s)`);
    console.log(`  peer -> worker handler               ${result.throughputMBs.direct}`);
    console.log(`  peer -> worker -> main-thread handler ${result.throughputMBs.bridgedInbound}`);
    console.log(`  main-thread client -> worker -> peer ${result.throughputMBs.bridgedOutbound}`);
  }
}

async function connected(socket) {
  await once(socket, 'connect');
  return socket;
}

if (isMainThread) await main();
