// The driver's idle policy on a polled link: spin, back off, then sleep on the link's
// waitForFrames (RX interrupts) and wake on traffic. Real clock: this is about sleeping.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StackInstance } from '../dist/wasm/instance.js';
import { StackDriver } from '../dist/stack/driver.js';
import { RealClock, VirtualClock } from '../dist/clock/clock.js';

/** A polled link with no traffic that can wait: records the waits, resolves them on demand. */
class WaitableLink {
  kind = 'fake'; mtu = 1500; offloads = 0; polled = true; canWait = true;
  receives = 0; waits = []; closed = false;
  attach() {}
  receive() { this.receives++; return 0; }
  transmit() {}
  pendingUs() { return Infinity; }
  async close() { this.closed = true; }
  waitForFrames(timeoutMs) {
    return new Promise((resolve) => this.waits.push({ timeoutMs, resolve }));
  }
}

function driverOn(link, clock, poll = 'adaptive') {
  const inst = new StackInstance();
  inst.init();
  return new StackDriver(inst, link, clock, { poll, maxSleepUs: 200, onNotify() {} });
}

const until = async (cond, what) => {
  for (let i = 0; i < 2000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(cond(), what);
};

test('adaptive: after backing off, the driver sleeps on waitForFrames instead of polling', async () => {
  const link = new WaitableLink();
  const clock = new RealClock();
  const d = driverOn(link, clock);
  d.kick();
  await until(() => link.waits.length === 1, 'one wait on the link');
  const pollsAtSleep = link.receives;
  assert.ok(pollsAtSleep > 256, 'it spun and backed off first');
  assert.ok(link.waits[0].timeoutMs <= 1000, 'a bounded sleep');
  await new Promise((r) => setTimeout(r, 30));
  assert.is(link.receives, pollsAtSleep, 'no polling while asleep on the link');
  link.waits[0].resolve(true); // traffic
  await until(() => link.receives > pollsAtSleep, 'traffic wakes a pump');
  d.stop();
  clock.dispose();
});

test('busy never sleeps on the link; a virtual clock never does either', async () => {
  const busyLink = new WaitableLink();
  const real = new RealClock();
  const busy = driverOn(busyLink, real, 'busy');
  busy.kick();
  await until(() => busyLink.receives > 2000, 'busy keeps polling');
  assert.is(busyLink.waits.length, 0);
  busy.stop();
  real.dispose();
  const vLink = new WaitableLink();
  const clock = new VirtualClock({ auto: false });
  const v = driverOn(vLink, clock);
  v.kick();
  for (let i = 0; i < 400 && clock.step(); i++);
  assert.is(vLink.waits.length, 0, 'no real sleeping on simulated time');
  v.stop();
});

test.run();
