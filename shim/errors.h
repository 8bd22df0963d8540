// Errors the shim throws to JavaScript.
//
// Guarantees: every error carries a stable `code` (ERR_WASM_TCPIP_DPDK_* or a Node code) and a
// message that says what failed and names the fix; DPDK failures add rte_strerror's text and,
// where EAL logged something, the last relevant log lines. Thrown as C++ exceptions
// (NAPI_CPP_EXCEPTIONS), which node-addon-api turns into JavaScript exceptions.
#pragma once

#include <napi.h>

#include <string>

namespace shim {

namespace code {
constexpr const char* kEalFailed = "ERR_WASM_TCPIP_DPDK_EAL";
constexpr const char* kEalStarted = "ERR_WASM_TCPIP_DPDK_EAL_STARTED";
constexpr const char* kEalNotStarted = "ERR_WASM_TCPIP_DPDK_EAL_NOT_STARTED";
constexpr const char* kPermission = "ERR_WASM_TCPIP_DPDK_PERMISSION";
constexpr const char* kNoHugepages = "ERR_WASM_TCPIP_DPDK_NO_HUGEPAGES";
constexpr const char* kProbeFailed = "ERR_WASM_TCPIP_DPDK_PROBE";
constexpr const char* kNoPort = "ERR_WASM_TCPIP_DPDK_NO_PORT";
constexpr const char* kQueues = "ERR_WASM_TCPIP_DPDK_QUEUES";
constexpr const char* kPort = "ERR_WASM_TCPIP_DPDK_PORT";
constexpr const char* kState = "ERR_WASM_TCPIP_DPDK_STATE";
constexpr const char* kMemory = "ERR_WASM_TCPIP_DPDK_MEMORY";
constexpr const char* kInvalidArgType = "ERR_INVALID_ARG_TYPE";
constexpr const char* kInvalidArgValue = "ERR_INVALID_ARG_VALUE";
}  // namespace code

/** Throws an Error with `code` set; `errnoValue` (when non-zero) is set as `errno`. */
[[noreturn]] void ThrowCoded(Napi::Env env, const char* code, const std::string& message, int errnoValue = 0);

/** rte_strerror(err) with the number, e.g. "Operation not permitted (errno 1)". */
std::string DpdkErrorText(int err);

/** Reads a required unsigned integer property `name` of `obj` in [min, max]. */
uint32_t RequireUint(Napi::Env env, const Napi::Object& obj, const char* name, uint32_t min, uint32_t max);

/** Reads an optional unsigned integer property, `fallback` when absent or undefined. */
uint32_t OptionalUint(Napi::Env env, const Napi::Object& obj, const char* name, uint32_t min, uint32_t max,
                      uint32_t fallback);

/** Reads an optional boolean property, `fallback` when absent or undefined. */
bool OptionalBool(const Napi::Object& obj, const char* name, bool fallback);

/** Reads argument `index` as an unsigned integer in [min, max]; `what` names it in errors. */
uint32_t ArgUint(const Napi::CallbackInfo& info, size_t index, const char* what, uint32_t min, uint32_t max);

}  // namespace shim
