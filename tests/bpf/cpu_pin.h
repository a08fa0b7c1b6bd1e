// Keeps the calling thread on the CPU it runs on for a scope. BPF_PROG_TEST_RUN runs
// the program on the caller's CPU, so per-CPU state (counters, the flood window)
// then belongs to one CPU for the whole test.
#pragma once

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace julier::test {

class PinnedCpu {
public:
    PinnedCpu() {
        if (sched_getaffinity(0, sizeof(saved_), &saved_) != 0) fail("sched_getaffinity");
        cpu_ = sched_getcpu();
        if (cpu_ < 0) fail("sched_getcpu");
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu_, &one);
        if (sched_setaffinity(0, sizeof(one), &one) != 0) fail("sched_setaffinity");
    }
    // On a given CPU (which must be one this thread may run on).
    explicit PinnedCpu(int cpu) : cpu_(cpu) {
        if (sched_getaffinity(0, sizeof(saved_), &saved_) != 0) fail("sched_getaffinity");
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu_, &one);
        if (sched_setaffinity(0, sizeof(one), &one) != 0) fail("sched_setaffinity");
        if (sched_getcpu() != cpu_) fail("sched_getcpu");
    }
    ~PinnedCpu() { sched_setaffinity(0, sizeof(saved_), &saved_); }
    PinnedCpu(const PinnedCpu&) = delete;
    PinnedCpu& operator=(const PinnedCpu&) = delete;

    int cpu() const { return cpu_; }

private:
    [[noreturn]] static void fail(const char* what) {
        throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
    }
    cpu_set_t saved_{};
    int cpu_ = -1;
};

}  // namespace julier::test
