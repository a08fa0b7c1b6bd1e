#include "common/descriptors.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

namespace julier::common {
namespace {

// The kernel's record for getdents64 (glibc 2.36 has no wrapper).
struct LinuxDirent64 {
    std::uint64_t d_ino;
    std::int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
};

// -1 unless `name` is a decimal number.
long parse_fd(const char* name) {
    if (*name == '\0') return -1;
    long value = 0;
    for (; *name != '\0'; ++name) {
        if (*name < '0' || *name > '9' || value > (1L << 30)) return -1;
        value = value * 10 + (*name - '0');
    }
    return value;
}

// Closes what /proc/self/fd lists; false when it cannot be read.
bool close_listed(unsigned lowest) {
    const int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return false;
    alignas(8) char buffer[4096];
    bool ok = true;
    for (;;) {
        const long n = syscall(SYS_getdents64, dir, buffer, sizeof buffer);
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        for (long offset = 0; offset < n;) {
            const auto* entry = reinterpret_cast<const LinuxDirent64*>(buffer + offset);
            offset += entry->d_reclen;
            const long fd = parse_fd(entry->d_name);
            if (fd >= static_cast<long>(lowest) && fd != dir) ::close(static_cast<int>(fd));
        }
    }
    ::close(dir);
    return ok;
}

}  // namespace

bool set_close_on_exec(int fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    return flags >= 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
}

void close_from(unsigned lowest) {
    if (syscall(SYS_close_range, lowest, ~0u, 0u) == 0) return;
    if (close_listed(lowest)) return;
    rlimit limit{};
    rlim_t top = 1u << 16;
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < (1u << 20))
        top = limit.rlim_cur;
    for (rlim_t fd = lowest; fd < top; ++fd) ::close(static_cast<int>(fd));
}

}  // namespace julier::common
