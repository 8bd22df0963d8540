// The stack side of tests/interop-rack.test.mjs, one process per run so that each run gets a
// fresh EAL and its own tap wtap46: node:http (the demo service, GET /bytes/N?seed=S) on a
// stack whose transmitted frames cross a seeded loss (`impair`, since this kernel has no
// netem). Usage: node tests/interop-rack-stack.mjs <rack 0|1> <loss 0-1>. Prints `ready` once
// it serves; on a line on stdin it prints its counters as one JSON line and exits.
import { createInterface } from 'node:readline';
import { openTap } from './support/tap.mjs';

const TAP = 46;
const [rack, loss] = [process.argv[2] === '1', Number(process.argv[3])];
const { createStack, impair } = await import('../dist/index.js');
const { serveDemoHttp } = await import('../dist/demo/http-app.js');
const { plan, link } = await openTap(TAP);
const stack = await createStack({
  link: impair(link, { loss, seed: 46 }), address: `${plan.stack}/${plan.prefix}`, seed: 46, poll: 'busy', tcp: { rack },
});
await serveDemoHttp(stack, 8080);
process.stdout.write('ready\n');
const lines = createInterface({ input: process.stdin });
for await (const _ of lines) break;
process.stdout.write(`${JSON.stringify(stack.counters())}\n`);
await stack.close({ timeoutMs: 500 });
process.exit(0);
