// `wasm-tcpip perf`: an iperf-like goodput test. A sender streams N seeded bytes over one TCP
// connection to a sink that hashes what arrives; the result says whether the data arrived
// intact, how long it took and how many segments were retransmitted.
//
// Link: `memory` (two stacks in this process over a MemoryLink pair, optionally impaired), or
// `tap` (root: the kernel's TCP sends to the stack across a DPDK net_tap, src/cli/perf-tap.ts).
// `congestion` in the result names the sender's congestion control: the stacks' (chosen with
// --congestion) on the memory link, the kernel's on the tap.
// Exit code: 0 only when the data arrived intact.

import { createHash } from 'node:crypto';
import type { Command } from './command.js';
import { UsageError, asUsage } from './command.js';
import { parseArgs } from 'node:util';
import { parseSize, formatBytes } from '../util/units.js';
import { parseImpairmentSpec, type ImpairmentOptions } from '../links/impair.js';
import { seededChunks } from '../util/seeded-bytes.js';
import { createStack } from '../stack/stack.js';
import { MemoryLink } from '../links/memory.js';
import { VirtualClock } from '../clock/clock.js';
import { parseIpv4 } from '../net/ipv4.js';
import type { CongestionControl } from '../stack/options.js';

/** The names --congestion takes (src/stack/options.ts CONGESTION_ALGORITHMS). */
const CONGESTION_NAMES: readonly CongestionControl[] = ['newreno', 'cubic'];

const USAGE = `Usage: wasm-tcpip perf [options]

Measures TCP goodput: one connection carries --bytes seeded bytes to a sink that checks them.

Options:
  --link memory|tap     memory: two stacks in this process (default); tap (root, libdpdk): the
                        kernel's TCP sends to the stack across a DPDK net_tap device
  --bytes SIZE          bytes to send (default 64M; K/M/G suffixes are binary)
  --impair LIST         memory link impairment: loss=P,reorder=P,dup=P,corrupt=P,ce=P (ECN marks),delay=1ms,jitter=100us,rate=1G
  --seed N              seed for the data, the stacks and the impairment (default 1)
  --congestion NAME     memory link: the stacks' congestion control, newreno (default) or cubic;
                        over --link tap the kernel sends, with its own (sysctl
                        net.ipv4.tcp_congestion_control)
  --no-rack             memory link: both stacks without RACK-TLP loss detection (RFC 8985),
                        which is on by default
  --prr                 memory link: Proportional Rate Reduction (RFC 6937) in fast recovery, both stacks
  --clock real|virtual  real: wall time; virtual: simulated time (goodput over simSeconds). Default:
                        virtual when --impair is given (a simulated network), real otherwise
  --tap NAME            tap link: interface to create (default wtap0)
  --kernel CIDR         tap link: the kernel side's address (default 10.99.0.1/24)
  --stack ADDR          tap link: the stack's address (default 10.99.0.2)
  --json                print one JSON object instead of text
`;

export interface PerfResult {
  link: string;
  bytes: number;
  seconds: number;
  goodputMbps: number;
  retransmits: number;
  /**
   * The sender's window reductions for ECN-Echo: counted by the sending stack on the memory
   * link (its connection requests ECN), from the CWR flags the stack received on the tap.
   */
  ecnReductions: number;
  intact: boolean;
  received: number;
  sha256: string;
  seed: number;
  /** The sender's congestion control algorithm. */
  congestion: string;
  /**
   * Memory link with --impair only (loss recovery on a simulated network; without it both
   * links print the same fields): RACK-TLP on, the sender's RTOs, TLP probes and RACK lost marks.
   */
  rack?: boolean;
  rtos?: number;
  tlpProbes?: number;
  rackLostMarked?: number;
  clock: 'real' | 'virtual';
  simSeconds?: number;
  impair?: ImpairmentOptions;
}

/** Two stacks over a MemoryLink: stack B sends `bytes` to a sink on stack A. */
export async function perfMemory(opts: {
  bytes: number; seed: number; impair: ImpairmentOptions; clock: 'real' | 'virtual'; congestion?: CongestionControl;
  rack?: boolean; prr?: boolean;
}): Promise<PerfResult> {
  const rack = opts.rack ?? true;
  const prr = opts.prr ?? false;
  const clock = opts.clock === 'virtual' ? new VirtualClock() : 'real';
  const congestion = opts.congestion ?? 'newreno';
  const [a, b] = MemoryLink.pair({ seed: opts.seed, ...opts.impair });
  const server = await createStack({ link: a, address: '10.0.0.1/24', seed: opts.seed, clock, tcp: { congestion, rack, prr } });
  // The sender requests ECN (RFC 3168), so `--impair ce=P` marks instead of dropping.
  const client = await createStack({ link: b, address: '10.0.0.2/24', seed: opts.seed + 1, clock, tcp: { congestion, ecn: 1, rack, prr } });
  const simStart = server.clock.nowUs();
  const started = process.hrtime.bigint();
  const hash = createHash('sha256');
  let received = 0;
  const done = new Promise<void>((resolve, reject) => {
    server.net.createServer((sock) => {
      sock.on('data', (d: Buffer) => { hash.update(d); received += d.length; });
      sock.on('end', () => { sock.end(); resolve(); });
      sock.on('error', reject);
    }).listen(5201);
  });
  const sock = client.net.connect({ host: '10.0.0.1', port: 5201 });
  const expected = createHash('sha256');
  // The sink sends nothing but its FIN; reading lets that FIN end our side too.
  sock.resume();
  const closed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  for (const chunk of seededChunks(opts.seed, opts.bytes)) {
    expected.update(chunk);
    if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  }
  sock.end();
  await Promise.all([done, closed]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const simSeconds = (server.clock.nowUs() - simStart) / 1e6;
  const retransmits = retransmitCount(client.counters()) + retransmitCount(server.counters());
  const ecnReductions = client.counters()['tcp.ecn.cwnd_reductions'];
  const sent = client.counters();
  const rtos = sent['tcp.timer.rto'];
  const tlpProbes = sent['tcp.tlp.probes'];
  const rackLostMarked = sent['tcp.rack.lost_marked'];
  await Promise.all([client.close({ timeoutMs: 5000 }), server.close({ timeoutMs: 5000 })]);
  const sha256 = hash.digest('hex');
  const intact = received === opts.bytes && sha256 === expected.digest('hex');
  const goodSeconds = opts.clock === 'virtual' ? simSeconds : seconds;
  return {
    link: 'memory', bytes: opts.bytes, seconds, goodputMbps: (received * 8) / goodSeconds / 1e6,
    retransmits, ecnReductions, intact, received, sha256, seed: opts.seed, congestion, clock: opts.clock,
    ...(opts.clock === 'virtual' ? { simSeconds } : {}),
    ...(Object.keys(opts.impair).length ? { rack, rtos, tlpProbes, rackLostMarked, impair: opts.impair } : {}),
  };
}

function retransmitCount(counters: Record<string, number>): number {
  let n = 0;
  for (const [name, v] of Object.entries(counters)) if (/^tcp\.tx\.retrans/.test(name)) n += v;
  return n;
}

export const command: Command = {
  name: 'perf',
  summary: 'Measure TCP goodput between two stacks over a memory link, or from the kernel over a tap; prints JSON with --json',
  usage: USAGE,
  async run(argv) {
    const { values } = asUsage(() => parseArgs({
        args: argv,
        options: {
          link: { type: 'string', default: 'memory' },
          bytes: { type: 'string', default: '64M' },
          impair: { type: 'string', default: '' },
          seed: { type: 'string', default: '1' },
          clock: { type: 'string' },
          congestion: { type: 'string' },
          'no-rack': { type: 'boolean', default: false },
          prr: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
          tap: { type: 'string', default: 'wtap0' },
          kernel: { type: 'string', default: '10.99.0.1/24' },
          stack: { type: 'string', default: '10.99.0.2' },
        },
        strict: true,
      }));
    const bytes = asUsage(() => parseSize(values.bytes!, '--bytes'));
    const seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed: '${values.seed}' is not a non-negative integer`);
    const impair: ImpairmentOptions = asUsage(() => parseImpairmentSpec(values.impair!));
    const clock = values.clock ?? (Object.keys(impair).length ? 'virtual' : 'real');
    if (clock !== 'real' && clock !== 'virtual') throw new UsageError(`--clock: '${clock}' is not real or virtual`);
    const congestion = values.congestion as CongestionControl | undefined;
    if (congestion !== undefined && !CONGESTION_NAMES.includes(congestion)) {
      throw new UsageError(`--congestion: '${congestion}' is not one of ${CONGESTION_NAMES.join(', ')}`);
    }
    let result: PerfResult;
    if (values.link === 'memory') {
      result = await perfMemory({ bytes, seed, impair, clock, congestion, rack: !values['no-rack'], prr: values.prr });
    } else if (values.link === 'tap') {
      if (Object.keys(impair).length) throw new UsageError('--impair applies to --link memory only (the tap is a real link)');
      if (clock !== 'real') throw new UsageError('--link tap runs on real time only: drop --clock virtual');
      if (values['no-rack']) throw new UsageError('--no-rack applies to --link memory only: over the tap the kernel sends');
      if (values.prr) throw new UsageError('--prr applies to --link memory only: over the tap the kernel sends');
      if (congestion !== undefined) throw new UsageError("--congestion applies to --link memory only: over the tap the kernel sends, with its own algorithm (sysctl net.ipv4.tcp_congestion_control)");
      const [kernelAddr, prefix] = values.kernel!.split('/');
      if (parseIpv4(kernelAddr) === null || !(Number(prefix) >= 1 && Number(prefix) <= 30)) throw new UsageError(`--kernel: '${values.kernel}' is not an IPv4 address with a prefix, like 10.99.0.1/24`);
      if (parseIpv4(values.stack!) === null) throw new UsageError(`--stack: '${values.stack}' is not an IPv4 address, like 10.99.0.2`);
      const { perfTap } = await import('./perf-tap.js');
      result = await perfTap({ bytes, seed, tap: values.tap!, kernel: values.kernel!, stack: values.stack! });
    } else {
      throw new UsageError(`--link: '${values.link}' is not supported (memory or tap)`);
    }
    if (values.json) console.log(JSON.stringify(result));
    else {
      console.log(`${result.link}: ${formatBytes(result.received)} of ${formatBytes(result.bytes)} in ${result.seconds.toFixed(3)} s` +
        `${result.simSeconds !== undefined ? ` (simulated ${result.simSeconds.toFixed(3)} s)` : ''}: ` +
        `${result.goodputMbps.toFixed(1)} Mbit/s, ${result.retransmits} retransmits, ${result.intact ? 'intact' : 'NOT INTACT'}`);
    }
    return result.intact ? 0 : 1;
  },
};
