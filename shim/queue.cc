// See queue.h.
#include "queue.h"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_epoll.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mempool.h>
#include <rte_memory.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstring>
#include <string>

#include "cloexec.h"
#include "eal.h"
#include "errors.h"
#include "port.h"
#include "port_registry.h"

namespace shim {

namespace {

// Descriptor layout (assembly/frame/rings.ts): 32 bytes, little-endian.
constexpr uint32_t kDescSize = 32;
constexpr uint32_t kDAddr = 0;
constexpr uint32_t kDLen = 4;
constexpr uint32_t kDFlags = 8;
constexpr uint32_t kDRss = 12;
constexpr uint32_t kDL2 = 16;
constexpr uint32_t kDL3 = 17;
constexpr uint32_t kDL4 = 18;
constexpr uint32_t kDTsoMss = 20;

// RX descriptor flags (rings.ts RxFlag).
constexpr uint32_t kRxIpCsumGood = 1u << 0;
constexpr uint32_t kRxIpCsumBad = 1u << 1;
constexpr uint32_t kRxL4CsumGood = 1u << 2;
constexpr uint32_t kRxL4CsumBad = 1u << 3;
constexpr uint32_t kRxRssValid = 1u << 4;

// TX descriptor flags (rings.ts TxFlag).
constexpr uint32_t kTxIpv4 = 1u << 0;
constexpr uint32_t kTxIpCsum = 1u << 1;
constexpr uint32_t kTxTcpCsum = 1u << 2;
constexpr uint32_t kTxUdpCsum = 1u << 3;
constexpr uint32_t kTxTso = 1u << 4;

constexpr uint16_t kRxChunk = 64;
constexpr int kTxAttempts = 4;
constexpr uint32_t kPageBytes = 4096;
constexpr uint32_t kMinEthernetFrame = 14;

std::atomic<uint32_t> gPoolSerial{0};

// Sleeps in the thread pool until the queue's RX interrupt fires or the time passes; resolves
// with whether it fired. The interrupt is armed only for the wait (rte_eth_dev_rx_intr_enable
// then disable), as DPDK's power-saving examples do.
class FrameWaiter : public Napi::AsyncWorker {
 public:
  FrameWaiter(Napi::Env env, uint16_t port, uint16_t queue, std::shared_ptr<EpollFd> epoll, int timeoutMs)
      : Napi::AsyncWorker(env), port_(port), queue_(queue), epoll_(std::move(epoll)), timeoutMs_(timeoutMs),
        deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override {
    int rc = rte_eth_dev_rx_intr_enable(port_, queue_);
    // Drivers whose interrupt is the queue's own descriptor (net_tap) have nothing to arm.
    if (rc != 0 && rc != -ENOTSUP) {
      SetError("wasm-tcpip: rte_eth_dev_rx_intr_enable failed (" + DpdkErrorText(rc) + ")");
      return;
    }
    struct rte_epoll_event event;
    fired_ = rte_epoll_wait(epoll_->fd, &event, 1, timeoutMs_) > 0;
    rte_eth_dev_rx_intr_disable(port_, queue_);
  }
  void OnOK() override { deferred_.Resolve(Napi::Boolean::New(Env(), fired_)); }
  void OnError(const Napi::Error& e) override {
    e.Value().Set("code", Napi::String::New(Env(), code::kPort));
    deferred_.Reject(e.Value());
  }

 private:
  uint16_t port_;
  uint16_t queue_;
  std::shared_ptr<EpollFd> epoll_;
  int timeoutMs_;
  bool fired_ = false;
  Napi::Promise::Deferred deferred_;
};

inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void Store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
/** Stores a checksum as computed (already in network order) at an unaligned place. */
inline void StoreSum(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

uint32_t RxFlags(const struct rte_mbuf* m) {
  uint32_t f = 0;
  uint64_t ip = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (ip == RTE_MBUF_F_RX_IP_CKSUM_GOOD) f |= kRxIpCsumGood;
  if (ip == RTE_MBUF_F_RX_IP_CKSUM_BAD) f |= kRxIpCsumBad;
  uint64_t l4 = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_GOOD) f |= kRxL4CsumGood;
  if (l4 == RTE_MBUF_F_RX_L4_CKSUM_BAD) f |= kRxL4CsumBad;
  if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) f |= kRxRssValid;
  return f;
}

/** Sizes of a queue's mempool: enough mbufs for the port's RX ring, the TX ring, frames
 *  in flight in a burst, those held for zero-copy, and every lcore's cache. */
struct PoolPlan {
  uint32_t mbufs;
  uint32_t cache;
  uint16_t dataRoom;    // headroom included
  uint16_t eltBytes;    // zero-copy element (cache-line multiple)
  uint64_t zeroCopyBytes;
};

PoolPlan MakePlan(uint32_t rxDescs, uint32_t txDescs, uint32_t rxSlots, uint32_t txSlots, uint32_t rxSlotBytes,
                  uint32_t mbufsAsked) {
  PoolPlan p;
  p.cache = 128;
  uint32_t need = rxDescs + txDescs + 2 * rxSlots + 2 * txSlots + 2 * p.cache;
  p.mbufs = mbufsAsked != 0 ? mbufsAsked : need;
  uint32_t room = std::max<uint32_t>(rxSlotBytes, RTE_MBUF_DEFAULT_DATAROOM) + RTE_PKTMBUF_HEADROOM;
  p.dataRoom = static_cast<uint16_t>(std::min<uint32_t>(room, UINT16_MAX - RTE_CACHE_LINE_SIZE));
  p.eltBytes = static_cast<uint16_t>(RTE_ALIGN_CEIL(p.dataRoom, RTE_CACHE_LINE_SIZE));
  p.zeroCopyBytes = RTE_ALIGN_CEIL(static_cast<uint64_t>(p.mbufs) * p.eltBytes, kPageBytes);
  return p;
}

struct Layout {
  uint32_t rxDesc, rxSlots, rxSlotBytes, txDesc, txSlots, txSlotBytes;
};

Layout ReadLayout(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) ThrowCoded(env, code::kInvalidArgType, "layout must be the stack's FrameRings object");
  Napi::Object o = v.As<Napi::Object>();
  Layout l;
  l.rxDesc = RequireUint(env, o, "rxDesc", 1, UINT32_MAX);
  l.rxSlots = RequireUint(env, o, "rxSlots", 1, 4096);
  l.rxSlotBytes = RequireUint(env, o, "rxSlotBytes", 60, 65536);
  l.txDesc = RequireUint(env, o, "txDesc", 1, UINT32_MAX);
  l.txSlots = RequireUint(env, o, "txSlots", 1, 4096);
  l.txSlotBytes = RequireUint(env, o, "txSlotBytes", 60, 65536 + 128);
  return l;
}

}  // namespace

Queue::Queue(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Queue>(info) {
  Napi::Env env = info.Env();
  port_ = Port::RequirePort(env, info[0]);
  uint32_t q = ArgUint(info, 1, "queue", 0, 1023);
  queue_ = static_cast<uint16_t>(q);
  SetMemory(env, info[2]);
  Layout l = ReadLayout(env, info[3]);
  Napi::Object opts = info[4].IsObject() ? info[4].As<Napi::Object>() : Napi::Object::New(env);
  rxDesc_ = l.rxDesc; rxSlots_ = l.rxSlots; rxSlotBytes_ = l.rxSlotBytes;
  txDesc_ = l.txDesc; txSlots_ = l.txSlots; txSlotBytes_ = l.txSlotBytes;
  if (static_cast<uint64_t>(rxDesc_) + static_cast<uint64_t>(rxSlots_) * kDescSize > memBytes_ ||
      static_cast<uint64_t>(txDesc_) + static_cast<uint64_t>(txSlots_) * kDescSize > memBytes_) {
    ThrowCoded(env, code::kInvalidArgValue, "the ring descriptors lie outside the memory given: pass the instance's own memory");
  }
  rxSlotAddr_.resize(rxSlots_);
  for (uint32_t i = 0; i < rxSlots_; i++) {
    uint32_t a = Load32(base_ + rxDesc_ + i * kDescSize + kDAddr);
    if (static_cast<uint64_t>(a) + rxSlotBytes_ > memBytes_) {
      ThrowCoded(env, code::kInvalidArgValue, "RX slot " + std::to_string(i) + " lies outside the memory given: call init() on the stack first");
    }
    rxSlotAddr_[i] = a;
  }
  Eal::RegisterThread(env);

  auto lock = PortRegistry::Lock();
  PortState& s = PortRegistry::Get(port_);
  if (!s.configured) ThrowCoded(env, code::kState, "port " + std::to_string(port_) + " is not configured: call port.configure() before attaching queues");
  if (s.started) ThrowCoded(env, code::kState, "port " + std::to_string(port_) + " is started: attach every queue before port.start()");
  if (queue_ >= s.rxQueues) {
    ThrowCoded(env, code::kQueues, "queue " + std::to_string(queue_) + " does not exist: the port was configured with " +
                                       std::to_string(s.rxQueues) + " queues (configure more, one per worker)");
  }
  if (s.queueReady[queue_]) ThrowCoded(env, code::kState, "queue " + std::to_string(queue_) + " is already attached to another link: each queue has one owner");
  portOffloads_ = s.offloads;
  // Creating the pool may map new memory files (hugepages with --in-memory), and net_tap opens
  // a /dev/net/tun descriptor per queue at setup: none of them is for child processes.
  InheritanceGuard keepFromChildren;
  CreatePool(env, opts);

  int socket = rte_eth_dev_socket_id(port_);
  if (socket < 0) socket = SOCKET_ID_ANY;
  struct rte_eth_dev_info dev;
  rte_eth_dev_info_get(port_, &dev);
  struct rte_eth_conf conf;
  rte_eth_dev_conf_get(port_, &conf);
  struct rte_eth_rxconf rxconf = dev.default_rxconf;
  rxconf.offloads = conf.rxmode.offloads;
  struct rte_eth_txconf txconf = dev.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  int rc = rte_eth_rx_queue_setup(port_, queue_, s.rxDescs, socket, &rxconf, pool_);
  if (rc == 0) rc = rte_eth_tx_queue_setup(port_, queue_, s.txDescs, socket, &txconf);
  if (rc != 0) {
    FreePool();
    ThrowCoded(env, code::kPort, "queue " + std::to_string(queue_) + " setup failed (" + DpdkErrorText(rc) + "): check rxDescs/txDescs against the port's limits", -rc);
  }
  s.queueReady[queue_] = true;
  lock.unlock();

  held_.resize(rxSlots_);
  burst_.resize(std::max<uint32_t>(kRxChunk, txSlots_));
  lens_.resize(burst_.size());
  env_ = env;
  napi_add_env_cleanup_hook(env, CleanupHook, this);
  hookRegistered_ = true;
}

Queue::~Queue() {
  Shutdown();
  if (hookRegistered_) napi_remove_env_cleanup_hook(env_, CleanupHook, this);
}

void Queue::CleanupHook(void* arg) {
  auto* self = static_cast<Queue*>(arg);
  self->hookRegistered_ = false;
  self->Shutdown();
}

void Queue::SetMemory(Napi::Env env, const Napi::Value& memory) {
  uint8_t* base;
  size_t bytes;
  if (memory.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = memory.As<Napi::ArrayBuffer>();
    base = static_cast<uint8_t*>(ab.Data());
    bytes = ab.ByteLength();
  } else if (memory.IsTypedArray() && memory.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    // A shared memory's SharedArrayBuffer is reachable only through a view (FACTS.md).
    Napi::Uint8Array u8 = memory.As<Napi::Uint8Array>();
    base = u8.Data();
    bytes = u8.ByteLength();
  } else {
    ThrowCoded(env, code::kInvalidArgType, "memory must be the instance's memory.buffer (or a Uint8Array over all of it)");
  }
  if (zeroCopy_ && base != base_) {
    ThrowCoded(env, code::kMemory, "the stack's linear memory moved while mbuf buffers live in it: this platform cannot do zero-copy, create the link with zeroCopy: false");
  }
  base_ = base;
  memBytes_ = bytes;
}

void Queue::CreatePool(Napi::Env env, const Napi::Object& opts) {
  PortState& s = PortRegistry::Get(port_);
  uint32_t mbufsAsked = OptionalUint(env, opts, "mbufs", 0, 1u << 20, 0);
  PoolPlan plan = MakePlan(s.rxDescs, s.txDescs, rxSlots_, txSlots_, rxSlotBytes_, mbufsAsked);
  char name[RTE_MEMPOOL_NAMESIZE];
  snprintf(name, sizeof(name), "wt%u_%u_%u", port_, queue_, gPoolSerial.fetch_add(1));
  int socket = rte_eth_dev_socket_id(port_);
  if (socket < 0) socket = SOCKET_ID_ANY;

  uint32_t zcOffset = OptionalUint(env, opts, "zeroCopyOffset", 0, UINT32_MAX, 0);
  uint32_t zcBytes = OptionalUint(env, opts, "zeroCopyBytes", 0, UINT32_MAX, 0);
  if (zcOffset != 0) {
    if (zcBytes < plan.zeroCopyBytes || zcOffset % kPageBytes != 0 || static_cast<uint64_t>(zcOffset) + zcBytes > memBytes_) {
      ThrowCoded(env, code::kInvalidArgValue, "the zero-copy region (offset " + std::to_string(zcOffset) + ", " + std::to_string(zcBytes) +
                                                  " bytes) must be page-aligned, inside the memory and at least Queue.plan().zeroCopyBytes (" +
                                                  std::to_string(plan.zeroCopyBytes) + ") long");
    }
    uint8_t* region = base_ + zcOffset;
    bool va = rte_eal_iova_mode() == RTE_IOVA_VA;
    rte_iova_t iova = va ? reinterpret_cast<rte_iova_t>(region) : RTE_BAD_IOVA;
    int rc = rte_extmem_register(region, zcBytes, nullptr, 0, kPageBytes);
    bool registered = rc == 0 || rte_errno == EEXIST;
    struct rte_eth_dev_info dev;
    rte_eth_dev_info_get(port_, &dev);
    // A virtual device (vdev bus) moves frames with the CPU and needs nothing more; a device
    // that DMAs needs the region mapped for it, at IOVA == VA.
    deviceDma_ = std::string(rte_bus_name(rte_dev_bus(dev.device))) != "vdev";
    bool mapped = false;
    if (registered && !deviceDma_) {
      mapped = true;
    } else if (registered) {
      dmaMapped_ = va && rte_dev_dma_map(dev.device, region, iova, zcBytes) == 0;
      mapped = dmaMapped_;
    }
    if (!registered) {
      zeroCopyReason_ = "rte_extmem_register failed (" + DpdkErrorText(rte_errno) + ")";
    } else if (!mapped) {
      zeroCopyReason_ = "the device cannot DMA into the stack's memory (IOVA mode " + std::string(va ? "VA" : "PA") + ")";
    } else {
      struct rte_pktmbuf_extmem ext = {region, iova, zcBytes, plan.eltBytes};
      pool_ = rte_pktmbuf_pool_create_extbuf(name, plan.mbufs, plan.cache, 0, plan.dataRoom, socket, &ext, 1);
      if (pool_ != nullptr) {
        zeroCopy_ = true;
        zcBegin_ = region;
        zcEnd_ = region + zcBytes;
        eltBytes_ = plan.eltBytes;
        heldSlot_.assign(zcBytes / plan.eltBytes, 0);
        inPlaceTx_ = OptionalBool(opts, "inPlaceTx", true);
        if (portOffloads_ & offload::kTxTso) CreateTsoPool(env, name, s.txDescs, socket);
        return;
      }
      zeroCopyReason_ = "rte_pktmbuf_pool_create_extbuf failed (" + DpdkErrorText(rte_errno) + ")";
    }
    if (dmaMapped_) rte_dev_dma_unmap(dev.device, region, iova, zcBytes);
    dmaMapped_ = false;
    if (registered) rte_extmem_unregister(region, zcBytes);
  } else {
    zeroCopyReason_ = "no zero-copy region was given";
  }
  pool_ = rte_pktmbuf_pool_create(name, plan.mbufs, plan.cache, 0, plan.dataRoom, socket);
  if (pool_ == nullptr) {
    ThrowCoded(env, code::kMemory, "cannot create a pool of " + std::to_string(plan.mbufs) + " mbufs (" + DpdkErrorText(rte_errno) +
                                       "): give EAL more memory (`memoryMb`, or more hugepages) or use fewer/smaller slots");
  }
}

// Enough direct mbufs for the TX ring plus a burst of TSO frames of the largest slot, in
// segments of kTsoSegmentRoom bytes (a 64 KiB frame takes 8).
void Queue::CreateTsoPool(Napi::Env env, const char* name, uint32_t txDescs, int socket) {
  constexpr uint32_t kTsoSegmentRoom = 8192;
  uint32_t perFrame = (txSlotBytes_ + kTsoSegmentRoom - 1) / kTsoSegmentRoom;
  uint32_t mbufs = txDescs + perFrame * txSlots_;
  char tsoName[RTE_MEMPOOL_NAMESIZE];
  snprintf(tsoName, sizeof(tsoName), "%s_tso", name);
  tsoPool_ = rte_pktmbuf_pool_create(tsoName, mbufs, 32, 0, kTsoSegmentRoom + RTE_PKTMBUF_HEADROOM, socket);
  if (tsoPool_ == nullptr) {
    int err = rte_errno;
    FreePool();
    ThrowCoded(env, code::kMemory, "cannot create a pool of " + std::to_string(mbufs) + " mbufs for TSO frames (" + DpdkErrorText(err) +
                                       "): give EAL more memory (`memoryMb`, or more hugepages) or create the link with zeroCopy: false");
  }
}

Napi::Value Queue::Plan(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = Port::RequirePort(env, info[0]);
  Layout l = ReadLayout(env, info[1]);
  uint32_t mbufs = info[2].IsUndefined() ? 0 : ArgUint(info, 2, "mbufs", 1, 1u << 20);
  auto lock = PortRegistry::Lock();
  PortState& s = PortRegistry::Get(port);
  if (!s.configured) ThrowCoded(env, code::kState, "port " + std::to_string(port) + " is not configured: call port.configure() first");
  PoolPlan p = MakePlan(s.rxDescs, s.txDescs, l.rxSlots, l.txSlots, l.rxSlotBytes, mbufs);
  Napi::Object o = Napi::Object::New(env);
  o.Set("mbufs", p.mbufs);
  o.Set("dataRoom", p.dataRoom);
  o.Set("zeroCopyBytes", static_cast<double>(p.zeroCopyBytes));
  o.Set("zeroCopyAlign", kPageBytes);
  return o;
}

void Queue::ReleaseHeld() {
  if (heldCount_ == 0) return;
  uint32_t n = 0;
  for (uint32_t j = 0; j < heldCount_; j++) {
    struct rte_mbuf* m = held_[j];
    if (m == nullptr) continue;  // transmitted in place
    heldSlot_[ElementOf(m)] = 0;
    held_[n++] = m;
  }
  if (n > 0) rte_pktmbuf_free_bulk(held_.data(), n);
  heldCount_ = 0;
}

uint32_t Queue::ElementOf(const struct rte_mbuf* m) const {
  return static_cast<uint32_t>((static_cast<const uint8_t*>(m->buf_addr) - zcBegin_) / eltBytes_);
}

// A TX frame the stack wrote in place over a received frame (addr inside a held RX mbuf's
// buffer) leaves in that mbuf: no copy. Returns the mbuf, or nullptr when the frame is elsewhere.
struct rte_mbuf* Queue::TakeHeldInPlace(uint8_t* frame, uint32_t len) {
  if (!zeroCopy_ || !inPlaceTx_ || frame < zcBegin_ || frame + len > zcEnd_) return nullptr;
  uint32_t elt = static_cast<uint32_t>((frame - zcBegin_) / eltBytes_);
  uint32_t slot = heldSlot_[elt];
  if (slot == 0) return nullptr;
  struct rte_mbuf* m = held_[slot - 1];
  uint8_t* buf = static_cast<uint8_t*>(m->buf_addr);
  if (frame + len > buf + m->buf_len) return nullptr;
  held_[slot - 1] = nullptr;
  heldSlot_[elt] = 0;
  m->data_off = static_cast<uint16_t>(frame - buf);
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = len;
  m->ol_flags &= RTE_MBUF_F_EXTERNAL;  // drop the RX flags; the buffer stays the pinned external one
  m->packet_type = 0;
  return m;
}

// Writes RX descriptor k for mbuf m; returns the next free descriptor index.
uint32_t Queue::Deliver(struct rte_mbuf* m, uint32_t k) {
  uint32_t len = rte_pktmbuf_pkt_len(m);
  if (len > rxSlotBytes_) {
    c_.rxDropOversize++;
    rte_pktmbuf_free(m);
    return k;
  }
  uint8_t* d = base_ + rxDesc_ + k * kDescSize;
  uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
  Store32(d + kDLen, len);
  Store32(d + kDFlags, RxFlags(m));
  Store32(d + kDRss, m->hash.rss);
  if (zeroCopy_ && m->nb_segs == 1 && data >= zcBegin_ && data + len <= zcEnd_) {
    Store32(d + kDAddr, static_cast<uint32_t>(data - base_));
    heldSlot_[ElementOf(m)] = heldCount_ + 1;
    held_[heldCount_++] = m;
    c_.rxZeroCopy++;
  } else {
    uint32_t slot = rxSlotAddr_[k];
    uint8_t* dst = base_ + slot;
    for (const struct rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
      std::memcpy(dst, rte_pktmbuf_mtod(seg, const uint8_t*), seg->data_len);
      dst += seg->data_len;
    }
    Store32(d + kDAddr, slot);
    c_.rxCopied++;
    rte_pktmbuf_free(m);
  }
  c_.rxFrames++;
  c_.rxBytes += len;
  return k + 1;
}

Napi::Value Queue::Rx(const Napi::CallbackInfo& info) {
  ReleaseHeld();
  if (closed_ || !PortRegistry::Running(port_)) return Napi::Number::New(info.Env(), 0);
  uint32_t k = 0;
  while (k < rxSlots_) {
    uint16_t ask = static_cast<uint16_t>(std::min<uint32_t>(rxSlots_ - k, kRxChunk));
    uint16_t got = rte_eth_rx_burst(port_, queue_, burst_.data(), ask);
    for (uint16_t i = 0; i < got; i++) {
      rte_prefetch0(rte_pktmbuf_mtod(burst_[i], void*));
    }
    for (uint16_t i = 0; i < got; i++) k = Deliver(burst_[i], k);
    if (got < ask) break;
  }
  return Napi::Number::New(info.Env(), k);
}

// Copies a frame into `head` (already allocated), chaining more segments when it does not fit.
struct rte_mbuf* Queue::CopyOut(const uint8_t* src, uint32_t len, struct rte_mbuf* head, struct rte_mempool* pool) {
  uint32_t room = rte_pktmbuf_tailroom(head);
  uint32_t first = std::min(len, room);
  std::memcpy(rte_pktmbuf_mtod(head, uint8_t*), src, first);
  head->data_len = static_cast<uint16_t>(first);
  head->pkt_len = first;
  struct rte_mbuf* tail = head;
  uint32_t done = first;
  while (done < len) {
    struct rte_mbuf* seg = rte_pktmbuf_alloc(pool);
    if (seg == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    uint32_t n = std::min<uint32_t>(len - done, rte_pktmbuf_tailroom(seg));
    std::memcpy(rte_pktmbuf_mtod(seg, uint8_t*), src + done, n);
    seg->data_len = static_cast<uint16_t>(n);
    tail->next = seg;
    tail = seg;
    head->nb_segs++;
    head->pkt_len += n;
    done += n;
  }
  return head;
}

// Sets the mbuf's offload request from the descriptor, or computes in software what the port
// cannot do. The port's checksum offloads expect the IPv4 header checksum zeroed and the L4
// checksum field holding the pseudo-header sum (DPDK's rte_mbuf.h contract, as Linux's
// CHECKSUM_PARTIAL); both are written here so the stack need not know which path is taken.
bool Queue::ApplyOffloads(struct rte_mbuf* m, uint32_t flags, uint32_t l2, uint32_t l3, uint32_t l4, uint32_t mss) {
  bool wantL4 = (flags & (kTxTcpCsum | kTxUdpCsum)) != 0;
  bool tso = (flags & kTxTso) != 0;
  uint32_t l4Min = (flags & kTxUdpCsum) ? sizeof(struct rte_udp_hdr) : sizeof(struct rte_tcp_hdr);
  uint32_t needed = l2 + l3 + (wantL4 || tso ? std::max(l4, l4Min) : 0);
  if (l2 < kMinEthernetFrame || l3 < sizeof(struct rte_ipv4_hdr) || needed > m->data_len) {
    c_.txDropBadOffload++;
    return false;
  }
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  auto* ip = reinterpret_cast<struct rte_ipv4_hdr*>(frame + l2);
  if ((ip->version_ihl >> 4) != 4) {
    c_.txDropBadOffload++;
    return false;
  }
  if (tso && !(portOffloads_ & offload::kTxTso)) {
    c_.txDropTsoUnsupported++;
    return false;
  }
  m->l2_len = l2;
  m->l3_len = l3;
  m->l4_len = l4;
  uint64_t ol = 0;
  if ((flags & kTxIpCsum) || tso) {
    ip->hdr_checksum = 0;
    if (portOffloads_ & offload::kTxIpv4Csum) {
      ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    } else {
      ip->hdr_checksum = rte_ipv4_cksum(ip);
      c_.txSoftwareIpCsum++;
    }
  } else if (flags & kTxIpv4) {
    ol |= RTE_MBUF_F_TX_IPV4;
  }
  uint8_t* l4hdr = frame + l2 + l3;
  if (tso) {
    ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_SEG;
    m->tso_segsz = mss;
    m->ol_flags |= ol;
    StoreSum(l4hdr + offsetof(struct rte_tcp_hdr, cksum), rte_ipv4_phdr_cksum(ip, m->ol_flags));
    return true;
  }
  if (wantL4) {
    bool tcp = (flags & kTxTcpCsum) != 0;
    uint8_t* sumAt = l4hdr + (tcp ? offsetof(struct rte_tcp_hdr, cksum) : offsetof(struct rte_udp_hdr, dgram_cksum));
    uint32_t cap = tcp ? offload::kTxTcpCsum : offload::kTxUdpCsum;
    if (portOffloads_ & cap) {
      ol |= RTE_MBUF_F_TX_IPV4 | (tcp ? RTE_MBUF_F_TX_TCP_CKSUM : RTE_MBUF_F_TX_UDP_CKSUM);
      StoreSum(sumAt, rte_ipv4_phdr_cksum(ip, ol));
    } else {
      // The whole datagram must be in the first segment for the software sum.
      uint32_t ipLen = rte_be_to_cpu_16(ip->total_length);
      if (m->nb_segs != 1 || l2 + ipLen > m->data_len || ipLen < l3 + l4Min) {
        c_.txDropBadOffload++;
        return false;
      }
      StoreSum(sumAt, 0);
      StoreSum(sumAt, rte_ipv4_udptcp_cksum(ip, l4hdr));
      c_.txSoftwareL4Csum++;
    }
  }
  m->ol_flags |= ol;
  return true;
}

Napi::Value Queue::Tx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t count = info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  if (closed_ || count == 0) {
    ReleaseHeld();
    return Napi::Number::New(env, 0);
  }
  if (count > txSlots_) count = txSlots_;
  if (!PortRegistry::Running(port_)) {
    c_.txDropPortStopped += count;
    ReleaseHeld();
    return Napi::Number::New(env, 0);
  }
  struct rte_mbuf** out = burst_.data();
  bool bulk = rte_pktmbuf_alloc_bulk(pool_, out, count) == 0;
  uint32_t n = 0;
  for (uint32_t i = 0; i < count; i++) {
    const uint8_t* d = base_ + txDesc_ + i * kDescSize;
    uint32_t addr = Load32(d + kDAddr);
    uint32_t len = Load32(d + kDLen);
    uint32_t flags = Load32(d + kDFlags);
    struct rte_mbuf* spare = bulk ? out[i] : nullptr;
    if (len < kMinEthernetFrame || len > txSlotBytes_ || static_cast<uint64_t>(addr) + len > memBytes_) {
      c_.txDropBadDescriptor++;
      if (spare) rte_pktmbuf_free(spare);
      continue;
    }
    // A TSO frame never leaves in a pinned external buffer (see tsoPool_ in queue.h).
    bool directTso = tsoPool_ != nullptr && (flags & kTxTso) != 0;
    struct rte_mbuf* m = directTso ? nullptr : TakeHeldInPlace(base_ + addr, len);
    if (m != nullptr) {
      if (spare) rte_pktmbuf_free(spare);
      c_.txInPlace++;
    } else {
      struct rte_mempool* from = directTso ? tsoPool_ : pool_;
      if (directTso && spare) {
        rte_pktmbuf_free(spare);
        spare = nullptr;
      }
      m = spare ? spare : rte_pktmbuf_alloc(from);
      if (m == nullptr || CopyOut(base_ + addr, len, m, from) == nullptr) {
        c_.txDropNoMbuf++;
        continue;
      }
    }
    if ((flags & (kTxIpCsum | kTxTcpCsum | kTxUdpCsum | kTxTso)) != 0 &&
        !ApplyOffloads(m, flags, d[kDL2], d[kDL3], d[kDL4], d[kDTsoMss] | (d[kDTsoMss + 1] << 8))) {
      rte_pktmbuf_free(m);
      continue;
    }
    lens_[n] = len;
    out[n++] = m;
  }
  if (portOffloads_ != 0 && n > 0) {
    uint32_t ready = 0;
    while (ready < n) {
      uint16_t ok = rte_eth_tx_prepare(port_, queue_, out + ready, static_cast<uint16_t>(n - ready));
      ready += ok;
      if (ready < n) {  // the driver refused out[ready]: drop it, keep the rest
        c_.txDropPrepare++;
        rte_pktmbuf_free(out[ready]);
        std::memmove(out + ready, out + ready + 1, (n - ready - 1) * sizeof(out[0]));
        std::memmove(&lens_[ready], &lens_[ready + 1], (n - ready - 1) * sizeof(lens_[0]));
        n--;
      }
    }
  }
  // A driver stops a burst at the first frame it does not take. A TSO frame it refuses twice
  // in a row (net_tap: a piece and its headers over the MTU, or too many pieces) is dropped
  // alone and counted, and the rest of the burst goes on; any other stall is a full ring, and
  // after kTxAttempts calls without progress the rest of the burst is dropped.
  uint32_t next = 0;
  uint32_t sent = 0;
  int stalls = 0;
  while (next < n && stalls < kTxAttempts) {
    uint16_t took = rte_eth_tx_burst(port_, queue_, out + next, static_cast<uint16_t>(n - next));
    for (uint32_t i = next; i < next + took; i++) c_.txBytes += lens_[i];
    sent += took;
    next += took;
    if (next == n) break;
    stalls = took > 0 ? 0 : stalls + 1;
    if (stalls >= 2 && (out[next]->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0) {
      c_.txDropTsoRefused++;
      rte_pktmbuf_free(out[next]);
      next++;
      stalls = 0;
    }
  }
  if (next < n) {
    c_.txDropQueueFull += n - next;
    rte_pktmbuf_free_bulk(out + next, n - next);
  }
  c_.txFrames += sent;
  ReleaseHeld();
  return Napi::Number::New(env, sent);
}

EpollFd::~EpollFd() {
  if (fd >= 0) close(fd);
}

// Errors reject the returned promise rather than throw: callers handle one failure path.
Napi::Value Queue::WaitForFrames(const Napi::CallbackInfo& info) {
  try {
    return StartWait(info);
  } catch (const Napi::Error& e) {
    Napi::Promise::Deferred d = Napi::Promise::Deferred::New(info.Env());
    d.Reject(e.Value());
    return d.Promise();
  }
}

Napi::Value Queue::StartWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t timeoutMs = ArgUint(info, 0, "timeoutMs", 0, 3600000);
  if (closed_) ThrowCoded(env, code::kState, "the queue is closed");
  {
    auto lock = PortRegistry::Lock();
    const PortState& s = PortRegistry::Get(port_);
    if (!s.rxInterrupts) {
      ThrowCoded(env, code::kState, "port " + std::to_string(port_) + " was configured without rxInterrupts: configure it with rxInterrupts: true to wait for frames");
    }
    if (!s.started) ThrowCoded(env, code::kState, "port " + std::to_string(port_) + " is not started: start it before waiting for frames");
  }
  if (!epoll_) {
    // The queue's interrupt descriptor exists once the port started.
    int fd = epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) ThrowCoded(env, code::kPort, "epoll_create1 failed (" + DpdkErrorText(errno) + ")", errno);
    auto epoll = std::make_shared<EpollFd>(fd);
    int rc = rte_eth_dev_rx_intr_ctl_q(port_, queue_, fd, RTE_INTR_EVENT_ADD, nullptr);
    if (rc != 0) {
      ThrowCoded(env, code::kPort, "the driver cannot deliver RX interrupts for queue " + std::to_string(queue_) + " (" + DpdkErrorText(rc) +
                                       "): poll instead (configure the port without rxInterrupts)", -rc);
    }
    epoll_ = epoll;
  }
  auto* worker = new FrameWaiter(env, port_, queue_, epoll_, static_cast<int>(timeoutMs));
  Napi::Promise p = worker->Promise();
  worker->Queue();
  return p;
}

Napi::Value Queue::AttachMemory(const Napi::CallbackInfo& info) {
  SetMemory(info.Env(), info[0]);
  return info.Env().Undefined();
}

Napi::Value Queue::ZeroCopy(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), zeroCopy_); }

Napi::Value Queue::ZeroCopyReason(const Napi::CallbackInfo& info) {
  return zeroCopy_ ? info.Env().Null() : Napi::String::New(info.Env(), zeroCopyReason_);
}

Napi::Value Queue::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("rxFrames", static_cast<double>(c_.rxFrames));
  o.Set("rxBytes", static_cast<double>(c_.rxBytes));
  o.Set("rxZeroCopy", static_cast<double>(c_.rxZeroCopy));
  o.Set("rxCopied", static_cast<double>(c_.rxCopied));
  o.Set("rxDropOversize", static_cast<double>(c_.rxDropOversize));
  o.Set("txFrames", static_cast<double>(c_.txFrames));
  o.Set("txBytes", static_cast<double>(c_.txBytes));
  o.Set("txInPlace", static_cast<double>(c_.txInPlace));
  o.Set("txDropBadDescriptor", static_cast<double>(c_.txDropBadDescriptor));
  o.Set("txDropNoMbuf", static_cast<double>(c_.txDropNoMbuf));
  o.Set("txDropBadOffload", static_cast<double>(c_.txDropBadOffload));
  o.Set("txDropTsoUnsupported", static_cast<double>(c_.txDropTsoUnsupported));
  o.Set("txDropTsoRefused", static_cast<double>(c_.txDropTsoRefused));
  o.Set("txDropPrepare", static_cast<double>(c_.txDropPrepare));
  o.Set("txDropQueueFull", static_cast<double>(c_.txDropQueueFull));
  o.Set("txDropPortStopped", static_cast<double>(c_.txDropPortStopped));
  o.Set("txSoftwareIpCsum", static_cast<double>(c_.txSoftwareIpCsum));
  o.Set("txSoftwareL4Csum", static_cast<double>(c_.txSoftwareL4Csum));
  if (pool_ != nullptr) o.Set("mbufsFree", rte_mempool_avail_count(pool_));
  return o;
}

// Makes sure nothing writes into the zero-copy region any more before the memory holding it
// can go away: a device that DMAs into it (deviceDma_) has this queue stopped, or the whole
// port when its driver cannot stop one queue; a virtual device only touches mbufs when this
// queue is polled, which ends here. The pool is freed once every mbuf is back; one still in
// flight elsewhere (in a ring port's peer, in a NIC's RX ring) keeps it alive rather than let
// it be read after free.
void Queue::Shutdown() {
  if (closed_) return;
  closed_ = true;
  auto lock = PortRegistry::Lock();
  PortState& s = PortRegistry::Get(port_);
  if (s.started && zeroCopy_ && deviceDma_ && rte_eth_dev_rx_queue_stop(port_, queue_) != 0) {
    rte_eth_dev_stop(port_);
    PortRegistry::SetStarted(port_, false);
  }
  if (epoll_) {
    rte_eth_dev_rx_intr_ctl_q(port_, queue_, epoll_->fd, RTE_INTR_EVENT_DEL, nullptr);
    epoll_.reset();  // closed once no wait holds it any more
  }
  ReleaseHeld();
  if (pool_ != nullptr && rte_mempool_full(pool_) && (tsoPool_ == nullptr || rte_mempool_full(tsoPool_))) FreePool();
  pool_ = nullptr;
  tsoPool_ = nullptr;
  if (queue_ < s.queueReady.size()) s.queueReady[queue_] = false;
}

// Frees the pool and gives the zero-copy region back (DMA mapping, external memory).
void Queue::FreePool() {
  rte_mempool_free(pool_);
  pool_ = nullptr;
  rte_mempool_free(tsoPool_);
  tsoPool_ = nullptr;
  if (!zeroCopy_) return;
  if (dmaMapped_) {
    struct rte_eth_dev_info dev;
    rte_iova_t iova = rte_eal_iova_mode() == RTE_IOVA_VA ? reinterpret_cast<rte_iova_t>(zcBegin_) : RTE_BAD_IOVA;
    if (rte_eth_dev_info_get(port_, &dev) == 0) rte_dev_dma_unmap(dev.device, zcBegin_, iova, zcEnd_ - zcBegin_);
    dmaMapped_ = false;
  }
  rte_extmem_unregister(zcBegin_, zcEnd_ - zcBegin_);
}

Napi::Value Queue::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  return info.Env().Undefined();
}

void Queue::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function ctor = DefineClass(env, "Queue",
                                    {
                                        InstanceMethod<&Queue::Rx>("rx"),
                                        InstanceMethod<&Queue::Tx>("tx"),
                                        InstanceMethod<&Queue::AttachMemory>("attachMemory"),
                                        InstanceMethod<&Queue::Stats>("stats"),
                                        InstanceMethod<&Queue::Close>("close"),
                                        InstanceMethod<&Queue::WaitForFrames>("waitForFrames"),
                                        InstanceAccessor<&Queue::ZeroCopy>("zeroCopy"),
                                        InstanceAccessor<&Queue::ZeroCopyReason>("zeroCopyReason"),
                                        StaticMethod<&Queue::Plan>("plan"),
                                    });
  exports.Set("Queue", ctor);
}

}  // namespace shim
