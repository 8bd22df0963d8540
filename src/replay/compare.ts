// Compares two pcaps frame by frame and explains the first difference in protocol terms.
//
// Guarantees: the comparison is exact (timestamps to the microsecond, every byte); when the
// captures differ, the answer names the 1-based frame number and the first differing field
// in header order (time, length, Ethernet, ARP, IPv4, TCP/UDP/ICMP fields, TCP options,
// payload byte), with the expected (golden) and actual values, or says which capture is
// longer. Corrupt files raise the reader's PcapFormatError with the byte offset.

import { PcapReader } from '../pcap/reader.js';
import { decodeFrame, formatTcpOptions, lettersFromFlags, type DecodedFrame } from '../testing/frames.js';
import { formatIpv4, formatMac } from '../net/ipv4.js';

export interface PcapDifference {
  /** 1-based frame number. */
  frame: number;
  field: string;
  expected: string;
  actual: string;
  /** One-line summaries of the two frames (absent for a missing frame). */
  expectedFrame?: string;
  actualFrame?: string;
}

export interface PcapComparison {
  identical: boolean;
  framesExpected: number;
  framesActual: number;
  difference?: PcapDifference;
}

interface Frame { tsUs: number; data: Uint8Array }

function readAll(source: string | Uint8Array): Frame[] {
  const reader = typeof source === 'string' ? PcapReader.open(source) : PcapReader.from(source, 'data');
  const out: Frame[] = [];
  try {
    for (let r = reader.next(); r !== null; r = reader.next()) {
      out.push({ tsUs: r.tsUs, data: r.data.slice(r.offset, r.offset + r.capturedLength) });
    }
  } finally {
    reader.close();
  }
  return out;
}

/** Header fields of a decoded frame, in wire order, as [name, value] pairs. */
export function frameFields(d: DecodedFrame): Array<[string, string]> {
  const f: Array<[string, string]> = [
    ['eth.dst', formatMac(d.dstMac)], ['eth.src', formatMac(d.srcMac)], ['eth.type', `0x${d.ethertype.toString(16).padStart(4, '0')}`],
  ];
  if (d.arp) {
    f.push(['arp.op', String(d.arp.op)], ['arp.sender_mac', formatMac(d.arp.senderMac)], ['arp.sender_ip', formatIpv4(d.arp.senderIp)],
      ['arp.target_mac', formatMac(d.arp.targetMac)], ['arp.target_ip', formatIpv4(d.arp.targetIp)]);
  }
  if (d.ipv4) {
    const ip = d.ipv4;
    f.push(['ip.tos', String(ip.tos)], ['ip.len', String(ip.totalLength)], ['ip.id', String(ip.id)], ['ip.df', String(ip.df)],
      ['ip.ttl', String(ip.ttl)], ['ip.proto', String(ip.proto)], ['ip.checksum', ip.checksumOk ? 'valid' : 'bad'],
      ['ip.src', formatIpv4(ip.src)], ['ip.dst', formatIpv4(ip.dst)]);
  }
  if (d.tcp) {
    const t = d.tcp;
    f.push(['tcp.srcport', String(t.srcPort)], ['tcp.dstport', String(t.dstPort)], ['tcp.seq', String(t.seq)], ['tcp.ack', String(t.ack)],
      ['tcp.flags', lettersFromFlags(t.flags)], ['tcp.window', String(t.win)], ['tcp.checksum', t.checksumOk ? 'valid' : 'bad'],
      ['tcp.urg', String(t.urg)], ['tcp.options', t.options ? `<${formatTcpOptions(t.options)}>` : `bad: ${t.optionsError}`],
      ['tcp.payload_len', String(t.payload.length)]);
  }
  if (d.udp) {
    f.push(['udp.srcport', String(d.udp.srcPort)], ['udp.dstport', String(d.udp.dstPort)], ['udp.length', String(d.udp.length)],
      ['udp.checksum', d.udp.checksumOk ? 'valid' : 'bad']);
  }
  if (d.icmp) {
    f.push(['icmp.type', String(d.icmp.type)], ['icmp.code', String(d.icmp.code)], ['icmp.checksum', d.icmp.checksumOk ? 'valid' : 'bad']);
  }
  if (d.error) f.push(['decode', d.error]);
  return f;
}

function describe(d: DecodedFrame): string {
  if (d.tcp) {
    const t = d.tcp;
    return `${formatIpv4(d.ipv4!.src)}:${t.srcPort} > ${formatIpv4(d.ipv4!.dst)}:${t.dstPort} ${lettersFromFlags(t.flags)} seq ${t.seq} ack ${t.ack} win ${t.win} len ${t.payload.length}`;
  }
  if (d.arp) return `arp ${d.arp.op === 1 ? 'request' : 'reply'} ${formatIpv4(d.arp.senderIp)} > ${formatIpv4(d.arp.targetIp)}`;
  if (d.ipv4) return `${formatIpv4(d.ipv4.src)} > ${formatIpv4(d.ipv4.dst)} proto ${d.ipv4.proto}`;
  return `ethertype 0x${d.ethertype.toString(16)}`;
}

function compareFrame(n: number, exp: Frame, act: Frame): PcapDifference | undefined {
  const de = decodeFrame(exp.data), da = decodeFrame(act.data);
  const diff = (field: string, expected: string, actual: string): PcapDifference =>
    ({ frame: n, field, expected, actual, expectedFrame: describe(de), actualFrame: describe(da) });
  if (exp.tsUs !== act.tsUs) return diff('time (µs)', String(exp.tsUs), String(act.tsUs));
  const fe = frameFields(de), fa = frameFields(da);
  for (let i = 0; i < Math.max(fe.length, fa.length); i++) {
    const [name, ve] = fe[i] ?? [fa[i][0], '(absent)'];
    const va = fa[i] && fa[i][0] === name ? fa[i][1] : '(absent)';
    if (ve !== va) return diff(name, ve, va);
  }
  if (exp.data.length !== act.data.length) return diff('frame length', String(exp.data.length), String(act.data.length));
  for (let i = 0; i < exp.data.length; i++) {
    if (exp.data[i] !== act.data[i]) {
      return diff(`byte ${i}`, `0x${exp.data[i].toString(16).padStart(2, '0')}`, `0x${act.data[i].toString(16).padStart(2, '0')}`);
    }
  }
  return undefined;
}

export function comparePcaps(actual: string | Uint8Array, expected: string | Uint8Array): PcapComparison {
  const a = readAll(actual), e = readAll(expected);
  const n = Math.min(a.length, e.length);
  for (let i = 0; i < n; i++) {
    const d = compareFrame(i + 1, e[i], a[i]);
    if (d) return { identical: false, framesExpected: e.length, framesActual: a.length, difference: d };
  }
  if (a.length !== e.length) {
    const extra = a.length > e.length ? a[n] : e[n];
    const which = a.length > e.length ? 'actual' : 'expected';
    const text = `${describe(decodeFrame(extra.data))} at ${extra.tsUs} µs`;
    return {
      identical: false, framesExpected: e.length, framesActual: a.length,
      difference: { frame: n + 1, field: 'frame', expected: which === 'expected' ? text : '(no frame)', actual: which === 'actual' ? text : '(no frame)' },
    };
  }
  return { identical: true, framesExpected: e.length, framesActual: a.length };
}

export function formatDifference(d: PcapDifference): string {
  let text = `first difference at frame ${d.frame}: ${d.field}: expected ${d.expected}, actual ${d.actual}`;
  if (d.expectedFrame !== undefined) text += `\n  expected frame: ${d.expectedFrame}\n  actual frame:   ${d.actualFrame}`;
  return text;
}
