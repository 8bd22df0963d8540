// Interop with the Linux kernel across net_tap (root; CI runs it), tap wtap48: a SYN flood
// from spoofed off-link addresses (a python3 raw IP socket, 3000 SYNs) fills
// the SYN queue (4) of node:http on the stack; the kernel's curl then downloads from it while
// the spoofed half-open connections are still there. SYN cookies (RFC 4987 3.6, the default
// tcpSynCookies 1) answer the flood and curl: every download completes with the right
// length and SHA-256, cookies were sent to the flood and accepted from curl, and the stack's
// connection table never filled (no SYN was refused for want of a record: the flood holds
// only the SYN queue's 4). A capture of one more cookie handshake shows the kernel's
// timestamps carrying window scale and SACK-permitted through the cookie.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { tapOrSkip, openTap, run, startCapture } from './support/tap.mjs';

const FILE = 'tests/interop-syncookies.test.mjs';
const TAP = 48;
const SIZE = 4 * 1024 * 1024;
const SEED = 48;
const HTTP_PORT = 8080;
const SYN_BACKLOG = 4;
const FLOOD = 3000;
const DOWNLOADS = 4;

// Raw IPv4 SYNs from 198.18.0.100-199 (RFC 2544 benchmark addresses), random source ports
// and ISNs, in bursts of 100 so the tap's queue is not overrun. The stack sends the SYN-ACKs
// to its gateway, the kernel, which does not forward (ip_forward 0 is checked) and so drops
// them: nobody answers them, as in a real flood, and no ARP is needed for them.
const FLOOD_PY = `
import socket, struct, random, sys, time
dst, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
def csum(b):
    if len(b) % 2: b += b'\\0'
    t = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while t >> 16: t = (t & 0xffff) + (t >> 16)
    return ~t & 0xffff
d = socket.inet_aton(dst)
sent = 0
for i in range(count):
    src = socket.inet_aton('198.18.0.%d' % (100 + i % 100))
    sport = random.randint(1024, 65535)
    tcp = struct.pack('!HHIIBBHHH', sport, port, random.getrandbits(32), 0, 6 << 4, 0x02, 64240, 0, 0) + b'\\x02\\x04\\x05\\xb4'
    tcp = tcp[:16] + struct.pack('!H', csum(src + d + struct.pack('!BBH', 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), i & 0xffff, 0, 64, 6, 0, src, d)
    s.sendto(ip + tcp, (dst, 0))
    sent += 1
    if i % 100 == 99: time.sleep(0.005)
print(sent)
`;

if (tapOrSkip(FILE, ['curl', 'python3', 'tcpdump'])) {
  const { createStack } = await import('../dist/index.js');
  const { seededChunks, seededSha256 } = await import('../dist/util/seeded-bytes.js');
  const dir = mkdtempSync(join(tmpdir(), 'wasm-tcpip-interop-syncookies-'));
  const { plan, link } = await openTap(TAP);
  const stack = await createStack({
    link, address: `${plan.stack}/${plan.prefix}`, gateway: plan.kernel, seed: 48, poll: 'busy', tcp: { maxConnections: 64 },
  });
  const httpServer = http.createServer((req, res) => {
    res.writeHead(200, { 'content-length': SIZE });
    const chunks = seededChunks(SEED, SIZE);
    const pump = () => {
      for (;;) {
        const next = chunks.next();
        if (next.done) { res.end(); return; }
        if (!res.write(next.value)) { res.once('drain', pump); return; }
      }
    };
    pump();
  });
  const server = stack.net.createServer({ synBacklog: SYN_BACKLOG }, (socket) => httpServer.emit('connection', socket));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(HTTP_PORT, resolve);
  });

  test.after(async () => {
    await stack.close({ timeoutMs: 500 });
    rmSync(dir, { recursive: true, force: true });
  });

  test('a spoofed SYN flood fills the SYN queue; kernel curl downloads still complete through SYN cookies', async () => {
    assert.is(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim(), '0', 'the kernel must not forward the SYN-ACKs to the spoofed addresses');
    const flood = await run('python3', ['-c', FLOOD_PY, plan.stack, String(HTTP_PORT), String(FLOOD)]);
    assert.is(flood.code, 0, flood.err);
    assert.is(Number(flood.out.trim()), FLOOD);
    // Let the stack take in what the tap queued.
    await new Promise((r) => setTimeout(r, 200));
    const afterFlood = stack.counters();
    assert.is(afterFlood['tcp.conn.passive_opens'], SYN_BACKLOG, 'the flood took the SYN queue and no more');
    assert.ok(afterFlood['tcp.syncookies.sent'] > FLOOD / 2, `cookies sent to the flood: ${afterFlood['tcp.syncookies.sent']}`);

    const expected = seededSha256(SEED, SIZE);
    const curls = await Promise.all(Array.from({ length: DOWNLOADS }, () =>
      run('curl', ['-sS', '--max-time', '60', `http://${plan.stack}:${HTTP_PORT}/`], { hashStdout: true })));
    for (const c of curls) {
      assert.is(c.code, 0, c.err);
      assert.is(c.length, SIZE);
      assert.is(c.sha, expected);
    }
    const c = stack.counters();
    assert.is(c['tcp.syncookies.accepted'], DOWNLOADS, 'each curl connection came from a cookie');
    assert.is(c['tcp.conn.passive_opens'], SYN_BACKLOG + DOWNLOADS);
    assert.is(c['drop.tcp.no_tcb'], 0, 'the connection table never filled');
    assert.is(c['drop.tcp.syn_queue_full'], 0);
    assert.is(c['tcp.syncookies.failed'], 0);
    console.log(`note: ${c['tcp.syncookies.sent']} cookies sent, ${c['tcp.syncookies.accepted']} accepted`);
  });

  test('with the kernel\'s timestamps, window scale and SACK-permitted survive the cookie (capture of the handshake)', async () => {
    const accepted = stack.counters()['tcp.syncookies.accepted'];
    const pcap = join(dir, 'handshake.pcap');
    const capture = await startCapture(plan.iface, pcap);
    const curl = await run('curl', ['-sS', '--max-time', '60', `http://${plan.stack}:${HTTP_PORT}/`], { hashStdout: true });
    await capture.stop();
    assert.is(curl.code, 0, curl.err);
    assert.is(curl.sha, seededSha256(SEED, SIZE));
    assert.is(stack.counters()['tcp.syncookies.accepted'], accepted + 1, 'this connection came from a cookie too');
    const lines = (await run('tcpdump', ['-nr', pcap, '-c', '3', `tcp port ${HTTP_PORT}`])).out.split('\n');
    // The kernel's SYN offers all three; the cookie SYN-ACK answers with all three (the stack's
    // shift for its 256 KiB receive ring is 3); the kernel's ACK then carries timestamps.
    assert.match(lines[0], /Flags \[S\],.*sackOK,TS val \d+ ecr 0,nop,wscale \d+/, lines[0]);
    assert.match(lines[1], /Flags \[S\.\],.*options \[mss 1460,sackOK,TS val \d+ ecr \d+,nop,wscale 3\]/, lines[1]);
    assert.match(lines[2], /Flags \[\.\],.*options \[nop,nop,TS val \d+ ecr \d+\]/, lines[2]);
  });
}

test.run();
