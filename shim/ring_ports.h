// Ethdev ports made of DPDK rings (the net_ring driver's rte_eth_from_rings): a loopback
// port, or two ports whose rings are crossed, so two stacks in one process exchange frames
// through the real DPDK RX/TX path without privileges or hardware.
//
// Guarantees: queue i of a loopback port receives what queue i sent; with a crossed pair,
// queue i of one port receives what queue i of the other sent, in order, and a full ring
// refuses frames (counted by the sender's queue as txDropQueueFull). Ring names are unique
// per process, so pairs can be created and closed repeatedly.
#pragma once

#include <napi.h>

namespace shim {

class RingPorts {
 public:
  static void Init(Napi::Env env, Napi::Object exports);

 private:
  static Napi::Value CreateLoopback(const Napi::CallbackInfo& info);
  static Napi::Value CreatePair(const Napi::CallbackInfo& info);
};

}  // namespace shim
