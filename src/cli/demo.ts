// `wasm-tcpip demo`: the stack serving HTTP (see src/demo/http-app.ts), with live counters.
//
// With root and DPDK: on a net_tap device whose kernel side is addressed, so the machine's
// own curl talks to the stack. Otherwise (or with --memory): the same service on one stack,
// and a second stack in this process as the client, over a MemoryLink; the reason is
// printed. Stops on Ctrl-C (graceful close: connections finish their FIN handshake) or
// after --requests client requests in memory mode.

import http from 'node:http';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { UsageError, asUsage } from './command.js';
import { createStack, type Stack } from '../stack/stack.js';
import { MemoryLink } from '../links/memory.js';
import { serveDemoHttp } from '../demo/http-app.js';
import { parseIpv4 } from '../net/ipv4.js';
import { formatBytes } from '../util/units.js';

const USAGE = `Usage: wasm-tcpip demo [options]

Runs the stack with an HTTP server: GET /bytes/N?seed=S streams N seeded bytes with their
SHA-256 in the x-sha256 header; GET / shows the stack's counters.

Options:
  --tap NAME        tap interface to create (default wtap0; root and libdpdk needed)
  --kernel CIDR     kernel side of the tap (default 10.99.0.1/24)
  --stack ADDR      the stack's address (default 10.99.0.2)
  --port N          HTTP port (default 8080)
  --memory          don't use a tap: run the service and a client stack in this process
  --requests N      memory mode: stop after N client requests (default: run until Ctrl-C)
  --bytes SIZE      memory mode: bytes per client request (default 1048576)
  --interval MS     counter refresh period (default 1000)
`;

interface DemoOptions {
  tap: string; kernel: string; kernelAddr: string; prefix: number; stack: string; port: number;
  memory: boolean; requests: number; bytes: number; intervalMs: number;
}

function parse(argv: string[]): DemoOptions {
  const { values } = asUsage(() => parseArgs({
      args: argv,
      options: {
        tap: { type: 'string', default: 'wtap0' },
        kernel: { type: 'string', default: '10.99.0.1/24' },
        stack: { type: 'string', default: '10.99.0.2' },
        port: { type: 'string', default: '8080' },
        memory: { type: 'boolean', default: false },
        requests: { type: 'string', default: '0' },
        bytes: { type: 'string', default: '1048576' },
        interval: { type: 'string', default: '1000' },
      },
      strict: true,
    }));
  const [kernelAddr, prefixText] = values.kernel!.split('/');
  const prefix = Number(prefixText ?? '24');
  if (parseIpv4(kernelAddr) === null || !(prefix >= 1 && prefix <= 30)) throw new UsageError(`--kernel: '${values.kernel}' is not an IPv4 address with a prefix, like 10.99.0.1/24`);
  if (parseIpv4(values.stack!) === null) throw new UsageError(`--stack: '${values.stack}' is not an IPv4 address, like 10.99.0.2`);
  const int = (text: string, name: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name}: '${text}' must be an integer from ${min} to ${max}`);
    return n;
  };
  return {
    tap: values.tap!, kernel: values.kernel!, kernelAddr, prefix, stack: values.stack!,
    port: int(values.port!, 'port', 1, 65535), memory: values.memory!,
    requests: int(values.requests!, 'requests', 0, Number.MAX_SAFE_INTEGER),
    bytes: int(values.bytes!, 'bytes', 0, 1 << 30), intervalMs: int(values.interval!, 'interval', 50, 3_600_000),
  };
}

/** One line of the counters that matter, for the live display. */
export function counterLine(c: Record<string, number>): string {
  const sum = (re: RegExp): number => Object.entries(c).reduce((n, [k, v]) => (re.test(k) ? n + v : n), 0);
  return `frames in ${c['eth.rx.frames'] ?? 0}, out ${c['eth.tx.frames'] ?? 0} | tcp segments in ${c['tcp.rx.segments'] ?? 0}, ` +
    `out ${c['tcp.tx.segments'] ?? 0}, retransmits ${c['tcp.tx.retransmits'] ?? 0} | connections ${c['tcp.conn.established'] ?? 0} | drops ${sum(/^drop\./)}`;
}

async function memoryDemo(o: DemoOptions, why: string): Promise<number> {
  console.log(`demo: in-memory mode (${why})`);
  const [serverLink, clientLink] = MemoryLink.pair({ seed: 1 });
  const server = await createStack({ link: serverLink, address: `${o.stack}/${o.prefix}`, seed: 1 });
  const client = await createStack({ link: clientLink, address: `${o.kernelAddr}/${o.prefix}`, seed: 2 });
  const service = await serveDemoHttp(server, o.port);
  console.log(`demo: stack ${server.address} (${server.mac}) serves HTTP on port ${o.port}; client stack ${client.address} requests GET /bytes/${o.bytes}?seed=k`);
  const agent = new http.Agent({ keepAlive: true });
  (agent as unknown as { createConnection: unknown }).createConnection = (opts: { port: number; host: string }) =>
    client.net.createConnection({ port: opts.port, host: opts.host });

  let stop = false;
  const onSigint = (): void => { stop = true; };
  process.once('SIGINT', onSigint);
  let ok = 0;
  let bad = 0;
  let lastPrint = 0;
  for (let k = 1; !stop && (o.requests === 0 || k <= o.requests); k++) {
    const started = process.hrtime.bigint();
    const result = await fetchBytes(agent, o.stack, o.port, o.bytes, k);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.intact) ok++; else bad++;
    console.log(`GET /bytes/${o.bytes}?seed=${k}: ${result.status}, ${formatBytes(result.received)} in ${ms.toFixed(1)} ms, sha256 ${result.intact ? 'matches x-sha256' : `MISMATCH (${result.error ?? 'bad digest'})`}`);
    if (Date.now() - lastPrint >= o.intervalMs) {
      lastPrint = Date.now();
      console.log(`  server: ${counterLine(server.counters())}`);
    }
    if (o.requests === 0) await new Promise((r) => setTimeout(r, o.intervalMs));
  }
  process.off('SIGINT', onSigint);
  agent.destroy();
  const [s, c] = await Promise.all([server.close({ timeoutMs: 2000 }), client.close({ timeoutMs: 2000 })]);
  console.log(`demo: ${ok} intact, ${bad} failed; closed (server drained ${s.drained}, reset ${s.reset}; client drained ${c.drained}, reset ${c.reset})`);
  return bad === 0 ? 0 : 1;
}

interface FetchResult { status: number; received: number; intact: boolean; error?: string }

function fetchBytes(agent: http.Agent, host: string, port: number, n: number, seed: number): Promise<FetchResult> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: `/bytes/${n}?seed=${seed}`, agent }, (res) => {
      const h = createHash('sha256');
      let received = 0;
      res.on('data', (d: Buffer) => { h.update(d); received += d.length; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, received, intact: received === n && h.digest('hex') === res.headers['x-sha256'] }));
      res.on('error', (e) => resolve({ status: res.statusCode ?? 0, received, intact: false, error: e.message }));
    });
    req.on('error', (e) => resolve({ status: 0, received: 0, intact: false, error: e.message }));
  });
}

/** Why the tap demo cannot run here, or null when it can. */
async function tapUnavailable(): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'a net_tap device needs root: run as root for the kernel demo';
  try {
    const { tapDemoAvailable } = await import('../demo/tap.js');
    return tapDemoAvailable();
  } catch (e) {
    return (e as Error).message;
  }
}

export const command: Command = {
  name: 'demo',
  summary: 'Run the stack with an HTTP server',
  usage: USAGE,
  async run(argv) {
    const o = parse(argv);
    if (!o.memory) {
      const why = await tapUnavailable();
      if (why === null) {
        const { tapDemo } = await import('../demo/tap.js');
        return tapDemo(o);
      }
      return memoryDemo(o, why);
    }
    return memoryDemo(o, '--memory');
  },
};

export type { DemoOptions, Stack };
