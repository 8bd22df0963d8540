// The DHCP client state machine (src/dhcp/client.ts) through a whole stack, on a virtual clock,
// against a scripted server at the other end of a MemoryLink: the frames on the wire, their
// times (retransmission backoff with its seeded jitter, T1 renewal unicast, T2 rebinding
// broadcast, the expiry), NAK back to INIT, messages that must be ignored, the coded errors,
// and determinism (same seed, same frames at the same times).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createStack, MemoryLink, VirtualClock } from '../dist/index.js';
import { buildEthernet, buildIpv4, buildUdp, buildArp, buildTcp, be16, be32 } from '../dist/testing/frames.js';
import { parseIpv4 as ip, parseMac as mac, formatMac } from '../dist/net/ipv4.js';
import { fakeRings, send, receive } from './support/rings.mjs';

const SERVER = ip('10.0.0.1');
const SERVER_MAC = mac('02:00:00:00:00:fe');
const OFFERED = ip('10.0.0.50');
const BROADCAST = 0xffffffff;
const BROADCAST_MAC = new Uint8Array(6).fill(255);
const S = 1e6;
const Type = { DISCOVER: 1, OFFER: 2, REQUEST: 3, ACK: 5, NAK: 6, RELEASE: 7 };

/** A client message as the test reads it, independently of src/dhcp/message.ts. */
function parseClient(frame) {
  const ipHeader = (frame[14] & 15) * 4;
  const m = frame.subarray(14 + ipHeader + 8);
  const options = new Map();
  for (let i = 240; i < m.length && m[i] !== 255;) {
    if (m[i] === 0) { i++; continue; }
    options.set(m[i], [...m.subarray(i + 2, i + 2 + m[i + 1])]);
    i += 2 + m[i + 1];
  }
  return {
    ethDst: formatMac(frame.subarray(0, 6)), ipSrc: be32(frame, 26), ipDst: be32(frame, 30),
    ports: [be16(frame, 14 + ipHeader), be16(frame, 16 + ipHeader)],
    op: m[0], xid: be32(m, 4), secs: be16(m, 8), ciaddr: be32(m, 12), chaddr: formatMac(m.subarray(28, 34)),
    type: options.get(53)?.[0], options, length: m.length,
  };
}

/** A BOOTREPLY (RFC 2131 2) built by hand: `options` as [code, bytes] pairs. */
function serverMessage({ xid, yiaddr = 0, chaddr, options, cookie = [99, 130, 83, 99] }) {
  const m = new Uint8Array(240);
  const dv = new DataView(m.buffer);
  m[0] = 2; m[1] = 1; m[2] = 6;
  dv.setUint32(4, xid);
  dv.setUint32(16, yiaddr);
  m.set(chaddr, 28);
  m.set(cookie, 236);
  const opts = options.flatMap(([code, bytes]) => [code, bytes.length, ...bytes]);
  return Uint8Array.from([...m, ...opts, 255]);
}
const u32 = (v) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

/**
 * The far end of the link: answers ARP for SERVER, records every DHCP message the client sends
 * with its time, and hands it to `script(msg)`, which answers with `reply`; other ARP packets
 * (the client's RFC 5227 probes) are recorded in `arps` and handed to `onArp`.
 */
class ScriptedServer {
  constructor(clock, link, script) {
    this.clock = clock;
    this.link = link;
    this.script = script;
    this.rings = fakeRings();
    this.seen = [];
    this.arps = [];
    this.onArp = () => {};
    this.onTcp = () => {};
    this.clientMac = null;
    link.attach(this.rings, (atUs) => clock.setTimer(atUs, () => this.pump()));
  }

  pump() {
    for (const f of receive(this.rings, this.link, this.clock.nowUs())) {
      const type = be16(f, 12);
      if (type === 0x0806 && be16(f, 20) === 1 && be32(f, 38) === SERVER) {
        const asker = f.slice(22, 28);
        this.transmit(buildEthernet(asker, SERVER_MAC, 0x0806, buildArp(2, SERVER_MAC, SERVER, asker, be32(f, 28))));
      } else if (type === 0x0806) {
        const arp = { atS: this.clock.nowUs() / S, ethDst: formatMac(f.subarray(0, 6)), op: be16(f, 20), senderMac: formatMac(f.subarray(22, 28)),
          senderIp: be32(f, 28), targetMac: formatMac(f.subarray(32, 38)), targetIp: be32(f, 38) };
        this.arps.push(arp);
        this.onArp(arp, this);
      } else if (type === 0x0800 && f[23] === 6) {
        this.onTcp(f, this);
      } else if (type === 0x0800 && f[23] === 17 && be16(f, 36) === 67) {
        const msg = parseClient(f);
        this.clientMac = f.slice(6, 12);
        this.seen.push({ atS: this.clock.nowUs() / S, msg, hex: Buffer.from(f).toString('hex') });
        this.script(msg, this);
      }
    }
  }

  transmit(frame) { send(this.rings, this.link, [frame], this.clock.nowUs()); }

  /** Sends a server message of `type` for client message `to`, unicast to `yiaddr` or broadcast. */
  reply(to, type, { yiaddr = OFFERED, broadcast = false, lease = 3600, extra = [], xid = to.xid, chaddr = this.clientMac, cookie } = {}) {
    const options = [[53, [type]], [54, u32(SERVER)]];
    if (type !== Type.NAK) options.push([51, u32(lease)], [1, [255, 255, 255, 0]], [3, u32(SERVER)], [6, [...u32(ip('10.0.0.53')), ...u32(ip('10.0.0.54'))]]);
    const dhcp = serverMessage({ xid, yiaddr: type === Type.NAK ? 0 : yiaddr, chaddr, options: [...options, ...extra], cookie });
    const dst = broadcast || type === Type.NAK ? BROADCAST : yiaddr;
    this.transmit(buildEthernet(broadcast || type === Type.NAK ? BROADCAST_MAC : chaddr, SERVER_MAC, 0x0800,
      buildIpv4(SERVER, dst, 17, buildUdp(SERVER, dst, 67, 68, dhcp), { df: false })));
  }
}

/** A server that leases OFFERED: OFFER to a DISCOVER, ACK to a REQUEST; `renewals` answers REQUESTs with ciaddr set. */
function leasingScript({ renewals = () => null } = {}) {
  return (m, server) => {
    if (m.type === Type.DISCOVER) server.reply(m, Type.OFFER);
    else if (m.type === Type.REQUEST && m.ciaddr === 0) server.reply(m, Type.ACK);
    else if (m.type === Type.REQUEST) { const t = renewals(m); if (t) server.reply(m, t); }
  };
}

async function dhcpStack({ seed = 7, script = leasingScript(), dhcp } = {}) {
  const clock = new VirtualClock();
  const [clientLink, serverLink] = MemoryLink.pair({ seed: 1 });
  const server = new ScriptedServer(clock, serverLink, script);
  const stack = await createStack({ link: clientLink, address: 'dhcp', clock, seed, dhcp });
  return { clock, server, stack };
}

const nextEvent = (emitter, event) => new Promise((resolve) => emitter.once(event, (...a) => resolve(a)));
/** Lets the virtual clock run until `cond()` holds. */
async function until(cond) {
  while (!cond()) await new Promise((resolve) => setImmediate(resolve));
}

test('a lease from the scripted server: DISCOVER, OFFER, REQUEST, ACK as RFC 2131 lays them out', async () => {
  const { server, stack } = await dhcpStack();
  assert.is(stack.address, '10.0.0.50');
  assert.is(stack.prefix, 24);
  assert.is(stack.dhcp.state, 'BOUND');
  assert.equal(stack.dhcp.lease(), {
    address: '10.0.0.50', prefix: 24, gateway: '10.0.0.1', dns: ['10.0.0.53', '10.0.0.54'], server: '10.0.0.1', leaseSec: 3600,
    obtainedUs: 0, renewAtUs: 1800 * S, rebindAtUs: 3150 * S, expiresAtUs: 3600 * S,
  });
  const [discover, request] = server.seen.map((s) => s.msg);
  const clientId = [1, ...mac(stack.mac)];
  const requested = [1, 3, 6, 51, 54, 58, 59];
  assert.equal(
    [discover.ethDst, discover.ipSrc, discover.ipDst, discover.ports, discover.op, discover.secs, discover.ciaddr, discover.chaddr, discover.length],
    ['ff:ff:ff:ff:ff:ff', 0, BROADCAST, [68, 67], 1, 0, 0, stack.mac, 300]);
  assert.equal([...discover.options], [[53, [1]], [61, clientId], [55, requested]]);
  assert.equal([request.ethDst, request.ipSrc, request.ipDst, request.xid, request.ciaddr], ['ff:ff:ff:ff:ff:ff', 0, BROADCAST, discover.xid, 0]);
  assert.equal([...request.options], [[53, [3]], [61, clientId], [50, u32(OFFERED)], [54, u32(SERVER)], [55, requested]]);
  assert.equal(stack.dhcp.counters(), { 'dhcp.tx.discover': 1, 'dhcp.rx.offer': 1, 'dhcp.tx.request': 1, 'dhcp.rx.ack': 1, 'dhcp.tx.probe': 3 });
  // RFC 5227 2.1.1 before using the address: 3 probes (sender IP 0.0.0.0) after 0-1 s, 1-2 s apart; bound 2 s after the last.
  const probes = server.arps.filter((a) => a.senderIp === 0);
  assert.equal(probes.map((a) => [a.ethDst, a.op, a.senderMac, a.targetMac, a.targetIp]),
    Array(3).fill(['ff:ff:ff:ff:ff:ff', 1, stack.mac, '00:00:00:00:00:00', OFFERED]));
  const t = probes.map((a) => a.atS);
  assert.ok(t[0] >= 0 && t[0] <= 1 && t[1] - t[0] >= 1 && t[1] - t[0] <= 2 && t[2] - t[1] >= 1 && t[2] - t[1] <= 2, `probes at ${t}`);
  assert.is(stack.counters()['arp.tx.conflict_probe'], 3);
  const c = stack.counters();
  assert.is(c['ipv4.addr.changed'], 1);
  assert.is(c['arp.tx.reply'] ?? 0, 0);
  await stack.close();
  // DHCPRELEASE on close: unicast to the server (after ARP), ciaddr set, server id, no parameter list.
  const release = server.seen.at(-1).msg;
  assert.equal([release.type, release.ethDst, release.ipSrc, release.ipDst, release.ciaddr],
    [Type.RELEASE, formatMac(SERVER_MAC), OFFERED, SERVER, OFFERED]);
  assert.equal([...release.options], [[53, [7]], [61, clientId], [54, u32(SERVER)]]);
});

test('RFC 5227: another host answers the probe: DHCPDECLINE, a new DISCOVER 10 s later, another address', async () => {
  let offers = 0;
  const script = (m, server) => {
    if (m.type === Type.DISCOVER) server.reply(m, Type.OFFER, { yiaddr: ++offers === 1 ? OFFERED : OFFERED + 1 });
    else if (m.type === Type.REQUEST) server.reply(m, Type.ACK, { yiaddr: be32(Uint8Array.from(m.options.get(50)), 0) });
  };
  const clock = new VirtualClock();
  const [clientLink, serverLink] = MemoryLink.pair({ seed: 1 });
  const server = new ScriptedServer(clock, serverLink, script);
  const OTHER_MAC = mac('02:00:00:00:00:77');
  server.onArp = (a, srv) => {
    if (a.senderIp === 0 && a.targetIp === OFFERED) {
      srv.transmit(buildEthernet(mac(a.senderMac), OTHER_MAC, 0x0806, buildArp(2, OTHER_MAC, OFFERED, mac(a.senderMac), 0)));
    }
  };
  const stack = await createStack({ link: clientLink, address: 'dhcp', clock, seed: 7 });
  assert.is(stack.address, '10.0.0.51');
  const types = server.seen.map((s) => s.msg.type);
  assert.equal(types, [Type.DISCOVER, Type.REQUEST, 4, Type.DISCOVER, Type.REQUEST]);
  const decline = server.seen[2];
  assert.equal([decline.msg.ethDst, decline.msg.ipSrc, decline.msg.ipDst, decline.msg.ciaddr, decline.msg.xid],
    ['ff:ff:ff:ff:ff:ff', 0, BROADCAST, 0, server.seen[0].msg.xid]);
  assert.equal([...decline.msg.options], [[53, [4]], [61, [1, ...mac(stack.mac)]], [50, u32(OFFERED)], [54, u32(SERVER)]]);
  assert.is(server.seen[3].atS - decline.atS, 10, 'RFC 2131 3.1: 10 s before starting over');
  assert.is(server.arps.filter((a) => a.senderIp === 0 && a.targetIp === OFFERED).length, 1, 'the first probe found the conflict');
  const c = stack.dhcp.counters();
  assert.equal([c['dhcp.conflict'], c['dhcp.tx.decline'], c['dhcp.rx.ack']], [1, 1, 2]);
  assert.is(stack.counters()['arp.rx.conflict_seen'], 1);
  await stack.close();
});

test('no server: DISCOVER again after 4, 8, 16, 32, 64, 64 s, each moved by -1..+1 s; ERR_WASM_TCPIP_DHCP_TIMEOUT', async () => {
  const run = async (seed) => {
    const clock = new VirtualClock();
    const [clientLink, serverLink] = MemoryLink.pair({ seed: 1 });
    const server = new ScriptedServer(clock, serverLink, () => {});
    const error = await createStack({ link: clientLink, address: 'dhcp', clock, seed, dhcp: { timeoutMs: 200_000 } }).then(() => null, (e) => e);
    return { error, seen: server.seen, at: clock.nowUs() };
  };
  const a = await run(7);
  assert.is(a.error.code, 'ERR_WASM_TCPIP_DHCP_TIMEOUT');
  assert.match(a.error.message, /no DHCP lease within 200000 ms \(state SELECTING, 7 DISCOVER sent, 0 OFFER received\): check that a DHCP server serves this link/);
  const times = a.seen.map((s) => s.atS);
  assert.is(times.length, 7);
  assert.is(times[0], 0);
  [4, 8, 16, 32, 64, 64].forEach((base, i) => {
    const gap = times[i + 1] - times[i];
    assert.ok(gap >= base - 1 && gap <= base + 1, `retransmission ${i + 1} after ${gap} s, want ${base} ± 1`);
  });
  assert.ok(new Set(a.seen.map((s) => s.msg.xid)).size === 1, 'one xid for the retransmissions');
  assert.equal(a.seen.map((s) => s.msg.secs), times.map(Math.floor), 'secs counts from the first DISCOVER');
  const again = await run(7);
  assert.equal(again.seen.map((s) => [s.atS, s.hex]), a.seen.map((s) => [s.atS, s.hex]), 'same seed: same frames at the same times');
  const other = await run(8);
  assert.is.not(other.seen[0].msg.xid, a.seen[0].msg.xid, 'another seed, another xid');
  assert.is.not(other.seen[1].atS, a.seen[1].atS, 'and other jitter');
});

test('T1: REQUEST unicast to the server, retransmitted at half the time to T2 (60 s at least); T2: broadcast; expiry: address dropped, DISCOVER', async () => {
  const { server, stack } = await dhcpStack();
  const expired = nextEvent(stack.dhcp, 'expired');
  let addressAtExpiry = null;
  stack.dhcp.once('expired', () => { addressAtExpiry = stack.address; });
  await expired;
  await until(() => server.seen.at(-1).msg.type === Type.DISCOVER);
  const after = server.seen.slice(2);
  const renewing = after.filter((s) => s.msg.ipDst === SERVER);
  const rebinding = after.filter((s) => s.msg.type === Type.REQUEST && s.msg.ipDst === BROADCAST);
  assert.equal(renewing.map((s) => s.atS), [1800, 2475, 2812.5, 2981.25, 3065.625, 3125.625]);
  assert.equal(rebinding.map((s) => s.atS), [3150, 3375, 3487.5, 3547.5]);
  for (const { msg } of renewing) {
    assert.equal([msg.type, msg.ethDst, msg.ipSrc, msg.ciaddr, msg.options.has(50), msg.options.has(54)], [Type.REQUEST, formatMac(SERVER_MAC), OFFERED, OFFERED, false, false]);
  }
  for (const { msg } of rebinding) {
    assert.equal([msg.ethDst, msg.ipSrc, msg.ciaddr, msg.options.has(50), msg.options.has(54)], ['ff:ff:ff:ff:ff:ff', OFFERED, OFFERED, false, false]);
  }
  assert.is(new Set([...renewing, ...rebinding].map((s) => s.msg.xid)).size, 1, 'one exchange');
  assert.equal([addressAtExpiry, stack.address, stack.prefix, stack.dhcp.lease(), stack.dhcp.state], ['0.0.0.0', '0.0.0.0', 0, null, 'SELECTING']);
  const discover = after.at(-1);
  assert.equal([discover.atS, discover.msg.type, discover.msg.ipSrc], [3600, Type.DISCOVER, 0]);
  assert.is.not(discover.msg.xid, server.seen[0].msg.xid, 'a new xid');
  const c = stack.dhcp.counters();
  assert.equal([c['dhcp.tx.renew'], c['dhcp.tx.rebind'], c['dhcp.expired']], [6, 4, 1]);
  await stack.close();
});

test('a TCP connection on the leased address fails with ECONNABORTED when the lease expires', async () => {
  const { clock, server, stack } = await dhcpStack();
  // The server side accepts the connection: SYN-ACK to the stack's SYN, nothing more.
  server.onTcp = (f, srv) => {
    if ((f[47] & 0x12) !== 0x02) return;
    const seg = buildTcp(SERVER, OFFERED, { srcPort: 80, dstPort: be16(f, 34), seq: 5000, ack: be32(f, 38) + 1, flags: 0x12, win: 65535 });
    srv.transmit(buildEthernet(f.subarray(6, 12), SERVER_MAC, 0x0800, buildIpv4(SERVER, OFFERED, 6, seg)));
  };
  const socket = stack.net.connect({ host: '10.0.0.1', port: 80 });
  await nextEvent(socket, 'connect');
  assert.is(socket.localAddress, '10.0.0.50');
  const [error] = await nextEvent(socket, 'error');
  assert.equal([error.code, clock.nowUs(), stack.address, stack.dhcp.state], ['ECONNABORTED', 3600 * S, '0.0.0.0', 'SELECTING']);
  assert.is(stack.counters()['ipv4.addr.connections_aborted'], 1);
  await stack.close();
});

test('an ACK to the renewal renews from the REQUEST time; a NAK to the next one drops the address and starts over', async () => {
  let renewals = 0;
  const script = leasingScript({ renewals: () => (++renewals === 1 ? Type.ACK : Type.NAK) });
  const { server, stack } = await dhcpStack({ script });
  const [renewed] = await nextEvent(stack.dhcp, 'renewed');
  assert.equal([renewed.obtainedUs, renewed.renewAtUs, renewed.expiresAtUs], [1800 * S, 3600 * S, 5400 * S]);
  assert.is(stack.address, '10.0.0.50');
  const [reason] = await nextEvent(stack.dhcp, 'nak');
  assert.is(reason, null);
  assert.equal([stack.address, stack.dhcp.state], ['0.0.0.0', 'SELECTING']);
  await until(() => server.seen.length === 5);
  assert.equal(server.seen.map((s) => [s.atS, s.msg.type]), [[0, 1], [0, 3], [1800, 3], [3600, 3], [3600, 1]]);
  await nextEvent(stack.dhcp, 'bound');
  assert.is(stack.address, '10.0.0.50');
  assert.equal([stack.dhcp.counters()['dhcp.renewed'], stack.dhcp.counters()['dhcp.rx.nak']], [1, 1]);
  await stack.close();
});

test('NAK while REQUESTING: back to INIT at once with a new xid, then the lease', async () => {
  let requests = 0;
  const script = (m, server) => {
    if (m.type === Type.DISCOVER) server.reply(m, Type.OFFER);
    else if (m.type === Type.REQUEST) server.reply(m, ++requests === 1 ? Type.NAK : Type.ACK, { extra: requests === 1 ? [[56, [...Buffer.from('wrong network')]]] : [] });
  };
  const { server, stack } = await dhcpStack({ script });
  assert.equal(server.seen.map((s) => [s.atS, s.msg.type]), [[0, 1], [0, 3], [0, 1], [0, 3]]);
  assert.is.not(server.seen[2].msg.xid, server.seen[0].msg.xid);
  assert.is(stack.address, '10.0.0.50');
  assert.is(stack.dhcp.counters()['dhcp.rx.nak'], 1);
  await stack.close();
});

test('answers that do not fit are dropped and counted: wrong xid, wrong MAC, bad cookie, OFFER while REQUESTING', async () => {
  const script = (m, server) => {
    if (m.type === Type.DISCOVER) {
      server.reply(m, Type.OFFER, { xid: (m.xid + 1) >>> 0 });
      server.reply(m, Type.OFFER, { chaddr: Uint8Array.of(2, 9, 9, 9, 9, 9), broadcast: true });
      server.reply(m, Type.OFFER, { cookie: [1, 2, 3, 4] });
      server.reply(m, Type.ACK);
      server.reply(m, Type.OFFER);
      server.reply(m, Type.OFFER, { yiaddr: ip('10.0.0.51') });
    } else if (m.type === Type.REQUEST) server.reply(m, Type.ACK);
  };
  const { stack } = await dhcpStack({ script });
  assert.is(stack.address, '10.0.0.50', 'the first acceptable OFFER is taken');
  const c = stack.dhcp.counters();
  assert.equal([c['drop.dhcp.wrong_xid'], c['drop.dhcp.wrong_chaddr'], c['drop.dhcp.bad_cookie'], c['drop.dhcp.unexpected_ack'], c['drop.dhcp.unexpected_offer']], [1, 1, 1, 1, 1]);
  await stack.close();
});

test('same seed, same frames at the same times: a lease, a renewal and the release', async () => {
  const once = async () => {
    const { clock, server, stack } = await dhcpStack({ seed: 99, script: leasingScript({ renewals: () => Type.ACK }) });
    await nextEvent(stack.dhcp, 'renewed');
    await stack.close();
    return { frames: server.seen.map((s) => [s.atS, s.hex]), end: clock.nowUs() };
  };
  const a = await once();
  const b = await once();
  assert.is(a.frames.length, 4);
  assert.equal(b, a);
});

test('options: dhcp settings checked; workers refuse address "dhcp" with a coded error', async () => {
  const { resolveOptions } = await import('../dist/stack/options.js');
  const [link] = MemoryLink.pair();
  assert.throws(() => resolveOptions({ link, address: 'dhcp', gateway: '10.0.0.1' }), (e) => e instanceof RangeError && /gateway must be left out/.test(e.message));
  assert.throws(() => resolveOptions({ link, address: '10.0.0.2/24', dhcp: {} }), (e) => e.code === 'ERR_INVALID_ARG_TYPE');
  assert.throws(() => resolveOptions({ link, address: 'dhcp', dhcp: { timeout: 1 } }), (e) => e.code === 'ERR_WASM_TCPIP_UNKNOWN_OPTION');
  assert.throws(() => resolveOptions({ link, address: 'dhcp', dhcp: { timeoutMs: 0 } }), (e) => e.code === 'ERR_OUT_OF_RANGE');
  assert.throws(() => resolveOptions({ link, address: '0.0.0.0/0' }), (e) => /use 'dhcp'/.test(e.message));
  assert.equal(resolveOptions({ link, address: 'dhcp' }).dhcp, { timeoutMs: 30000, renewAfterMs: null });
  const error = await createStack({ workers: 2, app: './app.mjs', link, address: 'dhcp' }).then(() => null, (e) => e);
  assert.is(error.code, 'ERR_WASM_TCPIP_DHCP_WORKERS');
  assert.match(error.message, /static address/);
});

test.run();
