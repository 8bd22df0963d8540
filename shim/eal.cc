// See eal.h.
#include "eal.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <rte_bus_vdev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>

#include <mutex>

#include "cloexec.h"
#include "eal_log.h"
#include "errors.h"

namespace shim {

namespace {

std::mutex gMutex;
bool gStarted = false;
std::string gInitFailure;  // why rte_eal_init failed, when it did: it cannot run again
std::vector<std::string> gBaseArgs;  // arguments of the successful init, vdevs excluded

void IgnoreSignal(int) {}

// net_tap takes the first real-time signal whose handler is the default and asks the kernel
// for it on every received packet; with every one taken it logs "No Rx trigger signal
// available" and polls, which measured ~6x faster (FACTS.md). Handlers someone else set stay.
void ClaimRealtimeSignals() {
  for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++) {
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction mine = {};
    mine.sa_handler = IgnoreSignal;
    mine.sa_flags = SA_RESTART;
    sigemptyset(&mine.sa_mask);
    sigaction(sig, &mine, nullptr);
  }
}

bool IsRoot() { return geteuid() == 0; }

bool NeedsNetAdmin(const std::string& name) {
  for (const char* prefix : {"net_tap", "net_tun", "net_af_packet", "net_af_xdp"}) {
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

std::string VdevName(const std::string& spec) { return spec.substr(0, spec.find(',')); }

bool HasArg(const std::vector<std::string>& args, const char* arg) {
  for (const auto& a : args) {
    if (a == arg) return true;
  }
  return false;
}

std::vector<std::string> StringArray(Napi::Env env, const Napi::Value& v, const char* what) {
  if (!v.IsArray()) ThrowCoded(env, code::kInvalidArgType, std::string(what) + " must be an array of strings");
  Napi::Array a = v.As<Napi::Array>();
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) ThrowCoded(env, code::kInvalidArgType, std::string(what) + " must be an array of strings");
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return out;
}

[[noreturn]] void ThrowInitFailure(Napi::Env env, int err, const std::vector<std::string>& args, uint64_t mark) {
  std::string said = EalLog::Since(mark);
  std::string tail = said.empty() ? "" : "\nEAL said:\n" + said;
  if (err == EACCES || err == EPERM) {
    ThrowCoded(env, code::kPermission,
               "DPDK EAL init was refused permission (" + DpdkErrorText(err) +
                   "): run as root, or use only virtual devices (net_ring, net_pcap, net_null, net_memif) "
                   "without a PCI allow-list" + tail, err);
  }
  if (err == ENOMEM || err == ENODEV) {
    if (HasArg(args, "--no-huge")) {
      ThrowCoded(env, code::kMemory,
                 "DPDK EAL could not reserve its memory without hugepages (" + DpdkErrorText(err) +
                     "): lower the `memoryMb` option or free memory" + tail, err);
    }
    ThrowCoded(env, code::kNoHugepages,
               "DPDK EAL found no usable hugepages (" + DpdkErrorText(err) +
                   "): reserve and mount them (`echo 512 > /proc/sys/vm/nr_hugepages; mkdir -p /dev/hugepages; "
                   "mount -t hugetlbfs nodev /dev/hugepages`, as root) or start with `hugepages: false`" + tail, err);
  }
  if (err == EALREADY) {
    ThrowCoded(env, code::kEalStarted,
               "DPDK EAL was already initialised in this process by other code: start it only through wasm-tcpip" + tail,
               err);
  }
  ThrowCoded(env, code::kEalFailed,
             "DPDK EAL init failed (" + DpdkErrorText(err) + "); it cannot be retried in this process: fix the "
             "options below and restart. Arguments: " + [&] {
               std::string s;
               for (const auto& a : args) s += (s.empty() ? "" : " ") + a;
               return s;
             }() + tail, err);
}

Napi::Array PortList(Napi::Env env) {
  Napi::Array out = Napi::Array::New(env);
  uint16_t pid;
  uint32_t i = 0;
  RTE_ETH_FOREACH_DEV(pid) {
    char name[RTE_ETH_NAME_MAX_LEN];
    if (rte_eth_dev_get_name_by_port(pid, name) != 0) continue;
    struct rte_eth_dev_info dev;
    Napi::Object p = Napi::Object::New(env);
    p.Set("portId", pid);
    p.Set("name", name);
    p.Set("driver", rte_eth_dev_info_get(pid, &dev) == 0 && dev.driver_name ? dev.driver_name : "");
    out.Set(i++, p);
  }
  return out;
}

}  // namespace

uint16_t PortOfProbedVdev(Napi::Env env, const std::string& spec, uint64_t logMark) {
  std::string name = VdevName(spec);
  uint16_t pid;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) == 0) return pid;
  std::string said = EalLog::Since(logMark);
  std::string tail = said.empty() ? "" : "\nEAL said:\n" + said;
  if (NeedsNetAdmin(name) && !IsRoot()) {
    ThrowCoded(env, code::kPermission,
               "virtual device " + name + " needs root (CAP_NET_ADMIN) and this process is not root: run as root, "
               "or use net_ring, net_pcap or net_memif, which need no privileges" + tail, EPERM);
  }
  ThrowCoded(env, code::kProbeFailed,
             "virtual device `" + spec + "` failed to probe (EAL carries on without it, so no port exists): check "
             "the driver name and its arguments (DPDK's guide to that poll-mode driver lists them)" + tail);
}

bool Eal::Started() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gStarted;
}

void Eal::RequireStarted(Napi::Env env) {
  if (!Started()) {
    ThrowCoded(env, code::kEalNotStarted, "DPDK EAL is not started: call startEal() (src/dpdk/eal) first");
  }
}

unsigned Eal::RegisterThread(Napi::Env env) {
  RequireStarted(env);
  if (rte_lcore_id() != LCORE_ID_ANY) return rte_lcore_id();
  if (rte_thread_register() != 0) {
    ThrowCoded(env, code::kEalFailed,
               "rte_thread_register failed (" + DpdkErrorText(rte_errno) +
                   "): every lcore slot is taken (RTE_MAX_LCORE); use fewer worker threads", rte_errno);
  }
  return rte_lcore_id();
}

Napi::Value Eal::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> base = StringArray(env, info[0], "EAL arguments");
  std::vector<std::string> vdevs = StringArray(env, info[1], "vdevs");
  bool echo = info[2].IsBoolean() && info[2].As<Napi::Boolean>().Value();
  if (base.empty()) ThrowCoded(env, code::kInvalidArgValue, "EAL arguments must start with a program name");

  std::unique_lock<std::mutex> lock(gMutex);
  EalLog::SetEcho(echo);
  bool initialisedNow = false;
  uint64_t mark = EalLog::Mark();
  if (gStarted) {
    if (base != gBaseArgs) {
      std::string was, now;
      for (const auto& a : gBaseArgs) was += " " + a;
      for (const auto& a : base) now += " " + a;
      ThrowCoded(env, code::kEalStarted,
                 "DPDK EAL is already running in this process with different arguments (was:" + was + "; asked:" + now +
                     "): EAL starts once per process, so use the same cores/memory/PCI options everywhere");
    }
    for (const auto& spec : vdevs) {
      uint16_t pid;
      if (rte_eth_dev_get_port_by_name(VdevName(spec).c_str(), &pid) == 0) continue;
      std::string args = spec.find(',') == std::string::npos ? "" : spec.substr(spec.find(',') + 1);
      InheritanceGuard keepFromChildren;
      rte_vdev_init(VdevName(spec).c_str(), args.c_str());
    }
  } else if (!gInitFailure.empty()) {
    ThrowCoded(env, code::kEalFailed,
               "DPDK EAL init already failed in this process and cannot be retried: restart the process with "
               "fixed options. The failure was: " + gInitFailure);
  } else {
    std::vector<std::string> args = base;
    for (const auto& spec : vdevs) {
      args.push_back("--vdev");
      args.push_back(spec);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    EalLog::Install();
    ClaimRealtimeSignals();
    cpu_set_t saved;
    bool haveSaved = pthread_getaffinity_np(pthread_self(), sizeof(saved), &saved) == 0;
    int rc;
    int err;
    {
      InheritanceGuard keepFromChildren;
      rc = rte_eal_init(static_cast<int>(args.size()), argv.data());
      err = rte_errno;
    }
    if (haveSaved) pthread_setaffinity_np(pthread_self(), sizeof(saved), &saved);
    if (rc < 0) {
      gInitFailure = DpdkErrorText(err);
      ThrowInitFailure(env, err, args, mark);
    }
    gStarted = true;
    gBaseArgs = base;
    initialisedNow = true;
  }
  lock.unlock();

  for (const auto& spec : vdevs) PortOfProbedVdev(env, spec, mark);

  Napi::Object out = Napi::Object::New(env);
  out.Set("initialisedNow", initialisedNow);
  enum rte_iova_mode mode = rte_eal_iova_mode();
  out.Set("iovaMode", mode == RTE_IOVA_VA ? "va" : mode == RTE_IOVA_PA ? "pa" : "dc");
  out.Set("ports", PortList(env));
  return out;
}

Napi::Value Eal::IsStarted(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), Started()); }

Napi::Value Eal::AttachVdev(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireStarted(env);
  if (!info[0].IsString()) ThrowCoded(env, code::kInvalidArgType, "vdev spec must be a string like `net_ring0`");
  std::string spec = info[0].As<Napi::String>().Utf8Value();
  std::string name = VdevName(spec);
  uint16_t pid;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) == 0) {
    ThrowCoded(env, code::kState, "virtual device " + name + " already exists (port " + std::to_string(pid) +
                                      "): pick another name, e.g. by changing its number");
  }
  uint64_t mark = EalLog::Mark();
  std::string args = spec.find(',') == std::string::npos ? "" : spec.substr(spec.find(',') + 1);
  {
    InheritanceGuard keepFromChildren;
    rte_vdev_init(name.c_str(), args.c_str());
  }
  return Napi::Number::New(env, PortOfProbedVdev(env, spec, mark));
}

Napi::Value Eal::DetachVdev(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireStarted(env);
  if (!info[0].IsString()) ThrowCoded(env, code::kInvalidArgType, "vdev name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int rc = rte_vdev_uninit(name.c_str());
  if (rc < 0) {
    ThrowCoded(env, code::kNoPort, "virtual device " + name + " could not be removed (" + DpdkErrorText(rc) +
                                       "): it must exist and have been attached by name", -rc);
  }
  return env.Undefined();
}

Napi::Value Eal::Ports(const Napi::CallbackInfo& info) {
  RequireStarted(info.Env());
  return PortList(info.Env());
}

Napi::Value Eal::RecentLog(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), EalLog::Since(0));
}

Napi::Value Eal::RegisterThreadJs(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), RegisterThread(info.Env()));
}

void Eal::Init(Napi::Env env, Napi::Object exports) {
  Napi::Object eal = Napi::Object::New(env);
  eal.Set("start", Napi::Function::New(env, Start, "start"));
  eal.Set("isStarted", Napi::Function::New(env, IsStarted, "isStarted"));
  eal.Set("attachVdev", Napi::Function::New(env, AttachVdev, "attachVdev"));
  eal.Set("detachVdev", Napi::Function::New(env, DetachVdev, "detachVdev"));
  eal.Set("ports", Napi::Function::New(env, Ports, "ports"));
  eal.Set("recentLog", Napi::Function::New(env, RecentLog, "recentLog"));
  eal.Set("registerThread", Napi::Function::New(env, RegisterThreadJs, "registerThread"));
  exports.Set("eal", eal);
}

}  // namespace shim
