// createStack: option validation (TypeError/RangeError naming the option), defaults, the
// configuration written into the stack, counters, and close of an idle stack.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createStack, MemoryLink, VirtualClock, Stack } from '../dist/index.js';
import { derivedMac } from '../dist/stack/options.js';

const link = () => MemoryLink.pair({ seed: 1 })[0];

async function rejects(options, Type, pattern) {
  try {
    await createStack(options);
  } catch (e) {
    assert.instance(e, Type, `${e.name}: ${e.message}`);
    assert.match(e.message, pattern);
    assert.match(e.code, /^ERR_/, `every option error carries a code (${e.message})`);
    return e;
  }
  assert.unreachable(`createStack(${JSON.stringify(Object.keys(options ?? {}))}) resolved`);
}

test('the link and the address are required and checked', async () => {
  await rejects(undefined, TypeError, /^options must be an object/);
  await rejects({ address: '10.0.0.1/24' }, TypeError, /^options\.link is required/);
  await rejects({ link: link() }, TypeError, /^options\.address must be an IPv4 address with a prefix, like '10\.0\.0\.1\/24', got undefined$/);
  await rejects({ link: link(), address: '10.0.0.1' }, RangeError, /^options\.address must be an IPv4 address with a prefix, like '10\.0\.0\.1\/24', got '10\.0\.0\.1'$/);
  await rejects({ link: link(), address: '10.0.0.256/24' }, RangeError, /^options\.address/);
  await rejects({ link: link(), address: '10.0.0.1/33' }, RangeError, /^options\.address/);
  await rejects({ link: link(), address: '0.0.0.0/0' }, RangeError, /^options\.address must not be 0\.0\.0\.0/);
});

test('unknown keys are TypeErrors naming the key', async () => {
  const e = await rejects({ link: link(), address: '10.0.0.1/24', adress: 'x' }, TypeError, /^options\.adress is not an option of createStack/);
  assert.is(e.code, 'ERR_WASM_TCPIP_UNKNOWN_OPTION');
  await rejects({ link: link(), address: '10.0.0.1/24', tcp: { sendBufer: 1 } }, TypeError, /^options\.tcp\.sendBufer is not an option of createStack/);
  await rejects({ link: link(), address: '10.0.0.1/24', tcp: 5 }, TypeError, /^options\.tcp must be an object, got 5$/);
});

test('each optional setting is checked by name', async () => {
  const base = { link: link(), address: '10.0.0.1/24' };
  await rejects({ ...base, gateway: '10.0.1.1' }, RangeError, /^options\.gateway 10\.0\.1\.1 must be another address inside 10\.0\.0\.1\/24$/);
  await rejects({ ...base, gateway: 'router' }, TypeError, /^options\.gateway must be an IPv4 address/);
  await rejects({ ...base, mac: '01:00:5e:00:00:01' }, RangeError, /^options\.mac 01:00:5e:00:00:01 is a multicast address/);
  await rejects({ ...base, mac: 'zz' }, TypeError, /^options\.mac must be a MAC address/);
  assert.is((await rejects({ ...base, mtu: 1501 }, RangeError, /^options\.mtu must be from 68 to 1500, got 1501$/)).code, 'ERR_OUT_OF_RANGE');
  assert.is((await rejects({ ...base, mtu: 1.5 }, TypeError, /^options\.mtu must be an integer, got 1\.5$/)).code, 'ERR_INVALID_ARG_TYPE');
  assert.is((await rejects({ ...base, address: '10.0.0.1' }, RangeError, /^options\.address/)).code, 'ERR_INVALID_ARG_VALUE');
  await rejects({ ...base, clock: 'virtual' }, TypeError, /^options\.clock must be 'real' or a clock object/);
  await rejects({ ...base, seed: -1 }, RangeError, /^options\.seed must be from 0 to 9007199254740991, got -1$/);
  await rejects({ ...base, debug: 'yes' }, TypeError, /^options\.debug must be a boolean/);
  await rejects({ ...base, poll: 'spin' }, TypeError, /^options\.poll must be 'busy' or 'adaptive'/);
  await rejects({ ...base, tcp: { congestion: 'bbr' } }, RangeError, /^options\.tcp\.congestion must be one of 'newreno'/);
  await rejects({ ...base, tcp: { sack: 'yes' } }, TypeError, /^options\.tcp\.sack must be a boolean/);
  await rejects({ ...base, tcp: { noDelay: 1 } }, TypeError, /^options\.tcp\.noDelay must be a boolean/);
  await rejects({ ...base, tcp: { ephemeralPorts: [50000, 40000] } }, RangeError, /^options\.tcp\.ephemeralPorts\[1\] must be from 50000 to 65535, got 40000$/);
  await rejects({ ...base, tcp: { sendBuffer: '1M' } }, TypeError, /^options\.tcp\.sendBuffer must be an integer, got '1M'$/);
});

test("a value the stack's own validation rejects is reported under the option's name", async () => {
  const e = await rejects({ link: link(), address: '10.0.0.1/24', clock: new VirtualClock(), tcp: { sendBuffer: 100 } }, RangeError,
    /^options\.tcp\.sendBuffer is out of the range the stack accepts \(got 100; config slot tcpSendBuffer\)/);
  assert.is(e.code, 'ERR_WASM_TCPIP_CONFIG');
  await rejects({ link: link(), address: '10.0.0.1/24', clock: new VirtualClock(), tcp: { minRtoMs: 0 } }, RangeError, /^options\.tcp\.minRtoMs is out of the range/);
});

test('the configuration reaches the stack slots', async () => {
  const clock = new VirtualClock();
  const stack = await createStack({
    link: link(), address: '192.168.7.9/20', gateway: '192.168.0.1', mac: '02:aa:bb:cc:dd:ee', mtu: 1400, clock, seed: 2 ** 40 + 5,
    tcp: { sendBuffer: 65536, recvBuffer: 32768, maxConnections: 64, timeWaitMs: 1000, ephemeralPorts: [40000, 40100] },
    udp: { maxSockets: 8 }, rings: { rxSlots: 32 },
  });
  assert.instance(stack, Stack);
  const i = stack.instance;
  assert.is(i.getConfig('ipv4Addr'), 0xc0a80709);
  assert.is(i.getConfig('ipv4Prefix'), 20);
  assert.is(i.getConfig('ipv4Gateway'), 0xc0a80001);
  assert.is(i.getConfig('macHi'), 0x02aa);
  assert.is(i.getConfig('macLo'), 0xbbccddee);
  assert.is(i.getConfig('mtu'), 1400);
  assert.is(i.getConfig('seedLo'), 5);
  assert.is(i.getConfig('seedHi'), 256);
  assert.is(i.getConfig('tcpSendBuffer'), 65536);
  assert.is(i.getConfig('tcpRecvBuffer'), 32768);
  assert.is(i.getConfig('tcpMaxConnections'), 64);
  assert.is(i.getConfig('tcpTimeWaitMs'), 1000);
  assert.is(i.getConfig('ephemeralLow'), 40000);
  assert.is(i.getConfig('ephemeralHigh'), 40100);
  assert.is(i.getConfig('udpMaxSockets'), 8);
  assert.is(i.getConfig('rxSlots'), 32);
  assert.is(i.getConfig('tcpSlabBytes'), 64 * 1024 * 1024, 'unset slots keep the stack default');
  assert.equal([stack.address, stack.prefix, stack.mac, stack.mtu, stack.seed], ['192.168.7.9', 20, '02:aa:bb:cc:dd:ee', 1400, 2 ** 40 + 5]);
  assert.is(stack.clock, clock);
  assert.equal(await stack.close(), { drained: 0, reset: 0 });
});

test('defaults: link MTU, a derived locally administered MAC, seed 0 on a virtual clock, a random seed on the real clock', async () => {
  const [a] = MemoryLink.pair({ seed: 1, mtu: 9000 });
  const v = await createStack({ link: a, address: '10.0.0.1/24', clock: new VirtualClock() });
  assert.is(v.seed, 0);
  assert.is(v.mtu, 9000);
  assert.is(v.instance.getConfig('rxSlotSize'), 9024, 'frame slots grow with the MTU');
  const mac = derivedMac(0, 0x0a000001);
  assert.is(mac[0], 0x02, 'locally administered, unicast');
  assert.is(v.mac, Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':'));
  assert.equal(Array.from(derivedMac(0, 0x0a000001)), Array.from(mac), 'derivation is stable');
  assert.not.equal(Array.from(derivedMac(1, 0x0a000001)), Array.from(mac), 'and depends on the seed');
  await v.close();
  const r = await createStack({ link: link(), address: '10.0.0.1/24' });
  assert.ok(Number.isSafeInteger(r.seed) && r.seed >= 0);
  assert.is(r.clock.virtual, false);
  assert.equal(await r.close({ timeoutMs: 0 }), { drained: 0, reset: 0 });
});

test('counters are the stack counters by name; close is idempotent and checks its timeout', async () => {
  const stack = await createStack({ link: link(), address: '10.0.0.1/24', clock: new VirtualClock() });
  const c = stack.counters();
  assert.is(c['eth.rx.frames'], 0);
  assert.ok(Object.keys(c).some((k) => k.startsWith('drop.')));
  try {
    await stack.close({ timeoutMs: -1 });
    assert.unreachable('negative timeout accepted');
  } catch (e) {
    assert.instance(e, RangeError);
    assert.match(e.message, /^options\.timeoutMs must be a non-negative number/);
  }
  const p = stack.close();
  assert.is(stack.close(), p);
  assert.equal(await p, { drained: 0, reset: 0 });
});

test('debug: true runs the unoptimised build, which carries the same API', async () => {
  const [a, b] = MemoryLink.pair({ seed: 3 });
  const clock = new VirtualClock();
  const server = await createStack({ link: a, address: '10.0.0.1/24', clock, debug: true });
  const client = await createStack({ link: b, address: '10.0.0.2/24', clock, debug: true });
  server.net.createServer((s) => s.pipe(s)).listen(7);
  const sock = client.net.connect({ host: '10.0.0.1', port: 7 });
  sock.end('debug build');
  const chunks = [];
  for await (const chunk of sock) chunks.push(chunk);
  assert.is(Buffer.concat(chunks).toString(), 'debug build');
  assert.is(server.counters()['tcp.conn.passive_opens'], 1);
  await client.close();
  await server.close();
});

test.run();
