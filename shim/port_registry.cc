// See port_registry.h.
#include "port_registry.h"

#include <rte_ethdev.h>

namespace shim {

namespace {
std::mutex gMutex;
PortState gPorts[RTE_MAX_ETHPORTS];
std::atomic<bool> gRunning[RTE_MAX_ETHPORTS];
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

void PortRegistry::SetStarted(uint16_t portId, bool started) {
  gPorts[portId].started = started;
  gRunning[portId].store(started, std::memory_order_release);
}

bool PortRegistry::Running(uint16_t portId) { return gRunning[portId].load(std::memory_order_acquire); }

}  // namespace shim
