// Helpers for root-only tests against the kernel: the root check, a temporary pin
// directory that is always removed (and ways to age the pins in it as another build
// would have left them), packets through BPF_PROG_TEST_RUN, and a forked child in its
// own network namespace (which vanishes with the child, whatever happens).
#pragma once

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <linux/bpf.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataplane/dataplane.h"
#include "dataplane/map_io.h"
#include "packet.h"

namespace julier::integration {

inline bool is_root() { return ::geteuid() == 0; }

// Opens a root-only test: ends it (passed, with a warning) when not run as root.
#define JULIER_SKIP_UNLESS_ROOT()                \
    do {                                         \
        if (!::julier::integration::is_root()) { \
            WARN("skipped: needs root");         \
            return;                              \
        }                                        \
    } while (false)

// /sys/fs/bpf/julier-test-<pid>-<n>, torn down (detach + unpin) when it goes.
class PinDir {
public:
    PinDir() {
        static std::atomic<int> counter{0};
        path_ = "/sys/fs/bpf/julier-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    }
    ~PinDir() {
        try {
            dataplane::Dataplane::teardown(path_);
        } catch (const std::exception& e) {
            std::fprintf(stderr, "cleanup of %s: %s\n", path_.c_str(), e.what());
        }
        ::rmdir(path_.c_str());
    }
    PinDir(const PinDir&) = delete;
    PinDir& operator=(const PinDir&) = delete;

    const std::string& path() const { return path_; }

private:
    std::string path_;
};

inline dataplane::Options options_for(const PinDir& pins) {
    dataplane::Options o;
    o.pin_dir = pins.path();
    o.limits.max_services = 16;
    o.limits.max_backends = 64;
    o.limits.ring_capacity = 1u << 18;
    o.limits.max_flows = 1u << 16;
    return o;
}

// Pins a fresh forwarder under pins and closes it again, leaving only the pins.
inline void pin_forwarder(const PinDir& pins) { dataplane::Dataplane::open(options_for(pins)).reset(); }

// Rewrites the ABI version in the pinned jl_meta, as another build would have left it.
inline void set_pinned_abi_version(const PinDir& pins, std::uint32_t version) {
    dataplane::Fd meta(bpf_obj_get((pins.path() + "/jl_meta").c_str()));
    __u32 zero = 0;
    jl_meta value{};
    if (!meta || bpf_map_lookup_elem(meta.get(), &zero, &value) != 0) {
        throw std::runtime_error("cannot read " + pins.path() + "/jl_meta");
    }
    value.abi_version = version;
    if (bpf_map_update_elem(meta.get(), &zero, &value, BPF_ANY) != 0) {
        throw std::runtime_error("cannot write " + pins.path() + "/jl_meta");
    }
}

// Replaces the pinned map `name` with a new one keyed by __u32 of the given shape, as
// an older build that laid the map out otherwise would have left it.
inline void replace_pinned_map(const PinDir& pins, const char* name, bpf_map_type type, std::uint32_t value_size,
                               std::uint32_t entries) {
    const std::string path = pins.path() + "/" + name;
    if (::unlink(path.c_str()) != 0) throw std::runtime_error("unlink " + path + ": " + std::strerror(errno));
    dataplane::Fd other(bpf_map_create(type, name, sizeof(__u32), value_size, entries, nullptr));
    if (!other || bpf_obj_pin(other.get(), path.c_str()) != 0) {
        throw std::runtime_error(std::string("cannot pin another ") + name + ": " + std::strerror(errno));
    }
}

struct RunResult {
    int action = -1;
    test::Bytes frame;
};

// One run of the program on a copy of `frame`.
inline RunResult run_packet(int prog_fd, const test::Bytes& frame) {
    RunResult result;
    result.frame.resize(frame.size() + 256);
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = result.frame.data(),
                .data_size_in = static_cast<__u32>(frame.size()),
                .data_size_out = static_cast<__u32>(result.frame.size()), .repeat = 1);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
        throw std::runtime_error(std::string("BPF_PROG_TEST_RUN: ") + std::strerror(errno));
    }
    result.action = static_cast<int>(opts.retval);
    result.frame.resize(opts.data_size_out);
    return result;
}

inline const test::Mac kClientMac{0x02, 0xcc, 0x00, 0x00, 0x00, 0x10};
inline const test::Mac kLbMac{0x02, 0xaa, 0x00, 0x00, 0x00, 0x01};
inline constexpr const char* kClient = "198.18.0.10";

// A TCP SYN from the client to vip:port.
inline test::Bytes syn(const std::string& vip, std::uint16_t port, std::uint16_t sport, const char* client = kClient) {
    return test::Packet().eth(kLbMac, kClientMac).ipv4(client, vip).tcp(sport, port).flags(test::kTcpSyn).build();
}

// The connection-table key of that SYN (as the client sent it).
inline jl_flow_key flow_key(const std::string& vip, std::uint16_t port, std::uint16_t sport,
                            const char* client = kClient) {
    jl_flow_key key{};
    auto src = test::ip4(client);
    auto dst = test::ip4(vip);
    std::memcpy(key.src, src.data(), 4);
    std::memcpy(key.dst, dst.data(), 4);
    key.sport = htons(sport);
    key.dport = htons(port);
    key.proto = IPPROTO_TCP;
    key.family = JL_FAMILY_V4;
    return key;
}

inline test::Mac dst_mac(const test::Bytes& frame) {
    test::Mac m{};
    std::memcpy(m.data(), frame.data(), 6);
    return m;
}

inline test::Mac src_mac(const test::Bytes& frame) {
    test::Mac m{};
    std::memcpy(m.data(), frame.data() + 6, 6);
    return m;
}

// Runs `body` in a forked child with a network namespace of its own and returns
// what it returned ("" = all good) or the exception it threw. The namespace and
// everything in it disappear when the child exits.
inline std::string in_private_netns(const std::function<std::string()>& body) {
    int fds[2];
    if (::pipe(fds) != 0) {
        return std::string("pipe: ") + std::strerror(errno);
    }
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) {
        return std::string("fork: ") + std::strerror(errno);
    }
    if (child == 0) {
        ::close(fds[0]);
        std::string message;
        try {
            if (::unshare(CLONE_NEWNET) != 0) {
                throw std::runtime_error(std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
            }
            message = body();
        } catch (const std::exception& e) {
            message = std::string("exception: ") + e.what();
        }
        std::size_t off = 0;
        while (off < message.size()) {
            ssize_t n = ::write(fds[1], message.data() + off, message.size() - off);
            if (n <= 0) break;
            off += static_cast<std::size_t>(n);
        }
        ::close(fds[1]);
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string message;
    char buffer[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buffer, sizeof(buffer))) > 0) {
        message.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        message += " (child ended with status " + std::to_string(status) + ")";
    }
    return message;
}

// Runs a shell command (in the caller's namespaces); throws with its output on failure.
inline std::string sh(const std::string& command) {
    std::string output;
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) {
        throw std::runtime_error("popen: " + command);
    }
    char buffer[512];
    while (std::fgets(buffer, sizeof(buffer), pipe)) {
        output += buffer;
    }
    int status = ::pclose(pipe);
    if (status != 0) {
        throw std::runtime_error("`" + command + "` failed: " + output);
    }
    return output;
}

}  // namespace julier::integration
