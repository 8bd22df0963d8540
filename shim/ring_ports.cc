// See ring_ports.h.
#include "ring_ports.h"

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <atomic>
#include <string>
#include <vector>

#include "eal.h"
#include "errors.h"

namespace shim {

namespace {

std::atomic<uint32_t> gRingSerial{0};

std::string RequireName(Napi::Env env, const Napi::Value& v) {
  if (!v.IsString()) ThrowCoded(env, code::kInvalidArgType, "port name must be a string");
  std::string name = v.As<Napi::String>().Utf8Value();
  uint16_t pid;
  if (name.empty() || name.size() >= RTE_ETH_NAME_MAX_LEN - 8) {
    ThrowCoded(env, code::kInvalidArgValue, "port name must be 1 to " + std::to_string(RTE_ETH_NAME_MAX_LEN - 9) + " characters");
  }
  // rte_eth_from_rings names the port "net_ring_<name>".
  if (rte_eth_dev_get_port_by_name(("net_ring_" + name).c_str(), &pid) == 0) {
    ThrowCoded(env, code::kState, "a ring port named " + name + " already exists (port " + std::to_string(pid) + "): pick another name");
  }
  return name;
}

std::vector<struct rte_ring*> MakeRings(Napi::Env env, uint32_t count, uint32_t size) {
  std::vector<struct rte_ring*> rings;
  for (uint32_t i = 0; i < count; i++) {
    std::string name = "wtring" + std::to_string(gRingSerial.fetch_add(1));
    // One queue, one owner thread per side: single producer, single consumer.
    struct rte_ring* r = rte_ring_create(name.c_str(), size, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
    if (r == nullptr) {
      for (auto* made : rings) rte_ring_free(made);
      ThrowCoded(env, code::kMemory, "cannot create a ring of " + std::to_string(size) + " entries (" + DpdkErrorText(rte_errno) +
                                         "): give EAL more memory (`memoryMb`) or use a smaller ringSize");
    }
    rings.push_back(r);
  }
  return rings;
}

uint16_t FromRings(Napi::Env env, const std::string& name, std::vector<struct rte_ring*>& rx, std::vector<struct rte_ring*>& tx) {
  int pid = rte_eth_from_rings(name.c_str(), rx.data(), rx.size(), tx.data(), tx.size(), SOCKET_ID_ANY);
  if (pid < 0) ThrowCoded(env, code::kPort, "rte_eth_from_rings(" + name + ") failed (" + DpdkErrorText(rte_errno) + ")");
  return static_cast<uint16_t>(pid);
}

struct Args {
  uint32_t queues;
  uint32_t ringSize;
};

Args ReadArgs(const Napi::CallbackInfo& info, size_t at) {
  Napi::Env env = info.Env();
  Napi::Object o = info[at].IsObject() ? info[at].As<Napi::Object>() : Napi::Object::New(env);
  Args a;
  a.queues = OptionalUint(env, o, "queues", 1, RTE_MAX_QUEUES_PER_PORT, 1);
  a.ringSize = OptionalUint(env, o, "ringSize", 64, 1u << 20, 1024);
  if ((a.ringSize & (a.ringSize - 1)) != 0) ThrowCoded(env, code::kInvalidArgValue, "option ringSize must be a power of two");
  return a;
}

}  // namespace

Napi::Value RingPorts::CreateLoopback(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Eal::RequireStarted(env);
  std::string name = RequireName(env, info[0]);
  Args a = ReadArgs(info, 1);
  std::vector<struct rte_ring*> rings = MakeRings(env, a.queues, a.ringSize);
  return Napi::Number::New(env, FromRings(env, name, rings, rings));
}

Napi::Value RingPorts::CreatePair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Eal::RequireStarted(env);
  std::string a = RequireName(env, info[0]);
  std::string b = RequireName(env, info[1]);
  if (a == b) ThrowCoded(env, code::kInvalidArgValue, "the two ports of a pair need different names");
  Args args = ReadArgs(info, 2);
  std::vector<struct rte_ring*> aToB = MakeRings(env, args.queues, args.ringSize);
  std::vector<struct rte_ring*> bToA = MakeRings(env, args.queues, args.ringSize);
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, FromRings(env, a, bToA, aToB));
  out.Set(1u, FromRings(env, b, aToB, bToA));
  return out;
}

void RingPorts::Init(Napi::Env env, Napi::Object exports) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("createLoopback", Napi::Function::New(env, CreateLoopback, "createLoopback"));
  o.Set("createPair", Napi::Function::New(env, CreatePair, "createPair"));
  exports.Set("ringPorts", o);
}

}  // namespace shim
