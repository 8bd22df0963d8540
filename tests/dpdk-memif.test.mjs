// Two processes, two stacks, one net_memif link between them (no privileges): the child runs
// an echo server on its stack, this process connects from its own, and 4 MiB must come back
// byte for byte through both processes' DPDK paths.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { dpdkOrSkip } from './support/dpdk.mjs';
import { seededBytes as bytes } from './helpers/seeded.mjs';

const dpdk = dpdkOrSkip('tests/dpdk-memif.test.mjs');
const { startEal, openPort } = await import('../dist/dpdk/index.js');
const { DpdkLink } = await import('../dist/links/dpdk.js');
const { createStack } = await import('../dist/index.js');

const SOCKET = join(tmpdir(), `wasm-tcpip-memif-${process.pid}.sock`);
const sha = (b) => createHash('sha256').update(b).digest('hex');

const CHILD = `
import { startEal, openPort } from '${new URL('../dist/dpdk/index.js', import.meta.url)}';
import { DpdkLink } from '${new URL('../dist/links/dpdk.js', import.meta.url)}';
import { createStack } from '${new URL('../dist/index.js', import.meta.url)}';
startEal({ hugepages: false, vdevs: ['net_memif0,role=client,id=0,socket=${SOCKET}'] });
openPort('net_memif0');
const stack = await createStack({ link: new DpdkLink({ port: 'net_memif0' }), address: '10.66.0.2/24', seed: 2 });
stack.net.createServer((s) => s.pipe(s)).listen(7000, () => console.log('listening'));
process.stdin.on('end', async () => { await stack.close({ timeoutMs: 500 }); process.exit(0); });
process.stdin.resume();
`;

if (dpdk) {
  test('4 MiB echoed by a stack in another process over net_memif', async () => {
    startEal({ hugepages: false, vdevs: [`net_memif0,role=server,id=0,socket=${SOCKET}`] });
    const { port } = openPort('net_memif0');
    const link = new DpdkLink({ port: port.portId });
    const stack = await createStack({ link, address: '10.66.0.1/24', seed: 1 });
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['pipe', 'pipe', 'inherit'],
    });
    try {
      await new Promise((resolve, reject) => {
        child.stdout.on('data', (d) => { if (String(d).includes('listening')) resolve(); });
        child.on('exit', (code) => reject(new Error(`the child stack exited (${code})`)));
      });
      const status = await port.waitForLink(10_000);
      assert.is(status.up, true, 'memif connected');
      const payload = bytes(4 << 20, 17);
      const echoed = await new Promise((resolve, reject) => {
        const chunks = [];
        let n = 0;
        const c = stack.net.connect({ host: '10.66.0.2', port: 7000 }, () => c.write(payload));
        c.on('data', (d) => {
          chunks.push(d);
          n += d.length;
          if (n >= payload.length) { c.end(); resolve(Buffer.concat(chunks)); }
        });
        c.on('error', reject);
      });
      assert.is(echoed.length, payload.length);
      assert.is(sha(echoed), sha(payload));
    } finally {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      await stack.close({ timeoutMs: 500 });
      port.close();
      rmSync(SOCKET, { force: true });
    }
  });
}

test.run();
