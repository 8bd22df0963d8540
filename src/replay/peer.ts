// Peer replay: one side of a real captured TCP conversation (a Linux client or server) is
// played against the stack, which takes the other side's place.
//
// Guarantees:
// - The played side's segments are fed at their capture times (relative to the SYN) on a
//   virtual clock, rewritten onto the stack: its address, MAC and port; ACK numbers (and SACK
//   blocks) shifted from the replaced side's recorded ISN to the stack's, learned from the
//   stack's SYN or SYN-ACK; TS ecr set to the latest TS val the stack sent (what a live peer
//   echoes); checksums recomputed. Sequence numbers and payloads are the recording's.
// - When the stack replaces the side that opened the connection, it connects at the time of
//   the recorded SYN. Its application reads everything and closes after the peer's FIN.
// - The result says whether the stack delivered exactly the byte stream the peer sent, and
//   lists every stack segment the recorded peer would not have accepted: an RST, an ACK for
//   data the peer had not sent yet, an ACK moving backwards, a sequence number the peer had
//   already acknowledged or beyond its window, all in the recording's sequence space.
// - The side the stack replaces must not have sent data in the recording (the stack's
//   application has nothing to say): such captures are refused with an error saying so.

import { PcapReader } from '../pcap/reader.js';
import { StackHarness } from '../pktdrill/harness.js';
import { InfoFlag, tcpInfoOrClosed, tcpExports, type TcpExports } from '../net/tcp-abi.js';
import {
  buildEthernet, buildIpv4, buildTcp, decodeFrame, encodeTcpOptions, ETH_IPV4, ETH_MIN_FRAME, TcpFlag, type DecodedFrame,
} from '../testing/frames.js';

export interface PeerReplayOptions {
  /** The capture of the whole conversation (path or bytes). */
  capture: string | Uint8Array;
  /** The side played against the stack: the one that opened the connection (default), or the one that accepted it. */
  play?: 'opener' | 'acceptor';
  /** The stack's address, prefix and port; default: the replaced side's recorded address (/24) and port. */
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
interface Endpoint { ip: number; port: number; mac: Uint8Array; isn: number }

function peerError(message: string): Error {
  return Object.assign(new Error(`peer replay: ${message}`), { code: 'ERR_WASM_TCPIP_PEER_REPLAY' });
}

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

function isFrom(x: Recorded, e: Endpoint): boolean { return x.f.ipv4!.src === e.ip && x.f.tcp!.srcPort === e.port; }

/** The byte stream a side sent, in sequence order, each byte once (up to its FIN when it sent one). */
function streamOf(segments: Recorded[], isn: number): Uint8Array {
  const parts = new Map<number, Uint8Array>();
  let finRel = -1;
  for (const x of segments) {
    const t = x.f.tcp!;
    const rel = seqDiff(t.seq, isn + 1);
    if (t.payload.length) parts.set(rel, t.payload);
    if (t.flags & TcpFlag.FIN) finRel = rel + t.payload.length;
  }
  let len = finRel;
  if (len < 0) for (const [rel, bytes] of parts) len = Math.max(len, rel + bytes.length);
  const out = new Uint8Array(Math.max(0, len));
  for (const [rel, bytes] of parts) if (rel >= 0 && rel < out.length) out.set(bytes.subarray(0, out.length - rel), rel);
  return out;
}

export function runPeerReplay(o: PeerReplayOptions): PeerReplayResult {
  const frames = readConversation(o.capture);
  const syn = frames.find((x) => (x.f.tcp!.flags & (TcpFlag.SYN | TcpFlag.ACK)) === TcpFlag.SYN);
  if (!syn) throw peerError('the capture has no SYN: capture the whole conversation, from its first segment');
  const opener: Endpoint = { ip: syn.f.ipv4!.src, port: syn.f.tcp!.srcPort, mac: syn.f.srcMac, isn: syn.f.tcp!.seq };
  const synAck = frames.find((x) => x.f.ipv4!.src === syn.f.ipv4!.dst && x.f.tcp!.srcPort === syn.f.tcp!.dstPort &&
    x.f.tcp!.dstPort === opener.port && (x.f.tcp!.flags & TcpFlag.SYN));
  if (!synAck) throw peerError('the capture has no SYN-ACK answering the SYN');
  const acceptor: Endpoint = { ip: synAck.f.ipv4!.src, port: synAck.f.tcp!.srcPort, mac: synAck.f.srcMac, isn: synAck.f.tcp!.seq };
  const stackIsOpener = o.play === 'acceptor';
  const peer = stackIsOpener ? acceptor : opener;
  const replaced = stackIsOpener ? opener : acceptor;
  const played = frames.filter((x) => isFrom(x, peer) && x.f.tcp!.dstPort === replaced.port);
  const replacedSent = streamOf(frames.filter((x) => isFrom(x, replaced) && x.f.tcp!.dstPort === peer.port), replaced.isn);
  if (replacedSent.length > 0) {
    throw peerError(`the side the stack replaces sent ${replacedSent.length} bytes in the capture; peer replay supports conversations where it sends none (play the other side)`);
  }
  const expected = streamOf(played, peer.isn);

  const stackIp = o.stack?.ip ?? replaced.ip;
  const stackMac = o.stack?.mac ?? Uint8Array.of(0x02, 0, 0, 0, 0x5e, 0x01);
  let stackPort = o.stack?.port ?? replaced.port;
  const h = new StackHarness({
    localIp: stackIp, prefix: o.stack?.prefix ?? 24, gateway: 0, peerIps: [peer.ip], localMac: stackMac, peerMac: peer.mac,
    mtu: 1500, seed: o.seed ?? 1, config: [],
  });
  const abi = tcpExports(h.instance);
  let listener = -1;
  if (!stackIsOpener) {
    listener = abi.tcpListen(stackIp, stackPort, 8, 0, 0, 0);
    if (listener < 0) throw peerError(`cannot listen on port ${stackPort} (errno ${-listener})`);
  }

  // The stack's application: read everything, close after the peer's FIN.
  const delivered: Uint8Array[] = [];
  let deliveredBytes = 0;
  let conn = -1;
  let closedByApp = false;
  h.afterBurst = () => {
    if (conn < 0 && listener >= 0) {
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
    const info = tcpInfoOrClosed(h.instance, abi, conn);
    if ((info.flags & InfoFlag.PEER_FIN) && info.readable === 0) {
      closedByApp = true;
      abi.tcpClose(conn);
    }
  };

  // The stack's segments, checked against what the recorded peer had sent and acknowledged.
  const violations: string[] = [];
  let stackIsn: number | undefined;
  let lastStackTsVal: number | undefined;
  let peerSentHighest = peer.isn; // the peer's highest sequence number sent, + 1
  let peerAckRel = 0; // what the peer acknowledged of the stack's stream, relative to its ISN
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
      if (t.flags & TcpFlag.SYN) {
        stackIsn = t.seq;
        if (stackIsOpener) stackPort = t.srcPort;
      }
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

  const t0 = syn.tsUs;
  if (stackIsOpener) {
    // The stack opens the connection where the recorded SYN was sent.
    const h0 = abi.tcpConnect(peer.ip, peer.port, o.stack?.port ?? 0, 0, 0);
    if (h0 < 0) throw peerError(`the stack could not connect (errno ${-h0})`);
    conn = h0;
    h.pollNow();
    checkOutbound();
  }
  for (const x of played) {
    h.advanceTo(Math.round(x.tsUs - t0));
    checkOutbound();
    const t = x.f.tcp!;
    if (stackIsn === undefined && (t.flags & TcpFlag.ACK)) {
      violations.push(`${Math.round(x.tsUs - t0)} µs: the stack had not sent its SYN when the peer's ACK came`);
    }
    const shift = stackIsn === undefined ? 0 : (stackIsn - replaced.isn) >>> 0;
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
    const ip = buildIpv4(peer.ip, stackIp, 6, seg, { id: x.f.ipv4!.id, ttl: x.f.ipv4!.ttl, tos: x.f.ipv4!.tos, df: x.f.ipv4!.df });
    const endSeq = (t.seq + t.payload.length + (t.flags & (TcpFlag.SYN | TcpFlag.FIN) ? 1 : 0)) >>> 0;
    if (seqDiff(endSeq, peerSentHighest) > 0) peerSentHighest = endSeq;
    if ((t.flags & TcpFlag.ACK) && stackIsn !== undefined) peerAckRel = Math.max(peerAckRel, seqDiff(ack, stackIsn));
    peerWindowBytes = t.flags & TcpFlag.SYN ? t.win : t.win * 2 ** peerWscale;
    h.inject(buildEthernet(stackMac, peer.mac, ETH_IPV4, ip, { padTo: ETH_MIN_FRAME }));
    checkOutbound();
  }
  const lastUs = played.length ? Math.round(played[played.length - 1].tsUs - t0) : 0;
  h.advanceTo(lastUs + (o.drainUs ?? 1_000_000));
  checkOutbound();
  if (stackIsOpener && conn >= 0 && !closedByApp && !(tcpInfoOrClosed(h.instance, abi, conn).flags & InfoFlag.CONNECTED)) {
    violations.push('the stack never completed the handshake');
  }
  // The handle is released by tcpClose, so the end of the close is read from the counters.
  const closed = closedByApp && (h.instance.counters()['tcp.conn.closed'] ?? 0) > 0;

  const got = new Uint8Array(deliveredBytes);
  let off = 0;
  for (const part of delivered) { got.set(part, off); off += part.length; }
  const identical = got.length === expected.length && got.every((b, i) => b === expected[i]);
  return {
    segmentsIn: played.length, segmentsOut, expectedBytes: expected.length, deliveredBytes, streamIdentical: identical,
    closed, violations,
  };
}
