// The demo's HTTP service, served by node:http on a stack's sockets:
//   GET /bytes/N?seed=S  N pseudo-random bytes drawn from seed S (default 0), with their
//                        SHA-256 (hex) in the `x-sha256` response header;
//   GET /                the stack's counters (text; JSON with `Accept: application/json`).
//
// Guarantees: the body streams with backpressure (memory stays bounded whatever N is); a bad
// N or S gets a 400 that says what is accepted; N is capped at MAX_BYTES.

import http from 'node:http';
import type { Stack } from '../stack/stack.js';
import type { Server } from '../net/server.js';
import { seededChunks, seededSha256 } from '../util/seeded-bytes.js';

export const MAX_BYTES = 16 * 1024 ** 3;

export interface DemoHttp {
  readonly server: Server;
  readonly http: http.Server;
  /** Requests answered so far. */
  readonly requests: () => number;
}

/** Starts the demo service on `port` of `stack`; resolves once listening. */
export async function serveDemoHttp(stack: Stack, port: number): Promise<DemoHttp> {
  let requests = 0;
  const httpServer = http.createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://demo');
    const bytes = /^\/bytes\/(\d+)$/.exec(url.pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'only GET and HEAD\n');
    if (bytes) return sendBytes(res, bytes[1], url.searchParams.get('seed') ?? '0', req.method === 'HEAD');
    if (url.pathname === '/') return sendCounters(res, stack, req.headers.accept ?? '');
    reply(res, 404, 'try GET /bytes/1048576?seed=1 or GET /\n');
  });
  const server = stack.net.createServer((socket) => httpServer.emit('connection', socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => { server.off('error', reject); resolve(); });
  });
  return { server, http: httpServer, requests: () => requests };
}

function reply(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendBytes(res: http.ServerResponse, nText: string, seedText: string, headOnly: boolean): void {
  const n = Number(nText);
  const seed = Number(seedText);
  if (!Number.isSafeInteger(n) || n > MAX_BYTES) return reply(res, 400, `N must be an integer from 0 to ${MAX_BYTES}\n`);
  if (!/^\d+$/.test(seedText) || !Number.isSafeInteger(seed)) return reply(res, 400, 'seed must be a non-negative integer\n');
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': n,
    'x-sha256': seededSha256(seed, n),
  });
  if (headOnly) return void res.end();
  const chunks = seededChunks(seed, n);
  const pump = (): void => {
    for (let c = chunks.next(); !c.done; c = chunks.next()) {
      if (!res.write(c.value)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => chunks.return(undefined));
  pump();
}

function sendCounters(res: http.ServerResponse, stack: Stack, accept: string): void {
  const counters = stack.counters();
  if (accept.includes('application/json')) {
    const body = JSON.stringify({ address: stack.address, mac: stack.mac, counters });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    return void res.end(body);
  }
  const lines = [`wasm-tcpip stack ${stack.address} (${stack.mac})`, ''];
  const width = Math.max(...Object.keys(counters).map((k) => k.length));
  for (const [k, v] of Object.entries(counters)) if (v !== 0) lines.push(`${k.padEnd(width)}  ${v}`);
  reply(res, 200, lines.join('\n') + '\n');
}
