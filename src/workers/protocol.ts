// Messages between the main thread's `WorkerStack` and its workers (src/workers/worker-main.ts),
// and the data each worker starts with. Plain structured-cloneable objects.

import type { MessagePort } from 'node:worker_threads';
import type { FrameRingDescription } from './frame-ring.js';
import type { SharedEndpoint } from '../links/shared-memory.js';
import type { QueueSetup } from './queue-link.js';
import type { Stack } from '../stack/stack.js';

/** What the application module's start function receives in each worker. */
export interface WorkerAppContext {
  /** This worker's stack: `stack.net`, `stack.dgram`, `stack.counters()`. */
  stack: Stack;
  /** This worker's index, 0..workers-1 (its queue). */
  worker: number;
  workers: number;
}

/** Options of `createStack` a worker's own stack takes (everything but link, clock, workers, app). */
export type WorkerStackOptions = Record<string, unknown>;

/** The queue a worker serves: one end of a shared-memory link, or a DPDK port's queue. */
export type WorkerEndpoint = SharedEndpoint | { kind: 'dpdk'; port: number; queue: number; zeroCopy?: boolean; mbufs?: number };

export interface WorkerBoot {
  index: number;
  workers: number;
  /** URL (file:) of the application module. */
  app: string;
  endpoint: WorkerEndpoint;
  stackOptions: WorkerStackOptions;
  queue: QueueSetup;
  /** The bridge: doorbell the main thread watches, and this worker's own. */
  bridgeMainBell: SharedArrayBuffer;
  bridgeWorkerBell: SharedArrayBuffer;
  /**
   * The bridge's own message port to the main thread (accepted connections, channel events,
   * data batches, in order); each post rings `bridgeMainBell`, and the main thread takes the
   * messages synchronously (`receiveMessageOnPort`), at doorbell latency.
   */
  bridgePort: MessagePort;
}

/** Main -> worker. */
export type ToWorker =
  | { type: 'counters'; id: number }
  | { type: 'close'; id: number; timeoutMs: number }
  | { type: 'release'; id: number }
  | { type: 'listen'; id: number; server: number; port: number; host?: string; backlog?: number }
  | { type: 'unlisten'; id: number; server: number }
  | { type: 'connect'; id: number; channel: number; host: string; port: number; toWorker: FrameRingDescription; credit: SharedArrayBuffer }
  | { type: 'channel'; channel: number; op: 'end' | 'destroy' | 'reset' }
  | { type: 'channel'; channel: number; op: 'noDelay'; noDelay: boolean }
  | { type: 'channel'; channel: number; op: 'keepAlive'; enable: boolean; initialDelay: number };

/** Worker -> main (the bridge's messages, 'accepted', 'data' and 'channel', come through `bridgePort`). */
export type FromWorker =
  | { type: 'ready'; address: string; mac: string }
  | { type: 'reply'; id: number; value?: unknown; error?: { message: string; code?: string; stack?: string } }
  | { type: 'accepted'; server: number; channel: number; toWorker: FrameRingDescription; credit: SharedArrayBuffer; remoteAddress: string; remotePort: number; localAddress: string; localPort: number }
  /** Bridge bytes, worker -> main: `buffer` (moved in the transfer list) holds `length` bytes. */
  | { type: 'data'; channel: number; buffer: ArrayBuffer; length: number }
  | { type: 'channel'; channel: number; op: 'connect'; remoteAddress: string; remotePort: number; localAddress: string; localPort: number }
  | { type: 'channel'; channel: number; op: 'end' | 'close' }
  | { type: 'channel'; channel: number; op: 'error'; error: { message: string; code?: string } };
