// See cloexec.h.
#include "cloexec.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>

namespace shim {

namespace {

// Descriptors of this process without FD_CLOEXEC, with the file each refers to (a number
// closed and reused during the guarded call then reads as a new descriptor). /proc/self/fd
// is read through opendir, whose own descriptor is close-on-exec and so never listed.
template <typename Visit>
void ForEachInheritable(Visit visit) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return;
  int own = dirfd(dir);
  while (struct dirent* e = readdir(dir)) {
    char* end = nullptr;
    long n = strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || n < 0 || n == own) continue;
    int fd = static_cast<int>(n);
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0 || (flags & FD_CLOEXEC) != 0) continue;
    struct stat st;
    if (fstat(fd, &st) != 0) continue;
    visit(fd, st, flags);
  }
  closedir(dir);
}

}  // namespace

InheritanceGuard::InheritanceGuard() {
  ForEachInheritable([this](int fd, const struct stat& st, int) { before_.push_back({fd, st.st_dev, st.st_ino}); });
}

InheritanceGuard::~InheritanceGuard() {
  ForEachInheritable([this](int fd, const struct stat& st, int flags) {
    bool existed = std::any_of(before_.begin(), before_.end(), [&](const Descriptor& b) {
      return b.fd == fd && b.dev == st.st_dev && b.ino == st.st_ino;
    });
    if (!existed) fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  });
}

}  // namespace shim
