// The loop that runs one stack: frames from the link into the stack, frames from the stack
// to the link, timers, and the notify list, all on the stack's clock.
//
// Guarantees: one `input`/`poll` call per burst and one link call each way per burst; a
// pump runs until the link has nothing ready and the stack filled less than a whole TX
// ring, then sleeps until the earlier of the stack's next deadline and the link's next
// frame (links that cannot announce frames are polled by the idle policy: 'busy' spins,
// 'adaptive' backs off to sleeping, and on a link that can wait for traffic (RX interrupts)
// sleeps there until a frame or the next deadline). Nothing here allocates per burst.

import type { Clock, TimerHandle } from '../clock/clock.js';
import type { Link, FrameRings } from '../links/link.js';
import type { StackInstance } from '../wasm/instance.js';

export type PollPolicy = 'busy' | 'adaptive';

export interface DriverOptions {
  /** For polled links (DPDK): spin ('busy') or back off to sleeping when idle ('adaptive'). */
  poll?: PollPolicy;
  /** Longest sleep of the adaptive policy, µs (default 1000). */
  maxSleepUs?: number;
  /** Called for each socket handle in the notify list after a burst. */
  onNotify: (handle: number) => void;
  /** Called after each pump, when the stack is quiet (used by graceful close, counters UI). */
  onIdle?: () => void;
}

/** Bursts a single pump may run before yielding to the event loop. */
const MAX_BURSTS_PER_PUMP = 64;
/** Empty polls before the adaptive policy starts sleeping. */
const ADAPTIVE_SPIN_POLLS = 256;
/** Longest single sleep in `link.waitForFrames` (the stack is looked at least this often). */
const MAX_LINK_WAIT_MS = 1000;

export class StackDriver {
  readonly rings: FrameRings;
  private timer: TimerHandle | null = null;
  private timerAtUs = Infinity;
  private pumping = false;
  private closed = false;
  private emptyPolls = 0;
  private sleepUs = 1;
  /** A `link.waitForFrames` is outstanding. */
  private waitingOnLink = false;
  /** Bursts run, for counters and tests. */
  bursts = 0;

  constructor(
    readonly instance: StackInstance,
    readonly link: Link,
    readonly clock: Clock,
    private readonly options: DriverOptions,
  ) {
    const ex = instance.exports;
    this.rings = {
      instance,
      rxDesc: ex.rxDescBase(),
      rxSlots: ex.rxSlotCount(),
      rxSlotBytes: ex.rxSlotBytes(),
      txDesc: ex.txDescBase(),
      txSlots: ex.txSlotCount(),
      txSlotBytes: ex.txSlotBytes(),
    };
    link.attach(this.rings, (atUs) => this.wakeAt(atUs));
  }

  /** Runs the stack now (after a socket call that may have produced output). */
  kick(): void {
    this.wakeAt(this.clock.nowUs());
  }

  /** Asks for a pump at `atUs` at the latest. */
  wakeAt(atUs: number): void {
    if (this.closed || atUs >= this.timerAtUs) return;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timerAtUs = atUs;
    this.timer = this.clock.setTimer(atUs, () => {
      this.timer = null;
      this.timerAtUs = Infinity;
      this.pump();
    });
  }

  /** Runs bursts until quiet, then schedules the next wake-up. */
  pump(): void {
    if (this.closed || this.pumping) return;
    this.pumping = true;
    const ex = this.instance.exports;
    const link = this.link;
    const txSlots = this.rings.txSlots;
    let received = 0;
    try {
      for (let i = 0; i < MAX_BURSTS_PER_PUMP; i++) {
        const now = this.clock.nowUs();
        const n = link.receive(now);
        const m = n > 0 ? ex.input(n, now) : ex.poll(now);
        if (m > 0) link.transmit(m, now);
        this.bursts++;
        received += n;
        this.drainNotify();
        if (n === 0 && m < txSlots) break;
      }
    } finally {
      this.pumping = false;
    }
    this.options.onIdle?.();
    this.scheduleNext(received);
  }

  private drainNotify(): void {
    const ex = this.instance.exports;
    const len = ex.notifyListLen();
    if (len === 0) return;
    const base = ex.notifyListPtr() >>> 2;
    const u32 = this.instance.u32;
    // Handles are copied out first: a handler may call into the stack, which may notify again.
    const handles = this.notifyScratch.length >= len ? this.notifyScratch : (this.notifyScratch = new Uint32Array(len * 2));
    for (let i = 0; i < len; i++) handles[i] = u32[base + i];
    ex.notifyClear();
    for (let i = 0; i < len; i++) this.options.onNotify(handles[i]);
  }
  private notifyScratch = new Uint32Array(64);

  private scheduleNext(received: number): void {
    if (this.closed) return;
    const now = this.clock.nowUs();
    const deadline = this.instance.exports.nextDeadlineUs();
    let next = Math.min(deadline < 0 ? Infinity : deadline, this.link.pendingUs());
    if (this.link.polled) {
      const idleUs = this.idleDelayUs(received > 0);
      if (this.mayWaitOnLink(idleUs)) {
        // Deep sleep: the link wakes us on traffic; a timer still covers the next deadline
        // (a socket call may make an earlier one meanwhile: `kick` and `wakeAt` still work).
        this.waitOnLink(next === Infinity ? MAX_LINK_WAIT_MS : (next - now) / 1000);
      } else {
        next = Math.min(next, now + idleUs);
      }
    }
    if (next !== Infinity) this.wakeAt(Math.max(next, now));
  }

  private mayWaitOnLink(idleUs: number): boolean {
    return this.linkWaitError === null && this.options.poll === 'adaptive' && idleUs >= (this.options.maxSleepUs ?? 1000) &&
      !this.clock.virtual && this.link.canWait === true && typeof this.link.waitForFrames === 'function';
  }

  private waitOnLink(timeoutMs: number): void {
    if (this.waitingOnLink) return;
    this.waitingOnLink = true;
    this.linkWaits++;
    this.link.waitForFrames!(Math.min(timeoutMs, MAX_LINK_WAIT_MS)).then(
      (traffic) => {
        this.waitingOnLink = false;
        if (traffic) { this.emptyPolls = 0; this.sleepUs = 1; }
        this.pump();
      },
      (err: Error) => {
        // The port went away under us (closed): stop waiting there, keep polling on timers.
        this.waitingOnLink = false;
        this.linkWaitError = err;
        this.pump();
      },
    );
  }
  /** Sleeps taken in `link.waitForFrames`, for tests and the idle benchmark. */
  linkWaits = 0;
  /** The last error `waitForFrames` gave (then the driver polls on timers instead). */
  linkWaitError: Error | null = null;

  /** The idle policy for polled links: how long until the next look at the queue. */
  private idleDelayUs(busy: boolean): number {
    if (busy || this.options.poll !== 'adaptive') {
      this.emptyPolls = 0;
      this.sleepUs = 1;
      return 0;
    }
    if (++this.emptyPolls < ADAPTIVE_SPIN_POLLS) return 0;
    const max = this.options.maxSleepUs ?? 1000;
    this.sleepUs = Math.min(this.sleepUs * 2, max);
    return this.sleepUs;
  }

  /** Stops pumping; the link stays open (the stack closes it after draining). */
  stop(): void {
    this.closed = true;
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = null;
  }
}
