// The host-side frame module (src/testing/frames.ts) that every TCP test, the packetdrill runner
// and pcap replay rely on: its builders against hand-written bytes and real kernel frames, its
// Linux option layout, and its checks (parseFrame must refuse every broken frame, decodeFrame
// must name the problem without throwing), so no test can pass on a broken frame.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildEthernet, buildArp, buildIpv4, buildTcp, buildUdp, icmpEcho, decodeFrame, parseFrame, tcpSegment, ipv4Frame,
  encodeTcpOptions, linuxTcpOptions, decodeTcpOptions, tcpOptionFields, formatTcpOptions, flagsFromLetters, lettersFromFlags,
  flagsFromBitLetters, bitLettersFromFlags, internetChecksum, onesSum, pseudoHeaderSum, ipAddress, macAddress, TcpFlag,
  ETH_IPV4, ETH_ARP, ETH_MIN_FRAME, BROADCAST_MAC,
} from '../dist/testing/frames.js';
import { fixture } from './helpers/fixtures.mjs';

const A = ipAddress('10.61.0.1');
const B = ipAddress('10.61.0.2');
const MAC_A = macAddress('02:00:00:00:0a:01');
const MAC_B = macAddress('02:00:00:00:0a:02');
const hex = (b) => Buffer.from(b).toString('hex');

test('checksum: RFC 1071 3 example, odd length, pseudo-header folded', () => {
  assert.is(onesSum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0xddf2);
  assert.is(internetChecksum([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0x220d);
  assert.is(onesSum([0x12, 0x34, 0x56]), 0x1234 + 0x5600);
  // Four 0xffff address words + 17 + 0xffff = 5 * 0xffff + 17, which folds to 17.
  assert.is(pseudoHeaderSum(0xffffffff, 0xffffffff, 17, 0xffff), 17);
  assert.is(pseudoHeaderSum(A, B, 6, 20), 0x0a3d + 0x0001 + 0x0a3d + 0x0002 + 6 + 20);
});

test('builders: a kernel UDP frame and an ICMP echo request rebuilt byte for byte', () => {
  const [kernelUdp] = fixture('udp');
  const ip = kernelUdp.subarray(14);
  const src = ip[12] * 2 ** 24 + ip[13] * 2 ** 16 + ip[14] * 256 + ip[15];
  const dst = ip[16] * 2 ** 24 + ip[17] * 2 ** 16 + ip[18] * 256 + ip[19];
  const l4 = ip.subarray(20);
  const payload = l4.subarray(8, (l4[4] << 8) | l4[5]);
  const rebuilt = buildEthernet(kernelUdp.subarray(0, 6), kernelUdp.subarray(6, 12), ETH_IPV4,
    buildIpv4(src, dst, 17, buildUdp(src, dst, (l4[0] << 8) | l4[1], (l4[2] << 8) | l4[3], payload),
      { id: (ip[4] << 8) | ip[5], ttl: ip[8], df: (ip[6] & 0x40) !== 0 }));
  assert.is(hex(rebuilt), hex(kernelUdp.subarray(0, rebuilt.length)));
  const [, , echoRequest] = fixture('arp-ping');
  const body = echoRequest.subarray(42);
  const eip = echoRequest.subarray(14);
  const echo = icmpEcho(8, (eip[24] << 8) | eip[25], (eip[26] << 8) | eip[27], body);
  assert.is(hex(echo), hex(echoRequest.subarray(34)));
});

test('builders: Ethernet VLAN tag and padding, ARP layout, IPv4 fragment fields and options', () => {
  const tagged = buildEthernet(BROADCAST_MAC, MAC_A, ETH_ARP, [1, 2], { vlan: { id: 5, pcp: 3 } });
  assert.is(hex(tagged), 'ffffffffffff' + '020000000a01' + '8100' + '6005' + '0806' + '0102');
  assert.is(buildEthernet(MAC_B, MAC_A, ETH_ARP, buildArp(1, MAC_A, A, new Uint8Array(6), B), { padTo: ETH_MIN_FRAME }).length, 60);
  assert.is(hex(buildArp(2, MAC_A, A, MAC_B, B)), '0001080006040002' + '020000000a01' + '0a3d0001' + '020000000a02' + '0a3d0002');
  const frag = buildIpv4(A, B, 17, [9, 9, 9, 9], { id: 7, df: false, mf: true, frag: 3, ttl: 5, tos: 0x02, options: [1, 1, 1, 0] });
  assert.is(hex(frag.subarray(0, 10)), '4602' + '001c' + '0007' + '2003' + '05' + '11');
  assert.is(internetChecksum(frag.subarray(0, 24)), 0, 'header checksum covers the options');
});

test('TCP options: Linux layouts for SYN and data segments, exact bytes and back', () => {
  const syn = encodeTcpOptions(linuxTcpOptions({ mss: 1460, sackOk: true, ts: [1, 0], wscale: 7 }, true));
  assert.equal(syn, [2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7]);
  assert.equal(encodeTcpOptions(linuxTcpOptions({ mss: 536, ts: [2, 3] }, true)), [2, 4, 2, 24, 1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 3]);
  assert.equal(encodeTcpOptions(linuxTcpOptions({ mss: 536, sackOk: true }, true)), [2, 4, 2, 24, 1, 1, 4, 2]);
  const data = encodeTcpOptions(linuxTcpOptions({ ts: [5, 6], sack: [[100, 200]] }, false));
  assert.equal(data, [1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 1, 1, 5, 10, 0, 0, 0, 100, 0, 0, 0, 200]);
  const back = decodeTcpOptions(Uint8Array.from(data));
  assert.is(formatTcpOptions(back.options), 'nop,nop,TS val 5 ecr 6,nop,nop,sack 100:200');
  assert.equal(tcpOptionFields(back.options), { ts: [5, 6], sack: [[100, 200]] });
  assert.is(decodeTcpOptions(Uint8Array.of(2, 3, 5, 0)).error, 'MSS option length 3 (must be 4)');
  assert.is(decodeTcpOptions(Uint8Array.of(30, 2)).error, 'unknown option kind 30');
  assert.is(decodeTcpOptions(Uint8Array.of(8)).error, 'option kind 8 at byte 0 has no length');
});

test('TCP flags: packetdrill letters and bit letters', () => {
  assert.is(flagsFromLetters('S.'), TcpFlag.SYN | TcpFlag.ACK);
  assert.is(lettersFromFlags(TcpFlag.FIN | TcpFlag.ACK | TcpFlag.CWR), 'FW.');
  assert.is(lettersFromFlags(0), '-');
  assert.is(flagsFromBitLetters('SA'), 0x12);
  assert.is(bitLettersFromFlags(0x1ff), 'FSRPAUECN');
  assert.throws(() => flagsFromBitLetters('S.'), /unknown TCP flag letter '\.'/);
});

test('compact form: tcpSegment + ipv4Frame parse back to the same fields', () => {
  const f = ipv4Frame(tcpSegment({ sport: 1234, dport: 80, flags: 'SA', seq: 0xfffffff0, ack: 7, win: 512,
    options: { mss: 1400, sackOk: true, ts: [9, 8], wscale: 2 }, payload: 'hi' }), { ttl: 9, id: 3 });
  const p = parseFrame(f);
  assert.equal(p.eth, { dst: '02:00:00:00:00:01', src: '02:00:00:00:00:02', type: ETH_IPV4 });
  assert.equal(p.ip, { src: '10.0.0.2', dst: '10.0.0.1', proto: 6, ttl: 9, df: true, totalLength: 20 + 40 + 2 });
  assert.equal(p.tcp, {
    sport: 1234, dport: 80, seq: 0xfffffff0, ack: 7, flags: 'SA', win: 512, urgent: 0,
    options: { mss: 1400, sackOk: true, ts: [9, 8], wscale: 2 }, payload: new TextEncoder().encode('hi'),
  });
  const arp = parseFrame(buildEthernet(BROADCAST_MAC, MAC_A, ETH_ARP, buildArp(1, MAC_A, A, new Uint8Array(6), B)));
  assert.equal(arp.arp, { op: 1, senderMac: '02:00:00:00:0a:01', senderIp: '10.61.0.1', targetMac: '00:00:00:00:00:00', targetIp: '10.61.0.2' });
});

test('parseFrame throws on every broken frame; decodeFrame names the problem and never throws', () => {
  const good = ipv4Frame(tcpSegment({ flags: 'PA', payload: 'data' }));
  const broken = (what, change) => {
    const f = Uint8Array.from(good);
    change(f);
    return [what, f];
  };
  const cases = [
    ['bad TCP checksum', ipv4Frame(tcpSegment({ flags: 'S' }), { badChecksum: true })],
    broken('bad IPv4 header checksum', (f) => { f[22] ^= 1; }),
    broken('total length 300 does not fit', (f) => { f[16] = 1; f[17] = 44; }),
    broken('bad version or header length', (f) => { f[14] = 0x65; }),
    broken('data offset 60 is out of range', (f) => { f[46] = 0xf0; }),
    ['shorter than a header', good.subarray(0, 13)],
    ['arp: truncated', buildEthernet(BROADCAST_MAC, MAC_A, ETH_ARP, [0, 1])],
    ['bad UDP checksum', (() => { const f = buildEthernet(MAC_B, MAC_A, ETH_IPV4, buildIpv4(A, B, 17, buildUdp(A, B, 1, 2, [1]))); f[42] ^= 1; return f; })()],
    ['bad ICMP checksum', (() => { const f = buildEthernet(MAC_B, MAC_A, ETH_IPV4, buildIpv4(A, B, 1, icmpEcho(8, 1, 1, [1]))); f[42] ^= 1; return f; })()],
    ['tcp: options: option kind 2 at byte 0 has bad length 8', ipv4Frame(tcpSegment({ rawOptions: [2, 8, 5, 180] }))],
    ['is not IPv4 or ARP', buildEthernet(MAC_B, MAC_A, 0x86dd, new Uint8Array(40))],
  ];
  for (const [what, f] of cases) {
    assert.throws(() => parseFrame(f), (e) => e.message.includes(what), what);
    const d = decodeFrame(f);
    const named = d.error ?? [d.ipv4, d.tcp, d.udp, d.icmp].filter((l) => l && !l.checksumOk).map(() => 'checksum').join();
    assert.ok(named.length > 0, `decodeFrame reports ${what}`);
  }
  for (let n = 0; n <= good.length; n++) decodeFrame(good.subarray(0, n));
  assert.equal(parseFrame(good).tcp.payload, new TextEncoder().encode('data'));
});

test('ipv4Frame fills the checksum of a truncated segment only when its field fits; addresses are checked', () => {
  const full = tcpSegment({ flags: 'S', seq: 1 });
  const short = ipv4Frame({ proto: 6, bytes: full.bytes.slice(0, 17) });
  assert.is(hex(short.subarray(34)), hex(full.bytes.subarray(0, 17)));
  const eighteen = ipv4Frame({ proto: 6, bytes: full.bytes.slice(0, 18) });
  assert.is(internetChecksum(eighteen.subarray(34), pseudoHeaderSum(ipAddress('10.0.0.2'), ipAddress('10.0.0.1'), 6, 18)), 0);
  assert.throws(() => ipAddress('10.0.0.256'), /'10\.0\.0\.256' is not an IPv4 address/);
  assert.throws(() => macAddress('02:00:00'), /is not a MAC address/);
  const tcpWithChecksum = buildTcp(A, B, { srcPort: 1, dstPort: 2, seq: 3, ack: 4, flags: TcpFlag.RST, win: 0 });
  assert.is(internetChecksum(tcpWithChecksum, pseudoHeaderSum(A, B, 6, 20)), 0);
});

test.run();
