// Peer replay: one side of a real captured TCP conversation (say, a Linux client) is played
// against the stack, which takes the other side's place (the server's).
//
// Guarantees:
// - The played side's segments are fed at their capture times (relative to its first
//   segment) on a virtual clock, rewritten onto the stack: addresses, MACs and the stack's
//   port; ACK numbers (and SACK blocks) shifted from the recorded server's ISN to the stack's,
//   learned from the stack's SYN-ACK; TS ecr set to the latest TS val the stack sent (what a
//   live peer echoes); checksums recomputed. Sequence numbers and payloads are the recording's.
// - The stack's application accepts the connection, reads everything and closes after the
//   peer's FIN. The result says whether the stack delivered exactly the byte stream the peer
//   sent, and lists every stack segment the recorded peer would not have accepted: an RST, an
//   ACK for data the peer had not sent yet, an ACK moving backwards, a sequence number outside
//   what the peer had acknowledged plus its window, in the recording's sequence space.
// - Only conversations where the played side opens the connection are supported; the other
//   side may send nothing but ACKs and its FIN (the stack's app has nothing to say).

import { PcapReader } from '../pcap/reader.js';
import { StackHarness } from '../pktdrill/harness.js';
import { readTcpInfo, tcpAbi, INFO_PEER_FIN } from '../pktdrill/tcp-abi.js';
import {
  buildEthernet, buildIpv4, buildTcp, decodeFrame, encodeTcpOptions, ETH_IPV4, TcpFlag,
  type DecodedFrame,
} from '../pktdrill/wire.js';

export interface PeerReplayOptions {
  /** The capture of the whole conversation (path or bytes). */
  capture: string | Uint8Array;
  /** The stack's address, prefix and port; default: the recorded server's address (/24) and port. */
  stack?: { ip?: number; prefix?: number; port?: number; mac?: Uint8Array };
  seed?: number;
  /** Keep running this long after the last played segment, µs (default 1 s). */
  drainUs?: number;
}

export interface PeerReplayResult {
  /** Segments of the played side that were fed. */
  segmentsIn: number;
  /** Segments the stack sent. */
  segmentsOut: number;
  /** The byte stream the recorded peer sent (in sequence order, each byte once). */
  expectedBytes: number;
  /** What the stack's application read. */
  deliveredBytes: number;
  /** The delivered stream equals the peer's, byte for byte. */
  streamIdentical: boolean;
  /** The stack's connection went through the close and reached CLOSED. */
  closed: boolean;
  /** Stack segments the recorded peer would not have accepted, as "time µs: reason". */
  violations: string[];
}

interface Recorded { tsUs: number; f: DecodedFrame }

function readConversation(capture: string | Uint8Array): Recorded[] {
  const r = typeof capture === 'string' ? PcapReader.open(capture) : PcapReader.from(capture, 'capture');
  const out: Recorded[] = [];
  try {
    for (let rec = r.next(); rec !== null; rec = r.next()) {
      const f = decodeFrame(rec.data.slice(rec.offset, rec.offset + rec.capturedLength));
      if (f.tcp && f.ipv4) out.push({ tsUs: rec.tsUs, f });
    }
  } finally {
    r.close();
  }
  return out;
}

const seqDiff = (a: number, b: number): number => (a - b) | 0;

export function runPeerReplay(o: PeerReplayOptions): PeerReplayResult {
  const frames = readConversation(o.capture);
  const syn = frames.find((x) => (x.f.tcp!.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN);
  if (!syn) throw Object.assign(new Error('peer replay: the capture has no SYN: capture the whole conversation, from its first segment'), { code: 'ERR_WASM_TCPIP_PEER_REPLAY' });
  const peer = { ip: syn.f.ipv4!.src, port: syn.f.tcp!.srcPort, mac: syn.f.srcMac, isn: syn.f.tcp!.seq };
  const server = { ip: syn.f.ipv4!.dst, port: syn.f.tcp!.dstPort };
  const fromPeer = (x: Recorded): boolean =>
    x.f.ipv4!.src === peer.ip && x.f.tcp!.srcPort === peer.port && x.f.ipv4!.dst === server.ip && x.f.tcp!.dstPort === server.port;
  const fromServer = (x: Recorded): boolean =>
    x.f.ipv4!.dst === peer.ip && x.f.tcp!.dstPort === peer.port && x.f.ipv4!.src === server.ip && x.f.tcp!.srcPort === server.port;
  const synAck = frames.find((x) => fromServer(x) && (x.f.tcp!.flags & TcpFlag.SYN));
  if (!synAck) throw Object.assign(new Error('peer replay: the capture has no SYN-ACK from the server side'), { code: 'ERR_WASM_TCPIP_PEER_REPLAY' });
  const recordedServerIsn = synAck.f.tcp!.seq;
  const played = frames.filter(fromPeer);

  // The byte stream the peer sent, in sequence order, each byte once.
  const streamParts = new Map<number, Uint8Array>();
  let finRel = -1;
  for (const x of played) {
    const t = x.f.tcp!;
    const rel = seqDiff(t.seq, peer.isn + 1);
    if (t.payload.length) streamParts.set(rel, t.payload);
    if (t.flags & TcpFlag.FIN) finRel = rel + t.payload.length;
  }
  const expected = new Uint8Array(finRel >= 0 ? finRel : Math.max(0, ...[...streamParts].map(([k, v]) => k + v.length)));
  for (const [rel, bytes] of streamParts) if (rel >= 0) expected.set(bytes.subarray(0, Math.max(0, expected.length - rel)), rel);

  const stackIp = o.stack?.ip ?? server.ip;
  const stackPort = o.stack?.port ?? server.port;
  const stackMac = o.stack?.mac ?? Uint8Array.of(0x02, 0, 0, 0, 0x5e, 0x01);
  const h = new StackHarness({
    localIp: stackIp, prefix: o.stack?.prefix ?? 24, gateway: 0, peerIps: [peer.ip], localMac: stackMac, peerMac: peer.mac,
    mtu: 1500, seed: o.seed ?? 1, config: [],
  });
  const found = tcpAbi(h.instance);
  if (!('abi' in found)) throw Object.assign(new Error(`peer replay: this stack build has no TCP socket ABI (missing: ${found.missing.join(', ')})`), { code: 'ERR_WASM_TCPIP_NOT_BUILT' });
  const abi = found.abi;
  const listener = abi.tcpListen(stackIp, stackPort, 8, 0, 0, 0);
  if (listener < 0) throw Object.assign(new Error(`peer replay: cannot listen on ${stackPort} (errno ${-listener})`), { code: 'ERR_WASM_TCPIP_PEER_REPLAY' });

  // The stack's application: accept, read everything, close after the peer's FIN.
  const delivered: Uint8Array[] = [];
  let deliveredBytes = 0;
  let conn = -1;
  let closedByApp = false;
  h.afterBurst = () => {
    if (conn < 0) {
      const c = abi.tcpAccept(listener);
      if (c >= 0) conn = c;
    }
    if (conn < 0 || closedByApp) return;
    for (let n = abi.tcpReadAvail(conn); n > 0; n = abi.tcpReadAvail(conn)) {
      const p = abi.tcpReadPtr(conn);
      h.instance.refreshViews();
      delivered.push(h.instance.u8.slice(p, p + n));
      deliveredBytes += n;
      abi.tcpReadConsume(conn, n);
    }
    const info = readTcpInfo(h.instance, abi, conn);
    if ((info.flags & INFO_PEER_FIN) && info.readable === 0) {
      closedByApp = true;
      abi.tcpClose(conn);
    }
  };

  // The stack's segments, checked against what the recorded peer had sent and acknowledged.
  const violations: string[] = [];
  let stackIsn: number | undefined;
  let lastStackTsVal: number | undefined;
  let peerSentHighest = peer.isn; // highest sequence number the peer has sent, + 1
  let peerAckRel = 0; // what the peer acknowledged of the stack's stream, relative to the ISN
  /** The peer's receive window in bytes (scaled, except in its SYN, RFC 7323 2.2). */
  let peerWindowBytes = 65535;
  let peerWscale = 0;
  let lastStackAck: number | undefined;
  let segmentsOut = 0;
  const checkOutbound = (): void => {
    while (h.outbound.length) {
      const fr = h.outbound.shift()!;
      const d = decodeFrame(fr.bytes);
      if (!d.tcp) continue;
      const t = d.tcp;
      segmentsOut++;
      const at = `${fr.timeUs} µs`;
      if (t.flags & TcpFlag.SYN) stackIsn = t.seq;
      const ts = t.options?.find((x) => x.kind === 'TS');
      if (ts && ts.kind === 'TS') lastStackTsVal = ts.val;
      if (t.flags & TcpFlag.RST) { violations.push(`${at}: the stack reset the connection`); continue; }
      if (t.flags & TcpFlag.ACK) {
        if (seqDiff(t.ack, peerSentHighest) > 0) violations.push(`${at}: ACK ${seqDiff(t.ack, peer.isn)} (relative) for data the peer had not sent (highest ${seqDiff(peerSentHighest, peer.isn)})`);
        if (lastStackAck !== undefined && seqDiff(t.ack, lastStackAck) < 0) violations.push(`${at}: ACK moved backwards`);
        lastStackAck = t.ack;
      }
      if (stackIsn !== undefined && !(t.flags & TcpFlag.SYN)) {
        const rel = seqDiff(t.seq, stackIsn);
        const len = t.payload.length + (t.flags & TcpFlag.FIN ? 1 : 0);
        if (rel < peerAckRel && len > 0) violations.push(`${at}: sequence ${rel} (relative) was already acknowledged by the peer (${peerAckRel})`);
        if (len > 0 && rel + len - peerAckRel > peerWindowBytes) violations.push(`${at}: sequence ${rel}+${len} beyond the peer's window`);
      }
    }
  };

  const t0 = played.length ? played[0].tsUs : 0;
  for (const x of played) {
    h.advanceTo(Math.round(x.tsUs - t0));
    checkOutbound();
    const t = x.f.tcp!;
    if (stackIsn === undefined && (t.flags & TcpFlag.ACK)) {
      violations.push(`${Math.round(x.tsUs - t0)} µs: the stack had sent no SYN-ACK when the peer's ACK came`);
    }
    const shift = stackIsn === undefined ? 0 : (stackIsn - recordedServerIsn) >>> 0;
    const options = (t.options ?? []).map((opt) => {
      if (opt.kind === 'TS' && (t.flags & TcpFlag.ACK)) return { ...opt, ecr: lastStackTsVal ?? 0 };
      if (opt.kind === 'sack') return { kind: 'sack' as const, blocks: opt.blocks.map(([l, r]): [number, number] => [(l + shift) >>> 0, (r + shift) >>> 0]) };
      return opt;
    });
    if (t.flags & TcpFlag.SYN) {
      const ws = options.find((op) => op.kind === 'wscale');
      peerWscale = ws && ws.kind === 'wscale' ? Math.min(ws.value, 14) : 0;
    }
    const ack = t.flags & TcpFlag.ACK ? (t.ack + shift) >>> 0 : t.ack;
    const seg = buildTcp(peer.ip, stackIp, {
      srcPort: peer.port, dstPort: stackPort, seq: t.seq, ack, flags: t.flags, win: t.win, urg: t.urg,
      options: encodeTcpOptions(options), payload: t.payload,
    });
    const ip = buildIpv4({ src: peer.ip, dst: stackIp, proto: 6, id: x.f.ipv4!.id, ttl: x.f.ipv4!.ttl, tos: x.f.ipv4!.tos, df: x.f.ipv4!.df }, seg);
    const endSeq = (t.seq + t.payload.length + (t.flags & (TcpFlag.SYN | TcpFlag.FIN) ? 1 : 0)) >>> 0;
    if (seqDiff(endSeq, peerSentHighest) > 0) peerSentHighest = endSeq;
    if ((t.flags & TcpFlag.ACK) && stackIsn !== undefined) peerAckRel = Math.max(peerAckRel, seqDiff(ack, stackIsn));
    peerWindowBytes = t.flags & TcpFlag.SYN ? t.win : t.win * 2 ** peerWscale;
    h.inject(buildEthernet(stackMac, peer.mac, ETH_IPV4, ip));
    checkOutbound();
  }
  const lastUs = played.length ? Math.round(played[played.length - 1].tsUs - t0) : 0;
  h.advanceTo(lastUs + (o.drainUs ?? 1_000_000));
  checkOutbound();
  // The handle is released by tcpClose, so the end of the close is read from the counters.
  const reachedClosed = closedByApp && (h.instance.counters()['tcp.conn.closed'] ?? 0) > 0;

  const got = new Uint8Array(deliveredBytes);
  let off = 0;
  for (const part of delivered) { got.set(part, off); off += part.length; }
  const identical = got.length === expected.length && got.every((b, i) => b === expected[i]);
  return {
    segmentsIn: played.length, segmentsOut, expectedBytes: expected.length, deliveredBytes, streamIdentical: identical,
    closed: reachedClosed, violations,
  };
}
