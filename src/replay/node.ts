// One stack of a replay or a deterministic session: instance, driver and application on a
// shared virtual clock.
//
// Guarantees: everything the node does happens in clock timers (the driver's pumps, the
// app's scheduled connects), so a session advanced with `VirtualClock.step()` is a pure
// function of its inputs and seeds; after each pump the app is serviced and, if it called
// into the stack, the driver pumps again at the same instant so output is never left behind.

import { StackInstance } from '../wasm/instance.js';
import { StackDriver } from '../stack/driver.js';
import type { VirtualClock } from '../clock/clock.js';
import type { Link } from '../links/link.js';
import type { ReplayConfig } from './config.js';
import { TcpApp, configureInstance } from './app.js';

export class ReplayNode {
  readonly instance: StackInstance;
  readonly driver: StackDriver;
  readonly app: TcpApp;

  constructor(readonly config: ReplayConfig, link: Link, clock: VirtualClock, options: { debug?: boolean } = {}) {
    const inst = new StackInstance({ debug: options.debug });
    configureInstance(inst, config);
    inst.init();
    this.instance = inst;
    this.app = new TcpApp(inst);
    const app = this.app;
    let driver: StackDriver | undefined;
    this.driver = driver = new StackDriver(inst, link, clock, {
      onNotify: () => {},
      onIdle: () => { if (app.service()) driver!.kick(); },
    });
    for (const l of config.listen) app.listen(l.port, l.app);
    for (const c of config.connect) {
      clock.setTimer(clock.nowUs() + c.atUs, () => {
        app.connect(c.to, c.port, c.send);
        driver!.kick();
      });
    }
    driver.kick();
  }
}
