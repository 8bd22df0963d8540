// The examples run as written (`node examples/NAME.mjs`), exit 0, and print what happened.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function run(name) {
  const r = spawnSync(process.execPath, [`examples/${name}.mjs`], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.is(r.stderr, '', `${name} wrote to stderr`);
  assert.is(r.status, 0, `${name} exit status`);
  return r.stdout.split('\n');
}

test('echo.mjs: three lines echoed, both stacks closed cleanly', () => {
  const out = run('echo');
  assert.equal(out.filter((l) => l.startsWith('client: echoed')), [
    "client: echoed 'hello'", "client: echoed 'from a TCP stack'", "client: echoed 'written in AssemblyScript'",
  ]);
  assert.ok(out.includes('client: closed; 49 bytes sent, 49 received'));
  assert.ok(out.some((l) => /^stacks closed: server \{"drained":\d,"reset":0\}, client \{"drained":\d,"reset":0\}$/.test(l)));
});

test('http-server.mjs: three GETs answered by node:http on the stack', () => {
  const out = run('http-server');
  assert.ok(out.includes('client: GET / -> 200 text/plain: hello 10.0.0.2, you asked for /'));
  assert.ok(out.includes('client: GET /hello?name=wasm -> 200 text/plain: hello 10.0.0.2, you asked for /hello?name=wasm'));
  assert.ok(out.some((l) => /^client: GET \/counters -> 200 application\/json: \{"segmentsIn":\d+,"segmentsOut":\d+\}$/.test(l)));
});

test('https.mjs: the certificate is verified and the response arrives over TLS', () => {
  const out = run('https');
  assert.ok(out.includes("client: certificate for 'wasm-tcpip example' verified: true"));
  assert.ok(out.some((l) => /^client: GET \/ -> 200 a secret, sent over TLSv1\.[23]$/.test(l)));
});

test.run();
