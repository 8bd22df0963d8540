// Opening a DPDK port for the stack: find it by id or name, configure it.
//
// Guarantees: `openPort` returns a configured, stopped port (queues are attached by links,
// one per queue, and the port starts once all are attached); a name that is not a port
// fails with ERR_WASM_TCPIP_DPDK_NO_PORT listing what exists.

import type { Port, PortConfig, PortConfigured } from '../../shim/binding.js';
import { loadDpdk } from './addon.js';
import { DpdkError } from './errors.js';

export interface OpenedPort {
  port: Port;
  configured: PortConfigured;
}

/** Port id of a port given by id, by name ('net_tap0') or by vdev spec ('net_tap0,iface=x'). */
export function resolvePortId(device: number | string): number {
  const dpdk = loadDpdk();
  if (typeof device === 'number') return new dpdk.Port(device).portId;
  const name = device.split(',')[0];
  try {
    return dpdk.Port.byName(name);
  } catch (e) {
    const known = dpdk.eal.ports().map((p) => `${p.name} (port ${p.portId})`).join(', ') || 'none';
    throw new DpdkError('ERR_WASM_TCPIP_DPDK_NO_PORT', `no DPDK port named ${name}; ports: ${known}. Add it with startEal({ vdevs: ['${device}'] })`, { cause: e });
  }
}

/** Configures a port (stopping nothing: a started port must be stopped first). */
export function openPort(device: number | string, config: PortConfig = {}): OpenedPort {
  const dpdk = loadDpdk();
  const port = new dpdk.Port(resolvePortId(device));
  return { port, configured: port.configure(config) };
}
