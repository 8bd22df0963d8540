// The package ships types for everything it exports: `tsc --noEmit` on an example that uses
// the API (tests/types/example.ts, importing 'wasm-tcpip' itself) passes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

test('tsc --noEmit accepts tests/types/example.ts', () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--types', 'node', '--skipLibCheck', 'false', 'tests/types/example.ts'], { cwd: root, encoding: 'utf8' });
  assert.is(r.stdout + r.stderr, '', 'no diagnostics');
  assert.is(r.status, 0);
});

test('a misuse is a type error', () => {
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--types', 'node', 'tests/types/misuse.ts'], { cwd: root, encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.match(r.stdout, /^tests\/types\/misuse\.ts\(5,7\): error TS2769: No overload matches this call\./);
  assert.match(r.stdout, /Object literal may only specify known properties, but 'adress' does not exist in type 'StackOptions'\. Did you mean to write 'address'\?/);
});

test.run();
