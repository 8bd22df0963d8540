// `createStack({ workers: N, app, link, address, ... })`: one worker thread per queue, each
// with its own stack instance on its own queue, running the application module beside it.
//
// Guarantees:
// - Every worker's stack has the same address, MAC and seed (one interface, N queues); the
//   seed is drawn once when not given. Each worker gets the port's RSS key and redirection
//   table, its hand-off rings to and from every other worker, and the shared neighbour table
//   (src/workers/queue-link.ts), so flows, ARP entries and stray frames behave as on one stack.
// - The application module (a path resolved against the current directory, or a file: URL)
//   is imported in every worker and its default export (or `start`) is called with
//   `{ stack, worker, workers }`. Listening is per worker: the app's `listen(port)` runs in
//   every worker, so every queue accepts (a listener in one worker only would see only the
//   flows its queue owns). A UDP socket bound by its first send takes a port whose replies
//   hash to its own queue, and replies landing elsewhere are handed to it (assembly/udp).
//   An optional `stop` export runs after the worker's stack drained.
// - `createStack` resolves once every worker is ready; if one fails to start, the others are
//   stopped and it rejects with `code` ERR_WASM_TCPIP_WORKER and `worker` (the index).
// - Afterwards, a worker's uncaught exception or unexpected exit is emitted as 'error' on the
//   handle (same code, `worker` set) and pending requests to that worker reject: nothing hangs.
// - `close({ timeoutMs })` drains every worker's stack (Stack.close semantics), then releases
//   the queues (none while another worker still polls its own), and resolves with the summed
//   `{ drained, reset }` and the per-worker results once the threads exited; a worker that
//   had failed is stopped and listed in `failed` (close never waits on a dead worker).
// - `counters()` gives the sum over workers and each worker's own.

import { EventEmitter } from 'node:events';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { resolve as resolvePath } from 'node:path';
import { SharedMemoryPort } from '../links/shared-memory.js';
import { derivedMac, resolveOptions } from '../stack/options.js';
import { formatMac, parseIpv4 } from '../net/ipv4.js';
import { Doorbell, FrameRing, type FrameRingDescription } from './frame-ring.js';
import { SharedNeighbourTable } from './neighbours.js';
import { BridgeHub, type BridgeHost, type BridgeServer, type BridgeSocket } from './bridge.js';
import type { FromWorker, ToWorker, WorkerBoot, WorkerEndpoint } from './protocol.js';
import { RssSteering } from '../rss/toeplitz.js';
import type { CloseResult } from '../stack/stack.js';
import type { StackOptions } from '../stack/options.js';
import type { Link } from '../links/link.js';

export interface WorkerPoolOptions extends Omit<StackOptions, 'link' | 'clock'> {
  /** Worker threads, one per queue of the link (1..64). */
  workers: number;
  /** The application module run in every worker: a path (from the current directory) or a file: URL. */
  app: string | URL;
  /**
   * One queue per worker: a multi-queue memory link (`SharedMemoryLink.pair({ queues })[0]`),
   * or a DPDK port already configured with `workers` queues (`{ dpdk: { port } }`, see
   * `DpdkQueuesSpec`).
   */
  link: SharedMemoryPort | DpdkQueuesSpec;
  /** Workers run on real time only (each its own clock; a virtual clock cannot cross threads). */
  clock?: 'real';
}

/**
 * A DPDK port whose queues the workers serve, one each. Start EAL and configure the port on
 * the main thread first (`openPort(device, { queues: N })` from src/dpdk): the port's RSS key
 * and redirection table are read from it (software ones when the port has no RSS, as net_tap).
 */
export interface DpdkQueuesSpec {
  dpdk: {
    /** Port id or name. */
    port: number | string;
    /** Zero-copy receive where the port allows it (default true). */
    zeroCopy?: boolean;
    /** Mbufs per queue's pool (default: the driver's plan). */
    mbufs?: number;
  };
}

export interface WorkerInfo {
  index: number;
  threadId: number;
  queue: number;
}

export interface WorkerCloseResult extends CloseResult {
  /** Each worker's own result, by index (null for a worker that had failed: it was stopped). */
  workers: (CloseResult | null)[];
  /** Indexes of the workers that had failed. */
  failed: number[];
}

export interface WorkerCounters {
  /** Every counter summed over the workers. */
  total: Record<string, number>;
  /** Each worker's counters, by index. */
  workers: Record<string, number>[];
}

/** The bridge: main-thread servers and connections served by the workers. */
export interface BridgeNet {
  createServer(listener?: (socket: BridgeSocket) => void): BridgeServer;
  connect(options: { host: string; port: number }, listener?: () => void): BridgeSocket;
  connect(port: number, host: string, listener?: () => void): BridgeSocket;
  createConnection(options: { host: string; port: number }, listener?: () => void): BridgeSocket;
}

const HANDLED = new Set(['workers', 'app', 'link', 'clock']);
/** How long a worker may take to exit after its stack closed before it is terminated. */
const EXIT_GRACE_MS = 2000;

function workerError(index: number, cause: unknown): Error {
  const c = cause as { message?: string; stack?: string; code?: string };
  const msg = String(c?.message ?? cause);
  const e = new Error(msg.startsWith(`worker ${index}:`) ? msg : `worker ${index}: ${msg}`);
  Object.assign(e, { code: 'ERR_WASM_TCPIP_WORKER', worker: index, cause });
  return e;
}

interface Pending { resolve: (v: unknown) => void; reject: (e: Error) => void; worker: number }

export class WorkerStack extends EventEmitter implements BridgeHost {
  /** Workers by index (thread id, queue). */
  readonly workers: readonly WorkerInfo[];
  /** Main-thread sockets and servers served by the workers. */
  readonly net: BridgeNet;
  readonly address: string;
  readonly mac: string;
  readonly seed: number;
  private readonly threads: Worker[];
  private readonly pending = new Map<number, Pending>();
  private readonly exited: boolean[];
  private readonly bridgeBells: Doorbell[];
  private readonly hub: BridgeHub;
  private id = 0;
  private closePromise: Promise<WorkerCloseResult> | null = null;
  private closing = false;
  private terminating = false;
  private readonly failed: boolean[];

  /** @internal */
  constructor(threads: Worker[], address: string, mac: string, seed: number, bridgeMainBell: SharedArrayBuffer, bridgeBells: SharedArrayBuffer[], bridgePorts: MessagePort[]) {
    super();
    this.threads = threads;
    this.address = address;
    this.mac = mac;
    this.seed = seed;
    this.exited = threads.map(() => false);
    this.failed = threads.map(() => false);
    this.bridgeBells = bridgeBells.map((b) => new Doorbell(b));
    this.workers = threads.map((t, index) => ({ index, threadId: t.threadId, queue: index }));
    this.hub = new BridgeHub(this, bridgeMainBell, bridgePorts);
    const hub = this.hub;
    this.net = {
      createServer: (l) => hub.createServer(l),
      connect: ((...a: unknown[]) => hub.connect(...a)) as BridgeNet['connect'],
      createConnection: ((...a: unknown[]) => hub.connect(...a)) as BridgeNet['createConnection'],
    };
    threads.forEach((t, index) => {
      t.on('message', (m: FromWorker) => this.onMessage(index, m));
      t.on('error', (e) => this.fail(index, e));
      t.on('exit', (code) => {
        this.exited[index] = true;
        this.rejectPending(index, workerError(index, new Error(`exited with code ${code}`)));
        // One report per worker: a crash is its 'error' (the exit that follows is not news);
        // exits asked for (close, terminate) are not errors.
        if (this.failed[index] || this.terminating || (this.closing && code === 0)) return;
        this.fail(index, new Error(`exited unexpectedly with code ${code}`));
      });
    });
  }

  get workerCount(): number { return this.threads.length; }

  /** @internal */ nextId(): number { return ++this.id; }

  /** @internal */ post(worker: number, m: ToWorker): void {
    if (!this.exited[worker]) this.threads[worker].postMessage(m);
  }

  /** @internal */ ringWorker(worker: number): void {
    this.bridgeBells[worker].ring();
  }

  /** @internal */ request(worker: number, m: ToWorker & { id: number }): Promise<unknown> {
    if (this.exited[worker] || this.failed[worker]) return Promise.reject(workerError(worker, new Error('the worker has failed or exited')));
    return new Promise((resolve, reject) => {
      this.pending.set(m.id, { resolve, reject, worker });
      this.threads[worker].postMessage(m);
    });
  }

  /** Counters summed over the workers, and each worker's. */
  async counters(): Promise<WorkerCounters> {
    const per = await Promise.all(this.threads.map((_, w) => this.request(w, { type: 'counters', id: this.nextId() }))) as Record<string, number>[];
    const total: Record<string, number> = {};
    for (const c of per) for (const [k, v] of Object.entries(c)) total[k] = (total[k] ?? 0) + v;
    return { total, workers: per };
  }

  /**
   * Stops accepting on every worker, lets their connections finish (resetting what is still
   * busy after `timeoutMs`), then lets the threads exit. Calling it again returns the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<WorkerCloseResult> {
    if (this.closePromise) return this.closePromise;
    const timeoutMs = options.timeoutMs ?? 10_000;
    if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0) || !Number.isFinite(timeoutMs)) {
      return Promise.reject(Object.assign(new RangeError(`options.timeoutMs must be a non-negative number of milliseconds, got ${String(timeoutMs)}`), { code: 'ERR_OUT_OF_RANGE' }));
    }
    this.closing = true;
    this.closePromise = (async () => {
      // A worker that failed (or fails now) has nothing to drain: it is left out and stopped.
      const ask = (w: number, m: ToWorker & { id: number }): Promise<unknown> =>
        this.request(w, m).catch(() => { this.failed[w] = true; return null; });
      const results = await Promise.all(this.threads.map((_, w) => ask(w, { type: 'close', id: this.nextId(), timeoutMs }))) as (CloseResult | null)[];
      this.hub.close();
      // Every worker stopped polling: now the queues (and a DPDK port) may go.
      await Promise.all(this.threads.map((_, w) => (this.failed[w] ? null : ask(w, { type: 'release', id: this.nextId() }))));
      await Promise.all(this.threads.map((t, w) => this.exited[w] ? undefined : new Promise<void>((resolve) => {
        const timer = setTimeout(() => { void t.terminate(); }, this.failed[w] ? 0 : EXIT_GRACE_MS);
        t.once('exit', () => { clearTimeout(timer); resolve(); });
      })));
      const done = results.filter((r): r is CloseResult => r !== null);
      return {
        drained: done.reduce((s, r) => s + r.drained, 0),
        reset: done.reduce((s, r) => s + r.reset, 0),
        workers: results,
        failed: results.flatMap((r, w) => (r === null ? [w] : [])),
      };
    })();
    return this.closePromise;
  }

  /** Stops every worker at once (no draining). */
  async terminate(): Promise<void> {
    this.closing = true;
    this.terminating = true;
    this.hub.close();
    await Promise.all(this.threads.map((t) => t.terminate()));
  }

  private onMessage(worker: number, m: FromWorker): void {
    if (m.type === 'reply') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
      else p.resolve(m.value);
    } else if (m.type !== 'ready') {
      this.hub.onMessage(worker, m);
    }
  }

  private rejectPending(worker: number, e: Error): void {
    for (const [id, p] of this.pending) {
      if (p.worker === worker) { this.pending.delete(id); p.reject(e); }
    }
  }

  private fail(worker: number, cause: unknown): void {
    this.failed[worker] = true;
    const e = workerError(worker, cause);
    this.rejectPending(worker, e);
    if (this.listenerCount('error') > 0) this.emit('error', e);
    else process.nextTick(() => { throw e; });
  }
}

/** Validates the worker options and starts the workers; resolves when every one is ready. */
export async function createWorkerStack(options: WorkerPoolOptions): Promise<WorkerStack> {
  const { workers, app, link } = options as WorkerPoolOptions & Record<string, unknown>;
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > 64) {
    throw Object.assign(new RangeError(`options.workers must be an integer from 1 to 64, got ${String(workers)}`), { code: 'ERR_OUT_OF_RANGE' });
  }
  let appUrl: string;
  if (app instanceof URL) appUrl = app.href;
  else if (typeof app === 'string' && app !== '') appUrl = app.startsWith('file:') ? app : pathToFileURL(resolvePath(app)).href;
  else throw Object.assign(new TypeError(`options.app must be the application module run in every worker: a path like './app.mjs' or a file: URL, got ${typeof app}`), { code: 'ERR_INVALID_ARG_TYPE' });
  if (options.address === 'dhcp') {
    // One lease per interface would have to be held by one worker and its address pushed to
    // the others: not built. A static address works with workers.
    throw Object.assign(new RangeError("options.address 'dhcp' is not supported with workers: give the interface a static address such as address: '10.0.0.2/24' (or run one stack without workers to lease it)"), { code: 'ERR_WASM_TCPIP_DHCP_WORKERS' });
  }
  const port = await portOf(link, workers);
  if (options.clock !== undefined && options.clock !== 'real') {
    throw Object.assign(new TypeError("options.clock must be 'real' with workers: each worker runs its own real clock (a virtual clock cannot cross threads)"), { code: 'ERR_INVALID_ARG_VALUE' });
  }
  const stackOptions: Record<string, unknown> = {};
  // Everything else is a createStack option of each worker's own stack, validated there.
  for (const [k, v] of Object.entries(options)) if (!HANDLED.has(k)) stackOptions[k] = v;
  const seed = typeof options.seed === 'number' ? options.seed : randomInt(0, 2 ** 48 - 1);
  stackOptions.seed = seed;
  if (stackOptions.mac === undefined) {
    const m = typeof options.address === 'string' ? /^([^/]+)\//.exec(options.address) : null;
    const ip = m ? parseIpv4(m[1]) : null;
    if (ip !== null) stackOptions.mac = formatMac(derivedMac(seed, ip));
  }

  // The workers' own options are checked here first, so a bad one throws before any thread
  // starts (each worker checks them again against its real queue).
  resolveOptions({ ...stackOptions, link: optionsCheckLink(port.mtu) });

  const n = workers;
  const neighbours = SharedNeighbourTable.create();
  const rings: (FrameRingDescription | null)[][] = Array.from({ length: n }, (_, from) =>
    Array.from({ length: n }, (_, to) => (from === to ? null : FrameRing.create(256, port.mtu + 18).describe())));
  const bridgeMainBell = new SharedArrayBuffer(4);
  const bridgeBells = Array.from({ length: n }, () => new SharedArrayBuffer(4));
  const bridgeChannels = Array.from({ length: n }, () => new MessageChannel());

  const threads: Worker[] = [];
  for (let k = 0; k < n; k++) {
    const boot: WorkerBoot = {
      index: k, workers: n, app: appUrl, endpoint: port.endpoint(k), stackOptions,
      queue: {
        queue: k, queues: n, rssKey: port.rssKey, rssReta: port.rssReta, neighbours: neighbours.buffer,
        handoffIn: rings.map((row) => row[k]), handoffOut: rings[k], bells: port.bells,
      },
      bridgeMainBell, bridgeWorkerBell: bridgeBells[k], bridgePort: bridgeChannels[k].port2,
    };
    threads.push(new Worker(new URL('./worker-main.js', import.meta.url), { workerData: boot, transferList: [bridgeChannels[k].port2] }));
  }
  const ready = await Promise.allSettled(threads.map((t, index) => new Promise<FromWorker & { type: 'ready' }>((resolve, reject) => {
    const onMessage = (m: FromWorker) => { if (m.type === 'ready') { done(); resolve(m); } };
    const onError = (e: Error) => { done(); reject(workerError(index, e)); };
    const onExit = (code: number) => { done(); reject(workerError(index, new Error(`exited with code ${code} while starting`))); };
    const done = () => { t.off('message', onMessage); t.off('error', onError); t.off('exit', onExit); };
    t.on('message', onMessage);
    t.once('error', onError);
    t.once('exit', onExit);
  })));
  const failed = ready.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
  if (failed) {
    await Promise.all(threads.map((t) => t.terminate()));
    throw failed.reason;
  }
  const first = (ready[0] as PromiseFulfilledResult<{ address: string; mac: string }>).value;
  return new WorkerStack(threads, first.address, first.mac, seed, bridgeMainBell, bridgeBells, bridgeChannels.map((c) => c.port1));
}

/** What the pool needs of the port whose queues the workers serve. */
interface QueuesOfPort {
  mtu: number;
  rssKey: Uint8Array;
  rssReta: Uint8Array;
  /** Doorbell of each worker (hand-offs and neighbour news ring it). */
  bells: SharedArrayBuffer[];
  endpoint(k: number): WorkerEndpoint;
}

/** Checks the link option against the worker count; DPDK ports are looked up on this thread. */
async function portOf(link: unknown, workers: number): Promise<QueuesOfPort> {
  if (link instanceof SharedMemoryPort) {
    if (link.queues !== workers) {
      throw Object.assign(new RangeError(`options.link has ${link.queues} queues but options.workers is ${workers}: give the link one queue per worker`), { code: 'ERR_OUT_OF_RANGE' });
    }
    const rss = link.endpoint(0).rss;
    return {
      mtu: link.mtu, rssKey: rss.key, rssReta: rss.reta,
      bells: Array.from({ length: workers }, (_, k) => link.endpoint(k).bell),
      endpoint: (k) => link.endpoint(k),
    };
  }
  const spec = (link as DpdkQueuesSpec | null)?.dpdk;
  if (spec === null || typeof spec !== 'object') {
    throw Object.assign(new TypeError('options.link must be a multi-queue link with one queue per worker, such as SharedMemoryLink.pair({ queues: N })[0], or { dpdk: { port } } for a configured DPDK port'), { code: 'ERR_INVALID_ARG_TYPE' });
  }
  const { loadDpdk } = await import('../dpdk/addon.js');
  const { resolvePortId } = await import('../dpdk/port.js');
  const portId = resolvePortId(spec.port);
  const dpdkPort = new (loadDpdk().Port)(portId);
  const state = dpdkPort.state();
  if (!state.configured) {
    throw Object.assign(new Error(`DPDK port ${portId} is not configured: call openPort(device, { queues: ${workers} }) (wasm-tcpip/dist/dpdk) before createStack`), { code: 'ERR_WASM_TCPIP_DPDK_STATE' });
  }
  if (state.queues !== workers) {
    throw Object.assign(new RangeError(`DPDK port ${portId} has ${state.queues} queues but options.workers is ${workers}: configure one queue per worker (openPort(device, { queues: ${workers} }))`), { code: 'ERR_WASM_TCPIP_DPDK_QUEUES' });
  }
  const rss = dpdkPort.rss();
  const portReta = rss.enabled ? rss.reta : [];
  const retaUsable = portReta.length > 0 && portReta.length <= 512 && (portReta.length & (portReta.length - 1)) === 0 && portReta.every((q) => q < workers);
  const software = new RssSteering({ queues: workers });
  return {
    mtu: state.mtu,
    // The port's own key and table when it hashes (so port choice and hand-off agree with the
    // NIC); otherwise the software ones: the hand-off then brings every frame to its owner.
    rssKey: rss.enabled && rss.key && rss.key.length === 40 ? Uint8Array.from(rss.key) : software.hash.key,
    rssReta: retaUsable ? Uint8Array.from(portReta) : software.reta,
    bells: Array.from({ length: workers }, () => new SharedArrayBuffer(4)),
    endpoint: (k) => ({ kind: 'dpdk', port: portId, queue: k, zeroCopy: spec.zeroCopy, mbufs: spec.mbufs }),
  };
}

/** A link that only has the shape `resolveOptions` checks (never attached). */
function optionsCheckLink(mtu: number): Link {
  const unused = (): never => { throw new Error('wasm-tcpip: internal: the options check link is not a real link'); };
  return { kind: 'check', mtu, offloads: 0, tsoLimits: null, polled: false, attach: unused, receive: unused, transmit: unused, pendingUs: unused, close: unused };
}
