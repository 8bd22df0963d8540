// Keeping DPDK's file descriptors out of child processes.
//
// Guarantees: every descriptor that DPDK (EAL or a poll-mode driver) opens inside the scope
// of an `InheritanceGuard` is close-on-exec when the guard ends, so a process spawned later
// (a server a test starts, curl, a shell) inherits none of them. DPDK opens its descriptors
// without O_CLOEXEC; a child holding net_tap's /dev/net/tun descriptor keeps the tap
// interface (and its name) alive after this process closed the port or exited, and one
// holding EAL's memory file keeps that memory allocated.
//
// Which descriptors: those that appear during the guarded DPDK call without FD_CLOEXEC
// (compared with a snapshot taken when the guard starts), not only /dev/net/tun ones. Every
// descriptor EAL and the drivers open (tun queues, netlink and ioctl sockets, the interrupt
// pipe, eventfds, timerfd, the memory file) is one a child has no use for, and a list of
// "dangerous" kinds would miss the next driver's. Node and libuv open everything with
// O_CLOEXEC already, so a descriptor another thread opens meanwhile is left as it was; only
// a descriptor some other native code opens inheritable in that same window would be marked
// as well, which a spawned child could not have relied on anyway (Node passes descriptors to
// children explicitly, through `stdio`). Descriptors that existed before the call, stdio and
// any inherited on purpose from a parent included, are never touched.
#pragma once

#include <sys/types.h>

#include <vector>

namespace shim {

class InheritanceGuard {
 public:
  /** Notes the descriptors that are inheritable now. */
  InheritanceGuard();
  /** Marks close-on-exec every inheritable descriptor that was not there at construction. */
  ~InheritanceGuard();
  InheritanceGuard(const InheritanceGuard&) = delete;
  InheritanceGuard& operator=(const InheritanceGuard&) = delete;

 private:
  struct Descriptor {
    int fd;
    dev_t dev;
    ino_t ino;
  };
  std::vector<Descriptor> before_;
};

}  // namespace shim
