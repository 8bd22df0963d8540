// `wasm-tcpip perf --link tap`: goodput from the Linux kernel's TCP to the stack across a
// DPDK net_tap device (root). The stack runs a sink on the DPDK side; a child Node process
// (this module run as a script, see `runSender`) sends N seeded bytes over the kernel's own
// TCP to it. The result has the memory link's fields (src/cli/perf.ts `PerfResult`).
//
// Guarantees:
// - `intact` is true only when the sink received exactly N bytes whose SHA-256 equals that of
//   the seeded stream, which the sender hashes as it sends.
// - `seconds` runs from the sink accepting the connection to the sink seeing the sender's
//   FIN (the sender process's start-up is not in it); `goodputMbps` is received bits over it.
// - `retransmits` sums the kernel sender's retransmitted segments (`retrans` of `ss -ti`,
//   read while the connection is still established, after the sink acknowledged every byte)
//   and the stack's own retransmission counters; `congestion` is the kernel connection's
//   congestion control, from the same `ss -ti` line; `ecnReductions` counts the CWR flags the
//   stack received (one per reduction of the kernel's window for ECN-Echo, RFC 3168 6.1.2).
// - The tap (and its kernel-side address) exists only while the command runs; every way it
//   can fail to start (not root, no DPDK, the interface taken) is an error naming the fix.

import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { seededChunks } from '../util/seeded-bytes.js';
import type { PerfResult } from './perf.js';

export interface TapPerfOptions {
  bytes: number;
  seed: number;
  /** Tap interface to create. */
  tap: string;
  /** Kernel side of the tap, with its prefix (10.99.0.1/24). */
  kernel: string;
  /** The stack's address on the tap's network. */
  stack: string;
}

/** The sink's TCP port on the stack. */
const SINK_PORT = 5201;
/** The byte the sink sends once it has every byte: the sender then reads its TCP_INFO. */
const ALL_RECEIVED = 0x2e;
/** Argument that makes this module, run as a script, the sender. */
const SENDER_FLAG = '--wasm-tcpip-perf-sender';

/** What the sender child reports on its stdout (one JSON line). */
interface SenderReport { sent: number; sha256: string; retransmits: number; congestion: string }

function failure(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Throws when the tap perf cannot run here, with the reason and the fix. */
async function checkTapPerfPossible(tap: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw failure('ERR_WASM_TCPIP_DPDK_PERMISSION', 'perf --link tap creates a net_tap device, which needs root (CAP_NET_ADMIN): run it as root, or use --link memory');
  }
  const { tapDemoAvailable, checkTapNameFree } = await import('../demo/tap.js');
  const why = await tapDemoAvailable();
  if (why !== null) throw failure('ERR_WASM_TCPIP_NO_DPDK', `perf --link tap: ${why}`);
  checkTapNameFree(tap);
}

/** The kernel sends `bytes` seeded bytes to a sink on the stack over a net_tap device. */
export async function perfTap(o: TapPerfOptions): Promise<PerfResult> {
  await checkTapPerfPossible(o.tap);
  const [kernelAddress, prefix] = o.kernel.split('/');
  const { DpdkLink } = await import('../links/dpdk.js');
  const { addressKernelSide } = await import('../demo/tap.js');
  const { createStack } = await import('../stack/stack.js');
  const link = DpdkLink.open({ eal: { vdevs: [`net_tap0,iface=${o.tap}`] }, queues: 1 });
  const stack = await createStack({ link, address: `${o.stack}/${prefix}`, seed: o.seed, poll: 'busy' });
  try {
    addressKernelSide(o.tap, o.kernel);
    await link.port.waitForLink(5000);
    const hash = createHash('sha256');
    let received = 0;
    let acceptedAt = 0n;
    let finishedAt = 0n;
    const sinkDone = new Promise<void>((resolve, reject) => {
      const sink = stack.net.createServer((sock) => {
        acceptedAt = process.hrtime.bigint();
        sock.on('data', (d: Buffer) => {
          hash.update(d);
          received += d.length;
          if (received === o.bytes) sock.write(Buffer.of(ALL_RECEIVED));
        });
        sock.on('end', () => { finishedAt = process.hrtime.bigint(); sock.end(); sink.close(); resolve(); });
        sock.on('error', reject);
      });
      sink.on('error', reject);
      sink.listen(SINK_PORT);
    });
    // Awaited below, after the sender; a sink error before then must not go unhandled.
    sinkDone.catch(() => undefined);
    const report = await runSenderChild(o.stack, o.bytes, o.seed, kernelAddress);
    await sinkDone;
    const seconds = Number(finishedAt - acceptedAt) / 1e9;
    const sha256 = hash.digest('hex');
    let stackRetransmits = 0;
    for (const [name, v] of Object.entries(stack.counters())) if (/^tcp\.tx\.retrans/.test(name)) stackRetransmits += v;
    return {
      link: 'tap', bytes: o.bytes, seconds, goodputMbps: (received * 8) / seconds / 1e6,
      retransmits: report.retransmits + stackRetransmits,
      // The kernel marks each window reduction for ECN-Echo with one CWR (RFC 3168 6.1.2).
      ecnReductions: stack.counters()['tcp.ecn.cwr_received'] ?? 0,
      intact: received === o.bytes && report.sent === o.bytes && sha256 === report.sha256,
      received, sha256, seed: o.seed, congestion: report.congestion, clock: 'real',
    };
  } finally {
    await stack.close({ timeoutMs: 2000 });
  }
}

/**
 * Runs this module as the sender in a child process (the kernel's TCP, another CPU). The
 * report comes back over the IPC channel, whose end also tells the child that this process
 * is gone (it then exits rather than keep sending into a tap nobody reads).
 */
function runSenderChild(host: string, bytes: number, seed: number, bindAddress: string): Promise<SenderReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), SENDER_FLAG, host, String(SINK_PORT), String(bytes), String(seed), bindAddress], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let report: SenderReport | null = null;
    let err = '';
    child.on('message', (m) => { report = m as SenderReport; });
    child.stderr!.on('data', (d: Buffer) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0 || report === null) return reject(failure('ERR_WASM_TCPIP_PERF_SENDER', `perf --link tap: the kernel-side sender failed (exit ${code}): ${err.trim()}`));
      resolve(report);
    });
  });
}

/**
 * Total retransmitted segments and the congestion control of the kernel's connection from
 * local `port` (`ss -ti`: the info line opens with the algorithm's name, as `cubic wscale:`).
 */
function kernelConnectionInfo(localPort: number): { retransmits: number; congestion: string } {
  const info = execFileSync('ss', ['-tinH', 'state', 'established', 'sport', '=', `:${localPort}`], { encoding: 'utf8' });
  if (info.trim() === '') throw new Error(`ss shows no established connection from port ${localPort}: cannot read its retransmissions`);
  const m = /\bretrans:\d+\/(\d+)/.exec(info);
  const algo = /^\s+([a-z][a-z0-9_]*)\s/m.exec(info);
  return { retransmits: m ? Number(m[1]) : 0, congestion: algo ? algo[1] : 'unknown' };
}

/**
 * The sender (child process): connects from `bindAddress` to host:port over the kernel's TCP,
 * sends the seeded stream with backpressure, waits for the sink's ALL_RECEIVED byte, reads
 * its retransmission count, closes, and sends its SenderReport to the parent.
 */
async function runSender(host: string, port: number, bytes: number, seed: number, bindAddress: string): Promise<void> {
  const sock = net.connect({ host, port, localAddress: bindAddress });
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  const hash = createHash('sha256');
  let sent = 0;
  // Nothing to acknowledge for 0 bytes: the sink just sees the FIN.
  const acknowledged = bytes === 0 ? Promise.resolve() : new Promise<void>((resolve, reject) => {
    sock.on('data', (d: Buffer) => { if (d.includes(ALL_RECEIVED)) resolve(); });
    sock.once('end', () => reject(new Error(`the sink closed after ${sent} bytes were written, before acknowledging all ${bytes}`)));
    sock.once('error', reject);
  });
  for (const chunk of seededChunks(seed, bytes)) {
    hash.update(chunk);
    sent += chunk.length;
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  }
  await acknowledged;
  const { retransmits, congestion } = kernelConnectionInfo(sock.localPort!);
  const closed = new Promise((r) => sock.once('close', r));
  sock.end();
  sock.resume();
  await closed;
  const report: SenderReport = { sent, sha256: hash.digest('hex'), retransmits, congestion };
  await new Promise<void>((resolve, reject) => process.send!(report, (e: Error | null) => (e ? reject(e) : resolve())));
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === SENDER_FLAG) {
  const [host, port, bytes, seed, bindAddress] = process.argv.slice(3);
  let finished = false;
  process.on('disconnect', () => { if (!finished) process.exit(1); });
  runSender(host, Number(port), Number(bytes), Number(seed), bindAddress).then(
    () => { finished = true; process.disconnect!(); },
    (e: Error) => { console.error(e.message); process.exit(1); },
  );
}
