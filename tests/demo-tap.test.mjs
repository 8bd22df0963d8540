// `npx wasm-tcpip demo` on a net_tap device (root; CI runs it), as a user runs it: the tap
// (wtap7, kernel side 10.99.7.1/24, stack 10.99.7.2, flags overriding the defaults) comes up,
// the demo prints the exact curl command to try and live counters; the kernel's curl gets
// GET /bytes/N?seed=S intact (body SHA-256 = x-sha256 = the seeded stream's) and GET / the
// stack's counters; ping is answered; SIGINT (Ctrl-C) to the demo closes it gracefully: an idle
// kernel connection still open gets a FIN and is counted drained, exit 0 (npx passes it on),
// the closing line printed, the tap gone. Without root the same command says why and
// runs the in-memory demo instead; a tap name already taken is refused with the fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { tapOrSkip, tapPlan, run } from './support/tap.mjs';

const FILE = 'tests/demo-tap.test.mjs';
const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
const plan = tapPlan(7);
const HTTP_PORT = 8087;
const N = 3 * 1024 * 1024;
const SEED = 42;

/** Starts the demo in its own process group; collects its stdout; resolves the child. */
function startDemo() {
  const child = spawn('npx', ['wasm-tcpip', 'demo', '--tap', plan.iface, '--kernel', `${plan.kernel}/${plan.prefix}`,
    '--stack', plan.stack, '--port', String(HTTP_PORT), '--interval', '100'], { cwd: ROOT_DIR, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const demo = { child, out: '', err: '', exit: null };
  child.stdout.on('data', (d) => { demo.out += d; });
  child.stderr.on('data', (d) => { demo.err += d; });
  demo.exited = new Promise((resolve) => child.on('close', (code, signal) => { demo.exit = { code, signal }; resolve(demo.exit); }));
  return demo;
}

/** The demo's own Node process under npx (npx runs it as a child, perhaps through a shell). */
function demoProcess(npxPid) {
  const children = (pid) => {
    try {
      return readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number));
    } catch {
      return [];
    }
  };
  const queue = [npxPid];
  while (queue.length) {
    const pid = queue.shift();
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (pid !== npxPid && /(^|\/)node$/.test(argv[0]) && argv.includes('demo')) return pid;
    queue.push(...children(pid));
  }
  throw new Error(`no demo process under npx (pid ${npxPid})`);
}

/** Resolves once `demo.out` matches `re` (polls; fails after `ms` or if the demo exits). */
async function waitFor(demo, re, ms = 60_000) {
  const until = Date.now() + ms;
  while (!re.test(demo.out)) {
    if (demo.exit) throw new Error(`the demo exited (${JSON.stringify(demo.exit)}) before printing ${re}:\n${demo.out}\n${demo.err}`);
    if (Date.now() > until) throw new Error(`the demo did not print ${re} within ${ms} ms:\n${demo.out}\n${demo.err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

if (tapOrSkip(FILE, ['curl', 'ping'])) {
  const { seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-demo-tap-'));
  let demo = null;
  /** Kills whatever of the demo's process group is left (a failed test must free the tap). */
  const killDemo = async () => {
    if (demo && !demo.exit) {
      process.kill(-demo.child.pid, 'SIGKILL');
      await demo.exited;
    }
  };

  test.after.each(killDemo);
  test.after(() => rmSync(dir, { recursive: true, force: true }));

  test('npx wasm-tcpip demo on a tap: curl hint, intact /bytes, counters at /, ping, clean Ctrl-C', async () => {
    demo = startDemo();
    await waitFor(demo, /Ctrl-C stops/);
    const lines = demo.out.split('\n');
    assert.match(lines[0], new RegExp(`^demo: stack ${plan.stack.replaceAll('.', '\\.')} \\([0-9a-f:]{17}\\) on ${plan.iface}, kernel side ${plan.kernel}/24; HTTP on port ${HTTP_PORT}$`));
    assert.ok(lines.includes(`  curl -sS -D - -o /tmp/bytes http://${plan.stack}:${HTTP_PORT}/bytes/1048576?seed=1 | grep x-sha256; sha256sum /tmp/bytes`), demo.out);
    assert.ok(lines.includes(`  curl http://${plan.stack}:${HTTP_PORT}/`), demo.out);
    assert.ok(lines.includes(`  ping -c 3 ${plan.stack}`), demo.out);

    const headers = join(dir, 'headers');
    const bytes = await run('curl', ['-sS', '--max-time', '60', '-D', headers, `http://${plan.stack}:${HTTP_PORT}/bytes/${N}?seed=${SEED}`], { hashStdout: true });
    assert.is(bytes.code, 0, bytes.err);
    const expected = seededSha256(SEED, N);
    assert.is(bytes.length, N);
    assert.is(bytes.sha, expected);
    assert.match(readFileSync(headers, 'utf8'), new RegExp(`\r\nx-sha256: ${expected}\r\n`, 'i'));

    const page = await run('curl', ['-sS', '--max-time', '10', `http://${plan.stack}:${HTTP_PORT}/`]);
    assert.is(page.code, 0, page.err);
    assert.match(page.out, new RegExp(`^wasm-tcpip stack ${plan.stack.replaceAll('.', '\\.')} \\(`));
    const shown = (name) => Number(new RegExp(`\\n${name.replaceAll('.', '\\.')} +(\\d+)\\n`).exec(page.out)?.[1] ?? 0);
    // Packets on the wire: frames handed to the port, a TSO frame counting as its segments.
    const packets = shown('eth.tx.frames') - shown('tcp.tx.tso_frames') + shown('tcp.tx.tso_segments');
    assert.ok(shown('eth.tx.frames') > 0 && packets >= Math.ceil(N / 1448), `GET / shows the frames the stack sent: ${packets}`);
    const json = await run('curl', ['-sS', '--max-time', '10', '-H', 'accept: application/json', `http://${plan.stack}:${HTTP_PORT}/`]);
    assert.is(JSON.parse(json.out).address, plan.stack);

    const ping = await run('ping', ['-n', '-q', '-c', '3', '-i', '0.05', '-W', '2', plan.stack], { timeoutMs: 30_000 });
    assert.is(ping.code, 0, ping.out);
    assert.match(ping.out, '3 packets transmitted, 3 received, 0% packet loss');

    // Live counters (one line per interval when stdout is not a terminal) saw the traffic.
    await waitFor(demo, /counters: frames in [1-9]\d*, out [1-9]\d* \| tcp segments in [1-9]\d*/);

    // An idle keep-alive connection from the kernel is open at Ctrl-C: the demo ends it with a
    // FIN and waits for the kernel's (drained, not reset).
    const agent = new http.Agent({ keepAlive: true });
    const kept = await new Promise((resolve, reject) => {
      http.get({ host: plan.stack, port: HTTP_PORT, path: '/bytes/1024?seed=1', agent }, (res) => {
        const socket = res.socket;
        res.resume();
        res.on('end', () => resolve(socket));
      }).on('error', reject);
    });
    const keptEnded = { end: false, error: null };
    kept.on('end', () => { keptEnded.end = true; });
    kept.on('error', (e) => { keptEnded.error = e; });
    const keptClosed = new Promise((r) => kept.on('close', r));

    // To the demo process itself: Ctrl-C in a terminal would also reach npm, which then ends
    // by the signal whatever the demo's exit code; here the demo's own code reaches npx's.
    process.kill(demoProcess(demo.child.pid), 'SIGINT');
    const exit = await Promise.race([demo.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000).unref())]);
    assert.equal(exit, { code: 0, signal: null }, `${demo.out}\n${demo.err}`);
    assert.match(demo.out, /\ndemo: closed: 1 connections drained, 0 reset\n$/);
    await keptClosed;
    assert.equal(keptEnded, { end: true, error: null }, 'the idle connection got a FIN, not a reset');
    agent.destroy();
    assert.not.ok(existsSync(`/sys/class/net/${plan.iface}`), 'the tap went away with the demo');
  });

  test('the tap name already taken: an error naming the fix, exit 1, the interface left alone', () => {
    execFileSync('ip', ['tuntap', 'add', 'dev', plan.iface, 'mode', 'tap']);
    try {
      const r = spawnSync(process.execPath, [join(ROOT_DIR, 'dist/cli/main.js'), 'demo', '--tap', plan.iface, '--kernel', `${plan.kernel}/${plan.prefix}`, '--stack', plan.stack],
        { cwd: ROOT_DIR, encoding: 'utf8', timeout: 60_000 });
      assert.is(r.status, 1, r.stdout + r.stderr);
      assert.is(r.stderr, `wasm-tcpip: interface ${plan.iface} already exists (a running demo or perf owns it?): stop that process or pick another name with --tap (ERR_WASM_TCPIP_TAP_IN_USE)\n`);
      assert.ok(existsSync(`/sys/class/net/${plan.iface}`));
    } finally {
      execFileSync('ip', ['tuntap', 'del', 'dev', plan.iface, 'mode', 'tap']);
    }
  });

  test('without root the demo says why and runs between two stacks in memory', () => {
    const r = spawnSync(process.execPath, [join(ROOT_DIR, 'dist/cli/main.js'), 'demo', '--requests', '2', '--bytes', '65536', '--interval', '50'],
      { cwd: ROOT_DIR, uid: 65534, gid: 65534, encoding: 'utf8', timeout: 60_000 });
    assert.is(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^demo: in-memory mode \(a net_tap device needs root: run as root for the kernel demo\)\n/);
    assert.match(r.stdout, 'GET /bytes/65536?seed=1: 200, ');
    assert.match(r.stdout, /GET \/bytes\/65536\?seed=2: 200, [^\n]*sha256 matches x-sha256\n/);
    assert.match(r.stdout, /\ndemo: 2 intact, 0 failed; closed/);
  });
}

test.run();
