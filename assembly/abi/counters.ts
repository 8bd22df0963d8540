// Named 64-bit counters, visible to the host.
//
// Guarantees: each counter is declared once, beside the code that bumps it, with
// `defineCounter("layer.what[.why]")`; drops are named `drop.<layer>.<reason>` so every
// discarded frame is attributable. Bumping is a single store; nothing allocates after start.

const MAX_COUNTERS: i32 = 512;
const values = new StaticArray<u64>(MAX_COUNTERS);
let names = "";
let count: i32 = 0;

/** Declares a counter at module start; returns its index. Traps only on a build bug (too many). */
export function defineCounter(name: string): i32 {
  assert(count < MAX_COUNTERS, "too many counters");
  names = count == 0 ? name : names + "," + name;
  return count++;
}

@inline export function bump(counter: i32): void {
  unchecked(values[counter] += 1);
}

@inline export function bumpBy(counter: i32, n: u64): void {
  unchecked(values[counter] += n);
}

@inline export function counterValue(counter: i32): u64 {
  return unchecked(values[counter]);
}

export function countersPtr(): usize {
  return changetype<usize>(values);
}

export function counterCount(): i32 {
  return count;
}

export function counterNames(): string {
  return names;
}
