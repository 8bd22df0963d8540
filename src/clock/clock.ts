// Time for the host side: the stack never reads a clock; the driver passes it `nowUs`.
//
// Guarantees: `RealClock` is monotonic (performance.now based). `VirtualClock` only moves
// when told, or, in auto mode, jumps to the next timer once the event loop has nothing else
// to do: TCP timers of minutes take no wall time, and the order of events is a function of
// the inputs alone (timers fire in (time, creation order)), which makes runs reproducible.

export interface TimerHandle { readonly id: number }

export interface Clock {
  readonly virtual: boolean;
  nowUs(): number;
  /** Calls `fn` once at or after `atUs`. */
  setTimer(atUs: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
  /** Releases what keeps the process alive (pending real timers). */
  dispose(): void;
}

export class RealClock implements Clock {
  readonly virtual = false;
  private readonly origin = performance.timeOrigin;
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout | NodeJS.Immediate>();

  nowUs(): number {
    return Math.floor((this.origin + performance.now()) * 1000);
  }

  setTimer(atUs: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    const delayMs = (atUs - this.nowUs()) / 1000;
    const run = () => { this.timers.delete(id); fn(); };
    this.timers.set(id, delayMs <= 0 ? setImmediate(run) : setTimeout(run, Math.ceil(delayMs)));
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t === undefined) return;
    this.timers.delete(handle.id);
    clearTimeout(t as NodeJS.Timeout);
    clearImmediate(t as NodeJS.Immediate);
  }

  dispose(): void {
    for (const id of [...this.timers.keys()]) this.clearTimer({ id });
  }
}

interface VirtualTimer { id: number; atUs: number; fn: () => void }

export interface VirtualClockOptions {
  /** Start time in µs (default 0). */
  startUs?: number;
  /** Jump to the next timer whenever the event loop is idle (default true). */
  auto?: boolean;
}

export class VirtualClock implements Clock {
  readonly virtual = true;
  private now: number;
  private nextId = 1;
  /** Min-heap on (atUs, id). */
  private heap: VirtualTimer[] = [];
  private cancelled = new Set<number>();
  private readonly auto: boolean;
  private running: NodeJS.Immediate | null = null;
  private disposed = false;

  constructor(options: VirtualClockOptions = {}) {
    const start = options.startUs ?? 0;
    if (!Number.isFinite(start) || start < 0) throw new RangeError(`VirtualClock: startUs must be a non-negative number, got ${start}`);
    this.now = start;
    this.auto = options.auto ?? true;
  }

  nowUs(): number { return this.now; }

  setTimer(atUs: number, fn: () => void): TimerHandle {
    const t = { id: this.nextId++, atUs: Math.max(atUs, this.now), fn };
    this.push(t);
    this.kick();
    return { id: t.id };
  }

  clearTimer(handle: TimerHandle): void { this.cancelled.add(handle.id); }

  /** Moves time forward to `atUs`, firing every timer due on the way, in order. */
  advanceTo(atUs: number): void {
    for (;;) {
      const t = this.peek();
      if (!t || t.atUs > atUs) break;
      this.pop();
      this.now = Math.max(this.now, t.atUs);
      t.fn();
    }
    this.now = Math.max(this.now, atUs);
  }

  advanceBy(us: number): void { this.advanceTo(this.now + us); }

  /** Fires the earliest timer (jumping time to it); false when none is pending. */
  step(): boolean {
    const t = this.peek();
    if (!t) return false;
    this.pop();
    this.now = Math.max(this.now, t.atUs);
    t.fn();
    return true;
  }

  /** Time of the earliest pending timer, or Infinity. */
  nextTimerUs(): number { return this.peek()?.atUs ?? Infinity; }

  dispose(): void {
    this.disposed = true;
    if (this.running) clearImmediate(this.running);
    this.running = null;
    this.heap = [];
  }

  // Auto mode: one timer per turn of the event loop, so promise and stream callbacks run
  // between timers exactly as they would between real packets.
  private kick(): void {
    if (!this.auto || this.running || this.disposed) return;
    this.running = setImmediate(() => {
      this.running = null;
      if (this.step()) this.kick();
    });
  }

  private peek(): VirtualTimer | undefined {
    while (this.heap.length && this.cancelled.has(this.heap[0].id)) {
      this.cancelled.delete(this.heap[0].id);
      this.popRaw();
    }
    return this.heap[0];
  }

  private pop(): VirtualTimer | undefined { this.peek(); return this.popRaw(); }

  private push(t: VirtualTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private popRaw(): VirtualTimer | undefined {
    const h = this.heap;
    if (!h.length) return undefined;
    const top = h[0];
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.atUs < b.atUs || (a.atUs === b.atUs && a.id < b.id);
}
