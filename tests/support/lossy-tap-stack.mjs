// The stack side of a lossy kernel download (tests/support/lossy-tap.mjs), one process per
// run so that each run gets a fresh EAL and its own tap: node:http (the demo service,
// GET /bytes/N?seed=S) on a stack whose transmitted frames cross a seeded loss (`impair`,
// since this kernel has no netem). Usage: node lossy-tap-stack.mjs <tap number> <loss 0-1>
// <createStack tcp options as JSON>. Prints `ready` once it serves; on a line on stdin it
// prints its counters as one JSON line and exits.
import { createInterface } from 'node:readline';
import { openTap } from './tap.mjs';

const [tap, loss, tcp] = [Number(process.argv[2]), Number(process.argv[3]), JSON.parse(process.argv[4])];
const { createStack, impair } = await import('../../dist/index.js');
const { serveDemoHttp } = await import('../../dist/demo/http-app.js');
const { plan, link } = await openTap(tap);
const stack = await createStack({
  link: impair(link, { loss, seed: tap }), address: `${plan.stack}/${plan.prefix}`, seed: tap, poll: 'busy', tcp,
});
await serveDemoHttp(stack, 8080);
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const _ of lines) break;
process.stdout.write(`${JSON.stringify(stack.counters())}\n`);
await stack.close({ timeoutMs: 500 });
process.exit(0);
