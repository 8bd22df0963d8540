// examples/workers/server.mjs runs as written, exits 0, and shows each worker serving its
// share of the requests, a main-thread server reached through the bridge, and a clean close.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('examples/workers/server.mjs: 12 requests over 4 workers, one through the bridge, clean close', () => {
  const r = spawnSync(process.execPath, ['examples/workers/server.mjs'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.stderr, '', 'nothing on stderr');
  assert.is(r.status, 0);
  const out = r.stdout.split('\n');
  assert.match(out[0], /^server: 4 workers on 10\.0\.0\.1 \(threads \d+, \d+, \d+, \d+\)$/);
  const served = out.map((l) => /^client: worker ([0-3]) of 4 served \/request-(\d+) to 10\.0\.0\.2:\d+$/.exec(l)).filter(Boolean);
  assert.equal(served.map((m) => Number(m[2])).sort((a, b) => a - b), Array.from({ length: 12 }, (_, i) => i));
  assert.ok(out.some((l) => /^client: main thread served \/from-the-main-thread \(via worker [0-3]\)$/.test(l)));
  const counters = out.map((l) => /^counters: connections accepted per worker (\d+) \/ (\d+) \/ (\d+) \/ (\d+), hand-offs 0, ARP requests sent by the workers 0$/.exec(l)).find(Boolean);
  assert.ok(counters, 'counters line');
  const perWorker = counters.slice(1).map(Number);
  assert.is(perWorker.reduce((a, b) => a + b, 0), 13);
  served.forEach((m) => assert.ok(perWorker[Number(m[1])] > 0));
  assert.ok(out.includes('server closed: 0 connections drained, 0 reset'));
});

test.run();
