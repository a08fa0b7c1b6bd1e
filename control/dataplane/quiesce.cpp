#include "dataplane/quiesce.h"

#include <bpf/bpf.h>

#include <thread>

namespace julier::dataplane {

Quiescer::Quiescer(std::chrono::microseconds grace) : grace_(grace) {
    inner_ = Fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, "jl_quiesce_in", sizeof(__u32), sizeof(__u32), 1, nullptr));
    if (!inner_) {
        return;
    }
    LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = static_cast<__u32>(inner_.get()));
    outer_ = Fd(bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "jl_quiesce", sizeof(__u32), sizeof(__u32), 1, &opts));
}

std::chrono::microseconds Quiescer::wait_since(std::chrono::steady_clock::time_point retired_at) {
    auto start = std::chrono::steady_clock::now();
    if (outer_) {
        __u32 key = 0;
        __u32 value = static_cast<__u32>(inner_.get());
        if (bpf_map_update_elem(outer_.get(), &key, &value, BPF_ANY) == 0) {
            return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
        }
        outer_ = Fd();  // refused once, refused always: use the timed wait from now on
    }
    auto until = retired_at + grace_;
    if (until > start) {
        std::this_thread::sleep_until(until);
    }
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace julier::dataplane
