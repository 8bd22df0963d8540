// A kernel `curl` download from a stack whose transmitted frames are lost at a given rate,
// across tap wtapN (root): the loss-recovery interop tests (interop-sack, interop-rack) run
// it with and without the feature they test. The stack runs in a child process
// (lossy-tap-stack.mjs) so each run gets a fresh EAL and its own tap; runs follow one another.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { tapPlan, run, startCapture } from './tap.mjs';

/** Starts the stack process; resolves { finish(): counters } once it serves. */
async function startStack(tap, loss, tcp) {
  const child = spawn('setpriv', ['--pdeathsig', 'TERM', process.execPath,
    new URL('./lossy-tap-stack.mjs', import.meta.url).pathname, String(tap), String(loss), JSON.stringify(tcp)],
  { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise((resolve) => child.on('close', resolve));
  const first = await lines.next();
  if (first.done || first.value !== 'ready') throw new Error(`the stack process did not start (exit ${await exited})`);
  return {
    async finish() {
      child.stdin.write('done\n');
      const line = await lines.next();
      await exited;
      return JSON.parse(line.value);
    },
  };
}

/**
 * One download of `size` seeded bytes (seed `seed`) by the kernel's curl from a stack on tap
 * `tap` created with `tcp` options, `loss` of its frames lost; captured to `pcap` when given.
 * Resolves { curl (code, length, sha, err), counters (the stack's), dropped (by the capture) }.
 */
export async function lossyDownload({ tap, tcp, loss, size, seed, pcap = null }) {
  const plan = tapPlan(tap);
  const stack = await startStack(tap, loss, tcp);
  const capture = pcap ? await startCapture(plan.iface, pcap) : null;
  const curl = await run('curl', ['-sS', '--max-time', '300', `http://${plan.stack}:8080/bytes/${size}?seed=${seed}`],
    { hashStdout: true, timeoutMs: 310_000 });
  await new Promise((r) => setTimeout(r, 200)); // the last ACKs and FINs into the capture
  const dropped = capture ? (await capture.stop()).dropped : 0;
  const counters = await stack.finish();
  // The kernel unregisters the tap after the process is gone, not at once (seen under load):
  // the next run's process needs the name free.
  const until = Date.now() + 15_000;
  while (existsSync(`/sys/class/net/${plan.iface}`) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return { curl, counters, dropped };
}
