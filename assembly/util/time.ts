// The stack's clock: the host passes `nowUs` into every call; the stack never reads a clock.
//
// Guarantees: `now()` is monotonic within the stack (a host that passes an earlier time
// than before is ignored, and counted), so timers never run backwards.

import { defineCounter, bump } from "../abi/counters";

const CLOCK_BACKWARDS = defineCounter("clock.backwards");

let nowUs: i64 = 0;

/** Sets the time from the host (microseconds, any epoch, as f64 so JS passes no BigInt). */
export function setNow(us: f64): void {
  const t = <i64>us;
  if (t < nowUs) { bump(CLOCK_BACKWARDS); return; }
  nowUs = t;
}

@inline export function now(): i64 { return nowUs; }

/** "No deadline" in `nextDeadline` answers. */
export const NEVER: i64 = i64.MAX_VALUE;
