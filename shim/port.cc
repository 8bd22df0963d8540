// See port.h.
#include "port.h"

#include <rte_bus_vdev.h>
#include <rte_ethdev.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "cloexec.h"
#include "eal.h"
#include "errors.h"
#include "port_registry.h"

namespace shim {

namespace {

constexpr uint32_t kDefaultKeyBytes = 40;

std::string PortName(uint16_t pid) {
  char name[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(pid, name) != 0) return "port " + std::to_string(pid);
  return std::string(name) + " (port " + std::to_string(pid) + ")";
}

struct rte_eth_dev_info DevInfo(Napi::Env env, uint16_t pid) {
  struct rte_eth_dev_info dev;
  int rc = rte_eth_dev_info_get(pid, &dev);
  if (rc != 0) ThrowCoded(env, code::kNoPort, PortName(pid) + ": cannot read device info (" + DpdkErrorText(rc) + ")");
  return dev;
}

Napi::Object LinkObject(Napi::Env env, const struct rte_eth_link& link) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("up", link.link_status == RTE_ETH_LINK_UP);
  o.Set("speedMbps", link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? -1.0 : static_cast<double>(link.link_speed));
  o.Set("fullDuplex", link.link_duplex == RTE_ETH_LINK_FULL_DUPLEX);
  o.Set("autoneg", link.link_autoneg == RTE_ETH_LINK_AUTONEG);
  return o;
}

Napi::Object RssObject(Napi::Env env, uint16_t pid) {
  Napi::Object o = Napi::Object::New(env);
  struct rte_eth_dev_info dev;
  if (rte_eth_dev_info_get(pid, &dev) != 0) return o;
  struct rte_eth_conf conf;
  bool enabled = false;
  if (rte_eth_dev_conf_get(pid, &conf) == 0) enabled = conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS;
  o.Set("enabled", enabled);
  uint8_t keyBytes = dev.hash_key_size != 0 ? dev.hash_key_size : kDefaultKeyBytes;
  std::vector<uint8_t> key(keyBytes);
  struct rte_eth_rss_conf rss = {};
  rss.rss_key = key.data();
  rss.rss_key_len = keyBytes;
  if (enabled && rte_eth_dev_rss_hash_conf_get(pid, &rss) == 0) {
    o.Set("key", Napi::Buffer<uint8_t>::Copy(env, key.data(), rss.rss_key_len));
    o.Set("hashFunctions", Napi::Number::New(env, static_cast<double>(rss.rss_hf)));
  } else if (enabled) {
    // The driver cannot report its hash configuration (net_tap): report what was configured.
    auto lock = PortRegistry::Lock();
    const PortState& s = PortRegistry::Get(pid);
    o.Set("key", Napi::Buffer<uint8_t>::Copy(env, s.rssKey.data(), s.rssKey.size()));
    o.Set("hashFunctions", Napi::Number::New(env, static_cast<double>(conf.rx_adv_conf.rss_conf.rss_hf)));
  } else {
    o.Set("key", env.Null());
    o.Set("hashFunctions", 0);
  }
  Napi::Array reta = Napi::Array::New(env);
  if (enabled && dev.reta_size > 0) {
    std::vector<struct rte_eth_rss_reta_entry64> groups(dev.reta_size / RTE_ETH_RETA_GROUP_SIZE + 1);
    for (auto& g : groups) g.mask = ~0ULL;
    if (rte_eth_dev_rss_reta_query(pid, groups.data(), dev.reta_size) == 0) {
      for (uint32_t i = 0; i < dev.reta_size; i++) {
        reta.Set(i, groups[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE]);
      }
    }
  }
  o.Set("reta", reta);
  return o;
}

class LinkWaiter : public Napi::AsyncWorker {
 public:
  LinkWaiter(Napi::Env env, uint16_t pid, uint32_t timeoutMs)
      : Napi::AsyncWorker(env), pid_(pid), timeoutMs_(timeoutMs), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs_);
    for (;;) {
      link_ = {};
      if (rte_eth_link_get_nowait(pid_, &link_) == 0 && link_.link_status == RTE_ETH_LINK_UP) return;
      if (std::chrono::steady_clock::now() >= deadline) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  void OnOK() override { deferred_.Resolve(LinkObject(Env(), link_)); }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  uint16_t pid_;
  uint32_t timeoutMs_;
  struct rte_eth_link link_ = {};
  Napi::Promise::Deferred deferred_;
};

}  // namespace

void StopPort(uint16_t pid) {
  auto lock = PortRegistry::Lock();
  PortState& s = PortRegistry::Get(pid);
  if (!s.started) return;
  rte_eth_dev_stop(pid);
  PortRegistry::SetStarted(pid, false);
}

uint16_t Port::RequirePort(Napi::Env env, const Napi::Value& v) {
  Eal::RequireStarted(env);
  if (!v.IsNumber()) ThrowCoded(env, code::kInvalidArgType, "port id must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d < RTE_MAX_ETHPORTS) || d != static_cast<double>(static_cast<uint16_t>(d)) ||
      !rte_eth_dev_is_valid_port(static_cast<uint16_t>(d))) {
    ThrowCoded(env, code::kNoPort,
               "no DPDK port " + v.ToString().Utf8Value() + " (" + std::to_string(rte_eth_dev_count_avail()) +
                   " available): list them with eal.ports(); add a device with the `vdevs` or `pciAllow` option");
  }
  return static_cast<uint16_t>(d);
}

Port::Port(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Port>(info) {
  portId_ = RequirePort(info.Env(), info[0]);
}

Napi::Value Port::ByName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Eal::RequireStarted(env);
  if (!info[0].IsString()) ThrowCoded(env, code::kInvalidArgType, "port name must be a string");
  std::string name = info[0].As<Napi::String>().Utf8Value();
  uint16_t pid;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) != 0) {
    ThrowCoded(env, code::kNoPort, "no DPDK port named " + name +
                                       ": add it with the `vdevs` option (e.g. `" + name + "`) or list ports with eal.ports()");
  }
  return Napi::Number::New(env, pid);
}

Napi::Value Port::PortId(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), portId_); }

Napi::Value Port::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct rte_eth_dev_info dev = DevInfo(env, portId_);
  Napi::Object o = Napi::Object::New(env);
  char name[RTE_ETH_NAME_MAX_LEN] = {0};
  rte_eth_dev_get_name_by_port(portId_, name);
  o.Set("portId", portId_);
  o.Set("name", name);
  o.Set("driver", dev.driver_name ? dev.driver_name : "");
  struct rte_ether_addr mac;
  if (rte_eth_macaddr_get(portId_, &mac) == 0) {
    o.Set("mac", Napi::Buffer<uint8_t>::Copy(env, mac.addr_bytes, RTE_ETHER_ADDR_LEN));
  }
  o.Set("maxRxQueues", dev.max_rx_queues);
  o.Set("maxTxQueues", dev.max_tx_queues);
  o.Set("minMtu", dev.min_mtu);
  o.Set("maxMtu", dev.max_mtu);
  o.Set("rxOffloadCapa", static_cast<double>(dev.rx_offload_capa));
  o.Set("txOffloadCapa", static_cast<double>(dev.tx_offload_capa));
  o.Set("rssOffloads", static_cast<double>(dev.flow_type_rss_offloads));
  o.Set("rssKeyBytes", dev.hash_key_size);
  o.Set("retaSize", dev.reta_size);
  o.Set("socket", rte_eth_dev_socket_id(portId_));
  return o;
}

Napi::Value Port::Configure(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object opts = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(env);
  struct rte_eth_dev_info dev = DevInfo(env, portId_);
  std::string who = PortName(portId_) + " [" + (dev.driver_name ? dev.driver_name : "?") + "]";

  uint32_t queues = OptionalUint(env, opts, "queues", 1, 1024, 1);
  if (queues > dev.max_rx_queues || queues > dev.max_tx_queues) {
    ThrowCoded(env, code::kQueues,
               who + " supports at most " + std::to_string(std::min(dev.max_rx_queues, dev.max_tx_queues)) +
                   " queue pairs, " + std::to_string(queues) + " were asked: use `queues` <= that (one per worker)");
  }
  uint32_t mtu = OptionalUint(env, opts, "mtu", 68, 65535, 1500);
  if (mtu < dev.min_mtu || mtu > dev.max_mtu) {
    ThrowCoded(env, code::kPort, who + " takes an MTU from " + std::to_string(dev.min_mtu) + " to " +
                                     std::to_string(dev.max_mtu) + ", " + std::to_string(mtu) + " was asked: pick one in range");
  }
  uint16_t rxDescs = static_cast<uint16_t>(OptionalUint(env, opts, "rxDescs", 32, 32768, 1024));
  uint16_t txDescs = static_cast<uint16_t>(OptionalUint(env, opts, "txDescs", 32, 32768, 1024));
  bool wantOffloads = OptionalBool(opts, "offloads", true);
  bool wantRss = OptionalBool(opts, "rss", true);
  bool promiscuous = OptionalBool(opts, "promiscuous", false);
  bool rxInterrupts = OptionalBool(opts, "rxInterrupts", false);

  auto lock = PortRegistry::Lock();
  PortState& s = PortRegistry::Get(portId_);
  if (s.started) ThrowCoded(env, code::kState, who + " is started: stop it before configuring it again");

  struct rte_eth_conf conf = {};
  conf.rxmode.mtu = mtu;
  uint32_t enabled = 0;
  if (wantOffloads) {
    uint64_t tx = dev.tx_offload_capa;
    if (tx & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) { conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM; enabled |= offload::kTxIpv4Csum; }
    if (tx & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) { conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_CKSUM; enabled |= offload::kTxTcpCsum; }
    if (tx & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) { conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM; enabled |= offload::kTxUdpCsum; }
    if ((tx & RTE_ETH_TX_OFFLOAD_TCP_TSO) && (enabled & offload::kTxTcpCsum) && (enabled & offload::kTxIpv4Csum)) {
      conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO | RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
      enabled |= offload::kTxTso;
    }
    if (tx & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
    uint64_t rxCsum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
    if ((dev.rx_offload_capa & rxCsum) == rxCsum) { conf.rxmode.offloads |= rxCsum; enabled |= offload::kRxCsum; }
    if (dev.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
  }

  // A Toeplitz key made of one repeated 16-bit pattern hashes (src, dst, sport, dport) and
  // (dst, src, dport, sport) alike: both directions of a flow land on the same queue.
  uint8_t keyBytes = dev.hash_key_size != 0 ? dev.hash_key_size : kDefaultKeyBytes;
  std::vector<uint8_t> key(keyBytes);
  for (uint32_t i = 0; i < keyBytes; i++) key[i] = (i % 2 == 0) ? 0x6d : 0x5a;
  uint64_t hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & dev.flow_type_rss_offloads;
  bool rss = wantRss && queues > 1 && hf != 0;
  if (rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = key.data();
    conf.rx_adv_conf.rss_conf.rss_key_len = keyBytes;
    conf.rx_adv_conf.rss_conf.rss_hf = hf;
  }

  conf.intr_conf.rxq = rxInterrupts ? 1 : 0;
  InheritanceGuard keepFromChildren;
  int rc = rte_eth_dev_configure(portId_, queues, queues, &conf);
  if (rc == -ENOTSUP && rxInterrupts) {
    ThrowCoded(env, code::kPort, who + " cannot raise RX queue interrupts (" + DpdkErrorText(rc) +
                                     "): configure it without rxInterrupts and let the idle policy poll", -rc);
  }
  if (rc != 0) {
    ThrowCoded(env, rc == -EINVAL ? code::kQueues : code::kPort,
               who + ": rte_eth_dev_configure(" + std::to_string(queues) + " queues, MTU " + std::to_string(mtu) +
                   ") failed (" + DpdkErrorText(rc) + "): use fewer queues or a smaller MTU, or offloads: false", -rc);
  }
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(portId_, &rxDescs, &txDescs);
  if (rc != 0) ThrowCoded(env, code::kPort, who + ": descriptor counts refused (" + DpdkErrorText(rc) + ")", -rc);
  if (rss && dev.reta_size > 0) {
    std::vector<struct rte_eth_rss_reta_entry64> groups(dev.reta_size / RTE_ETH_RETA_GROUP_SIZE + 1);
    for (uint32_t i = 0; i < dev.reta_size; i++) {
      groups[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
      groups[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = static_cast<uint16_t>(i % queues);
    }
    rte_eth_dev_rss_reta_update(portId_, groups.data(), dev.reta_size);  // ports with a fixed table keep theirs
  }
  if (promiscuous) rte_eth_promiscuous_enable(portId_);

  s.configured = true;
  s.rxQueues = static_cast<uint16_t>(queues);
  s.txQueues = static_cast<uint16_t>(queues);
  s.rxDescs = rxDescs;
  s.txDescs = txDescs;
  s.mtu = mtu;
  s.offloads = enabled;
  s.rssKey = rss ? key : std::vector<uint8_t>();
  s.rxInterrupts = rxInterrupts;
  s.queueReady.assign(queues, false);
  lock.unlock();

  Napi::Object out = Napi::Object::New(env);
  out.Set("queues", queues);
  out.Set("mtu", mtu);
  out.Set("rxDescs", rxDescs);
  out.Set("txDescs", txDescs);
  out.Set("offloads", enabled);
  out.Set("rxInterrupts", rxInterrupts);
  out.Set("rss", RssObject(env, portId_));
  return out;
}

void Port::StartLocked(Napi::Env env) {
  PortState& s = PortRegistry::Get(portId_);
  if (s.started) return;
  if (!s.configured) ThrowCoded(env, code::kState, PortName(portId_) + " is not configured: call configure() first");
  for (size_t q = 0; q < s.queueReady.size(); q++) {
    if (!s.queueReady[q]) {
      ThrowCoded(env, code::kState, PortName(portId_) + ": queue " + std::to_string(q) +
                                        " is not set up: attach a link (one per queue, e.g. one per worker) before start()");
    }
  }
  int rc;
  {
    InheritanceGuard keepFromChildren;  // starting opens interrupt descriptors (link status, RX)
    rc = rte_eth_dev_start(portId_);
  }
  if (rc != 0) ThrowCoded(env, code::kPort, PortName(portId_) + ": start failed (" + DpdkErrorText(rc) + ")", -rc);
  PortRegistry::SetStarted(portId_, true);
}

Napi::Value Port::Start(const Napi::CallbackInfo& info) {
  auto lock = PortRegistry::Lock();
  StartLocked(info.Env());
  return info.Env().Undefined();
}

Napi::Value Port::StartIfReady(const Napi::CallbackInfo& info) {
  auto lock = PortRegistry::Lock();
  PortState& s = PortRegistry::Get(portId_);
  if (s.started) return Napi::Boolean::New(info.Env(), true);
  if (!PortRegistry::AllQueuesReady(s)) return Napi::Boolean::New(info.Env(), false);
  StartLocked(info.Env());
  return Napi::Boolean::New(info.Env(), true);
}

Napi::Value Port::Stop(const Napi::CallbackInfo& info) {
  StopPort(portId_);
  return info.Env().Undefined();
}

Napi::Value Port::Close(const Napi::CallbackInfo& info) {
  auto lock = PortRegistry::Lock();
  PortState& s = PortRegistry::Get(portId_);
  if (s.started) rte_eth_dev_stop(portId_);
  for (size_t q = 0; q < s.queueReady.size(); q++) {
    if (s.queueReady[q]) {
      ThrowCoded(info.Env(), code::kState, PortName(portId_) + ": queue " + std::to_string(q) +
                                               " is still attached: close its link (queue.close()) before the port");
    }
  }
  char name[RTE_ETH_NAME_MAX_LEN] = {0};
  rte_eth_dev_get_name_by_port(portId_, name);
  rte_eth_dev_close(portId_);
  // A virtual device also leaves the vdev bus, so its name can be attached again; for any
  // other device there is no such vdev and this does nothing.
  rte_vdev_uninit(name);
  s = PortState();
  PortRegistry::SetStarted(portId_, false);
  return info.Env().Undefined();
}

Napi::Value Port::IsStarted(const Napi::CallbackInfo& info) {
  auto lock = PortRegistry::Lock();
  return Napi::Boolean::New(info.Env(), PortRegistry::Get(portId_).started);
}

Napi::Value Port::Link(const Napi::CallbackInfo& info) {
  struct rte_eth_link link = {};
  rte_eth_link_get_nowait(portId_, &link);
  return LinkObject(info.Env(), link);
}

Napi::Value Port::WaitForLink(const Napi::CallbackInfo& info) {
  uint32_t timeoutMs = info[0].IsUndefined() ? 5000 : ArgUint(info, 0, "timeoutMs", 0, 600000);
  auto* worker = new LinkWaiter(info.Env(), portId_, timeoutMs);
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value Port::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  struct rte_eth_stats st;
  int rc = rte_eth_stats_get(portId_, &st);
  if (rc != 0) ThrowCoded(env, code::kPort, PortName(portId_) + ": statistics unavailable (" + DpdkErrorText(rc) + ")");
  Napi::Object o = Napi::Object::New(env);
  o.Set("rxPackets", static_cast<double>(st.ipackets));
  o.Set("txPackets", static_cast<double>(st.opackets));
  o.Set("rxBytes", static_cast<double>(st.ibytes));
  o.Set("txBytes", static_cast<double>(st.obytes));
  o.Set("rxMissed", static_cast<double>(st.imissed));
  o.Set("rxErrors", static_cast<double>(st.ierrors));
  o.Set("txErrors", static_cast<double>(st.oerrors));
  o.Set("rxNoMbuf", static_cast<double>(st.rx_nombuf));
  return o;
}

Napi::Value Port::Xstats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  int n = rte_eth_xstats_get_names(portId_, nullptr, 0);
  if (n <= 0) return o;
  std::vector<struct rte_eth_xstat_name> names(n);
  std::vector<struct rte_eth_xstat> values(n);
  if (rte_eth_xstats_get_names(portId_, names.data(), n) != n) return o;
  int got = rte_eth_xstats_get(portId_, values.data(), n);
  for (int i = 0; i < got && i < n; i++) {
    if (values[i].id < static_cast<uint64_t>(n)) o.Set(names[values[i].id].name, static_cast<double>(values[i].value));
  }
  return o;
}

Napi::Value Port::ResetStats(const Napi::CallbackInfo& info) {
  rte_eth_stats_reset(portId_);
  rte_eth_xstats_reset(portId_);
  return info.Env().Undefined();
}

Napi::Value Port::Rss(const Napi::CallbackInfo& info) { return RssObject(info.Env(), portId_); }

Napi::Value Port::State(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto lock = PortRegistry::Lock();
  const PortState& s = PortRegistry::Get(portId_);
  Napi::Object o = Napi::Object::New(env);
  o.Set("configured", s.configured);
  o.Set("started", s.started);
  o.Set("queues", s.rxQueues);
  o.Set("mtu", s.mtu);
  o.Set("offloads", s.offloads);
  o.Set("rxInterrupts", s.rxInterrupts);
  Napi::Array ready = Napi::Array::New(env, s.queueReady.size());
  for (size_t q = 0; q < s.queueReady.size(); q++) ready.Set(static_cast<uint32_t>(q), Napi::Boolean::New(env, s.queueReady[q]));
  o.Set("queuesAttached", ready);
  return o;
}

void Port::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Port",
                                    {
                                        InstanceAccessor<&Port::PortId>("portId"),
                                        InstanceMethod<&Port::Info>("info"),
                                        InstanceMethod<&Port::Configure>("configure"),
                                        InstanceMethod<&Port::Start>("start"),
                                        InstanceMethod<&Port::StartIfReady>("startIfReady"),
                                        InstanceMethod<&Port::Stop>("stop"),
                                        InstanceMethod<&Port::Close>("close"),
                                        InstanceMethod<&Port::IsStarted>("isStarted"),
                                        InstanceMethod<&Port::Link>("link"),
                                        InstanceMethod<&Port::WaitForLink>("waitForLink"),
                                        InstanceMethod<&Port::Stats>("stats"),
                                        InstanceMethod<&Port::Xstats>("xstats"),
                                        InstanceMethod<&Port::ResetStats>("resetStats"),
                                        InstanceMethod<&Port::Rss>("rss"),
                                        InstanceMethod<&Port::State>("state"),
                                        StaticMethod<&Port::ByName>("byName"),
                                    });
  exports.Set("Port", ctor);
}

}  // namespace shim
