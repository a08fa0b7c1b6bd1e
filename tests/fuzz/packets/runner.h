// The forwarder loaded with the fuzz catalogue, run one frame at a time through
// BPF_PROG_TEST_RUN with the counters read around every run.
#pragma once

#include <array>
#include <span>

#include "catalogue.h"
#include "checker.h"
#include "harness.h"

namespace julier::fuzz {

class Runner {
public:
    explicit Runner(uint64_t catalogue_seed);

    // One run. Returns 0, or the negative errno of a run the kernel refused (the
    // outcome then holds only the counter deltas, which must all be zero).
    // With a flow, its connection table entry is read before and after.
    int run(std::span<const uint8_t> frame, Outcome& o, const jl_flow_key* flow = nullptr);
    // Make a generation live (its side: generation & 1).
    void set_generation(uint32_t g) { lb_.set_active(g); }
    // Connection table entries for the pooled clients' flows to the services with a
    // port: most name a backend of the service other than the ring's choice would be
    // (so that following the table shows), some a draining backend (kept), a down one
    // or another service (re-picked).
    void seed_flows();
    jl_service_traffic service_stats(uint32_t id) const { return lb_.service_stats(id); }
    jl_backend_traffic backend_stats(uint32_t id) const { return lb_.backend_stats(id); }
    // Largest frame BPF_PROG_TEST_RUN takes for XDP here, and the largest it hands to
    // the program in one buffer (the rest goes to fragments the program cannot see).
    // Both found by bisection at start.
    size_t max_frame() const { return max_frame_; }
    size_t linear_frame() const { return linear_frame_; }
    const Catalogue& catalogue() const { return cat_; }

private:
    Catalogue cat_;
    test::LbHarness lb_;
    std::array<jl_traffic, JL_CNT_COUNT> last_{};
    size_t max_frame_ = 0;
    size_t linear_frame_ = 0;
};

}  // namespace julier::fuzz
