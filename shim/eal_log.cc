// See eal_log.h.
#include "eal_log.h"

#include <rte_log.h>

#include <cstdio>
#include <deque>
#include <mutex>

namespace shim {

namespace {

std::mutex gMutex;
std::deque<std::string> gLines;
std::string gPartial;
uint64_t gNextSeq = 0;  // sequence number of the line after gLines.back()
bool gEcho = false;
FILE* gStream = nullptr;

ssize_t WriteCookie(void*, const char* buf, size_t size) {
  std::lock_guard<std::mutex> lock(gMutex);
  if (gEcho) fwrite(buf, 1, size, stderr);
  for (size_t i = 0; i < size; i++) {
    if (buf[i] == '\n') {
      gLines.push_back(gPartial);
      gPartial.clear();
      gNextSeq++;
      if (gLines.size() > EalLog::kMaxLines) gLines.pop_front();
    } else {
      gPartial.push_back(buf[i]);
    }
  }
  return static_cast<ssize_t>(size);
}

template <typename Keep>
std::string Collect(uint64_t mark, const char* sep, Keep keep) {
  std::lock_guard<std::mutex> lock(gMutex);
  uint64_t first = gNextSeq - gLines.size();
  std::string out;
  for (size_t i = 0; i < gLines.size(); i++) {
    if (first + i < mark || !keep(gLines[i])) continue;
    if (!out.empty()) out += sep;
    out += gLines[i];
  }
  return out;
}

}  // namespace

void EalLog::Install() {
  std::lock_guard<std::mutex> lock(gMutex);
  if (gStream != nullptr) return;
  cookie_io_functions_t fns = {nullptr, WriteCookie, nullptr, nullptr};
  gStream = fopencookie(nullptr, "w", fns);
  if (gStream == nullptr) return;  // DPDK keeps logging to stderr; errors then quote nothing
  setvbuf(gStream, nullptr, _IOLBF, 0);
  rte_openlog_stream(gStream);
}

void EalLog::SetEcho(bool echo) {
  std::lock_guard<std::mutex> lock(gMutex);
  gEcho = echo;
}

uint64_t EalLog::Mark() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gNextSeq;
}

std::string EalLog::Since(uint64_t mark) {
  return Collect(mark, "\n", [](const std::string&) { return true; });
}

std::string EalLog::SinceMatching(uint64_t mark, const std::string& needle) {
  return Collect(mark, "; ", [&](const std::string& line) { return line.find(needle) != std::string::npos; });
}

}  // namespace shim
