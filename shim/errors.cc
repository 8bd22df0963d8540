// See errors.h.
#include "errors.h"

#include <rte_errno.h>

namespace shim {

void ThrowCoded(Napi::Env env, const char* code, const std::string& message, int errnoValue) {
  Napi::Error err = Napi::Error::New(env, "wasm-tcpip: " + message);
  err.Set("code", Napi::String::New(env, code));
  if (errnoValue != 0) err.Set("errno", Napi::Number::New(env, errnoValue));
  throw err;
}

std::string DpdkErrorText(int err) {
  if (err < 0) err = -err;
  return std::string(rte_strerror(err)) + " (errno " + std::to_string(err) + ")";
}

static uint32_t CheckUint(Napi::Env env, const Napi::Value& v, const std::string& what, uint32_t min, uint32_t max) {
  if (!v.IsNumber()) ThrowCoded(env, code::kInvalidArgType, what + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= min && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) {
    ThrowCoded(env, code::kInvalidArgValue,
               what + " must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                   v.ToString().Utf8Value());
  }
  return static_cast<uint32_t>(d);
}

uint32_t RequireUint(Napi::Env env, const Napi::Object& obj, const char* name, uint32_t min, uint32_t max) {
  return CheckUint(env, obj.Get(name), std::string("option ") + name, min, max);
}

uint32_t OptionalUint(Napi::Env env, const Napi::Object& obj, const char* name, uint32_t min, uint32_t max,
                      uint32_t fallback) {
  Napi::Value v = obj.Get(name);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  return CheckUint(env, v, std::string("option ") + name, min, max);
}

bool OptionalBool(const Napi::Object& obj, const char* name, bool fallback) {
  Napi::Value v = obj.Get(name);
  if (v.IsUndefined() || v.IsNull()) return fallback;
  return v.ToBoolean().Value();
}

uint32_t ArgUint(const Napi::CallbackInfo& info, size_t index, const char* what, uint32_t min, uint32_t max) {
  return CheckUint(info.Env(), info[index], what, min, max);
}

}  // namespace shim
