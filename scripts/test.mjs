#!/usr/bin/env node
// Runs every tests/**/*.test.mjs in its own Node process (DPDK's EAL starts once per process,
// and a crash in one file must not hide the others), two at a time, and prints one summary.
//
// Usage: node scripts/test.mjs [substring ...]   (only files whose path contains one)
// The last line is "tests: N passed, N failed, N skipped" (uvu counts, summed over files).

import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
const PARALLEL = Number(process.env.TEST_PARALLEL ?? 2);
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_MS ?? 300_000);

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') continue;
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.mjs')) out.push(p);
  }
  return out;
}

const files = findTests(join(root, 'tests')).filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const totals = { passed: 0, failed: 0, skipped: 0 };
const failures = [];

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [file], { cwd: root, env: process.env });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { out += `\n[killed: over ${FILE_TIMEOUT_MS} ms]\n`; child.kill('SIGKILL'); }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const text = strip(out);
      const total = Number(/Total:\s+(\d+)/.exec(text)?.[1] ?? 0);
      const passed = Number(/Passed:\s+(\d+)/.exec(text)?.[1] ?? 0);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(text)?.[1] ?? 0);
      let failed = Math.max(0, total - passed - skipped);
      let fileSkipped = 0;
      if ((code !== 0 || signal) && failed === 0) failed = 1; // crashed, or failed outside a test
      if (total === 0 && code === 0) {
        // A file that ran no test is a failure, unless it said why it skipped (root, tap,
        // hugepages missing: the support helpers print `skip: <reason>`; with CI=true they
        // fail instead, so CI never skips silently).
        if (/^\s*skip:/im.test(text)) fileSkipped = 1;
        else failed = 1;
      }
      totals.passed += passed;
      totals.failed += failed;
      totals.skipped += skipped + fileSkipped;
      const name = relative(root, file);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      const status = failed ? 'FAIL' : 'ok  ';
      process.stdout.write(`${status} ${name}  (${passed} passed, ${failed} failed, ${skipped + fileSkipped} skipped, ${secs}s)\n`);
      // Skips and notes are printed by the tests themselves: show them.
      for (const line of text.split('\n')) if (/^\s*(skip|note):/i.test(line)) process.stdout.write(`     ${line.trim()}\n`);
      if (failed) failures.push({ name, text });
      resolve();
    });
  });
}

const queue = [...files];
await Promise.all(Array.from({ length: Math.min(PARALLEL, queue.length) }, async () => {
  while (queue.length) await runFile(queue.shift());
}));

for (const f of failures) {
  process.stdout.write(`\n===== ${f.name} =====\n${f.text}\n`);
}
process.stdout.write(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
process.exit(totals.failed ? 1 : 0);
