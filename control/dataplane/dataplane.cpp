#include "dataplane/dataplane.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <numeric>

#include "common/invariant.h"
#include "dataplane/library_log.h"
#include "dataplane/map_io.h"
#include "dataplane/mapped_array.h"
#include "dataplane/pins.h"
#include "dataplane/quiesce.h"
#include "dataplane/side_image.h"
#include "dataplane/xdp_attach.h"
#include "julier_lb.skel.h"

namespace julier::dataplane {

namespace {

using Clock = std::chrono::steady_clock;

// The connection table's clock (the forwarder reads its coarse variant, which lags by
// less than a tick: an entry looks that much older here, nothing at a linger's scale).
std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

// Fallback wait before rewriting a retired side when the exact RCU barrier is not
// available (see quiesce.h); a forwarder run takes microseconds.
constexpr std::chrono::milliseconds kRetireGrace{10};

// ---- the skeleton ---------------------------------------------------------------

struct SkeletonDeleter {
    void operator()(julier_lb* skel) const { julier_lb__destroy(skel); }
};
using Skeleton = std::unique_ptr<julier_lb, SkeletonDeleter>;

Skeleton open_skeleton() {
    Skeleton skel(julier_lb__open());
    if (!skel) {
        throw DataplaneError(std::string("cannot open the forwarder's BPF object: ") + std::strerror(errno));
    }
    return skel;
}

// Names of every map the forwarder pins (all but libbpf's internal .rodata etc.).
std::vector<std::string> pinned_map_names(const julier_lb& skel) {
    std::vector<std::string> names;
    bpf_map* map;
    bpf_object__for_each_map(map, skel.obj) {
        if (!bpf_map__is_internal(map)) {
            names.emplace_back(bpf_map__name(map));
        }
    }
    return names;
}

std::vector<std::string> all_pin_names(const julier_lb& skel) {
    std::vector<std::string> names = pinned_map_names(skel);
    names.emplace_back(kProgramPin);
    return names;
}

std::string describe(const Limits& l) { return config::to_string(l); }

// The catalogue's bounds keep every map within 32 bits of entries, both sides together.
consteval bool bounds_fit_maps() {
    using config::schema::Section;
    for (const char* key : {"max_services", "max_backends", "ring_capacity", "max_flows"})
        if (config::schema::field(Section::limits, key).max > UINT32_MAX / JL_SIDES) return false;
    return true;
}
static_assert(bounds_fit_maps());

void check_limits(const Limits& l) {
    common::invariant(config::within_bounds(l), "limits outside the catalogue's bounds reached the forwarder");
}

// Map sizes and .rodata for the limits; libbpf creates the maps with these.
void size_for(julier_lb& skel, const Limits& limits) {
    auto size = [](bpf_map* map, std::uint64_t entries) {
        int error = bpf_map__set_max_entries(map, static_cast<__u32>(entries));
        if (error) {
            throw DataplaneError(std::string("cannot size map ") + bpf_map__name(map) + ": " + std::strerror(-error));
        }
    };
    size(skel.maps.jl_vips, std::uint64_t{JL_SIDES} * limits.max_services);
    size(skel.maps.jl_frag_vips, std::uint64_t{JL_SIDES} * limits.max_services);
    size(skel.maps.jl_rings, std::uint64_t{JL_SIDES} * limits.ring_capacity);
    size(skel.maps.jl_backends, std::uint64_t{JL_SIDES} * limits.max_backends);
    size(skel.maps.jl_flows, limits.max_flows);
    size(skel.maps.jl_service_stats, limits.max_services);
    size(skel.maps.jl_backend_stats, limits.max_backends);
    skel.rodata->jl_cfg_max_backends = limits.max_backends;
    skel.rodata->jl_cfg_ring_capacity = limits.ring_capacity;
}

// A pinned map this build cannot reuse: another layout under the same ABI version
// (the version was not bumped) or a foreign file. Empty when all fit.
std::string pinned_map_mismatch(const std::string& pin_dir, const julier_lb& skel) {
    bpf_map* map;
    bpf_object__for_each_map(map, skel.obj) {
        if (bpf_map__is_internal(map) || !pin_exists(pin_dir, bpf_map__name(map))) {
            continue;
        }
        std::string path = pin_path(pin_dir, bpf_map__name(map));
        Fd fd(bpf_obj_get(path.c_str()));
        bpf_map_info info{};
        __u32 len = sizeof(info);
        if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) {
            return path + " is not a BPF map julierd can open";
        }
        if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
            info.value_size != bpf_map__value_size(map) || info.max_entries != bpf_map__max_entries(map) ||
            info.map_flags != bpf_map__map_flags(map)) {
            auto flags = [](std::uint32_t f) { return fmt::format("flags {:#x}", f); };
            return "its map " + std::string(bpf_map__name(map)) + " has " + std::to_string(info.max_entries) +
                   " entries of " + std::to_string(info.key_size) + "+" + std::to_string(info.value_size) + " bytes, " +
                   flags(info.map_flags) + ", where this julierd needs " + std::to_string(bpf_map__max_entries(map)) +
                   " of " + std::to_string(bpf_map__key_size(map)) + "+" + std::to_string(bpf_map__value_size(map)) +
                   ", " + flags(bpf_map__map_flags(map)) + " (a forwarder of another build with the same ABI version " +
                   std::to_string(JL_ABI_VERSION) + ")";
        }
    }
    return "";
}

// ---- what is pinned already -----------------------------------------------------

enum class PinState { none, incomplete, compatible, incompatible };

struct PinInspection {
    PinState state = PinState::none;
    std::string why;  // for incompatible / incomplete
};

PinInspection inspect_pins(const Options& options, const julier_lb& skel) {
    std::vector<std::string> names = all_pin_names(skel);
    PinInspection result;
    if (!pin_exists(options.pin_dir, "jl_meta")) {
        for (const std::string& name : names) {
            if (pin_exists(options.pin_dir, name)) {
                result.state = PinState::incomplete;
                result.why = "pins without jl_meta (a load that never finished)";
            }
        }
        return result;
    }
    Fd meta(bpf_obj_get(pin_path(options.pin_dir, "jl_meta").c_str()));
    if (!meta) {
        throw DataplaneError("cannot open " + pin_path(options.pin_dir, "jl_meta") + ": " + std::strerror(errno));
    }
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(meta.get(), &info, &len) != 0) {
        throw DataplaneError(std::string("cannot inspect the pinned jl_meta: ") + std::strerror(errno));
    }
    if (info.value_size != sizeof(jl_meta) || info.key_size != sizeof(__u32)) {
        result.state = PinState::incompatible;
        result.why = "its jl_meta map has another layout (" + std::to_string(info.value_size) +
                     "-byte values), so it comes from a julier of another ABI version; this julierd has ABI "
                     "version " +
                     std::to_string(JL_ABI_VERSION);
        return result;
    }
    jl_meta value{};
    __u32 zero = 0;
    if (bpf_map_lookup_elem(meta.get(), &zero, &value) != 0) {
        throw DataplaneError(std::string("cannot read the pinned jl_meta: ") + std::strerror(errno));
    }
    if (value.abi_version == 0) {
        result.state = PinState::incomplete;
        result.why = "jl_meta was never written (a load that never finished)";
        return result;
    }
    if (value.abi_version != JL_ABI_VERSION) {
        result.state = PinState::incompatible;
        result.why = "it has ABI version " + std::to_string(value.abi_version) + " and this julierd has ABI version " +
                     std::to_string(JL_ABI_VERSION);
        return result;
    }
    Limits pinned{value.max_services, value.max_backends, value.ring_capacity, value.max_flows};
    if (!(pinned == options.limits)) {
        result.state = PinState::incompatible;
        result.why = "it was loaded with other limits (" + describe(pinned) + ") than configured now (" +
                     describe(options.limits) + ")";
        return result;
    }
    if (std::string mismatch = pinned_map_mismatch(options.pin_dir, skel); !mismatch.empty()) {
        result.state = PinState::incompatible;
        result.why = mismatch;
        return result;
    }
    result.state = PinState::compatible;
    return result;
}

// Which interfaces run the forwarder that uses the pinned jl_meta.
ForwarderIdentity pinned_identity(const std::string& pin_dir, Fd& meta_fd, Fd& prog_fd) {
    ForwarderIdentity identity;
    if (pin_exists(pin_dir, "jl_meta")) {
        meta_fd = Fd(bpf_obj_get(pin_path(pin_dir, "jl_meta").c_str()));
        if (meta_fd) {
            identity.meta_map_id = map_id(meta_fd.get());
        }
    }
    if (pin_exists(pin_dir, kProgramPin)) {
        prog_fd = Fd(bpf_obj_get(pin_path(pin_dir, kProgramPin).c_str()));
        if (prog_fd) {
            identity.prog_fd = prog_fd.get();
            identity.prog_id = program_id(prog_fd.get());
        }
    }
    return identity;
}

std::string incompatible_message(const Options& options, const std::string& why) {
    Fd meta_fd;
    Fd prog_fd;
    std::vector<std::string> interfaces;
    try {
        interfaces = forwarder_interfaces(pinned_identity(options.pin_dir, meta_fd, prog_fd));
    } catch (const DataplaneError&) {
        // The advice below still holds without the interface list.
    }
    std::string detach;
    std::string list;
    for (const std::string& name : interfaces) {
        detach += "ip link set dev " + name + " xdp off; ";
        list += (list.empty() ? "" : ", ") + name;
    }
    std::string running = list.empty() ? "" : " It is attached to " + list + " and still forwarding.";
    return "the forwarder pinned under " + options.pin_dir + " cannot be adopted: " + why + "." + running +
           " julierd does not discard it on its own, since that drops its connection table. To replace it, run: " +
           detach + "rm -r " + options.pin_dir +
           " and start julierd again (or go back to the julier version or "
           "limits it was loaded with)";
}

bool same_program(int a_fd, int b_fd) {
    bpf_prog_info a{};
    bpf_prog_info b{};
    __u32 len = sizeof(a);
    if (bpf_obj_get_info_by_fd(a_fd, &a, &len) != 0) {
        return false;
    }
    len = sizeof(b);
    if (bpf_obj_get_info_by_fd(b_fd, &b, &len) != 0) {
        return false;
    }
    return std::memcmp(a.tag, b.tag, sizeof(a.tag)) == 0;
}

}  // namespace

// ---- the object -----------------------------------------------------------------

struct Dataplane::Impl {
    Options options;
    bool adopted = false;
    bool torn_down = false;
    Skeleton skel;
    Fd adopted_program;  // the running program, when it is our code already
    int prog_fd = -1;
    ForwarderIdentity identity;
    unsigned cpus = 1;

    MapRef active, meta, vips, frag_vips, rings, backends, flows, vip_filter, settings;
    MapRef service_stats, backend_stats, counters;  // value_size covers every CPU
    MappedArray ring_slots;                         // jl_rings in memory: both sides, JL_SIDES * ring_capacity
    mutable bool flow_batches_unsupported = false;  // the kernel has no batch lookup of jl_flows

    // What each side holds; nullopt when not known (read back before writing).
    std::array<std::optional<SideImage>, JL_SIDES> images;
    // When a side stopped being live and no barrier has run since.
    std::array<std::optional<Clock::time_point>, JL_SIDES> retired_at;
    Quiescer quiescer{kRetireGrace};

    MapRef map_ref(bpf_map* map, bool percpu) const {
        MapRef ref;
        ref.fd = bpf_map__fd(map);
        ref.name = bpf_map__name(map);
        ref.key_size = bpf_map__key_size(map);
        ref.value_size = percpu ? percpu_stride(bpf_map__value_size(map)) * cpus : bpf_map__value_size(map);
        return ref;
    }

    void usable() const {
        if (torn_down) {
            throw DataplaneError("the forwarder was torn down");
        }
    }

    std::uint32_t read_generation() const {
        __u32 zero = 0;
        __u32 generation = 0;
        if (!lookup_element(active, &zero, &generation)) {
            throw DataplaneError("jl_active has no entry 0");
        }
        return generation;
    }

    SideImage read_side(std::uint32_t side) const;
    void load(bool adopt);
    void write_side(std::uint32_t side, const SideWrites& writes);
    void reset_fresh_counters(const plan::Plan& plan, std::uint32_t live);
};

// An id the live side does not hold carries no traffic: the side being written has
// no readers left (the quiescer saw to that), and the live side cannot name it. A
// plan that hands such an id to a service or backend starts its counters at zero;
// otherwise a recycled id would pass a removed backend's totals to its successor.
void Dataplane::Impl::reset_fresh_counters(const plan::Plan& plan, std::uint32_t live) {
    if (!images[live]) {
        images[live] = read_side(live);
    }
    const SideImage& now = *images[live];
    // Flat sets by id: a plan of many backends would otherwise search a tree per id.
    std::vector<bool> live_services(options.limits.max_services, false);
    for (const auto& [key, vip] : now.vips) {
        if (vip.service_id < live_services.size()) live_services[vip.service_id] = true;
    }
    std::vector<bool> live_backends(options.limits.max_backends, false);
    for (const auto& [id, entry] : now.backends) {
        if (id < live_backends.size()) live_backends[id] = true;
    }
    std::vector<__u32> services, backends;
    for (const auto& service : plan.services) {
        if (service.id >= live_services.size() || !live_services[service.id]) {
            services.push_back(service.id);
        }
        for (const auto& backend : service.backends) {
            if (backend.id >= live_backends.size() || !live_backends[backend.id]) {
                backends.push_back(backend.id);
            }
        }
    }
    auto zero = [](const MapRef& map, const std::vector<__u32>& keys) {
        if (keys.empty()) {
            return;
        }
        std::vector<std::uint8_t> zeros(map.value_size * keys.size(), 0);
        update_elements(map, keys.data(), zeros.data(), keys.size());
    };
    zero(service_stats, services);
    zero(backend_stats, backends);
}

SideImage Dataplane::Impl::read_side(std::uint32_t side) const {
    SideImage image;
    image.rings_known = false;
    auto read_table = [side](const MapRef& map, VipTable& table) {
        std::vector<std::uint8_t> keys = map_keys(map);
        for (std::size_t at = 0; at + sizeof(jl_vip_key) <= keys.size(); at += sizeof(jl_vip_key)) {
            jl_vip_key key;
            std::memcpy(&key, keys.data() + at, sizeof(key));
            jl_vip value{};
            if (key.side == side && lookup_element(map, &key, &value)) {
                table[key] = value;
            }
        }
    };
    jl_settings value{};
    if (lookup_element(settings, &side, &value)) {
        image.settings = value;
    }
    read_table(vips, image.vips);
    read_table(frag_vips, image.frag_vips);
    std::uint32_t count = options.limits.max_backends;
    std::vector<jl_backend> entries(count);
    read_array(backends, side * count, count, entries.data());
    for (std::uint32_t id = 0; id < count; ++id) {
        if (entries[id].family != 0) {
            image.backends[id] = entries[id];
        }
    }
    return image;
}

void Dataplane::Impl::load(bool adopt) {
    const Limits& limits = options.limits;
    skel = open_skeleton();
    size_for(*skel, limits);

    // With a pin path set, libbpf reuses a compatible pinned map and pins a new one.
    for (const std::string& name : pinned_map_names(*skel)) {
        bpf_map* map = bpf_object__find_map_by_name(skel->obj, name.c_str());
        int error = bpf_map__set_pin_path(map, pin_path(options.pin_dir, name).c_str());
        if (error) {
            throw DataplaneError("cannot set the pin path of " + name + ": " + std::strerror(-error));
        }
    }

    CapturedWarnings log;
    int error = julier_lb__load(skel.get());
    if (error) {
        throw DataplaneError("cannot load the forwarder: " + std::string(std::strerror(-error)) +
                             (log.text().empty() ? "" : "\n" + log.tail()));
    }

    cpus = static_cast<unsigned>(std::max(1, libbpf_num_possible_cpus()));
    active = map_ref(skel->maps.jl_active, false);
    meta = map_ref(skel->maps.jl_meta, false);
    vips = map_ref(skel->maps.jl_vips, false);
    frag_vips = map_ref(skel->maps.jl_frag_vips, false);
    rings = map_ref(skel->maps.jl_rings, false);
    backends = map_ref(skel->maps.jl_backends, false);
    flows = map_ref(skel->maps.jl_flows, false);
    vip_filter = map_ref(skel->maps.jl_vip_filter, false);
    settings = map_ref(skel->maps.jl_settings, false);
    service_stats = map_ref(skel->maps.jl_service_stats, true);
    backend_stats = map_ref(skel->maps.jl_backend_stats, true);
    counters = map_ref(skel->maps.jl_counters, true);
    ring_slots = MappedArray(rings, std::size_t{JL_SIDES} * limits.ring_capacity);

    prog_fd = bpf_program__fd(skel->progs.julier_lb);
    std::string prog_pin = pin_path(options.pin_dir, kProgramPin);
    if (adopt && pin_exists(options.pin_dir, kProgramPin)) {
        Fd running(bpf_obj_get(prog_pin.c_str()));
        if (running && same_program(running.get(), prog_fd)) {
            // The same code on the same maps is running: keep it, so attach() finds
            // it in place and changes nothing.
            std::vector<std::uint32_t> used = program_map_ids(program_id(running.get()));
            std::uint32_t flows_id = map_id(flows.fd);
            if (std::find(used.begin(), used.end(), flows_id) != used.end()) {
                adopted_program = std::move(running);
                prog_fd = adopted_program.get();
            }
        }
    }
    if (!adopted_program) {
        // New code (or a fresh load): pin it; interfaces running an older julier
        // program are switched over by attach().
        if (::unlink(prog_pin.c_str()) != 0 && errno != ENOENT) {
            throw DataplaneError("cannot replace pin " + prog_pin + ": " + std::strerror(errno));
        }
        if (bpf_obj_pin(prog_fd, prog_pin.c_str()) != 0) {
            throw DataplaneError("cannot pin the forwarder at " + prog_pin + ": " + std::strerror(errno));
        }
    }
    identity.prog_fd = prog_fd;
    identity.prog_id = program_id(prog_fd);
    identity.meta_map_id = map_id(meta.fd);

    if (!adopt) {
        // Written last: a jl_meta with a version marks a finished load.
        jl_meta value{};
        value.abi_version = JL_ABI_VERSION;
        value.max_services = limits.max_services;
        value.max_backends = limits.max_backends;
        value.ring_capacity = limits.ring_capacity;
        value.max_flows = limits.max_flows;
        __u32 zero = 0;
        update_element(meta, &zero, &value);
        // Fresh maps are all zero: both sides known empty, nothing ever read them.
        images[0] = SideImage{};
        images[1] = SideImage{};
    } else {
        // The previous daemon may have written either side moments ago.
        std::uint32_t inactive = (read_generation() + 1) & 1;
        retired_at[inactive] = Clock::now();
    }
}

void Dataplane::Impl::write_side(std::uint32_t side, const SideWrites& writes) {
    const Limits& limits = options.limits;
    if (!writes.backend_writes.empty()) {
        std::vector<__u32> keys;
        std::vector<jl_backend> values;
        for (const auto& [id, entry] : writes.backend_writes) {
            keys.push_back(side * limits.max_backends + id);
            values.push_back(entry);
        }
        update_elements(backends, keys.data(), values.data(), keys.size());
    }
    // Rings through the mapping: plain stores into the inactive side, which no
    // forwarder run reads (quiesced); the flip's bpf(2) call comes after them.
    const std::size_t base = std::size_t{side} * limits.ring_capacity;
    for (const RingRangeWrite& range : writes.ring_ranges) {
        std::uint8_t* to = ring_slots.element(base + range.offset);
        const std::size_t stride = ring_slots.stride();
        for (std::uint32_t id : range.slots) {
            std::memcpy(to, &id, sizeof(id));
            to += stride;
        }
    }
    for (const auto& [slot, id] : writes.ring_writes) {
        std::memcpy(ring_slots.element(base + slot), &id, sizeof(id));
    }
    if (!writes.filter_writes.empty()) {
        std::vector<__u32> keys;
        std::vector<__u64> values;
        for (const auto& [word, value] : writes.filter_writes) {
            keys.push_back(side * JL_VIP_FILTER_WORDS + word);
            values.push_back(value);
        }
        update_elements(vip_filter, keys.data(), values.data(), keys.size());
    }
    auto write_table = [](const MapRef& map, const std::vector<std::pair<jl_vip_key, jl_vip>>& updates,
                          const std::vector<jl_vip_key>& deletes) {
        if (!updates.empty()) {
            std::vector<jl_vip_key> keys;
            std::vector<jl_vip> values;
            for (const auto& [key, value] : updates) {
                keys.push_back(key);
                values.push_back(value);
            }
            update_elements(map, keys.data(), values.data(), keys.size());
        }
        if (!deletes.empty()) {
            delete_elements(map, deletes.data(), deletes.size());
        }
    };
    write_table(vips, writes.vip_updates, writes.vip_deletes);
    write_table(frag_vips, writes.frag_updates, writes.frag_deletes);
    if (writes.settings_write) {
        update_element(settings, &side, &*writes.settings_write);
    }
}

Dataplane::Dataplane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Dataplane::~Dataplane() = default;

std::unique_ptr<Dataplane> Dataplane::open(const Options& options) {
    route_library_messages();
    check_limits(options.limits);
    prepare_pin_dir(options.pin_dir);

    Skeleton sized = open_skeleton();
    size_for(*sized, options.limits);
    PinInspection pins = inspect_pins(options, *sized);
    sized.reset();
    switch (pins.state) {
        case PinState::incompatible:
            if (!options.replace_incompatible) {
                throw DataplaneError(incompatible_message(options, pins.why));
            }
            spdlog::warn("dataplane replacing incompatible pins pin_dir={} reason=\"{}\"", options.pin_dir, pins.why);
            teardown(options.pin_dir);
            prepare_pin_dir(options.pin_dir);
            break;
        case PinState::incomplete:
            spdlog::warn("dataplane discarding unfinished pins pin_dir={} reason=\"{}\"", options.pin_dir, pins.why);
            teardown(options.pin_dir);
            prepare_pin_dir(options.pin_dir);
            break;
        case PinState::none:
        case PinState::compatible: break;
    }

    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->adopted = pins.state == PinState::compatible;
    impl->load(impl->adopted);
    return std::unique_ptr<Dataplane>(new Dataplane(std::move(impl)));
}

bool Dataplane::adopted() const { return impl_->adopted; }
const Limits& Dataplane::limits() const { return impl_->options.limits; }
const std::string& Dataplane::pin_dir() const { return impl_->options.pin_dir; }
int Dataplane::program_fd() const { return impl_->prog_fd; }

void Dataplane::attach(const std::string& ifname, AttachMode mode) {
    impl_->usable();
    attach_forwarder(impl_->identity, ifname, mode);
}

void Dataplane::detach(const std::string& ifname) {
    impl_->usable();
    detach_forwarder(impl_->identity, ifname);
}

std::vector<std::string> Dataplane::attached_interfaces() const {
    impl_->usable();
    return forwarder_interfaces(impl_->identity);
}

ApplyResult Dataplane::apply(const plan::Plan& plan) {
    Impl& d = *impl_;
    d.usable();
    ApplyResult result;
    std::uint32_t generation = d.read_generation();
    std::uint32_t live = generation & 1;
    std::uint32_t side = (generation + 1) & 1;

    if (d.retired_at[side]) {
        result.waited = d.quiescer.wait_since(*d.retired_at[side]);
        d.retired_at[side].reset();
    }
    if (!d.images[side]) {
        d.images[side] = d.read_side(side);
        result.full_write = true;
    }
    SideWrites writes = plan_side_writes(*d.images[side], plan, side, d.options.limits);
    // Until the writes are all done the side's content is uncertain.
    d.images[side].reset();
    d.write_side(side, writes);
    std::atomic_thread_fence(std::memory_order_seq_cst);  // the mapped ring stores before the flip
    d.images[side] = std::move(writes.result);
    d.reset_fresh_counters(plan, live);

    std::uint32_t next = generation + 1;
    __u32 zero = 0;
    update_element(d.active, &zero, &next);  // the one write that makes it live
    d.retired_at[live] = Clock::now();

    result.generation = next;
    result.services_written = writes.vip_updates.size();
    result.backends_written = writes.backend_writes.size();
    result.ring_slots_written = writes.ring_slots();
    result.keys_deleted = writes.vip_deletes.size() + writes.frag_deletes.size();
    result.filter_words_written = writes.filter_writes.size();
    return result;
}

std::uint32_t Dataplane::generation() const {
    impl_->usable();
    return impl_->read_generation();
}

LiveState Dataplane::live_state() const {
    const Impl& d = *impl_;
    d.usable();
    LiveState state;
    SideImage image;
    // A concurrent apply may flip meanwhile and start rewriting the side being
    // read: read again until the generation held still around the read.
    for (int attempt = 0;; ++attempt) {
        state.generation = d.read_generation();
        state.side = state.generation & 1;
        image = d.read_side(state.side);
        if (d.read_generation() == state.generation || attempt == 5) {
            break;
        }
    }
    for (const auto& [key, vip] : image.vips) {
        state.services.push_back(LiveService{key, vip});
    }
    for (const auto& [key, vip] : image.frag_vips) {
        state.frag_vips.push_back(LiveService{key, vip});
    }
    for (const auto& [id, entry] : image.backends) {
        state.backends.push_back(LiveBackend{id, entry});
    }
    return state;
}

std::vector<std::uint32_t> Dataplane::read_ring(std::uint32_t side, std::uint32_t offset, std::uint32_t size) const {
    const Impl& d = *impl_;
    d.usable();
    if (side >= JL_SIDES || std::uint64_t{offset} + size > d.options.limits.ring_capacity) {
        throw DataplaneError("ring range " + std::to_string(offset) + "+" + std::to_string(size) + " of side " +
                             std::to_string(side) + " is outside the rings");
    }
    std::vector<std::uint32_t> slots(size);
    const std::size_t first = std::size_t{side} * d.options.limits.ring_capacity + offset;
    for (std::uint32_t i = 0; i < size; ++i) {
        std::memcpy(&slots[i], d.ring_slots.element(first + i), sizeof(slots[i]));
    }
    return slots;
}

std::optional<jl_flow> Dataplane::lookup_flow(const jl_flow_key& key) const {
    impl_->usable();
    jl_flow flow{};
    if (!lookup_element(impl_->flows, &key, &flow)) {
        return std::nullopt;
    }
    return flow;
}

std::size_t Dataplane::count_flows() const {
    impl_->usable();
    return map_keys(impl_->flows).size() / sizeof(jl_flow_key);
}

FlowPick Dataplane::pick_flow(const jl_flow_key& key) const {
    const Impl& d = *impl_;
    d.usable();
    PickMaps maps{d.active.fd,
                  d.vips.fd,
                  d.flows.fd,
                  d.backends.fd,
                  d.rings.fd,
                  d.options.limits.max_backends,
                  d.options.limits.ring_capacity};
    return dataplane::pick_flow(maps, key, monotonic_ns());
}

std::optional<std::uint32_t> Dataplane::read_flows(std::optional<std::uint32_t> token, std::size_t max,
                                                   std::vector<flows::FlowEntry>& out) const {
    const Impl& d = *impl_;
    d.usable();
    out.clear();
    max = std::max<std::size_t>(max, 1);
    const std::uint64_t now = monotonic_ns();
    if (!d.flow_batches_unsupported) {
        std::vector<jl_flow_key> keys(max);
        std::vector<jl_flow> values(max);
        for (;;) {
            LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = 0, .flags = 0);
            // A hash map's batch token is the bucket to go on at.
            __u32 in = token.value_or(0);
            __u32 next = 0;
            auto count = static_cast<__u32>(keys.size());
            int rc = bpf_map_lookup_batch(d.flows.fd, token ? &in : nullptr, &next, keys.data(), values.data(), &count,
                                          &opts);
            const int error = rc != 0 ? errno : 0;
            if (error == ENOSPC && count == 0) {  // one bucket holds more than the batch
                keys.resize(keys.size() * 2);
                values.resize(values.size() * 2);
                continue;
            }
            if (error != 0 && error != ENOENT) {
                if (error == EINVAL || error == EOPNOTSUPP || error == 524) {
                    d.flow_batches_unsupported = true;
                    break;
                }
                throw DataplaneError(std::string("cannot read jl_flows: ") + std::strerror(error));
            }
            for (__u32 i = 0; i < count; ++i)
                out.push_back(flows::FlowEntry{keys[i], flows::flow_value(keys[i], values[i], now)});
            if (error == ENOENT) return std::nullopt;  // the end of the table
            return next;
        }
    }
    // Without batches (older kernels): the token counts the keys passed since the start.
    const std::uint32_t skip = token.value_or(0);
    std::uint32_t position = 0;
    jl_flow_key previous{};
    jl_flow_key next{};
    const void* at = nullptr;
    while (bpf_map_get_next_key(d.flows.fd, at, &next) == 0) {
        if (position >= skip) {
            jl_flow value{};
            if (lookup_element(d.flows, &next, &value))
                out.push_back(flows::FlowEntry{next, flows::flow_value(next, value, now)});
            if (out.size() >= max) return position + 1;
        }
        ++position;
        previous = next;
        at = &previous;
    }
    if (errno != ENOENT) throw DataplaneError(std::string("cannot list jl_flows: ") + std::strerror(errno));
    return std::nullopt;
}

void Dataplane::delete_flows(std::span<const jl_flow_key> keys) {
    impl_->usable();
    delete_elements(impl_->flows, keys.data(), keys.size());
}

Counters Dataplane::read_counters() const {
    const Impl& d = *impl_;
    d.usable();
    Counters result;
    // Each per-CPU map's values, summed over every possible CPU by `add`.
    auto sum = [&]<typename Value>(const MapRef& map, std::uint32_t count, auto&& add) {
        const std::size_t stride = percpu_stride(sizeof(Value));
        std::vector<std::uint8_t> raw(std::size_t{count} * map.value_size);
        read_array(map, 0, count, raw.data());
        for (std::uint32_t i = 0; i < count; ++i) {
            for (unsigned cpu = 0; cpu < d.cpus; ++cpu) {
                Value v;
                std::memcpy(&v, raw.data() + std::size_t{i} * map.value_size + cpu * stride, sizeof(v));
                add(i, v);
            }
        }
    };
    sum.operator()<jl_traffic>(d.counters, JL_CNT_COUNT, [&](std::uint32_t i, const jl_traffic& t) {
        result.reasons[i].packets += t.packets;
        result.reasons[i].bytes += t.bytes;
    });
    result.backends.resize(d.options.limits.max_backends);
    sum.operator()<jl_backend_traffic>(d.backend_stats, d.options.limits.max_backends,
                                       [&](std::uint32_t i, const jl_backend_traffic& t) {
                                           result.backends[i].packets += t.packets;
                                           result.backends[i].bytes += t.bytes;
                                           result.backends[i].new_flows += t.new_flows;
                                       });
    result.services.resize(d.options.limits.max_services);
    sum.operator()<jl_service_traffic>(d.service_stats, d.options.limits.max_services,
                                       [&](std::uint32_t i, const jl_service_traffic& t) {
                                           result.services[i].packets += t.packets;
                                           result.services[i].bytes += t.bytes;
                                           result.services[i].new_flows += t.new_flows;
                                           result.services[i].nonsyn_miss += t.nonsyn_miss;
                                       });
    return result;
}

plan::IdAllocator Dataplane::live_ids() const {
    LiveState state = live_state();
    std::map<plan::ServiceKey, std::uint32_t> services;
    std::map<std::uint32_t, plan::ServiceKey> by_id;
    auto address = [](const __u32(&words)[4], std::uint8_t family) {
        common::IpAddress ip;
        ip.family = family == JL_FAMILY_V4 ? 4 : 6;
        std::memcpy(ip.bytes.data(), words, ip.family == 4 ? 4 : 16);
        return ip;
    };
    for (const LiveService& s : state.services) {
        plan::ServiceKey key{address(s.key.addr, s.key.family), ntohs(s.key.port), s.key.proto};
        services[key] = s.vip.service_id;
        by_id[s.vip.service_id] = key;
    }
    std::map<plan::BackendKey, std::uint32_t> backends;
    for (const LiveBackend& b : state.backends) {
        auto service = by_id.find(b.entry.service_id);
        if (service != by_id.end()) {
            backends[plan::BackendKey{service->second, address(b.entry.addr, b.entry.family)}] = b.id;
        }
    }
    return plan::IdAllocator::restore(services, backends);
}

void Dataplane::teardown() {
    Impl& d = *impl_;
    d.usable();
    for (const std::string& name : forwarder_interfaces(d.identity)) {
        detach_forwarder(d.identity, name);
    }
    remove_pins(d.options.pin_dir, all_pin_names(*d.skel));
    d.torn_down = true;
}

void Dataplane::teardown(const std::string& pin_dir) {
    route_library_messages();
    Fd meta_fd;
    Fd prog_fd;
    ForwarderIdentity identity = pinned_identity(pin_dir, meta_fd, prog_fd);
    if (identity.meta_map_id != 0 || identity.prog_id != 0) {
        for (const std::string& name : forwarder_interfaces(identity)) {
            detach_forwarder(identity, name);
        }
    }
    remove_pins(pin_dir, all_pin_names(*open_skeleton()));
}

}  // namespace julier::dataplane
