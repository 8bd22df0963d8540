// Interop with the Linux kernel across net_tap (root; CI runs it) with Proportional Rate
// Reduction (RFC 6937) in the stack's fast recoveries: the kernel's `curl` downloads 16 MiB
// from node:http on a stack created with `tcp: { prr: true }` over tap wtap47
// (10.99.47.0/24), while 2% of the frames the stack sends are lost (a seeded `impair` on the
// stack's link: this kernel has no netem qdisc). The body has the length and SHA-256 asked
// for; the stack's counters show every fast recovery ran PRR and left with cwnd = ssthresh;
// tshark finds no malformed frame and no bad checksum in a capture of the run.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, startCapture, checkCapture, notedNegativeZero } from './support/tap.mjs';

const FILE = 'tests/interop-prr.test.mjs';
const TAP = 47;
const SIZE = 16 * 1024 * 1024;
const SEED = 9;
const LOSS = 0.02;
const HTTP_PORT = 8080;

if (tapOrSkip(FILE, ['curl', 'tcpdump', 'tshark'])) {
  const { createStack, impair } = await import('../dist/index.js');
  const { serveDemoHttp } = await import('../dist/demo/http-app.js');
  const { seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-prr-'));
  const { plan, link } = await openTap(TAP);
  const stack = await createStack({
    link: impair(link, { loss: LOSS, seed: 47 }), address: `${plan.stack}/${plan.prefix}`, seed: 47, poll: 'busy',
    tcp: { prr: true },
  });
  await serveDemoHttp(stack, HTTP_PORT);

  test.after(async () => {
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('kernel curl downloads 16 MiB from a PRR stack losing 2% of its frames: intact, recoveries PRR\'s', async () => {
    const pcap = join(dir, 'download.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const headers = join(dir, 'headers');
    const curl = await run('curl', ['-sS', '--max-time', '300', '-D', headers, `http://${plan.stack}:${HTTP_PORT}/bytes/${SIZE}?seed=${SEED}`],
      { hashStdout: true, timeoutMs: 310_000 });
    const waitClosed = Date.now() + 5000;
    while (stack.counters()['tcp.conn.closed'] === 0 && Date.now() < waitClosed) await new Promise((r) => setTimeout(r, 20));
    await capture.stop();
    assert.is(curl.code, 0, curl.err);
    const head = readFileSync(headers, 'utf8');
    assert.match(head, /^HTTP\/1\.1 200 OK\r\n/);
    assert.is(curl.length, SIZE);
    assert.is(curl.sha, seededSha256(SEED, SIZE));
    const c = stack.counters();
    assert.ok(c['tcp.tx.retransmits'] > 0, 'frames were lost and resent');
    assert.ok(c['tcp.prr.recoveries'] > 0, 'fast recoveries ran PRR');
    assert.is(c['tcp.prr.recoveries'], c['tcp.fast_retransmit'], 'every fast recovery is a PRR one');
    assert.ok(c['tcp.prr.exits'] > 0, 'recoveries ended at RecoveryPoint with cwnd = ssthresh');
    assert.ok(c['tcp.prr.proportional_acks'] + c['tcp.prr.crb_acks'] + c['tcp.prr.ssrb_acks'] > 0);
    const seen = await checkCapture(pcap, plan.stack);
    assert.equal(seen.problems, [], 'no malformed frame, no bad checksum');
    notedNegativeZero(seen);
    console.log(`note: prr over net_tap with 2% loss: ${c['tcp.prr.recoveries']} recoveries, ${c['tcp.prr.exits']} exits, ` +
      `${c['tcp.tx.retransmits']} retransmits, ${c['tcp.timer.rto']} RTOs, ` +
      `proportional/crb/ssrb ACKs ${c['tcp.prr.proportional_acks']}/${c['tcp.prr.crb_acks']}/${c['tcp.prr.ssrb_acks']}`);
  });
}

test.run();
