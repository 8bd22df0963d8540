#!/usr/bin/env node
// Runs every benchmark in bench/ (npm run bench), one process each, in turn, so they do not
// compete for the two cores. Text by default; with --json, one JSON object
// { benchmarks: { name: <that benchmark's JSON> | { skipped: reason } } } on stdout.
//
// Usage: node bench/run.mjs [--json] [name ...]   (names: links, bridge, dpdk-burst, dpdk-idle, dpdk-tap)

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCHES = [
  { name: 'links', needs: [] },
  { name: 'bridge', needs: [] },
  { name: 'dpdk-burst', needs: ['dpdk'] },
  { name: 'dpdk-idle', needs: ['dpdk'] },
  { name: 'dpdk-tap', needs: ['dpdk', 'root'] },
];

const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const unknown = names.filter((n) => !BENCHES.some((b) => b.name === n));
if (unknown.length) {
  console.error(`bench/run.mjs: unknown benchmark ${unknown.join(', ')} (one of ${BENCHES.map((b) => b.name).join(', ')})`);
  process.exit(2);
}

const { dpdkAvailable } = await import('../dist/dpdk/addon.js');
const missing = {
  dpdk: () => (dpdkAvailable() ? null : 'the DPDK addon is not built (apt-get install libdpdk-dev dpdk pkg-config; npm run build:addon)'),
  root: () => (process.getuid?.() === 0 ? null : 'needs root (a net_tap device)'),
};

const out = {};
let failed = 0;
for (const b of BENCHES.filter((x) => names.length === 0 || names.includes(x.name))) {
  const why = b.needs.map((n) => missing[n]()).find((r) => r !== null);
  if (why) {
    out[b.name] = { skipped: why };
    if (!json) console.log(`== ${b.name}: skipped: ${why}`);
    continue;
  }
  const file = fileURLToPath(new URL(`./${b.name}.mjs`, import.meta.url));
  if (!json) console.log(`== ${b.name}`);
  const r = spawnSync(process.execPath, [file, ...(json ? ['--json'] : [])], { encoding: 'utf8', stdio: ['ignore', json ? 'pipe' : 'inherit', 'inherit'] });
  if (r.status !== 0) {
    failed++;
    out[b.name] = { failed: `exit ${r.status ?? r.signal}` };
    continue;
  }
  if (json) {
    try {
      out[b.name] = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      failed++;
      out[b.name] = { failed: 'its --json output was not JSON' };
    }
  }
}
if (json) console.log(JSON.stringify({ benchmarks: out }));
process.exit(failed ? 1 : 0);
