// See port_registry.h.
#include "port_registry.h"

#include <rte_ethdev.h>

namespace shim {

namespace {
std::mutex gMutex;
PortState gPorts[RTE_MAX_ETHPORTS];
}  // namespace

std::unique_lock<std::mutex> PortRegistry::Lock() { return std::unique_lock<std::mutex>(gMutex); }

PortState& PortRegistry::Get(uint16_t portId) { return gPorts[portId]; }

bool PortRegistry::AllQueuesReady(const PortState& s) {
  if (!s.configured || s.queueReady.empty()) return false;
  for (bool ready : s.queueReady) {
    if (!ready) return false;
  }
  return true;
}

}  // namespace shim
