// Neighbour sharing between the queues of one port: every ARP entry this stack learns from
// the wire is listed for the host, which publishes it to the other workers; entries other
// workers learned are adopted through `neighbourImport` (DESIGN.md "Threads and queues": no
// queue is special, and a worker never asks for an address another one already knows).
//
// Guarantees: listing is off until the host enables it (one queue: nothing to share);
// the learned list holds up to `MAX_LISTED` entries between two reads by the host (an address
// learned twice is listed twice; the host publishes both, the later wins); beyond that an
// entry is counted in `arp.shared.list_full` and not shared (the other workers then resolve
// it themselves, as without sharing); an imported entry is confirmed as if a
// reply had arrived (fresh lifetime, waiting frames released at the next burst) but is not
// listed again, so entries do not echo between workers. Counted: `arp.shared.out`,
// `arp.shared.in`, `arp.shared.list_full`. Nothing allocates: both lists are static data.
//
// Entry layout (12 bytes, both lists): 0 IPv4 address (u32, host order), 4 MAC (6 bytes), 10 pad.

import { defineCounter, bump } from "../abi/counters";
import { arpAdopt } from "./arp";
import { setNow } from "../util/time";

const SHARED_OUT = defineCounter("arp.shared.out");
const SHARED_IN = defineCounter("arp.shared.in");
const LIST_FULL = defineCounter("arp.shared.list_full");

@inline const MAX_LISTED: u32 = 64;
@inline export const NEIGHBOUR_ENTRY_BYTES: u32 = 12;
@inline const N_IP: u32 = 0;
@inline const N_MAC: u32 = 4;

const learned = memory.data(MAX_LISTED * NEIGHBOUR_ENTRY_BYTES);
const imports = memory.data(MAX_LISTED * NEIGHBOUR_ENTRY_BYTES);
let learnedLen: u32 = 0;
let sharing = false;

/** Turns listing of learned entries on (several queues) or off. */
export function neighbourShareEnable(on: bool): void {
  sharing = on;
  learnedLen = 0;
}

/** ARP input confirmed `ip` at the 6-byte MAC at `mac` from the wire. */
export function neighbourLearned(ip: u32, mac: usize): void {
  if (!sharing) return;
  if (learnedLen >= MAX_LISTED) { bump(LIST_FULL); return; }
  const e = learned + learnedLen * NEIGHBOUR_ENTRY_BYTES;
  store<u32>(e, ip, N_IP);
  memory.copy(e + N_MAC, mac, 6);
  learnedLen++;
  bump(SHARED_OUT);
}

/** Entries learned since the host last cleared the list. */
export function neighbourLearnedCount(): u32 { return learnedLen; }
/** Address of the learned list. */
export function neighbourLearnedPtr(): usize { return learned; }
/** The host published the learned list. */
export function neighbourLearnedClear(): void { learnedLen = 0; }

/** Where the host writes entries to adopt (at most `neighbourImportMax()`). */
export function neighbourImportPtr(): usize { return imports; }
export function neighbourImportMax(): u32 { return MAX_LISTED; }

/**
 * Adopts the first `n` entries the host wrote at `neighbourImportPtr()`, at `nowUs` (the time
 * of the burst about to run: an entry's lifetime starts now, not at this stack's last burst).
 */
export function neighbourImport(n: u32, nowUs: f64): void {
  setNow(nowUs);
  if (n > MAX_LISTED) n = MAX_LISTED;
  for (let i: u32 = 0; i < n; i++) {
    const e = imports + i * NEIGHBOUR_ENTRY_BYTES;
    arpAdopt(load<u32>(e, N_IP), e + N_MAC);
    bump(SHARED_IN);
  }
}
