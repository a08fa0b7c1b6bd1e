#include "runner.h"

#include <bpf/bpf.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>

namespace julier::fuzz {

namespace {

int test_run(int prog_fd, std::span<const uint8_t> frame, test::Bytes& out, int& verdict) {
    out.assign(frame.size() + 4096, 0);  // room for pushed headers
    bpf_test_run_opts opts{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<uint32_t>(out.size());
    opts.repeat = 1;
    int rc = bpf_prog_test_run_opts(prog_fd, &opts);
    if (rc) {
        out.clear();
        return rc < 0 ? rc : -errno;
    }
    out.resize(opts.data_size_out);
    verdict = static_cast<int>(opts.retval);
    return 0;
}

}  // namespace

Runner::Runner(uint64_t catalogue_seed) : cat_(catalogue_seed), lb_(Catalogue::sizes()) {
    cat_.install(lb_);
    // Bisections over frames the program passes untouched (ethertype 0: not IP): the
    // largest the kernel takes, and the largest whose every byte the program counts.
    test::Bytes out;
    int verdict = 0;
    auto accepted = [&](size_t n) { return test_run(lb_.prog_fd(), test::Bytes(n, 0), out, verdict) == 0; };
    auto whole = [&](size_t n) {
        uint64_t before = lb_.counter(JL_CNT_PASS_NOT_IP).bytes;
        return accepted(n) && lb_.counter(JL_CNT_PASS_NOT_IP).bytes - before == n;
    };
    auto bisect = [](size_t lo, size_t hi, auto ok) {  // ok(lo), !ok(hi)
        while (lo + 1 < hi) {
            size_t mid = (lo + hi) / 2;
            (ok(mid) ? lo : hi) = mid;
        }
        return lo;
    };
    max_frame_ = bisect(14, size_t(1) << 24, accepted);
    linear_frame_ = bisect(14, max_frame_ + 1, whole);
    seed_flows();
    last_ = lb_.counters();
}

void Runner::seed_flows() {
    const uint64_t now = test::mono_ns();
    uint32_t n = 0;
    for (const Service& s : cat_.services()) {
        if (s.spec.port == 0 || s.spec.slots == 0) continue;
        for (const Addr& c : pooled_clients(s.family))
            for (uint16_t port : pooled_ports()) {
                jl_flow_key k{};
                std::memcpy(k.src, c.data(), 16);
                std::memcpy(k.dst, s.vip.data(), 16);
                k.sport = htons(port);
                k.dport = htons(s.spec.port);
                k.proto = s.spec.proto;
                k.family = uint8_t(s.family);
                n++;
                jl_flow f{s.spec.first_backend + n % s.spec.slots, s.spec.service_id, 0, 0, 0};
                if (n % 5 == 0) f.service_id = s.spec.service_id % uint32_t(cat_.services().size()) + 1;
                if (n % 5 == 1 && !s.draining.empty()) f.backend_id = s.draining[0];
                if (n % 5 == 2 && !s.down.empty()) f.backend_id = s.down[0];
                // Times: UDP last seen now, long ago, or at boot; TCP entries lingering
                // after a FIN (ends in a minute) or after an RST (ended), or plain.
                if (s.spec.proto == IPPROTO_UDP) {
                    const uint64_t timeout = uint64_t(s.spec.udp_idle_timeout_ms) * 1000000;
                    f.time_ns = n % 3 == 0 ? now : n % 3 == 1 ? now - 2 * timeout - 1 : 0;
                } else if (n % 7 == 3) {
                    f.flags = JL_FLOW_F_FIN;
                    f.time_ns = now + JL_TCP_FIN_LINGER_NS;
                } else if (n % 7 == 4) {
                    f.flags = JL_FLOW_F_RST;
                    f.time_ns = now - 1;
                }
                lb_.put_flow(k, f);
            }
    }
}

int Runner::run(std::span<const uint8_t> frame, Outcome& o, const jl_flow_key* flow) {
    if (flow) o.flow_before = lb_.flow(*flow);
    o.t_before = test::coarse_ns();
    int rc = test_run(lb_.prog_fd(), frame, o.out, o.verdict);
    o.t_after = test::mono_ns();
    if (flow) o.flow_after = lb_.flow(*flow);
    auto now = lb_.counters();
    for (uint32_t c = 0; c < JL_CNT_COUNT; c++) {
        o.delta[c].packets = now[c].packets - last_[c].packets;
        o.delta[c].bytes = now[c].bytes - last_[c].bytes;
    }
    last_ = now;
    return rc;
}

}  // namespace julier::fuzz
