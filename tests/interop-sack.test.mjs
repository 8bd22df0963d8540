// Interop with the Linux kernel's SACK (RFC 2018, RFC 6675) across net_tap (root; CI runs
// it): the kernel's `curl` downloads 16 MiB from node:http on the stack while 2% of the
// frames the stack sends are lost (a seeded `impair` on the stack's link: this kernel has no
// netem qdisc). The body arrives intact; a capture shows SACK-permitted in both SYNs, the
// kernel reporting SACK blocks, and the stack retransmitting holes below SACKed data rather
// than data the kernel holds; the stack's counters show SACK recovery. The same download with
// `tcp: { sack: false }` is printed beside it as a `note:` (retransmissions, RTOs; no
// assertion on time). Each run is a child process (tests/support/lossy-tap.mjs) owning tap
// wtap41, one after the other.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, tapPlan, run, checkCapture, notedNegativeZero } from './support/tap.mjs';
import { lossyDownload } from './support/lossy-tap.mjs';

const FILE = 'tests/interop-sack.test.mjs';
const TAP = 41;
const SIZE = 16 * 1024 * 1024;
const SEED = 9;
const LOSS = 0.02;

/** One download by the kernel's curl with sack on or off: { curl, counters, dropped }. */
function download(sack, pcap) {
  return lossyDownload({ tap: TAP, tcp: { sack }, loss: LOSS, size: SIZE, seed: SEED, pcap });
}

/**
 * Reads the capture: SACK-permitted in each SYN, SACK blocks from the kernel, and the
 * stack's retransmissions sorted into holes (below a SACKed block of the kernel's latest
 * ACK, in none of its blocks) and re-sends of data the kernel had SACKed.
 */
async function sackView(pcap, stackAddr) {
  const fields = ['ip.src', 'tcp.flags.syn', 'tcp.flags.ack', 'tcp.option_kind', 'tcp.seq_raw', 'tcp.len',
    'tcp.options.sack_le', 'tcp.options.sack_re'];
  const r = await run('tshark', ['-n', '-r', pcap, '-o', 'tcp.relative_sequence_numbers:FALSE', '-Y', 'tcp',
    '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])], { timeoutMs: 300_000 });
  if (r.code !== 0) throw new Error(`tshark -r ${pcap} failed: ${r.err.trim()}`);
  const view = { synSackPerm: [], kernelSackAcks: 0, holeRetransmits: 0, sackedResent: 0 };
  const diff = (a, b) => (a - b) | 0;
  let blocks = [];
  let sentEnd = null;
  for (const line of r.out.split('\n').filter(Boolean)) {
    const [src, syn, , kinds, seqText, lenText, le, re] = line.split('\t');
    const fromStack = src === stackAddr;
    if (syn === '1' || syn === 'True') {
      view.synSackPerm.push({ fromStack, sackPerm: (kinds ?? '').split(',').includes('4') });
      continue;
    }
    if (!fromStack) {
      if (le) {
        const l = le.split(',').map(Number);
        const rr = re.split(',').map(Number);
        blocks = l.map((x, i) => [x, rr[i]]);
        view.kernelSackAcks++;
      } else {
        blocks = [];
      }
      continue;
    }
    const seq = Number(seqText);
    const len = Number(lenText);
    if (len === 0) continue;
    const end = (seq + len) >>> 0;
    if (sentEnd === null || diff(end, sentEnd) > 0) { sentEnd = end; continue; }
    // A retransmission: data below the highest sent.
    const inside = blocks.some(([l, e]) => diff(seq, l) >= 0 && diff(end, e) <= 0);
    const below = blocks.some(([l]) => diff(l, end) >= 0);
    if (inside) view.sackedResent++;
    else if (below) view.holeRetransmits++;
  }
  return view;
}

if (tapOrSkip(FILE, ['curl', 'tcpdump', 'tshark'])) {
  const { seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-sack-'));
  const plan = tapPlan(TAP);
  const expected = seededSha256(SEED, SIZE);
  let withSack = null;

  test.after(() => rmSync(dir, { recursive: true, force: true }));

  test('16 MiB to the kernel with 2% loss: intact, SACK negotiated, holes retransmitted, SACK recovery counted', async () => {
    const pcap = join(dir, 'sack.pcap');
    withSack = await download(true, pcap);
    const { curl, counters: c } = withSack;
    assert.is(curl.code, 0, curl.err);
    assert.is(curl.length, SIZE);
    assert.is(curl.sha, expected);
    const view = await sackView(pcap, plan.stack);
    assert.equal(view.synSackPerm, [{ fromStack: false, sackPerm: true }, { fromStack: true, sackPerm: true }]);
    assert.ok(view.kernelSackAcks > 0, 'the kernel sent SACK blocks');
    assert.ok(view.holeRetransmits > 0, 'the stack retransmitted holes below SACKed data');
    assert.ok(c['tcp.sack.blocks_received'] > 0);
    assert.ok(c['tcp.sack.recovery_episodes'] > 0, 'SACK loss recovery ran');
    assert.ok(c['tcp.sack.retransmits'] + c['tcp.fast_retransmit'] > 0);
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
    console.log(`note: SACK on: ${view.kernelSackAcks} kernel ACKs with SACK blocks; stack retransmissions seen: ${view.holeRetransmits} holes, ${view.sackedResent} of SACKed data (after an RTO, which clears the scoreboard); counters: recovery episodes ${c['tcp.sack.recovery_episodes']}, hole retransmits ${c['tcp.sack.retransmits']}, lost retransmits found ${c['tcp.sack.lost_retransmits']}, RTOs ${c['tcp.timer.rto']}, retransmitted segments ${c['tcp.tx.retransmits']}, capture drops ${withSack.dropped}`);
  });

  test('the same download without SACK (tcp.sack false) also arrives intact; compared in a note', async () => {
    const { curl, counters: c } = await download(false, null);
    assert.is(curl.code, 0, curl.err);
    assert.is(curl.sha, expected);
    assert.is(c['tcp.sack.blocks_received'], 0);
    assert.is(c['tcp.sack.recovery_episodes'], 0);
    const s = withSack?.counters ?? {};
    console.log(`note: 16 MiB at ${LOSS * 100}% loss, SACK on vs off: retransmitted segments ${s['tcp.tx.retransmits']} vs ${c['tcp.tx.retransmits']}, RTOs ${s['tcp.timer.rto']} vs ${c['tcp.timer.rto']}, fast retransmits ${s['tcp.fast_retransmit']} vs ${c['tcp.fast_retransmit']}`);
  });
}

test.run();
