// Capture of DPDK's log output.
//
// Guarantees: once installed, every line DPDK logs is kept in a bounded buffer (the last
// kMaxLines lines; older ones are discarded) so errors can quote what EAL said about a
// failure; lines are echoed to stderr only when echo is on. Thread-safe: DPDK logs from its
// own threads too.
#pragma once

#include <cstdint>
#include <string>

namespace shim {

class EalLog {
 public:
  static constexpr size_t kMaxLines = 200;

  /** Routes DPDK's log stream here (idempotent). Call before rte_eal_init. */
  static void Install();
  static void SetEcho(bool echo);
  /** Sequence number of the next line, to read only what was logged after a point. */
  static uint64_t Mark();
  /** Lines logged since `mark` (at most kMaxLines), joined with "\n". */
  static std::string Since(uint64_t mark);
  /** Lines logged since `mark` that contain `needle`, joined with "; ". */
  static std::string SinceMatching(uint64_t mark, const std::string& needle);
};

}  // namespace shim
