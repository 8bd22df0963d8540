// The packetdrill runner: the parser on tricky syntax, failures reported with their line, the
// sysctl mapping, --lenient, --json, and every script under tests/packetdrill against the stack.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseScript } from '../dist/pktdrill/parser.js';
import { runScript } from '../dist/pktdrill/runner.js';
import { findScripts, runScriptFile } from '../dist/pktdrill/suite.js';
import { interpretShellLine } from '../dist/pktdrill/sysctl.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (text, opts) => runScript(parseScript(text, 'x.pkt'), opts);

const PASSIVE = `0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
+0 bind(3, ..., ...) = 0
+0 listen(3, 1) = 0
+0 < S 0:0(0) win 65535 <mss 1000>
`;

test('parser: header options, init command, times, packets and system calls', () => {
  const text = `--tolerance_usecs=10000
--local_ip=192.168.0.9
\`sysctl -q net.ipv4.tcp_syn_retries=2\`
/* a block
   comment */ 0.100 socket(..., SOCK_STREAM|SOCK_NONBLOCK, IPPROTO_TCP) = 3 // trailing
+.1...0.5 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("192.0.2.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
* > S 0:0(0) <...>
0.3~0.4 > [ect0] 1234>80 F. 1:1(0) ack 2 win 0x10 <mss 1460,sackOK,TS val 1 ecr 2,nop,wscale 7,sack 5:6 7:8,eol>
+0~+0.1 > - 9:19(10)
+0 < udp (100)
+0 < icmp unreachable frag_needed mtu 1200 [1:11(10)]
+0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0
+0 write(3, "ab" "cd"..., -1) = 0x10
\`echo bye\``;
  const s = parseScript(text, 't.pkt');
  const lines = text.split('\n');
  const at = (line, needle) => ({ line, column: lines[line - 1].indexOf(needle) + 1 });
  assert.equal(s.options.map((o) => [o.name, o.value]), [['tolerance_usecs', '10000'], ['local_ip', '192.168.0.9']]);
  assert.is(s.initCommand.command, 'sysctl -q net.ipv4.tcp_syn_retries=2');
  assert.is(s.cleanupCommand.command, 'echo bye');
  const [sock, conn, syn, fin, none, udp, icmp, linger, write] = s.events;
  assert.equal(sock.time, { kind: 'absolute', us: 100000 });
  assert.equal(sock.args[1], {
    kind: 'or', loc: at(5, '|'),
    lhs: { kind: 'word', name: 'SOCK_STREAM', loc: at(5, 'SOCK_STREAM') },
    rhs: { kind: 'word', name: 'SOCK_NONBLOCK', loc: at(5, 'SOCK_NONBLOCK') },
  });
  assert.equal(conn.time, { kind: 'relative', us: 100000 });
  assert.is(conn.endUs, 500000);
  assert.equal(conn.errno, { name: 'EINPROGRESS', text: 'Operation now in progress' });
  assert.equal(conn.result, { kind: 'int', value: -1, loc: at(6, '-1') });
  assert.equal(conn.args[1].items.map((i) => i.name), ['sa_family', 'sin_port', 'sin_addr']);
  assert.equal(syn.time, { kind: 'any' });
  assert.is(syn.packet.options, null);
  assert.equal(fin.time, { kind: 'absoluteRange', us: 300000, endUs: 400000 });
  assert.is(fin.ecn, 'ect0');
  assert.equal(fin.ports, { src: 1234, dst: 80 });
  assert.equal(fin.packet, {
    proto: 'tcp', flags: 'F.', seq: 1, len: 0, ack: 2, win: 16,
    options: [
      { kind: 'mss', value: 1460 }, { kind: 'sackOK' }, { kind: 'TS', val: 1, ecr: 2 }, { kind: 'nop' },
      { kind: 'wscale', value: 7 }, { kind: 'sack', blocks: [[5, 6], [7, 8]] }, { kind: 'eol' },
    ],
  });
  assert.equal(none.time, { kind: 'relativeRange', us: 0, endUs: 100000 });
  assert.equal(none.packet, { proto: 'tcp', flags: '', seq: 9, len: 10, options: [] });
  assert.equal(udp.packet, { proto: 'udp', len: 100 });
  assert.equal(icmp.packet, { proto: 'icmp', type: 'unreachable', code: 'frag_needed', mtu: 1200, echoed: { proto: 'tcp', seq: 1, len: 10 } });
  assert.is(linger.args[3].kind, 'struct');
  assert.equal(write.args[1], { kind: 'string', value: 'abcd', trailingEllipsis: true, loc: at(13, '"ab"') });
  assert.equal(write.result, { kind: 'int', value: 16, loc: at(13, '0x10') });
});

test('parser: errors name file, line, column and what was expected', () => {
  const cases = [
    ['0 < S 0:0(0) <mss 1000>', 'p.pkt:1:1: window must be specified for inbound packets (add `win N`)'],
    ['\n\n0 < S 0:1(0) win 1', 'p.pkt:3:7: inconsistent TCP sequence numbers and payload size: 0:1(0) (end must be start + length)'],
    ['0 > S. 0:0(0) ack 1 <mss 1000 wscale 7>', "p.pkt:1:31: expected ',' or '>' in the TCP option list, found 'wscale'"],
    ['0.2~0.1 > S 0:0(0)', 'p.pkt:1:4: time range is backwards'],
    ['* read(3, ..., 1) = 1', 'p.pkt:1:1: event time * can only be used with outbound packets'],
    ['0 socket(..., SOCK_STREAM', "p.pkt:1:26: expected ',' or ')' in the argument list, found end of file"],
    ['0 < X 0:0(0) win 1', "p.pkt:1:5: unknown TCP flag 'X' in 'X' (flags are F S R P . U E W A)"],
    ['0 < S 0:0(0) win 1 <...>', 'p.pkt:1:20: <...> for TCP options can only be used with outbound packets'],
    ['0 write(3, "abc, 3) = 3', 'p.pkt:1:12: unterminated string (expected ")'],
    ['0 close(3)', "p.pkt:1:11: expected '=' and the expected return value after close(...), found end of file"],
    ['0 > S 0:0(0) <mss 1, fastopen>', "p.pkt:1:22: unsupported TCP option 'fastopen' (supported: mss, nop, eol, wscale, sackOK, sack, TS, FO)"],
    ['socket(..., SOCK_STREAM, IPPROTO_TCP) = 3', "p.pkt:1:1: expected an event time (like 0.100, +0.1, * or 0.1~0.2), found 'socket'"],
  ];
  for (const [text, message] of cases) {
    try {
      parseScript(text, 'p.pkt');
      assert.unreachable(`parsed: ${text}`);
    } catch (e) {
      assert.is(e.code, 'ERR_WASM_TCPIP_PKTDRILL_SYNTAX', text);
      assert.is(e.message, message);
    }
  }
});

test('runner: a wrong window on an outbound segment fails at its line with expected and actual', () => {
  const r = run(`${PASSIVE}+0 > S. 0:0(0) ack 1 win 1 <mss 1460>\n`);
  assert.is(r.passed, false);
  assert.is(r.error, [
    'x.pkt:5: outbound packet field tcp_window: expected 1, actual 65535',
    '  script:   +0 > S. 0:0(0) ack 1 win 1 <mss 1460>',
    '  expected: S. 0:0(0) ack 1 win 1 <mss 1460>',
    '  actual:   0.000000 S. 0:0(0) ack 1 win 65535 <mss 1460> (ports 8080 > 40000)',
  ].join('\n'));
});

test('runner: --lenient turns window and option differences into warnings', () => {
  const r = run(`${PASSIVE}+0 > S. 0:0(0) ack 1 win 1 <mss 1000>\n`, { lenient: true });
  assert.is(r.passed, true, r.error);
  assert.equal(r.warnings, [
    'line 5: outbound packet field tcp_window: expected 1, actual 65535 (--lenient)',
    'line 5: outbound packet field tcp options: expected <mss 1000>, actual <mss 1460> (--lenient)',
  ]);
});

test('runner: a missing, an unexpected and a mistimed packet each fail with their line', () => {
  const missing = run(`${PASSIVE}+0 > S. 0:0(0) ack 1 <mss 1460>\n+0 > . 1:1(0) ack 1\n`);
  assert.is(missing.error.split('\n')[0], 'x.pkt:6: expected outbound packet did not come');
  assert.match(missing.error, /actual: {3}nothing sent by 0\.004000/);

  const unexpected = run(`${PASSIVE}+1 < . 1:1(0) ack 1 win 100\n`);
  assert.is(unexpected.error.split('\n')[0], 'x.pkt:5: unexpected outbound packet before line 5');
  assert.match(unexpected.error, /actual: {3}0\.000000 S\. \d+:\d+\(0\) ack 1 win 65535 <mss 1460>/);

  const late = run(`${PASSIVE}+.1 > S. 0:0(0) ack 1 <mss 1460>\n`);
  assert.is(late.error.split('\n')[0], 'x.pkt:5: outbound packet at the wrong time');
  assert.match(late.error, /expected: 0\.100000 \(±4000 µs\)/);
});

test('runner: system call results and errno are checked', () => {
  const r = run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 listen(3, 1) = 0\n`);
  assert.is(r.error.split('\n')[0], 'x.pkt:2: listen() on a socket without a bound port: bind() it first (the stack has no automatic port for listeners)');
  const wrong = run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n`);
  assert.is(wrong.error.split('\n')[0], 'x.pkt:1: socket() returned 3, expected 4');
  const errno = run(`0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 close(4) = -1 EAGAIN (Resource temporarily unavailable)\n`);
  assert.is(errno.error.split('\n')[0], 'x.pkt:2: close() errno is EBADF, expected EAGAIN');
  const blocked = run(`${PASSIVE}+0 > S. 0:0(0) ack 1 <mss 1460>\n+0 accept(3, ..., ...) = 4\n`);
  assert.is(blocked.error.split('\n')[0], 'x.pkt:6: accept() blocked, but the script expects it to return at once');
});

test('runner: header options are applied or reported', () => {
  const bad = run(`--ip_version=ipv6\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n`);
  assert.is(bad.error, 'x.pkt:1: --ip_version=ipv6 is not supported: the stack is IPv4 only (use --ip_version=ipv4)');
  const r = run(`--tolerance_percent=10\n--local_ip=10.0.0.5\n--netmask_ip=255.255.255.0\n--gateway_ip=10.0.0.1\n${PASSIVE}+0 > S. 0:0(0) ack 1 <mss 1460>\n`);
  assert.is(r.passed, true, r.error);
  assert.equal(r.warnings, ['ignored: --tolerance_percent=10 (no equivalent in this runner)']);
  assert.ok(r.trace.some((f) => f.dir === 'out' && f.bytes[12] === 0x08 && f.bytes[13] === 0x06 && f.bytes[38] === 10 && f.bytes[41] === 1), 'ARP for the gateway 10.0.0.1');
});

test('sysctl lines: mapped settings applied, the rest reported as ignored', () => {
  const keys = ['tcpSynRetries', 'tcpRecvBuffer', 'ephemeralLow', 'ephemeralHigh'];
  assert.equal(interpretShellLine('sysctl -q net.ipv4.tcp_syn_retries=3', keys), [
    { kind: 'set', sysctl: 'net.ipv4.tcp_syn_retries', settings: [['tcpSynRetries', 3]] },
  ]);
  assert.equal(interpretShellLine('sysctl -w net.ipv4.tcp_rmem="4096 8192 16384"; echo "1000 2000" > /proc/sys/net/ipv4/ip_local_port_range', keys), [
    { kind: 'set', sysctl: 'net.ipv4.tcp_rmem', settings: [['tcpRecvBuffer', 8192]] },
    { kind: 'set', sysctl: 'net.ipv4.ip_local_port_range', settings: [['ephemeralLow', 1000], ['ephemeralHigh', 2000]] },
  ]);
  assert.equal(interpretShellLine('sysctl -q net.ipv4.tcp_sack=0 && tc qdisc add dev tun0 root netem', keys), [
    { kind: 'ignored', text: 'sysctl -q net.ipv4.tcp_sack=0', reason: 'the stack has no equivalent of net.ipv4.tcp_sack' },
    { kind: 'ignored', text: 'tc qdisc add dev tun0 root netem', reason: 'not a sysctl setting (shell commands are not run)' },
  ]);
  assert.equal(interpretShellLine('sysctl -q net.ipv4.tcp_synack_retries=1', keys), [
    { kind: 'ignored', text: 'sysctl -q net.ipv4.tcp_synack_retries=1', reason: 'this stack build has no config slot tcpSynAckRetries for net.ipv4.tcp_synack_retries' },
  ]);
  const r = run(`\`sysctl -q net.ipv4.tcp_timestamps=0\`\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n`);
  assert.is(r.passed, true, r.error);
  assert.equal(r.warnings, ['ignored: line 1: `sysctl -q net.ipv4.tcp_timestamps=0`: the stack has no equivalent of net.ipv4.tcp_timestamps']);
});

test('CLI: --json prints one object and exits 1 when a script fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pktdrill-'));
  try {
    writeFileSync(join(dir, 'a-good.pkt'), '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n');
    writeFileSync(join(dir, 'b-bad.pkt'), '0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5\n');
    const p = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), 'pktdrill', '--json', dir], { encoding: 'utf8' });
    assert.is(p.status, 1, p.stderr);
    const out = JSON.parse(p.stdout);
    assert.equal(out, {
      total: 2, passed: 1, failed: 1,
      scripts: [
        { file: join(dir, 'a-good.pkt'), passed: true, warnings: [] },
        {
          file: join(dir, 'b-bad.pkt'), passed: false, warnings: [],
          error: `${join(dir, 'b-bad.pkt')}:1: socket() returned 3, expected 5\n  script:   0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 5\n  expected: 5\n  actual:   3`,
        },
      ],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scripts do not depend on the stack\'s ISNs or ports: a sample passes with other seeds', () => {
  const sample = findScripts([join(root, 'tests/packetdrill')]).filter((f) => /(handshake|close|rst)\//.test(f)).slice(0, 12);
  for (const seed of [2, 0xdeadbeef]) {
    for (const file of sample) {
      const r = runScriptFile(file, { seed });
      assert.ok(r.passed, `seed ${seed}: ${r.error}`);
    }
  }
});

test('a run is a function of the script and the seed: the same frames twice', () => {
  const file = join(root, 'tests/packetdrill/timers/rto-backoff.pkt');
  const a = runScriptFile(file), b = runScriptFile(file);
  assert.is(a.trace.length, b.trace.length);
  a.trace.forEach((f, i) => {
    assert.is(f.timeUs, b.trace[i].timeUs);
    assert.equal(f.bytes, b.trace[i].bytes);
  });
  const c = runScriptFile(file, { seed: 5 });
  assert.ok(c.trace.some((f, i) => !b.trace[i] || Buffer.compare(Buffer.from(f.bytes), Buffer.from(b.trace[i].bytes)) !== 0), 'another seed changes the ISN');
});

// Every script of the suite, each its own test so a failure names the script and the line.
const scripts = findScripts([join(root, 'tests/packetdrill')]);
test('the suite has at least 80 scripts, some in every topic folder', () => {
  assert.ok(scripts.length >= 80, `${scripts.length} scripts`);
  for (const topic of ['handshake', 'established', 'close', 'listen', 'rst', 'timers', 'options', 'window']) {
    assert.ok(scripts.some((f) => f.includes(`/packetdrill/${topic}/`)), `no script in ${topic}/`);
  }
});
for (const file of scripts) {
  const name = file.slice(file.indexOf('tests/packetdrill/'));
  test(`script ${name}`, () => {
    const r = runScriptFile(file);
    assert.ok(r.passed, r.error);
  });
}

test.run();
