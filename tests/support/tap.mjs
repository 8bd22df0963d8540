// Helpers of the kernel interop tests (tests/interop-*.test.mjs, tests/demo-tap.test.mjs):
// whether a net_tap test can run here, the addresses each file uses, the stack on a tap,
// external commands with their output hashed, and a capture checked by tshark.
//
// Rule (as tests/support/dpdk.mjs): a test that cannot run here prints `skip: <reason>`; under
// CI (CI=true), which runs as root with every package installed, the same condition fails.
// Each test file takes its own number N: interface `wtapN`, kernel side 10.99.N.1/24, stack
// 10.99.N.2, so files running in parallel never share a device or a subnet. The tap goes away
// with the process that owns it (the test file's own process), even when a test fails.

import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';

import { IN_CI, IS_ROOT, dpdkUnavailableReason } from './dpdk.mjs';

/** Interface and addresses of test file number `n` (1..254). */
export function tapPlan(n) {
  return { iface: `wtap${n}`, kernel: `10.99.${n}.1`, stack: `10.99.${n}.2`, prefix: 24, vdev: `net_tap${n},iface=wtap${n}` };
}

function commandPath(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Debian packages that provide the commands the interop tests run. */
const PACKAGE_OF = {
  ip: 'iproute2', ss: 'iproute2', setpriv: 'util-linux', ping: 'iputils-ping', curl: 'curl', socat: 'socat',
  tcpdump: 'tcpdump', tshark: 'tshark', python3: 'python3', dnsmasq: 'dnsmasq-base',
};

/** Why a net_tap test needing `commands` cannot run here (the first thing to fix), or null. */
function tapUnavailableReason(commands) {
  if (!IS_ROOT) return 'a net_tap device needs root (CAP_NET_ADMIN); CI runs these tests as root';
  const dpdk = dpdkUnavailableReason();
  if (dpdk !== null) return dpdk;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing: load the tun module (modprobe tun)';
  const missing = ['ip', 'setpriv', ...commands].filter((c) => commandPath(c) === null);
  if (missing.length === 0) return null;
  return `missing ${missing.join(', ')}: apt-get install ${[...new Set(missing.map((c) => PACKAGE_OF[c] ?? c))].join(' ')}`;
}

/**
 * True when a net_tap test can run here with `commands` available; otherwise prints
 * `skip: <file>: <reason>` and returns false (under CI it throws instead).
 */
export function tapOrSkip(file, commands = []) {
  const why = tapUnavailableReason(commands);
  if (why === null) return true;
  if (IN_CI) throw new Error(`${file}: CI runs the interop tests as root with their packages, but ${why}`);
  console.log(`skip: ${file}: ${why}`);
  return false;
}

/**
 * Starts EAL with the file's tap, opens a link on it (`queues` queues configured; the link
 * on queue 0 when `link` is true), addresses the kernel side and waits for the link.
 * Returns { plan, port, portId, link } (link null when `link` is false).
 */
export async function openTap(n, { queues = 1, link = true } = {}) {
  const plan = tapPlan(n);
  const { startEal, openPort } = await import('../../dist/dpdk/index.js');
  const { DpdkLink } = await import('../../dist/links/dpdk.js');
  const { addressKernelSide } = await import('../../dist/demo/tap.js');
  if (existsSync(`/sys/class/net/${plan.iface}`)) {
    throw new Error(`${plan.iface} already exists: another process owns it (a test file still running, or a demo); stop it first`);
  }
  startEal({ hugepages: false, vdevs: [plan.vdev] });
  const { port } = openPort(`net_tap${n}`, { queues });
  addressKernelSide(plan.iface, `${plan.kernel}/${plan.prefix}`);
  const dpdkLink = link ? new DpdkLink({ port: port.portId }) : null;
  await port.waitForLink(5000);
  return { plan, port, portId: port.portId, link: dpdkLink };
}

/**
 * Runs a command to its end (killed after `timeoutMs`), as a `spawnHelper`. Resolves with { code, signal, out,
 * err, length, sha }: with `hashStdout` the output is not kept, only its length and SHA-256.
 */
export function run(cmd, args, { hashStdout = false, timeoutMs = 120_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawnHelper(cmd, args);
    const hash = createHash('sha256');
    const chunks = [];
    let length = 0;
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => {
      length += d.length;
      if (hashStdout) hash.update(d); else chunks.push(d);
    });
    child.stderr.on('data', (d) => { err += d; });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out: Buffer.concat(chunks).toString(), err, length, sha: hashStdout ? hash.digest('hex') : null });
    });
  });
}

/**
 * Spawns a long-lived helper (a kernel-side server) that does not outlive the test: it gets
 * SIGTERM if the test process dies first (`setpriv --pdeathsig`). It inherits no DPDK
 * descriptor (the shim marks them close-on-exec), so it cannot keep the tap alive.
 */
export function spawnHelper(cmd, args) {
  return spawn('setpriv', ['--pdeathsig', 'TERM', cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * Captures every frame on `iface` into `file` with tcpdump (whole frames). Resolves once
 * tcpdump listens; `stop()` ends it and resolves with the number of frames the kernel
 * dropped before tcpdump read them (such frames are missing from the file, not damaged).
 */
export async function startCapture(iface, file) {
  const child = spawnHelper('tcpdump', ['-i', iface, '-s', '0', '-B', '16384', '-w', file, '-U', '--immediate-mode']);
  let err = '';
  const exited = new Promise((resolve) => child.on('close', resolve));
  await new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => { err += d; if (/listening on/.test(err)) resolve(); });
    exited.then(() => reject(new Error(`tcpdump on ${iface} exited: ${err.trim()}`)));
  });
  return {
    async stop() {
      child.kill('SIGINT');
      await exited;
      const dropped = /(\d+) packets? dropped by kernel/.exec(err);
      return { dropped: dropped ? Number(dropped[1]) : 0 };
    },
  };
}

/**
 * tshark's settings: checksum validation on (it is off by default); no TCP stream reassembly
 * (each frame is still dissected and checked on its own; reassembling 64 MiB of HTTP body
 * made a read 100 times slower); TCP and UDP payloads are shown as data: without reassembly
 * HTTP, and the heuristic dissectors at any time, read random payload as their own messages
 * and report "errors" in it (seen with HTTP and Thrift).
 */
const TSHARK = ['-n', '-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE',
  '-o', 'tcp.desegment_tcp_streams:FALSE', '-d', 'tcp.port==1-65535,data', '-d', 'udp.port==1-65535,data'];
const PROBLEM = '_ws.malformed || _ws.expert.severity == "Error" || ip.checksum.status == "Bad" || ' +
  'tcp.checksum.status == "Bad" || udp.checksum.status == "Bad" || icmp.checksum.status == "Bad"';
/** The fields tshark prints per flagged frame (tab-separated, lists joined by ';'). */
const PROBLEM_FIELDS = ['frame.number', 'ip.src', 'ip.dst', 'tcp.seq_raw', 'tcp.len', 'ip.checksum.status',
  'tcp.checksum.status', 'icmp.checksum.status', '_ws.expert.severity', '_ws.expert.message'];
/** `_ws.expert.severity` values (epan/proto.h PI_ERROR, PI_WARN, PI_NOTE, PI_CHAT). */
const SEVERITY = { 8388608: 'error', 6291456: 'warning', 4194304: 'note', 2097152: 'chat' };

/**
 * tshark's one checksum complaint that is not an error: a TCP checksum field of 0xffff where
 * the sum gave 0x0000. In one's complement both are zero (RFC 1071), every receiver accepts
 * either (the sum over the segment is 0xffff both ways), and the Linux kernel writes 0xffff
 * itself when it completes a checksum for a device (skb_checksum_help's CSUM_MANGLED_0), as
 * does DPDK net_tap's TX checksum offload. Measured here: frames from both the kernel and
 * (with offloads on) the tap port carry it, about one frame in 65,536, as chance predicts.
 * tshark reports it as a warning, with the checksum status "Bad".
 */
const NEGATIVE_ZERO = 'TCP Checksum 0xffff instead of 0x0000 (see RFC 1624)';

/**
 * Reads a capture with tshark: { frames, fromStack, problems, negativeZero }. `problems`
 * lists the frames that are malformed, carry a bad checksum or an error-level expert message,
 * in either direction, one line each: frame src>dst seq len, ip/tcp/icmp checksum status (0
 * bad, 1 good, 2 unverified), then the expert messages with their severity. `negativeZero`
 * lists, in the same form, the frames whose bad TCP checksum is NEGATIVE_ZERO (see above) and
 * that have nothing else wrong (warnings like "previous segment not captured" aside, which
 * only say tcpdump missed frames), kept apart from `problems`.
 */
export async function checkCapture(file, stackAddress) {
  const all = await run('tshark', [...TSHARK, '-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'arp.src.proto_ipv4'], { timeoutMs: 300_000 });
  if (all.code !== 0) throw new Error(`tshark -r ${file} failed: ${all.err.trim()}`);
  const lines = all.out.split('\n').filter(Boolean);
  const frames = lines.length;
  const fromStack = lines.filter((l) => l.split('\t').includes(stackAddress)).length;
  const bad = await run('tshark', [...TSHARK, '-r', file, '-Y', PROBLEM, '-T', 'fields', '-E', 'occurrence=a', '-E', 'aggregator=;',
    ...PROBLEM_FIELDS.flatMap((f) => ['-e', f])], { timeoutMs: 300_000 });
  if (bad.code !== 0) throw new Error(`tshark -r ${file} failed: ${bad.err.trim()}`);
  const problems = [];
  const negativeZero = [];
  for (const line of bad.out.split('\n').filter(Boolean)) {
    const [frame, src, dst, seq, len, ipStatus, tcpStatus, icmpStatus, severities, messages] = line.split('\t');
    const expert = (messages ?? '').split(';').map((m, i) => ({ m, severity: SEVERITY[(severities ?? '').split(';')[i]] ?? 'unknown' }));
    const shown = `${frame} ${src}>${dst} seq ${seq} len ${len} checksums ip/tcp/icmp ${ipStatus || '-'}/${tcpStatus || '-'}/${icmpStatus || '-'}: ` +
      expert.map((e) => `${e.severity}: ${e.m}`).join('; ');
    const onlyNegativeZero = ipStatus !== '0' && tcpStatus === '0' && icmpStatus !== '0' &&
      expert.some((e) => e.m === NEGATIVE_ZERO) && expert.every((e) => e.severity !== 'error' && e.severity !== 'unknown');
    (onlyNegativeZero ? negativeZero : problems).push(shown);
  }
  return { frames, fromStack, problems, negativeZero };
}

/** Prints how many frames had NEGATIVE_ZERO (not an error, but worth seeing in the log). */
export function notedNegativeZero(seen) {
  if (seen.negativeZero.length === 0) return;
  console.log(`note: ${seen.negativeZero.length} frame(s) carry TCP checksum 0xffff for 0x0000, the same value in one's complement (tests/support/tap.mjs): ${seen.negativeZero.join(' | ')}`);
}
