// One RX/TX queue pair of a port, bound to one stack instance's frame rings.
//
// Guarantees: created on the thread that will poll it (which is registered with EAL for its
// mempool cache); `rx()` is one native call per burst: it receives up to rxSlots frames and
// fills RX descriptors 0..n-1 (copying into the slots, or, in zero-copy mode, pointing the
// descriptor at the mbuf's data, which lives inside the instance's linear memory and stays
// valid until the next `rx()` or `tx()`); `tx(m)` is one native call per burst: it copies
// TX descriptors 0..m-1 into mbufs (or, for a frame the stack rewrote in place inside a
// received zero-copy frame, sends that frame's own mbuf without a copy), asks the port for the offloads each descriptor requests
// (computing in software what the port lacks), and sends them. Nothing allocates on the hot
// path, nothing reads outside linear memory whatever the descriptors say, and every frame not
// passed on is counted by reason. `close()` (or the thread's exit) makes sure no device
// writes into the zero-copy region any more (stopping the queue, or the port, of a device
// that DMAs into it) before the memory holding it can go away. On a port configured with
// rxInterrupts, `waitForFrames(ms)` sleeps off the event loop (in an AsyncWorker) until the
// queue has traffic or the time passed, so an idle worker need not poll.
#pragma once

#include <napi.h>

#include <rte_mbuf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace shim {

/** An epoll file descriptor, closed when the last holder lets go. */
struct EpollFd {
  int fd;
  explicit EpollFd(int f) : fd(f) {}
  ~EpollFd();
  EpollFd(const EpollFd&) = delete;
  EpollFd& operator=(const EpollFd&) = delete;
};

struct QueueCounters {
  uint64_t rxFrames = 0;
  uint64_t rxBytes = 0;
  uint64_t rxZeroCopy = 0;
  uint64_t rxCopied = 0;
  uint64_t rxDropOversize = 0;
  uint64_t txFrames = 0;
  uint64_t txBytes = 0;
  uint64_t txInPlace = 0;
  uint64_t txDropBadDescriptor = 0;
  uint64_t txDropNoMbuf = 0;
  uint64_t txDropBadOffload = 0;
  uint64_t txDropTsoUnsupported = 0;
  uint64_t txDropTsoRefused = 0;
  uint64_t txDropPrepare = 0;
  uint64_t txDropQueueFull = 0;
  uint64_t txDropPortStopped = 0;
  uint64_t txSoftwareIpCsum = 0;
  uint64_t txSoftwareL4Csum = 0;
};

class Queue : public Napi::ObjectWrap<Queue> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit Queue(const Napi::CallbackInfo& info);
  ~Queue() override;

 private:
  Napi::Value Rx(const Napi::CallbackInfo& info);
  Napi::Value Tx(const Napi::CallbackInfo& info);
  Napi::Value AttachMemory(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value ZeroCopy(const Napi::CallbackInfo& info);
  Napi::Value ZeroCopyReason(const Napi::CallbackInfo& info);
  Napi::Value WaitForFrames(const Napi::CallbackInfo& info);
  Napi::Value StartWait(const Napi::CallbackInfo& info);
  static Napi::Value Plan(const Napi::CallbackInfo& info);

  void SetMemory(Napi::Env env, const Napi::Value& memory);
  void CreatePool(Napi::Env env, const Napi::Object& opts);
  uint32_t Deliver(struct rte_mbuf* m, uint32_t k);
  void CreateTsoPool(Napi::Env env, const char* name, uint32_t txDescs, int socket);
  struct rte_mbuf* CopyOut(const uint8_t* src, uint32_t len, struct rte_mbuf* head, struct rte_mempool* pool);
  bool ApplyOffloads(struct rte_mbuf* m, uint32_t flags, uint32_t l2, uint32_t l3, uint32_t l4, uint32_t mss);
  void ReleaseHeld();
  uint32_t ElementOf(const struct rte_mbuf* m) const;
  struct rte_mbuf* TakeHeldInPlace(uint8_t* frame, uint32_t len);
  void Shutdown();
  void FreePool();
  static void CleanupHook(void* arg);

  uint16_t port_ = 0;
  uint16_t queue_ = 0;
  uint8_t* base_ = nullptr;
  size_t memBytes_ = 0;
  uint32_t rxDesc_ = 0, rxSlots_ = 0, rxSlotBytes_ = 0;
  uint32_t txDesc_ = 0, txSlots_ = 0, txSlotBytes_ = 0;
  /** The RX slot address of each descriptor (the copying path's destination). */
  std::vector<uint32_t> rxSlotAddr_;
  struct rte_mempool* pool_ = nullptr;
  /** Ordinary (direct-buffer) mbufs for TSO frames on a zero-copy queue: a driver that segments
   *  in software (net_tap's GSO) attaches indirect mbufs to the frame, and with the pinned
   *  external buffers of the zero-copy pool that crashed the process (SIGSEGV in the driver's
   *  rte_pktmbuf_free_bulk, measured on DPDK 22.11). Null unless zero-copy with TSO. */
  struct rte_mempool* tsoPool_ = nullptr;
  bool zeroCopy_ = false;
  std::string zeroCopyReason_;
  uint8_t* zcBegin_ = nullptr;
  uint8_t* zcEnd_ = nullptr;
  uint32_t portOffloads_ = 0;
  /** RX mbufs whose data the stack reads in place, freed at the next rx() or tx(). */
  std::vector<struct rte_mbuf*> held_;
  uint32_t heldCount_ = 0;
  /** Per zero-copy element: 1 + its index in held_, 0 when not held. */
  std::vector<uint32_t> heldSlot_;
  uint32_t eltBytes_ = 0;
  bool inPlaceTx_ = false;
  std::vector<struct rte_mbuf*> burst_;
  /** Frame lengths of burst_ entries on transmit. */
  std::vector<uint32_t> lens_;
  /** The zero-copy region is DMA-mapped for the device. */
  bool dmaMapped_ = false;
  /** The device writes buffers by DMA (it is not on the vdev bus). */
  bool deviceDma_ = false;
  QueueCounters c_;
  /** The epoll instance this queue's RX interrupt is registered with (shared with waits in flight). */
  std::shared_ptr<EpollFd> epoll_;
  bool closed_ = false;
  bool hookRegistered_ = false;
  napi_env env_ = nullptr;
};

}  // namespace shim
