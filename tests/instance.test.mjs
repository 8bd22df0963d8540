// The host/WASM boundary: config validation, counters, rings; the virtual clock.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StackInstance, StackConfigError } from '../dist/wasm/instance.js';
import { VirtualClock } from '../dist/clock/clock.js';

test('config keys and counter names come from the module', () => {
  const s = new StackInstance();
  assert.ok(s.configKeys.includes('mtu'));
  assert.ok(s.configKeys.includes('ipv4Addr'));
  assert.ok(s.counterNames.includes('eth.rx.frames'));
  assert.is(new Set(s.counterNames).size, s.counterNames.length, 'counter names are unique');
});

test('defaults apply and init allocates the rings once', () => {
  const s = new StackInstance();
  s.init();
  assert.is(s.getConfig('mtu'), 1500);
  assert.is(s.exports.rxSlotCount(), 256);
  assert.is(s.exports.rxSlotBytes(), 2048);
  const desc = s.exports.rxDescBase();
  const first = s.u32[desc >>> 2];
  const second = s.u32[(desc + 32) >>> 2];
  assert.is(second - first, 2048, 'RX descriptors point at consecutive slots');
  assert.is(first % 64, 0, 'slots are cache-line aligned');
  assert.throws(() => s.init(), /initialised twice/);
});

test('an out-of-range setting is rejected with its name', () => {
  const s = new StackInstance();
  s.setConfig('mtu', 20);
  try {
    s.init();
    assert.unreachable('init accepted mtu 20');
  } catch (e) {
    assert.instance(e, StackConfigError);
    assert.is(e.code, 'ERR_WASM_TCPIP_CONFIG');
    assert.match(e.message, /mtu=20/);
  }
  assert.throws(() => new StackInstance().setConfig('nope', 1), /unknown config key nope/);
  assert.throws(() => new StackInstance().setConfig('mtu', -1), /mtu must be an integer/);
});

test('a truncated frame is dropped and counted, and input returns no output', () => {
  const s = new StackInstance();
  s.init();
  const d = s.exports.rxDescBase();
  s.u32[(d + 4) >>> 2] = 10; // len 10 < Ethernet header
  assert.is(s.exports.input(1, 1000), 0);
  const c = s.counters();
  assert.is(c['eth.rx.frames'], 1);
  assert.is(c['drop.eth.truncated'], 1);
});

test('the stack clock ignores time going backwards, and counts it', () => {
  const s = new StackInstance();
  s.init();
  s.exports.poll(5000);
  s.exports.poll(4000);
  assert.is(s.counters()['clock.backwards'], 1);
});

test('virtual clock fires timers in time then creation order', () => {
  const clock = new VirtualClock({ auto: false });
  const fired = [];
  clock.setTimer(300, () => fired.push('c'));
  clock.setTimer(100, () => fired.push('a'));
  clock.setTimer(100, () => fired.push('b'));
  const h = clock.setTimer(200, () => fired.push('cancelled'));
  clock.clearTimer(h);
  clock.advanceTo(250);
  assert.equal(fired, ['a', 'b']);
  assert.is(clock.nowUs(), 250);
  assert.ok(clock.step());
  assert.equal(fired, ['a', 'b', 'c']);
  assert.is(clock.nowUs(), 300);
  assert.not.ok(clock.step());
});

test('virtual clock in auto mode runs a timer chain without wall-time waits', async () => {
  const clock = new VirtualClock();
  const at = await new Promise((resolve) => {
    let n = 0;
    const tick = () => { if (++n === 100) resolve(clock.nowUs()); else clock.setTimer(clock.nowUs() + 60_000_000, tick); };
    clock.setTimer(60_000_000, tick);
  });
  assert.is(at, 100 * 60_000_000, '100 minutes of virtual time');
  clock.dispose();
});

test('virtual clock rejects a negative start', () => {
  assert.throws(() => new VirtualClock({ startUs: -1 }), /startUs/);
});

test.run();
