// The demo on a real kernel: a DPDK net_tap device whose kernel side is addressed, the stack
// on its queue serving the demo HTTP service, live counters, graceful close on Ctrl-C.
//
// Guarantees: the kernel side is configured (address, link up, IPv6 off so router
// solicitations stay out) and torn down with the device when the process exits; the stack
// has a MAC of its own, not the kernel tap's (src/links/dpdk.ts says why), and both are
// printed; every
// failure names what to fix (root, libdpdk, the interface name already taken: net_tap would
// attach to an existing tap as one more queue instead of failing, so the name is checked
// first).

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createStack } from '../stack/stack.js';
import { serveDemoHttp } from './http-app.js';
import { counterLine, type DemoOptions } from '../cli/demo.js';

/** Null when a tap demo can run here, else why not. */
export async function tapDemoAvailable(): Promise<string | null> {
  const { dpdkAvailable } = await import('../dpdk/addon.js');
  if (!dpdkAvailable()) return 'the DPDK addon is not built: install libdpdk-dev and pkg-config, then run npm run build:addon';
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing: a tap device cannot be created here';
  return null;
}

function tapError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** Throws ERR_WASM_TCPIP_TAP_IN_USE when an interface named `iface` already exists. */
export function checkTapNameFree(iface: string): void {
  if (existsSync(`/sys/class/net/${iface}`)) {
    throw tapError('ERR_WASM_TCPIP_TAP_IN_USE', `interface ${iface} already exists (a running demo or perf owns it?): stop that process or pick another name with --tap`);
  }
}

/** Configures the kernel side of the tap (`ip` from iproute2); failures name the command. */
export function addressKernelSide(iface: string, cidr: string): void {
  const run = (args: string[]): void => {
    try {
      execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const why = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim();
      throw tapError('ERR_WASM_TCPIP_TAP_SETUP', `could not set up the kernel side of ${iface}: \`ip ${args.join(' ')}\` failed: ${why} (is ${cidr} already on another interface? pick another with --kernel)`);
    }
  };
  try {
    execFileSync('sysctl', ['-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`], { stdio: 'ignore' });
  } catch {
    // IPv6 may be absent from this kernel: nothing to silence then.
  }
  run(['addr', 'add', cidr, 'dev', iface]);
  run(['link', 'set', iface, 'up']);
}

export async function tapDemo(o: DemoOptions): Promise<number> {
  const { DpdkLink } = await import('../links/dpdk.js');
  checkTapNameFree(o.tap);
  // RX interrupts: when idle the stack sleeps until traffic instead of polling.
  const link = DpdkLink.open({ eal: { vdevs: [`net_tap0,iface=${o.tap}`] }, queues: 1, rxInterrupts: true });
  addressKernelSide(o.tap, o.kernel);
  const stack = await createStack({ link, address: `${o.stack}/${o.prefix}`, poll: 'adaptive' });
  await serveDemoHttp(stack, o.port);
  console.log(`demo: stack ${stack.address} (${stack.mac}) on ${o.tap}, kernel side ${o.kernel}; HTTP on port ${o.port}`);
  const kernelMac = readFileSync(`/sys/class/net/${o.tap}/address`, 'utf8').trim();
  console.log(`demo: ${o.tap} (the kernel side) has MAC ${kernelMac}; the stack answers ARP with its own, ${stack.mac}`);
  console.log('try:');
  console.log(`  curl -sS -D - -o /tmp/bytes http://${o.stack}:${o.port}/bytes/1048576?seed=1 | grep x-sha256; sha256sum /tmp/bytes`);
  console.log(`  curl http://${o.stack}:${o.port}/`);
  console.log(`  ping -c 3 ${o.stack}`);
  console.log('Ctrl-C stops (connections finish their FIN handshake first).');
  const tty = process.stdout.isTTY;
  const timer = setInterval(() => {
    const line = `counters: ${counterLine(stack.counters())}`;
    if (tty) process.stdout.write(`\r${line}\x1b[K`); else console.log(line);
  }, o.intervalMs);
  await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  clearInterval(timer);
  const result = await stack.close({ timeoutMs: 5000 });
  console.log(`\ndemo: closed: ${result.drained} connections drained, ${result.reset} reset`);
  return 0;
}
