// The addon's entry point: registers each class of the shim on the module's exports.
//
// Guarantees: loadable in the main thread and in every worker thread (a context-aware
// Node-API module); process-wide DPDK state (EAL, ports) is shared by all of them.
#include <napi.h>

#include "eal.h"
#include "port.h"
#include "queue.h"
#include "ring_ports.h"

namespace {

Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  shim::Eal::Init(env, exports);
  shim::Port::Init(env, exports);
  shim::Queue::Init(env, exports);
  shim::RingPorts::Init(env, exports);
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  return exports;
}

}  // namespace

NODE_API_MODULE(wasm_tcpip_dpdk, InitAddon)
