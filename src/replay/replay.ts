// Replays a capture into a stack on a virtual clock: the frames addressed to the stack (its
// MAC, or broadcast) are fed at their capture times, and everything in and out is recorded.
//
// Guarantees: the stack's clock starts at the capture's first timestamp, so recorded frames
// line up with the input capture's times; the run ends `drainUs` (default 2 s) after the
// last input frame, or earlier when nothing is scheduled; the output pcap is closed (complete)
// before the promise resolves. Same capture + same configuration = byte-identical output.

import { VirtualClock } from '../clock/clock.js';
import { PcapLink } from '../links/pcap-link.js';
import { Recorder } from '../links/recorder.js';
import type { Link } from '../links/link.js';
import { PcapReader } from '../pcap/reader.js';
import { formatMac } from '../net/ipv4.js';
import type { ReplayConfig } from './config.js';
import { ReplayNode } from './node.js';
import type { AppStats } from './app.js';

export interface ReplayOptions {
  /** The capture to feed (path or bytes). */
  input: string | Uint8Array;
  config: ReplayConfig;
  /** Where to record everything in and out; omitted: nothing is written. */
  out?: string;
  /** How long to keep running after the last input frame, µs (default 2 s). */
  drainUs?: number;
  debug?: boolean;
}

export interface ReplayResult {
  framesIn: number;
  framesOut: number;
  /** Frames of the capture that were not addressed to the stack. */
  filtered: number;
  startUs: number;
  endUs: number;
  app: AppStats;
  counters: Record<string, number>;
}

function firstTimestamp(input: string | Uint8Array): number {
  const r = typeof input === 'string' ? PcapReader.open(input) : PcapReader.from(input, 'input');
  try {
    const rec = r.next();
    return rec === null ? 0 : Math.floor(rec.tsUs);
  } finally {
    r.close();
  }
}

export async function runReplay(o: ReplayOptions): Promise<ReplayResult> {
  const startUs = firstTimestamp(o.input);
  const clock = new VirtualClock({ auto: false, startUs });
  const source = new PcapLink({
    ...(typeof o.input === 'string' ? { path: o.input } : { data: o.input }),
    startUs, mtu: o.config.mtu, to: { mac: formatMac(o.config.mac) }, collect: false,
  });
  const link: Link = o.out ? new Recorder(source, { path: o.out }) : source;
  const node = new ReplayNode(o.config, link, clock, { debug: o.debug });
  const drain = o.drainUs ?? 2_000_000;
  let endAt = Infinity;
  for (;;) {
    if (source.exhausted && endAt === Infinity) endAt = clock.nowUs() + drain;
    const next = clock.nextTimerUs();
    if (next === Infinity || next > endAt) break;
    clock.step();
  }
  node.driver.stop();
  await link.close();
  clock.dispose();
  const s = source.stats;
  return {
    framesIn: s.rxFrames, framesOut: s.txFrames, filtered: s.filtered, startUs, endUs: clock.nowUs(),
    app: node.app.stats, counters: node.instance.counters(),
  };
}
