// Real frames captured from Linux kernels, for the wire, iface, UDP, fuzz and DPDK tests:
// tests/fixtures/NAME.hex holds one frame a line in hex, `#` lines are comments
// (tests/fixtures/capture.sh records them).

import { readFileSync } from 'node:fs';

/** The frames of tests/fixtures/NAME.hex, in file order. */
export function fixture(name) {
  const text = readFileSync(new URL(`../fixtures/${name}.hex`, import.meta.url), 'utf8');
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => Uint8Array.from(Buffer.from(l.trim(), 'hex')));
}
