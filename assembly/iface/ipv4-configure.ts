// Changing the stack's IPv4 address at run time (a DHCP lease bound, renewed with another
// address, or lost): `ipv4Configure(addr, prefix, gateway)`, exported to the host.
//
// Guarantees:
// - The new address, prefix and gateway take effect for the next frame in or out; the call
//   is made between bursts (the host's rule for every ABI call), never inside one.
// - Address 0 means "unconfigured" (prefix and gateway are then stored as 0): IPv4 then
//   accepts only what a DHCP client needs and sends only UDP to 255.255.255.255 (the rules
//   are in iface/ipv4.ts, RFC 2131 4.1).
// - When the address changes, every TCP connection whose local address was the old one is
//   failed at once with ECONNABORTED (the host is notified; no RST: the old address is no
//   longer ours to send from), as Linux does to sockets whose address goes away with the
//   interface. Listeners stay (one bound to the old address simply hears nothing more).
//   ARP entries are kept: neighbours do not change with our address.
// - Returns 0, or -EINVAL (prefix > 32; a gateway that is the address itself or outside its
//   subnet) with nothing changed. Nothing allocates or traps.

import { defineCounter, bump } from "../abi/counters";
import { cfg, Cfg, configSetIpv4 } from "../abi/config";
import { ipv4SameSubnet } from "../wire/addr";
import { tcbAt, tcbCapacity, TF } from "../tcp/tcb";
import { TcpState } from "../tcp/state";
import { connectionFail } from "../tcp/close";

const CHANGED = defineCounter("ipv4.addr.changed");
const CONNECTIONS_ABORTED = defineCounter("ipv4.addr.connections_aborted");

const EINVAL: i32 = 22;
const ECONNABORTED: u32 = 103;

/** Sets our address (host order; 0 = none), prefix length and gateway (0 = none). */
export function ipv4Configure(addr: u32, prefix: u32, gateway: u32): i32 {
  if (addr == 0) { prefix = 0; gateway = 0; }
  if (prefix > 32) return -EINVAL;
  if (gateway != 0 && (gateway == addr || !ipv4SameSubnet(gateway, addr, prefix))) return -EINVAL;
  const old = cfg(Cfg.Ipv4Addr);
  configSetIpv4(addr, prefix, gateway);
  if (old == addr) return 0;
  bump(CHANGED);
  if (old != 0) abortConnectionsFrom(old);
  return 0;
}

/** Fails every connection (not listener) whose local address is `old`. */
function abortConnectionsFrom(old: u32): void {
  const n = tcbCapacity();
  for (let i: u32 = 0; i < n; i++) {
    const t = tcbAt(i);
    if ((t.flags & TF.IN_USE) == 0 || t.localAddr != old) continue;
    if (t.state == TcpState.LISTEN || t.state == TcpState.CLOSED) continue;
    bump(CONNECTIONS_ABORTED);
    connectionFail(t, ECONNABORTED);
  }
}
