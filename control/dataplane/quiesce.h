// Waiting until no packet still reads a retired side.
//
// A packet reads jl_active once and then only that side's maps, all within one
// run of the forwarder. After jl_active flips, runs that began earlier may still
// read the old side for the microseconds they take. Before that side is rewritten
// they must have finished.
//
// The kernel offers an exact wait: an update of a map-in-map from user space
// returns only after an RCU grace period (kernel/bpf/syscall.c,
// maybe_wait_bpf_programs), and every XDP run is an RCU read-side section. So a
// one-slot ARRAY_OF_MAPS owned by the control plane, written once, is a barrier
// for every forwarder run that began before it. Should that map be refused, the
// fallback is a plain wait of `grace` after the flip, which is orders of magnitude
// longer than a run.
#pragma once

#include <chrono>

#include "dataplane/map_io.h"

namespace julier::dataplane {

class Quiescer {
public:
    explicit Quiescer(std::chrono::microseconds grace);

    // Returns once no run that began before `retired_at` can still be running.
    // Returns how long it waited.
    std::chrono::microseconds wait_since(std::chrono::steady_clock::time_point retired_at);

    bool exact() const { return static_cast<bool>(outer_); }

private:
    std::chrono::microseconds grace_;
    Fd inner_;
    Fd outer_;
};

}  // namespace julier::dataplane
