#include "decap/loader.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <set>

#include "dataplane/dataplane.h"
#include "dataplane/library_log.h"
#include "dataplane/map_io.h"
#include "dataplane/pins.h"
#include "dataplane/xdp_attach.h"
#include "julier_decap.skel.h"

namespace julier::decap {

using dataplane::DataplaneError;
using dataplane::Fd;
using dataplane::MapRef;

namespace {

constexpr const char* kName = "decapsulator";
constexpr const char* kCfgMap = "jl_decap_cfg";

struct SkeletonDeleter {
    void operator()(julier_decap* skel) const { julier_decap__destroy(skel); }
};
using Skeleton = std::unique_ptr<julier_decap, SkeletonDeleter>;

Skeleton open_skeleton() {
    Skeleton skel(julier_decap__open());
    if (!skel) {
        throw DataplaneError(std::string("cannot open the decapsulator's BPF object: ") + std::strerror(errno));
    }
    return skel;
}

std::vector<std::string> map_names(const julier_decap& skel) {
    std::vector<std::string> names;
    bpf_map* map;
    bpf_object__for_each_map(map, skel.obj) {
        if (!bpf_map__is_internal(map)) names.emplace_back(bpf_map__name(map));
    }
    return names;
}

std::vector<std::string> all_pin_names() {
    std::vector<std::string> names = map_names(*open_skeleton());
    names.emplace_back(dataplane::kProgramPin);
    return names;
}

// A pinned map this build cannot reuse (another version's layout); empty when all fit.
std::string pinned_mismatch(const std::string& pin_dir, const julier_decap& skel) {
    bpf_map* map;
    bpf_object__for_each_map(map, skel.obj) {
        if (bpf_map__is_internal(map) || !dataplane::pin_exists(pin_dir, bpf_map__name(map))) continue;
        std::string path = dataplane::pin_path(pin_dir, bpf_map__name(map));
        Fd fd(bpf_obj_get(path.c_str()));
        bpf_map_info info{};
        __u32 len = sizeof(info);
        if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return path + " is not a BPF map";
        if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
            info.value_size != bpf_map__value_size(map) || info.max_entries != bpf_map__max_entries(map) ||
            info.map_flags != bpf_map__map_flags(map)) {
            return fmt::format(
                "its map {} has {} entries of {}+{} bytes where this julier-decap needs {} of {}+{} (a decapsulator "
                "of another julier version; this one has ABI version {})",
                bpf_map__name(map), info.max_entries, info.key_size, info.value_size, bpf_map__max_entries(map),
                bpf_map__key_size(map), bpf_map__value_size(map), JL_ABI_VERSION);
        }
    }
    return "";
}

bool same_program(int a_fd, int b_fd) {
    bpf_prog_info a{};
    bpf_prog_info b{};
    __u32 len = sizeof(a);
    if (bpf_obj_get_info_by_fd(a_fd, &a, &len) != 0) return false;
    len = sizeof(b);
    if (bpf_obj_get_info_by_fd(b_fd, &b, &len) != 0) return false;
    return std::memcmp(a.tag, b.tag, sizeof(a.tag)) == 0;
}

bpf_prog_info program_info(std::uint32_t id) {
    bpf_prog_info info{};
    Fd fd(bpf_prog_get_fd_by_id(id));
    __u32 len = sizeof(info);
    if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return bpf_prog_info{};
    return info;
}

// ---- keys -------------------------------------------------------------------------

std::string bytes_of(const void* p, std::size_t n) { return std::string(static_cast<const char*>(p), n); }

jl_decap_source source_key(const SourcePrefix& p) {
    jl_decap_source k{};
    k.family = p.address.is_v4() ? JL_FAMILY_V4 : JL_FAMILY_V6;
    k.prefixlen = JL_DECAP_SOURCE_KEY_BITS + p.length;
    std::memcpy(k.addr, p.address.bytes.data(), p.address.is_v4() ? 4 : 16);
    return k;
}

SourcePrefix source_of(const jl_decap_source& k) {
    SourcePrefix p;
    p.address.family = k.family == JL_FAMILY_V4 ? 4 : 6;
    std::memcpy(p.address.bytes.data(), k.addr, p.address.is_v4() ? 4 : 16);
    p.length = static_cast<std::uint8_t>(k.prefixlen - JL_DECAP_SOURCE_KEY_BITS);
    return p;
}

jl_decap_addr local_key(const common::IpAddress& a) {
    jl_decap_addr k{};
    k.family = a.is_v4() ? JL_FAMILY_V4 : JL_FAMILY_V6;
    std::memcpy(k.addr, a.bytes.data(), a.is_v4() ? 4 : 16);
    return k;
}

common::IpAddress local_of(const jl_decap_addr& k) {
    common::IpAddress a;
    a.family = k.family == JL_FAMILY_V4 ? 4 : 6;
    std::memcpy(a.bytes.data(), k.addr, a.is_v4() ? 4 : 16);
    return a;
}

std::set<std::string> current_keys(const MapRef& map) {
    std::vector<std::uint8_t> keys = dataplane::map_keys(map);
    std::set<std::string> set;
    for (std::size_t at = 0; at + map.key_size <= keys.size(); at += map.key_size) {
        set.insert(bytes_of(keys.data() + at, map.key_size));
    }
    return set;
}

// Moves one map from what it holds to `wanted`: new keys first, stale ones after
// `between` (so a packet meanwhile sees the union of old and new), unless the union
// would not fit, when the stale ones go first.
struct SetWrite {
    const MapRef& map;
    std::set<std::string> stale;
    std::set<std::string> fresh;

    SetWrite(const MapRef& m, const std::set<std::string>& wanted, std::size_t max) : map(m) {
        std::set<std::string> now = current_keys(map);
        std::set_difference(now.begin(), now.end(), wanted.begin(), wanted.end(), std::inserter(stale, stale.end()));
        std::set_difference(wanted.begin(), wanted.end(), now.begin(), now.end(), std::inserter(fresh, fresh.end()));
        if (now.size() + fresh.size() > max) remove_stale();
    }
    void add() {
        const __u32 one = 1;
        for (const std::string& key : fresh) dataplane::update_element(map, key.data(), &one);
    }
    void remove_stale() {
        for (const std::string& key : stale) {
            if (bpf_map_delete_elem(map.fd, key.data()) != 0 && errno != ENOENT) {
                throw DataplaneError("cannot delete from " + map.name + ": " + std::strerror(errno));
            }
        }
        removed += stale.size();
        stale.clear();
    }
    std::size_t removed = 0;
};

MapRef map_ref(int fd, const std::string& name) {
    bpf_map_info info{};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) {
        throw DataplaneError("cannot inspect map " + name + ": " + std::strerror(errno));
    }
    return MapRef{fd, name, info.key_size, info.value_size};
}

// A julier_decap that another loader attached (`ip link set ... obj julier_decap.bpf.o`,
// as julier's README once said): swapped for ours in one call, so that the interface
// never runs without a decapsulator. Returns whether it did.
bool replace_unpinned_decap(std::uint32_t ifindex, const std::string& ifname, int prog_fd, std::uint32_t cfg_id) {
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (bpf_xdp_query(static_cast<int>(ifindex), 0, &query) != 0) return false;
    std::uint32_t id = 0;
    __u32 flags = 0;
    if (query.attach_mode == XDP_ATTACHED_DRV) {
        id = query.drv_prog_id;
        flags = XDP_FLAGS_DRV_MODE;
    } else if (query.attach_mode == XDP_ATTACHED_SKB) {
        id = query.skb_prog_id;
        flags = XDP_FLAGS_SKB_MODE;
    } else {
        return false;
    }
    bpf_prog_info info = program_info(id);
    if (std::string(info.name) != "julier_decap") return false;
    std::vector<std::uint32_t> maps = dataplane::program_map_ids(id);
    if (std::find(maps.begin(), maps.end(), cfg_id) != maps.end()) return false;  // ours already
    Fd old(bpf_prog_get_fd_by_id(id));
    if (!old) return false;
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old.get());
    if (bpf_xdp_attach(static_cast<int>(ifindex), prog_fd, flags | XDP_FLAGS_REPLACE, &opts) != 0) {
        throw DataplaneError("cannot replace the julier_decap (id " + std::to_string(id) + ") attached to " + ifname +
                             " without julier-decap: " + std::strerror(errno) + "; remove it (ip link set dev " +
                             ifname + " xdp off) and attach again");
    }
    return true;
}

std::string mode_of(const std::string& ifname) {
    unsigned index = if_nametoindex(ifname.c_str());
    LIBBPF_OPTS(bpf_xdp_query_opts, query);
    if (index == 0 || bpf_xdp_query(static_cast<int>(index), 0, &query) != 0) return "unknown";
    switch (query.attach_mode) {
        case XDP_ATTACHED_DRV: return "native";
        case XDP_ATTACHED_SKB: return "generic";
        case XDP_ATTACHED_HW: return "offload";
        case XDP_ATTACHED_MULTI: return "several";
        default: return "none";
    }
}

// Second chance sends packets on with bpf_fib_lookup, which finds nothing unless
// forwarding is on for the receiving interface (counter second_chance_fib_failed).
std::vector<std::string> forwarding_warnings(const DecapConfig& config) {
    std::vector<std::string> warnings;
    for (const char* family : {"ipv4", "ipv6"}) {
        const bool v4 = std::string_view(family) == "ipv4";
        const bool wanted = std::any_of(config.second_chance_peers.begin(), config.second_chance_peers.end(),
                                        [&](const SourcePrefix& p) { return p.address.is_v4() == v4; });
        if (!wanted) continue;
        const std::string path = fmt::format("/proc/sys/net/{}/conf/{}/forwarding", family, config.interface);
        std::ifstream in(path);
        std::string value;
        if (!(in >> value) || value != "0") continue;
        warnings.push_back(
            fmt::format("{} forwarding is off on {} ({} is 0): no {} second chance is sent on (counter "
                        "second_chance_fib_failed) until it is on",
                        v4 ? "IPv4" : "IPv6", config.interface, path, v4 ? "IPv4" : "IPv6"));
    }
    return warnings;
}

AttachResult attach_loaded(const DecapConfig& config, Skeleton skel);

}  // namespace

AttachResult attach(const DecapConfig& config) {
    dataplane::route_library_messages();
    if (config.allowed_sources.empty() || config.local_addresses.empty()) {
        // The parser refuses this with a located message; the check stays here too.
        throw DataplaneError("refusing to attach a decapsulator without allowed sources or local addresses");
    }
    dataplane::prepare_pin_dir(config.pin_dir);
    Skeleton skel = open_skeleton();
    if (std::string why = pinned_mismatch(config.pin_dir, *skel); !why.empty()) {
        throw DataplaneError("the decapsulator pinned under " + config.pin_dir + " cannot be updated: " + why +
                             ". Remove it first with julier-decap detach --pin-dir " + config.pin_dir +
                             " (tunnel packets then reach the kernel untouched until the next attach)");
    }
    // A first attach that fails leaves no pins behind.
    const bool fresh = !dataplane::pin_exists(config.pin_dir, kCfgMap);
    try {
        return attach_loaded(config, std::move(skel));
    } catch (const DataplaneError&) {
        if (fresh) {
            try {
                dataplane::remove_pins(config.pin_dir, all_pin_names());
            } catch (const DataplaneError&) {
                // The first error is the one to report.
            }
        }
        throw;
    }
}

namespace {

AttachResult attach_loaded(const DecapConfig& config, Skeleton skel) {
    for (const std::string& name : map_names(*skel)) {
        bpf_map* map = bpf_object__find_map_by_name(skel->obj, name.c_str());
        if (int error = bpf_map__set_pin_path(map, dataplane::pin_path(config.pin_dir, name).c_str())) {
            throw DataplaneError("cannot set the pin path of " + name + ": " + std::strerror(-error));
        }
    }
    {
        dataplane::CapturedWarnings log;
        if (int error = julier_decap__load(skel.get())) {
            throw DataplaneError("cannot load the decapsulator: " + std::string(std::strerror(-error)) +
                                 (log.text().empty() ? "" : "\n" + log.tail()));
        }
    }

    // The configuration, into the maps the running program (if any) reads.
    AttachResult result;
    const MapRef sources = map_ref(bpf_map__fd(skel->maps.jl_decap_sources), "jl_decap_sources");
    const MapRef locals = map_ref(bpf_map__fd(skel->maps.jl_decap_addrs), "jl_decap_addrs");
    const MapRef peers = map_ref(bpf_map__fd(skel->maps.jl_decap_peers), "jl_decap_peers");
    const MapRef cfg = map_ref(bpf_map__fd(skel->maps.jl_decap_cfg), kCfgMap);
    std::set<std::string> want_sources, want_locals, want_peers;
    for (const SourcePrefix& p : config.allowed_sources) {
        jl_decap_source k = source_key(p);
        want_sources.insert(bytes_of(&k, sizeof(k)));
    }
    for (const SourcePrefix& p : config.second_chance_peers) {
        jl_decap_source k = source_key(p);
        want_peers.insert(bytes_of(&k, sizeof(k)));
    }
    for (const common::IpAddress& a : config.local_addresses) {
        jl_decap_addr k = local_key(a);
        want_locals.insert(bytes_of(&k, sizeof(k)));
    }
    SetWrite source_write(sources, want_sources, JL_DECAP_MAX_SOURCES);
    SetWrite local_write(locals, want_locals, JL_DECAP_MAX_ADDRS);
    SetWrite peer_write(peers, want_peers, JL_DECAP_MAX_PEERS);
    source_write.add();
    local_write.add();
    peer_write.add();
    jl_decap_cfg value{};
    value.gue_port = htons(config.gue_port);
    value.sources = static_cast<__u32>(want_sources.size());
    value.local_addrs = static_cast<__u32>(want_locals.size());
    value.peers = static_cast<__u32>(want_peers.size());
    const __u32 zero = 0;
    dataplane::update_element(cfg, &zero, &value);
    source_write.remove_stale();
    local_write.remove_stale();
    peer_write.remove_stale();
    result.sources_added = source_write.fresh.size();
    result.sources_removed = source_write.removed;
    result.locals_added = local_write.fresh.size();
    result.locals_removed = local_write.removed;
    result.peers_added = peer_write.fresh.size();
    result.peers_removed = peer_write.removed;
    result.warnings = forwarding_warnings(config);

    // The program: the pinned one when it is this code on these maps, else the new one.
    int prog_fd = bpf_program__fd(skel->progs.julier_decap);
    const std::uint32_t cfg_id = dataplane::map_id(cfg.fd);
    const std::string prog_pin = dataplane::pin_path(config.pin_dir, dataplane::kProgramPin);
    Fd running;
    if (dataplane::pin_exists(config.pin_dir, dataplane::kProgramPin)) {
        running = Fd(bpf_obj_get(prog_pin.c_str()));
        if (running) {
            std::vector<std::uint32_t> used = dataplane::program_map_ids(dataplane::program_id(running.get()));
            if (!same_program(running.get(), prog_fd) || std::find(used.begin(), used.end(), cfg_id) == used.end()) {
                running = Fd();
            }
        }
    }
    result.loaded = !running;
    if (running) prog_fd = running.get();

    dataplane::ForwarderIdentity identity;
    identity.prog_fd = prog_fd;
    identity.prog_id = dataplane::program_id(prog_fd);
    identity.meta_map_id = cfg_id;
    identity.name = kName;
    result.prog_id = identity.prog_id;

    const std::vector<std::string> before = dataplane::forwarder_interfaces(identity);
    result.attached = std::find(before.begin(), before.end(), config.interface) == before.end();
    const std::uint32_t ifindex = dataplane::interface_index(config.interface);
    replace_unpinned_decap(ifindex, config.interface, prog_fd, cfg_id);
    dataplane::attach_forwarder(
        identity, config.interface,
        config.xdp_mode == config::XdpMode::native ? dataplane::AttachMode::native : dataplane::AttachMode::generic);
    // One pin directory serves one interface: an earlier configuration's goes.
    for (const std::string& name : before) {
        if (name != config.interface && dataplane::detach_forwarder(identity, name)) {
            result.detached_elsewhere.push_back(name);
        }
    }
    if (result.loaded) {
        if (::unlink(prog_pin.c_str()) != 0 && errno != ENOENT) {
            throw DataplaneError("cannot replace pin " + prog_pin + ": " + std::strerror(errno));
        }
        if (bpf_obj_pin(prog_fd, prog_pin.c_str()) != 0) {
            throw DataplaneError("cannot pin the decapsulator at " + prog_pin + ": " + std::strerror(errno));
        }
    }
    return result;
}

// The pinned program and configuration map, as an identity to find and detach it by.
dataplane::ForwarderIdentity pinned_identity(const std::string& pin_dir, Fd& cfg_fd, Fd& prog_fd) {
    dataplane::ForwarderIdentity identity;
    identity.name = kName;
    if (dataplane::pin_exists(pin_dir, kCfgMap)) {
        cfg_fd = Fd(bpf_obj_get(dataplane::pin_path(pin_dir, kCfgMap).c_str()));
        if (cfg_fd) identity.meta_map_id = dataplane::map_id(cfg_fd.get());
    }
    if (dataplane::pin_exists(pin_dir, dataplane::kProgramPin)) {
        prog_fd = Fd(bpf_obj_get(dataplane::pin_path(pin_dir, dataplane::kProgramPin).c_str()));
        if (prog_fd) {
            identity.prog_fd = prog_fd.get();
            identity.prog_id = dataplane::program_id(prog_fd.get());
        }
    }
    return identity;
}

}  // namespace

DetachResult detach(const std::string& pin_dir) {
    dataplane::route_library_messages();
    DetachResult result;
    const std::vector<std::string> names = all_pin_names();
    result.pins_removed = std::any_of(names.begin(), names.end(),
                                      [&](const std::string& n) { return dataplane::pin_exists(pin_dir, n); });
    Fd cfg_fd, prog_fd;
    dataplane::ForwarderIdentity identity = pinned_identity(pin_dir, cfg_fd, prog_fd);
    if (identity.meta_map_id != 0 || identity.prog_id != 0) {
        for (const std::string& name : dataplane::forwarder_interfaces(identity)) {
            if (dataplane::detach_forwarder(identity, name)) result.detached.push_back(name);
        }
    }
    if (result.pins_removed) dataplane::remove_pins(pin_dir, names);
    return result;
}

Status status(const std::string& pin_dir) {
    dataplane::route_library_messages();
    Status s;
    s.pin_dir = pin_dir;
    Fd cfg_fd, prog_fd;
    dataplane::ForwarderIdentity identity = pinned_identity(pin_dir, cfg_fd, prog_fd);
    if (!cfg_fd) return s;
    s.pinned = true;
    s.prog_id = identity.prog_id;
    s.interfaces = dataplane::forwarder_interfaces(identity);
    for (const std::string& name : s.interfaces) s.modes.push_back(mode_of(name));

    const __u32 zero = 0;
    jl_decap_cfg cfg{};
    const MapRef cfg_map = map_ref(cfg_fd.get(), kCfgMap);
    if (cfg_map.value_size != sizeof(cfg)) {
        throw DataplaneError("the decapsulator pinned under " + pin_dir +
                             " comes from another julier version (its jl_decap_cfg has " +
                             std::to_string(cfg_map.value_size) + "-byte values)");
    }
    dataplane::lookup_element(cfg_map, &zero, &cfg);
    s.gue_port = cfg.gue_port ? ntohs(cfg.gue_port) : JL_DEFAULT_GUE_PORT;
    s.cfg_sources = cfg.sources;
    s.cfg_local_addrs = cfg.local_addrs;
    s.cfg_peers = cfg.peers;

    auto open_map = [&](const char* name) {
        Fd fd(bpf_obj_get(dataplane::pin_path(pin_dir, name).c_str()));
        if (!fd) {
            throw DataplaneError("cannot open " + dataplane::pin_path(pin_dir, name) + ": " + std::strerror(errno));
        }
        return fd;
    };
    Fd sources_fd = open_map("jl_decap_sources");
    for (const std::string& key : current_keys(map_ref(sources_fd.get(), "jl_decap_sources"))) {
        jl_decap_source k{};
        std::memcpy(&k, key.data(), std::min(key.size(), sizeof(k)));
        s.sources.push_back(source_of(k));
    }
    std::sort(s.sources.begin(), s.sources.end());
    Fd locals_fd = open_map("jl_decap_addrs");
    for (const std::string& key : current_keys(map_ref(locals_fd.get(), "jl_decap_addrs"))) {
        jl_decap_addr k{};
        std::memcpy(&k, key.data(), std::min(key.size(), sizeof(k)));
        s.local_addresses.push_back(local_of(k));
    }
    std::sort(s.local_addresses.begin(), s.local_addresses.end());
    // A decapsulator pinned by an earlier version has no peers map (and fewer counters).
    if (dataplane::pin_exists(pin_dir, "jl_decap_peers")) {
        Fd peers_fd = open_map("jl_decap_peers");
        for (const std::string& key : current_keys(map_ref(peers_fd.get(), "jl_decap_peers"))) {
            jl_decap_source k{};
            std::memcpy(&k, key.data(), std::min(key.size(), sizeof(k)));
            s.second_chance_peers.push_back(source_of(k));
        }
        std::sort(s.second_chance_peers.begin(), s.second_chance_peers.end());
    }

    Fd counters_fd = open_map("jl_decap_counters");
    const unsigned cpus = static_cast<unsigned>(std::max(1, libbpf_num_possible_cpus()));
    const std::size_t stride = dataplane::percpu_stride(sizeof(jl_traffic));
    std::vector<std::uint8_t> per_cpu(stride * cpus);
    for (std::uint32_t c = 0; c < JL_DECAP_CNT_COUNT; ++c) {
        if (bpf_map_lookup_elem(counters_fd.get(), &c, per_cpu.data()) != 0) continue;
        for (unsigned cpu = 0; cpu < cpus; ++cpu) {
            jl_traffic t{};
            std::memcpy(&t, per_cpu.data() + cpu * stride, sizeof(t));
            s.counters[c].packets += t.packets;
            s.counters[c].bytes += t.bytes;
        }
    }
    return s;
}

const char* counter_label(jl_decap_counter c) {
    static const char* const labels[] = {
#define JL_DECAP_LABEL(name, verdict, label) label,
        JL_DECAP_COUNTERS(JL_DECAP_LABEL)
#undef JL_DECAP_LABEL
    };
    return c < JL_DECAP_CNT_COUNT ? labels[c] : "?";
}

const char* counter_verdict(jl_decap_counter c) {
    static const char* const verdicts[] = {
#define JL_DECAP_VERDICT(name, verdict, label) #verdict,
        JL_DECAP_COUNTERS(JL_DECAP_VERDICT)
#undef JL_DECAP_VERDICT
    };
    return c < JL_DECAP_CNT_COUNT ? verdicts[c] : "?";
}

std::string render_status(const Status& s) {
    if (!s.pinned) return "no decapsulator is pinned under " + s.pin_dir + "\n";
    std::string out = "decapsulator pinned under " + s.pin_dir + " (program id " + std::to_string(s.prog_id) + ")\n";
    if (s.interfaces.empty()) {
        out += "  attached: nowhere in this network namespace\n";
    } else {
        for (std::size_t i = 0; i < s.interfaces.size(); ++i) {
            out += "  attached: " + s.interfaces[i] + " (" + s.modes[i] + ")\n";
        }
    }
    if (!s.configured())
        out += "  NOT CONFIGURED: it decapsulates nothing (no allowed sources or no local addresses)\n";
    out += fmt::format("  gue_port: {}\n", s.gue_port);
    auto list = [](const auto& items) {
        std::string text;
        for (const auto& item : items) text += (text.empty() ? "" : ", ") + item.to_string();
        return text.empty() ? std::string("none") : text;
    };
    out += "  allowed_sources: " + list(s.sources) + "\n";
    out += "  local_addresses: " + list(s.local_addresses) + "\n";
    out += "  second_chance peers: " +
           (s.cfg_peers ? list(s.second_chance_peers) : std::string("none (second chance off)")) + "\n";
    out += fmt::format("  {:<8} {:<24} {:>14} {:>16}\n", "verdict", "counter", "packets", "bytes");
    for (std::uint32_t c = 0; c < JL_DECAP_CNT_COUNT; ++c) {
        auto which = static_cast<jl_decap_counter>(c);
        out += fmt::format("  {:<8} {:<24} {:>14} {:>16}\n", counter_verdict(which), counter_label(which),
                           s.counters[c].packets, s.counters[c].bytes);
    }
    return out;
}

std::string render_status_json(const Status& s) {
    nlohmann::json j;
    j["pin_dir"] = s.pin_dir;
    j["pinned"] = s.pinned;
    if (s.pinned) {
        j["prog_id"] = s.prog_id;
        j["interfaces"] = nlohmann::json::array();
        for (std::size_t i = 0; i < s.interfaces.size(); ++i) {
            j["interfaces"].push_back({{"name", s.interfaces[i]}, {"mode", s.modes[i]}});
        }
        j["configured"] = s.configured();
        j["gue_port"] = s.gue_port;
        j["allowed_sources"] = nlohmann::json::array();
        for (const auto& p : s.sources) j["allowed_sources"].push_back(p.to_string());
        j["local_addresses"] = nlohmann::json::array();
        for (const auto& a : s.local_addresses) j["local_addresses"].push_back(a.to_string());
        j["second_chance_peers"] = nlohmann::json::array();
        if (s.cfg_peers) {
            for (const auto& p : s.second_chance_peers) j["second_chance_peers"].push_back(p.to_string());
        }
        j["counters"] = nlohmann::json::object();
        for (std::uint32_t c = 0; c < JL_DECAP_CNT_COUNT; ++c) {
            auto which = static_cast<jl_decap_counter>(c);
            j["counters"][counter_label(which)] = {{"verdict", counter_verdict(which)},
                                                   {"packets", s.counters[c].packets},
                                                   {"bytes", s.counters[c].bytes}};
        }
    }
    return j.dump(2) + "\n";
}

}  // namespace julier::decap
