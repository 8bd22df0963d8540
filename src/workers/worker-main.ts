// The bootstrap of one worker thread: opens this worker's queue, creates its stack on it,
// imports the application module and runs it beside the stack (no thread hop between the
// application's handlers and the stack), then answers the main thread (counters, bridge,
// graceful close).
//
// Guarantees: the main thread hears 'ready' only after the application's start function
// returned (or its promise resolved); an exception while starting is reported through the
// worker's 'error' event with this worker's index in the message; after 'close' the stack is
// drained (see Stack.close) and the application's optional `stop` export has run, the reply is
// posted; the queue is released at 'release' (sent once every worker drained), then the
// thread exits.

import { parentPort, workerData } from 'node:worker_threads';
import { createStack, type Stack } from '../stack/stack.js';
import { SharedMemoryLink } from '../links/shared-memory.js';
import { QueueLink } from './queue-link.js';
import type { Link } from '../links/link.js';
import { BridgeWorker } from './bridge-worker.js';
import type { FromWorker, ToWorker, WorkerAppContext, WorkerBoot } from './protocol.js';

const boot = workerData as WorkerBoot;
const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);

function errorOf(e: unknown): { message: string; code?: string; stack?: string } {
  const err = e as { message?: string; code?: string; stack?: string };
  return { message: String(err?.message ?? e), code: err?.code, stack: err?.stack };
}

async function main(): Promise<void> {
  const inner = await openQueue();
  const link = new QueueLink(inner, boot.queue, inner instanceof SharedMemoryLink && inner.doorbell === boot.queue.bells[boot.index]);
  const stack = await createStack({ ...boot.stackOptions, link } as unknown as Parameters<typeof createStack>[0]);
  const app = await import(boot.app) as { default?: unknown; start?: unknown; stop?: unknown };
  const start = typeof app.default === 'function' ? app.default : app.start;
  if (typeof start !== 'function') {
    throw Object.assign(new TypeError(`the application module ${boot.app} must export a default function (or \`start\`) taking { stack, worker, workers }`), { code: 'ERR_WASM_TCPIP_WORKER_APP' });
  }
  const context: WorkerAppContext = { stack, worker: boot.index, workers: boot.workers };
  await (start as (c: WorkerAppContext) => unknown)(context);
  const bridge = new BridgeWorker(stack, boot.index, boot.bridgePort, boot.bridgeMainBell, boot.bridgeWorkerBell);

  const reply = (id: number, value?: unknown, error?: unknown): void => {
    post(error === undefined ? { type: 'reply', id, value } : { type: 'reply', id, error: errorOf(error) });
  };
  port.on('message', (m: ToWorker) => {
    if (m.type === 'counters') {
      reply(m.id, { ...stack.counters(), ...link.stats, ...(inner instanceof SharedMemoryLink ? prefixed(inner.stats) : {}) });
    } else if (m.type === 'close') {
      bridge.close();
      stack.close({ timeoutMs: m.timeoutMs }).then(async (result) => {
        if (typeof app.stop === 'function') await (app.stop as (c: WorkerAppContext) => unknown)(context);
        reply(m.id, result);
      }, (e) => reply(m.id, undefined, e));
    } else if (m.type === 'release') {
      link.release().then(() => { reply(m.id); port.close(); }, (e) => { reply(m.id, undefined, e); port.close(); });
    } else {
      bridge.handle(m, reply);
    }
  });
  post({ type: 'ready', address: stack.address, mac: stack.mac });
}

/** This worker's queue: its end of a shared-memory link, or its queue of a DPDK port. */
async function openQueue(): Promise<Link> {
  const e = boot.endpoint;
  if (e.kind === 'shared-memory') return SharedMemoryLink.open(e);
  const { DpdkLink } = await import('../links/dpdk.js');
  return new DpdkLink({ port: e.port, queue: e.queue, zeroCopy: e.zeroCopy, mbufs: e.mbufs });
}

function prefixed(stats: object): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(stats)) out[`link.${k}`] = v as number;
  return out;
}

main().catch((e) => {
  const err = e instanceof Error ? e : new Error(String(e));
  err.message = `worker ${boot.index}: ${err.message}`;
  throw err;
});
