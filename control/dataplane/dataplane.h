// The forwarder as the control plane sees it: load or adopt the pinned BPF object,
// attach it to interfaces, apply plans atomically, read counters and live state.
// The only place in the control plane that touches the forwarder's maps.
//
// Threads: apply(), attach(), detach() and teardown() from one thread at a time;
// read_counters(), live_state(), read_ring(), generation(), pick_flow() and
// read_flows() only read maps and may run concurrently with them (e.g. from a metrics
// scrape thread or the connection-table walker); delete_flows() writes jl_flows
// only, which nothing else of the control plane writes, and may run there too.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/limits.h"
#include "dataplane/flow_pick.h"
#include "flows/flow_table.h"
#include "julier/abi.h"
#include "plan/ids.h"
#include "plan/plan.h"

namespace julier::dataplane {

class DataplaneError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Map sizes fixed at load time: the catalogue's `limits`, the same type.
using Limits = config::Limits;

struct Options {
    std::string pin_dir = JL_PIN_DIR;
    Limits limits;
    // Pinned state of another ABI version or other limits is refused unless this is
    // set; then it is detached and unpinned first (established flows are lost).
    bool replace_incompatible = false;
};

enum class AttachMode { native, generic };  // driver XDP | generic (skb) XDP

struct ApplyResult {
    std::uint32_t generation = 0;  // now live
    bool full_write = false;       // the side was written whole (first apply after open)
    std::size_t services_written = 0;
    std::size_t backends_written = 0;
    std::size_t ring_slots_written = 0;
    std::size_t keys_deleted = 0;
    std::size_t filter_words_written = 0;
    std::chrono::microseconds waited{0};  // for the side's readers to finish
};

struct LiveService {
    jl_vip_key key{};
    jl_vip vip{};
};

struct LiveBackend {
    std::uint32_t id = 0;
    jl_backend entry{};
};

// What the forwarder holds now: the active side only.
struct LiveState {
    std::uint32_t generation = 0;  // 0 = nothing applied yet
    std::uint32_t side = 0;
    std::vector<LiveService> services;   // jl_vips of the active side
    std::vector<LiveService> frag_vips;  // jl_frag_vips of the active side
    std::vector<LiveBackend> backends;   // non-empty jl_backends of the active side
};

struct Traffic {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
};

struct BackendTraffic {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t new_flows = 0;
};

struct ServiceTraffic {
    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint64_t new_flows = 0;
    std::uint64_t nonsyn_miss = 0;
};

// Counters summed over every possible CPU.
struct Counters {
    std::array<Traffic, JL_CNT_COUNT> reasons{};  // indexed by enum jl_counter
    std::vector<ServiceTraffic> services;         // indexed by service id
    std::vector<BackendTraffic> backends;         // indexed by backend id
};

class Dataplane {
public:
    // Adopts the pinned forwarder under options.pin_dir when it is compatible,
    // else loads a fresh one and pins it. Throws DataplaneError (an incompatible pin
    // names both versions and how to clear it).
    static std::unique_ptr<Dataplane> open(const Options& options);

    // Closes descriptors only: pins and attachments stay, so forwarding and the
    // connection table outlive the daemon.
    ~Dataplane();
    Dataplane(const Dataplane&) = delete;
    Dataplane& operator=(const Dataplane&) = delete;

    bool adopted() const;  // open() found compatible pins
    const Limits& limits() const;
    const std::string& pin_dir() const;
    int program_fd() const;  // for BPF_PROG_TEST_RUN in tests

    // Attaches the forwarder; a no-op when it already runs there (after a restart).
    // Replaces an older julier program on that interface in place. Throws when
    // another program occupies the interface.
    void attach(const std::string& ifname, AttachMode mode);
    // Removes the forwarder from the interface; a no-op when it is not there.
    void detach(const std::string& ifname);
    // Interfaces where this forwarder runs now (found by program id).
    std::vector<std::string> attached_interfaces() const;

    // Writes the plan into the inactive side and makes it live with one u32 write.
    // Throws DataplaneError on a map write failure; the live side is then untouched.
    ApplyResult apply(const plan::Plan& plan);

    std::uint32_t generation() const;
    LiveState live_state() const;
    std::vector<std::uint32_t> read_ring(std::uint32_t side, std::uint32_t offset, std::uint32_t size) const;
    std::optional<jl_flow> lookup_flow(const jl_flow_key& key) const;
    std::size_t count_flows() const;
    // The backend a flow uses or would get now (see flow_pick.h).
    FlowPick pick_flow(const jl_flow_key& key) const;
    // One batch of the connection table's walk, up to `max` entries (a little more
    // when one hash bucket holds more), into `out`, starting at `token` (none: the
    // table's start). Returns the token of the next batch, none when the walk ended.
    // Reads only: the forwarder's LRU order is not touched.
    std::optional<std::uint32_t> read_flows(std::optional<std::uint32_t> token, std::size_t max,
                                            std::vector<flows::FlowEntry>& out) const;
    // Removes these connection-table entries (absent ones are no error).
    void delete_flows(std::span<const jl_flow_key> keys);
    Counters read_counters() const;

    // The ids the live forwarder uses, for make_plan after an adopt.
    plan::IdAllocator live_ids() const;

    // Detaches from every interface it runs on and removes every pin; the object
    // is unusable afterwards.
    void teardown();
    // The same for whatever julier forwarder is pinned under pin_dir, without
    // loading one (for clearing incompatible pins).
    static void teardown(const std::string& pin_dir);

private:
    struct Impl;
    explicit Dataplane(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace julier::dataplane
