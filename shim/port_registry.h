// Process-wide state of each ethdev port, shared by every thread that loaded the addon.
//
// Guarantees: one record per port id, read and written only under Lock(); it tells which
// queues are set up, whether the port is configured and started, and which offloads are
// enabled, so a queue set up in a worker thread and a port started from the main thread
// agree on the order DPDK requires (configure, set up every queue, start; stop before the
// memory behind a queue's buffers goes away).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

namespace shim {

/** Offload bits shared with the stack (assembly/abi/config.ts `Offload`). */
namespace offload {
constexpr uint32_t kTxIpv4Csum = 1u << 0;
constexpr uint32_t kTxTcpCsum = 1u << 1;
constexpr uint32_t kTxUdpCsum = 1u << 2;
constexpr uint32_t kTxTso = 1u << 3;
constexpr uint32_t kRxCsum = 1u << 4;
}  // namespace offload

struct PortState {
  bool configured = false;
  bool started = false;
  uint16_t rxQueues = 0;
  uint16_t txQueues = 0;
  uint16_t rxDescs = 0;
  uint16_t txDescs = 0;
  uint32_t mtu = 0;
  /** The Toeplitz key configured (empty when RSS is off). */
  std::vector<uint8_t> rssKey;
  /** RX queue interrupts are configured (Queue.waitForFrames can sleep until traffic). */
  bool rxInterrupts = false;
  /** `offload::` bits enabled on the port. */
  uint32_t offloads = 0;
  /** Per queue pair: set up (rte_eth_rx/tx_queue_setup done with a live pool). */
  std::vector<bool> queueReady;
};

class PortRegistry {
 public:
  static std::unique_lock<std::mutex> Lock();
  /** The record of `portId` (created empty on first use). Caller holds Lock(). */
  static PortState& Get(uint16_t portId);
  /** True when every queue pair of a configured port is set up. Caller holds Lock(). */
  static bool AllQueuesReady(const PortState& s);
  /** Records a start or stop. Caller holds Lock(). */
  static void SetStarted(uint16_t portId, bool started);
  /** Whether the port is started, without the lock: the per-burst check of the hot path
   *  (bursting on a stopped port makes ethdev log a stack dump per call). */
  static bool Running(uint16_t portId);
};

}  // namespace shim
