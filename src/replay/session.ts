// Two stacks talking over an in-process MemoryLink (optionally impaired) on one virtual
// clock, each link optionally recorded to a pcap: the deterministic session the determinism
// test and the golden replays are made from.
//
// Guarantees: the session runs synchronously by stepping the virtual clock, timer by timer in
// (time, creation) order; with the same configurations, link options and seeds it produces
// the same frames at the same times, so recorded pcaps are byte-identical run after run.

import { VirtualClock } from '../clock/clock.js';
import { MemoryLink, type MemoryLinkOptions } from '../links/memory.js';
import { Recorder, type RecorderOptions } from '../links/recorder.js';
import type { Link } from '../links/link.js';
import type { ReplayConfig } from './config.js';
import { ReplayNode } from './node.js';

export interface SessionOptions {
  a: ReplayConfig;
  b: ReplayConfig;
  link?: MemoryLinkOptions;
  /** Record stack a's (or b's) link, in and out, to a pcap. */
  recordA?: RecorderOptions;
  recordB?: RecorderOptions;
  /** Stop at this time (µs) at the latest, or earlier when no timer is left. */
  untilUs: number;
  /** Stop `graceUs` (default 1 s) after both apps have closed all their connections. */
  stopWhenDone?: boolean;
  graceUs?: number;
  debug?: boolean;
}

export interface SessionResult {
  endUs: number;
  steps: number;
  a: ReplayNode;
  b: ReplayNode;
  links: [MemoryLink, MemoryLink];
}

export async function runSession(o: SessionOptions): Promise<SessionResult> {
  const clock = new VirtualClock({ auto: false });
  const links = MemoryLink.pair(o.link ?? {});
  const la: Link = o.recordA ? new Recorder(links[0], o.recordA) : links[0];
  const lb: Link = o.recordB ? new Recorder(links[1], o.recordB) : links[1];
  const a = new ReplayNode(o.a, la, clock, { debug: o.debug });
  const b = new ReplayNode(o.b, lb, clock, { debug: o.debug });
  let steps = 0;
  let started = false;
  let until = o.untilUs;
  for (;;) {
    const next = clock.nextTimerUs();
    if (next === Infinity || next > until) break;
    clock.step();
    steps++;
    if (a.app.busy || b.app.busy) started = true;
    else if (o.stopWhenDone && started && until === o.untilUs) until = Math.min(o.untilUs, clock.nowUs() + (o.graceUs ?? 1_000_000));
  }
  a.driver.stop();
  b.driver.stop();
  await la.close();
  await lb.close();
  clock.dispose();
  return { endUs: clock.nowUs(), steps, a, b, links };
}
