// An ethdev port seen from JavaScript: configure, start, stop, close, link, statistics.
//
// Guarantees: `configure` sets N queue pairs, the MTU, RSS with a symmetric Toeplitz key
// (0x6d5a repeated, so both directions of a flow hash alike) and a round-robin redirection
// table when the port can spread flows, and every checksum/TSO offload the port has (the
// stack then skips that work); it fails with a coded error naming the fix when the port
// cannot do what is asked (queue count, MTU). `start` refuses until every queue is set up.
// `close` also removes a virtual device from the bus, so its name can be attached again.
// Nothing here blocks the event loop: waiting for the link runs in an AsyncWorker.
#pragma once

#include <napi.h>

#include <cstdint>

namespace shim {

class Port : public Napi::ObjectWrap<Port> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Port(const Napi::CallbackInfo& info);

  /** Validates a port id from JavaScript; throws ERR_WASM_TCPIP_DPDK_NO_PORT. */
  static uint16_t RequirePort(Napi::Env env, const Napi::Value& v);

 private:
  Napi::Value Info(const Napi::CallbackInfo& info);
  Napi::Value Configure(const Napi::CallbackInfo& info);
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value StartIfReady(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsStarted(const Napi::CallbackInfo& info);
  Napi::Value Link(const Napi::CallbackInfo& info);
  Napi::Value WaitForLink(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Xstats(const Napi::CallbackInfo& info);
  Napi::Value ResetStats(const Napi::CallbackInfo& info);
  Napi::Value Rss(const Napi::CallbackInfo& info);
  Napi::Value PortId(const Napi::CallbackInfo& info);
  Napi::Value State(const Napi::CallbackInfo& info);
  static Napi::Value ByName(const Napi::CallbackInfo& info);

  void StartLocked(Napi::Env env);
  uint16_t portId_ = 0;
};

/** Stops a started port (idempotent); used before memory holding its buffers goes away. */
void StopPort(uint16_t portId);

}  // namespace shim
