#!/usr/bin/env node
// Makes the golden replays of tests/replay/: for each scenario, two stacks talk over a
// MemoryLink on a virtual clock; what the server stack received is written as NAME.in.pcap,
// its configuration as NAME.json, and replaying NAME.in.pcap into a fresh stack with that
// configuration gives NAME.out.pcap. Before writing, it checks that the replay reproduces the
// live server exactly (same frames in and out at the same times), so a golden is what the
// stack really did, not just what the replay tool did.
//
// Usage: node tests/replay/make-goldens.mjs   (after `npm run build`; rewrites the goldens)

import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseReplayConfig } from '../../dist/replay/config.js';
import { runSession } from '../../dist/replay/session.js';
import { runReplay } from '../../dist/replay/replay.js';
import { comparePcaps, formatDifference } from '../../dist/replay/compare.js';

const here = fileURLToPath(new URL('.', import.meta.url));

export const SCENARIOS = [
  {
    name: 'echo-20k',
    what: 'a client sends 20,000 bytes to an echo server and closes; clean link',
    server: { address: '10.0.0.1/24', mac: '02:00:00:00:00:01', seed: 11, listen: [{ port: 7, app: 'echo' }] },
    client: { address: '10.0.0.2/24', mac: '02:00:00:00:00:02', seed: 12, connect: [{ to: '10.0.0.1', port: 7, atMs: 1, send: 20000 }] },
    link: { seed: 1, delay: '500us' },
  },
  {
    name: 'discard-lossy-200k',
    what: 'a client sends 200,000 bytes to a discard server over a link with 3% loss and 2% reordering',
    server: { address: '10.0.0.1/24', mac: '02:00:00:00:00:01', seed: 21, listen: [{ port: 9, app: 'discard' }] },
    client: { address: '10.0.0.2/24', mac: '02:00:00:00:00:02', seed: 22, connect: [{ to: '10.0.0.1', port: 9, atMs: 1, send: 200000 }] },
    link: { seed: 5, loss: 0.03, reorder: 0.02, delay: '1ms' },
  },
  {
    name: 'closed-port-rst',
    what: 'a client connects to a port nobody listens on: the server answers RST, ACK',
    server: { address: '10.0.0.1/24', mac: '02:00:00:00:00:01', seed: 31, listen: [{ port: 7, app: 'echo' }] },
    client: { address: '10.0.0.2/24', mac: '02:00:00:00:00:02', seed: 32, connect: [{ to: '10.0.0.1', port: 8, atMs: 1, send: 10 }] },
    link: { seed: 3, delay: '200us' },
  },
];

async function make(s, dir) {
  const server = parseReplayConfig(s.server, `${s.name} server`);
  const client = parseReplayConfig(s.client, `${s.name} client`);
  const input = join(dir, `${s.name}.in.pcap`);
  const live = join(dir, `${s.name}.live.pcap`);
  const receiveOnly = join(dir, `${s.name}.rx.pcap`);
  // Two recorders on the server's link would double-wrap it; record 'both' and 'receive' in two runs instead.
  await runSession({ a: server, b: client, link: s.link, recordA: { path: live }, untilUs: 120e6, stopWhenDone: true });
  await runSession({ a: server, b: client, link: s.link, recordA: { path: receiveOnly, record: 'receive' }, untilUs: 120e6, stopWhenDone: true });
  copyFileSync(receiveOnly, input);
  const out = join(dir, `${s.name}.out.pcap`);
  const r = await runReplay({ input, config: server, out });
  const same = comparePcaps(out, live);
  if (!same.identical) {
    // The live run may go on after the replay's drain (timers after the last input frame): compare the common part.
    const d = same.difference;
    if (!(d.field === 'frame' && d.actual === '(no frame)')) throw new Error(`${s.name}: the replay does not reproduce the live server: ${formatDifference(d)}`);
  }
  writeFileSync(join(here, `${s.name}.json`), `${JSON.stringify(s.server, null, 2)}\n`);
  copyFileSync(input, join(here, `${s.name}.in.pcap`));
  copyFileSync(out, join(here, `${s.name}.out.pcap`));
  console.log(`${s.name}: ${r.framesIn} frames in, ${r.framesOut} out (${s.what})`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = mkdtempSync(join(tmpdir(), 'goldens-'));
  try {
    for (const s of SCENARIOS) await make(s, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
