// The DPDK Environment Abstraction Layer, started once per process.
//
// Guarantees: rte_eal_init runs at most once per process (DPDK cannot run it twice, even
// after rte_eal_cleanup); a later `start` with the same core/memory arguments is a no-op
// apart from hot-plugging the virtual devices it names that are not present yet, and one
// with different arguments fails with ERR_WASM_TCPIP_DPDK_EAL_STARTED. Before init, every
// real-time signal left at its default gets a no-op handler (so net_tap polls instead of
// arming a signal per received packet), and the calling thread's CPU affinity, which EAL
// pins, is restored afterwards. Every requested virtual device must have produced an
// ethdev port: EAL does not fail when a vdev fails to probe, this class does. Descriptors
// EAL and the drivers open here are close-on-exec (cloexec.h), as are those opened when a
// port is configured or started and a queue set up, so no child process inherits them.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

namespace shim {

class Eal {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  /** True once rte_eal_init has succeeded in this process. */
  static bool Started();
  /** Throws ERR_WASM_TCPIP_DPDK_EAL_NOT_STARTED unless started. */
  static void RequireStarted(Napi::Env env);
  /** Registers the calling thread with EAL once (rte_thread_register): its own lcore id, its
   *  mempool cache. Returns the lcore id. */
  static unsigned RegisterThread(Napi::Env env);

 private:
  static Napi::Value Start(const Napi::CallbackInfo& info);
  static Napi::Value IsStarted(const Napi::CallbackInfo& info);
  static Napi::Value AttachVdev(const Napi::CallbackInfo& info);
  static Napi::Value DetachVdev(const Napi::CallbackInfo& info);
  static Napi::Value Ports(const Napi::CallbackInfo& info);
  static Napi::Value RecentLog(const Napi::CallbackInfo& info);
  static Napi::Value RegisterThreadJs(const Napi::CallbackInfo& info);
};

/** Port id of a vdev spec ("net_ring0,nodeaction=..." -> port of "net_ring0"); throws a
 *  coded error naming the fix when the device did not probe. */
uint16_t PortOfProbedVdev(Napi::Env env, const std::string& spec, uint64_t logMark);

}  // namespace shim
