// Interop of RACK-TLP (RFC 8985) with the Linux kernel across net_tap (root; CI runs it): the
// kernel's `curl` downloads 16 MiB from node:http on the stack while 2% of the frames the
// stack sends are lost (a seeded `impair` on the stack's link: this kernel has no netem
// qdisc). With `tcp: { rack: true }` the body arrives intact, the capture is clean, and the
// stack's counters show tail loss probes sent and segments RACK marked lost. The same
// download with RACK-TLP off runs beside it; RTOs and retransmissions of both are printed as
// a `note:` (no assertion on time or on the comparison). Each run is a child process
// (tests/support/lossy-tap.mjs) owning tap wtap46, one after the other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, tapPlan, checkCapture, notedNegativeZero } from './support/tap.mjs';
import { lossyDownload } from './support/lossy-tap.mjs';

const FILE = 'tests/interop-rack.test.mjs';
const TAP = 46;
const SIZE = 16 * 1024 * 1024;
const SEED = 9;
const LOSS = 0.02;

/** One download by the kernel's curl with rack on or off: { curl, counters, dropped }. */
function download(rack, pcap) {
  return lossyDownload({ tap: TAP, tcp: { rack }, loss: LOSS, size: SIZE, seed: SEED, pcap });
}

if (tapOrSkip(FILE, ['curl', 'tcpdump', 'tshark'])) {
  const { seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-rack-'));
  const plan = tapPlan(TAP);
  const expected = seededSha256(SEED, SIZE);
  let withRack = null;

  test.after(() => rmSync(dir, { recursive: true, force: true }));

  test('16 MiB to the kernel with 2% loss, RACK-TLP on: intact, clean capture, probes sent and losses marked by RACK', async () => {
    const pcap = join(dir, 'rack.pcap');
    withRack = await download(true, pcap);
    const { curl, counters: c } = withRack;
    assert.is(curl.code, 0, curl.err);
    assert.is(curl.length, SIZE);
    assert.is(curl.sha, expected);
    assert.ok(c['tcp.tlp.probes'] > 0, 'tail loss probes were sent');
    assert.ok(c['tcp.rack.lost_marked'] > 0, 'RACK marked segments lost');
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
  });

  test('the same download with RACK-TLP off also arrives intact; RTOs compared in a note', async () => {
    const { curl, counters: c } = await download(false, null);
    assert.is(curl.code, 0, curl.err);
    assert.is(curl.sha, expected);
    assert.is(c['tcp.tlp.probes'], 0);
    assert.is(c['tcp.rack.lost_marked'], 0);
    const r = withRack?.counters ?? {};
    console.log(`\nnote: 16 MiB at ${LOSS * 100}% loss, RACK-TLP on vs off: RTOs ${r['tcp.timer.rto']} vs ${c['tcp.timer.rto']}, retransmitted segments ${r['tcp.tx.retransmits']} vs ${c['tcp.tx.retransmits']}; on: TLP probes ${r['tcp.tlp.probes']}, TLP-repaired losses ${r['tcp.tlp.recoveries']}, RACK lost marks ${r['tcp.rack.lost_marked']}, reordering timer ${r['tcp.rack.reo_timer_fired']}, SACK recoveries ${r['tcp.sack.recovery_episodes']}`);
  });
}

test.run();
