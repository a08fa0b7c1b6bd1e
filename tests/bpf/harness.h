// Load the forwarder or the decapsulator from its skeleton and drive it with
// BPF_PROG_TEST_RUN: write its maps with the structs of abi.h, run frames through
// it, read its per-CPU counters summed over CPUs. For tests and benchmarks (root).
//
//   LbHarness lb;                      // small maps, loaded
//   lb.put_service(vip_key("198.19.0.1", 80, IPPROTO_TCP), vip, ring);
//   XdpResult r = lb.run(frame);       // r.verdict, r.data
//   CHECK(lb.counter(JL_CNT_TX_FORWARD).packets == 1);
//
// Errors (load, map update, test run) throw std::runtime_error naming the step.
#pragma once

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <time.h>

#include "julier/abi.h"
#include "julier_decap.skel.h"
#include "julier_lb.skel.h"
#include "packet.h"

namespace julier::test {

[[noreturn]] inline void bpf_fail(const std::string& what, int err) {
    if (err < 0) err = -err;
    throw std::runtime_error(what + ": " + std::strerror(err));
}

// libbpf (1.x) calls return a negative errno on failure.
inline void check_bpf(int rc, const std::string& what) {
    if (rc < 0) bpf_fail(what, rc);
}

// ---- running a program ----------------------------------------------------------

struct XdpResult {
    int verdict = -1;         // XDP_PASS, XDP_DROP, XDP_TX, ... (of the last run)
    Bytes data;               // the frame as the program left it
    uint32_t ns_per_run = 0;  // kernel-measured mean duration of one run
};

inline const char* verdict_name(int v) {
    switch (v) {
        case XDP_ABORTED: return "XDP_ABORTED";
        case XDP_DROP: return "XDP_DROP";
        case XDP_PASS: return "XDP_PASS";
        case XDP_TX: return "XDP_TX";
        case XDP_REDIRECT: return "XDP_REDIRECT";
        default: return "unknown verdict";
    }
}

// One BPF_PROG_TEST_RUN of an XDP program (repeat > 1 runs it again on its own
// output; time only idempotent paths that way).
// ingress_ifindex 0: the frame arrives on the loopback device of the caller's network
// namespace (what the kernel gives a test run); else on that device of it, which
// must have its XDP receive queues set up (an XDP program attached, for a veth).
inline XdpResult run_xdp(int prog_fd, std::span<const uint8_t> frame, uint32_t repeat = 1,
                         uint32_t ingress_ifindex = 0) {
    // Room for headers the program pushes (XDP headroom is 256 bytes) and tail growth.
    Bytes out(frame.size() + 4096);
    bpf_test_run_opts opts{};
    xdp_md ctx{};
    opts.sz = sizeof(opts);
    opts.data_in = frame.data();
    opts.data_size_in = static_cast<uint32_t>(frame.size());
    opts.data_out = out.data();
    opts.data_size_out = static_cast<uint32_t>(out.size());
    opts.repeat = repeat;
    if (ingress_ifindex) {
        ctx.data_end = static_cast<uint32_t>(frame.size());
        ctx.ingress_ifindex = ingress_ifindex;
        opts.ctx_in = &ctx;
        opts.ctx_size_in = sizeof(ctx);
    }
    int rc = bpf_prog_test_run_opts(prog_fd, &opts);
    if (rc) bpf_fail("BPF_PROG_TEST_RUN of a " + std::to_string(frame.size()) + "-byte frame", rc);
    out.resize(opts.data_size_out);
    return {static_cast<int>(opts.retval), std::move(out), opts.duration};
}

// The connection table's clock (jl_flow.time_ns, the flood and ICMP windows) is
// CLOCK_MONOTONIC_COARSE (bpf_ktime_get_coarse_ns): a reading of the program lies
// between coarse_ns() before the run and mono_ns() after it.
inline uint64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
inline uint64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }
inline uint64_t coarse_ns() { return clock_ns(CLOCK_MONOTONIC_COARSE); }

// ---- per-CPU counters ----------------------------------------------------------------

inline unsigned possible_cpus() {
    static const int n = libbpf_num_possible_cpus();
    if (n <= 0) bpf_fail("counting possible CPUs", n);
    return static_cast<unsigned>(n);
}

inline jl_traffic& operator+=(jl_traffic& a, const jl_traffic& b) {
    a.packets += b.packets;
    a.bytes += b.bytes;
    return a;
}
inline jl_backend_traffic& operator+=(jl_backend_traffic& a, const jl_backend_traffic& b) {
    a.packets += b.packets;
    a.bytes += b.bytes;
    a.new_flows += b.new_flows;
    return a;
}
inline jl_service_traffic& operator+=(jl_service_traffic& a, const jl_service_traffic& b) {
    a.packets += b.packets;
    a.bytes += b.bytes;
    a.new_flows += b.new_flows;
    a.nonsyn_miss += b.nonsyn_miss;
    return a;
}

// Sum of one PERCPU_ARRAY slot over every possible CPU.
template <class V>
V read_percpu(int map_fd, uint32_t key, const char* map_name) {
    static_assert(sizeof(V) % 8 == 0, "per-CPU values are laid out 8-byte aligned");
    std::vector<V> per_cpu(possible_cpus());
    check_bpf(bpf_map_lookup_elem(map_fd, &key, per_cpu.data()),
              std::string("reading ") + map_name + "[" + std::to_string(key) + "]");
    V sum{};
    for (const V& v : per_cpu) sum += v;
    return sum;
}

// ---- keys and values -----------------------------------------------------------------

// Address text to abi.h layout (network order in addr[], IPv4 in addr[0]); the
// family follows from the text.
inline uint8_t put_addr(__u32 (&addr)[4], std::string_view text) {
    std::memset(addr, 0, sizeof(addr));
    if (text.find(':') != std::string_view::npos) {
        Ip6Addr a = ip6(text);
        std::memcpy(addr, a.data(), a.size());
        return JL_FAMILY_V6;
    }
    Ip4Addr a = ip4(text);
    std::memcpy(addr, a.data(), a.size());
    return JL_FAMILY_V4;
}

inline jl_vip_key vip_key(std::string_view addr, uint16_t port, uint8_t proto, uint32_t side = 0) {
    jl_vip_key k{};
    k.family = put_addr(k.addr, addr);
    k.port = htons(port);
    k.proto = proto;
    k.side = side;
    return k;
}

inline jl_flow_key flow_key(std::string_view src, std::string_view dst, uint16_t sport, uint16_t dport, uint8_t proto) {
    jl_flow_key k{};
    k.family = put_addr(k.src, src);
    put_addr(k.dst, dst);
    k.sport = htons(sport);
    k.dport = htons(dport);
    k.proto = proto;
    return k;
}

// An up backend that leaves through the receiving device towards dst_mac (the
// backend itself in l2 mode, the next hop when encapsulating).
inline jl_backend backend(uint32_t service_id, std::string_view addr, const Mac& dst, const Mac& src = {}) {
    jl_backend b{};
    b.family = put_addr(b.addr, addr);
    b.service_id = service_id;
    b.flags = JL_BACKEND_F_KEEP_FLOWS;
    std::memcpy(b.dst_mac, dst.data(), 6);
    std::memcpy(b.src_mac, src.data(), 6);
    return b;
}

// ---- the forwarder ---------------------------------------------------------------------

struct LbSizes {  // small defaults: tests load fast
    uint32_t max_services = 16;
    uint32_t max_backends = 64;
    uint32_t ring_capacity = 1024;
    uint32_t max_flows = 1024;
};

class LbHarness {
public:
    explicit LbHarness(const LbSizes& sizes = {}) : sizes_(sizes) {
        skel_ = julier_lb__open();
        if (!skel_) bpf_fail("opening the julier_lb skeleton", errno);
        try {
            auto& m = skel_->maps;
            set_max(m.jl_vips, JL_SIDES * sizes.max_services);
            set_max(m.jl_frag_vips, JL_SIDES * sizes.max_services);
            set_max(m.jl_rings, JL_SIDES * sizes.ring_capacity);
            set_max(m.jl_backends, JL_SIDES * sizes.max_backends);
            set_max(m.jl_flows, sizes.max_flows);
            set_max(m.jl_service_stats, sizes.max_services);
            set_max(m.jl_backend_stats, sizes.max_backends);
            skel_->rodata->jl_cfg_max_backends = sizes.max_backends;
            skel_->rodata->jl_cfg_ring_capacity = sizes.ring_capacity;
            check_bpf(julier_lb__load(skel_), "loading julier_lb (verifier log above)");
            jl_meta meta{};
            meta.abi_version = JL_ABI_VERSION;
            meta.max_services = sizes.max_services;
            meta.max_backends = sizes.max_backends;
            meta.ring_capacity = sizes.ring_capacity;
            meta.max_flows = sizes.max_flows;
            update(m.jl_meta, 0u, meta);
        } catch (...) {
            julier_lb__destroy(skel_);
            throw;
        }
    }
    ~LbHarness() { julier_lb__destroy(skel_); }
    LbHarness(const LbHarness&) = delete;
    LbHarness& operator=(const LbHarness&) = delete;

    julier_lb& skel() { return *skel_; }
    const LbSizes& sizes() const { return sizes_; }
    int prog_fd() const { return bpf_program__fd(skel_->progs.julier_lb); }

    void set_active(uint32_t generation) { update(skel_->maps.jl_active, 0u, generation); }
    void put_vip(const jl_vip_key& k, const jl_vip& v) { update(skel_->maps.jl_vips, k, v); }
    void del_vip(const jl_vip_key& k) { erase(skel_->maps.jl_vips, k); }
    void put_frag_vip(const jl_vip_key& k, const jl_vip& v) { update(skel_->maps.jl_frag_vips, k, v); }
    void put_backend(uint32_t side, uint32_t id, const jl_backend& b) {
        update(skel_->maps.jl_backends, side * sizes_.max_backends + id, b);
    }
    // Ring slots [first_slot, first_slot + ids.size()) of one side.
    void put_ring(uint32_t side, uint32_t first_slot, std::span<const uint32_t> ids) {
        for (size_t i = 0; i < ids.size(); i++)
            update(skel_->maps.jl_rings, side * sizes_.ring_capacity + first_slot + static_cast<uint32_t>(i), ids[i]);
    }
    // A service and its ring (placed at vip.ring_offset of the key's side); ring.size()
    // becomes vip.ring_size.
    void put_service(const jl_vip_key& k, jl_vip vip, std::span<const uint32_t> ring) {
        vip.ring_size = static_cast<uint32_t>(ring.size());
        put_ring(k.side, vip.ring_offset, ring);
        put_vip(k, vip);
    }

    // The VIP address filter (abi.h, jl_vip_filter), as the control plane writes it.
    uint64_t filter_word(uint32_t index) const {
        uint64_t w = 0;
        check_bpf(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.jl_vip_filter), &index, &w), "reading jl_vip_filter");
        return w;
    }
    void put_filter_word(uint32_t index, uint64_t w) { update(skel_->maps.jl_vip_filter, index, w); }
    // Mark every word of a side written (bit 0): from then on the side's filter decides.
    void write_filter(uint32_t side) {
        for (uint32_t i = 0; i < JL_VIP_FILTER_WORDS; i++) {
            uint32_t index = side * JL_VIP_FILTER_WORDS + i;
            put_filter_word(index, filter_word(index) | JL_VIP_FILTER_WRITTEN);
        }
    }
    // Let an address through the filter of a side (writing the side's filter first).
    void filter_add(uint32_t side, std::string_view addr) {
        __u32 a[4];
        put_addr(a, addr);
        uint32_t index = jl_vip_filter_index(a, side);
        if (!(filter_word(index) & JL_VIP_FILTER_WRITTEN)) write_filter(side);
        put_filter_word(index, filter_word(index) | jl_vip_filter_mask(a));
    }

    // jl_settings of a side (never written: all zero, every setting off).
    void put_settings(uint32_t side, const jl_settings& v) { update(skel_->maps.jl_settings, side, v); }
    // Flood protection of a side: at most `rate` jl_flows writes per second per CPU.
    void set_flood_rate(uint32_t side, uint32_t rate) {
        jl_settings v{};
        v.flood_new_flow_rate = rate;
        put_settings(side, v);
    }
    void set_icmp_answer_rate(uint32_t side, uint32_t rate) {
        jl_settings v{};
        v.icmp_answer_rate = rate;
        put_settings(side, v);
    }
    // Close every CPU's ICMP answer window, as if its second had passed.
    void expire_icmp_windows() {
        std::vector<jl_icmp_window> expired(possible_cpus());
        update_percpu(skel_->maps.jl_icmp_window, 0u, expired);
    }
    // Close every CPU's flood window, as if its second had passed.
    void expire_flood_windows() {
        std::vector<jl_flood_window> expired(possible_cpus());
        update_percpu(skel_->maps.jl_flood_window, 0u, expired);
    }
    // The flows admitted in the current window of each CPU (by CPU number).
    std::vector<jl_flood_window> flood_windows() const {
        std::vector<jl_flood_window> w(possible_cpus());
        uint32_t zero = 0;
        check_bpf(bpf_map_lookup_elem(bpf_map__fd(skel_->maps.jl_flood_window), &zero, w.data()),
                  "reading jl_flood_window");
        return w;
    }

    void put_flow(const jl_flow_key& k, const jl_flow& v) { update(skel_->maps.jl_flows, k, v); }
    std::optional<jl_flow> flow(const jl_flow_key& k) const {
        jl_flow v{};
        int rc = bpf_map_lookup_elem(bpf_map__fd(skel_->maps.jl_flows), &k, &v);
        if (rc == -ENOENT) return std::nullopt;
        check_bpf(rc, "reading jl_flows");
        return v;
    }
    std::vector<jl_flow_key> flow_keys() const {
        std::vector<jl_flow_key> keys;
        int fd = bpf_map__fd(skel_->maps.jl_flows);
        jl_flow_key k{}, next{};
        const void* prev = nullptr;
        while (bpf_map_get_next_key(fd, prev, &next) == 0) {
            keys.push_back(next);
            k = next;
            prev = &k;
        }
        return keys;
    }

    XdpResult run(std::span<const uint8_t> frame, uint32_t repeat = 1) { return run_xdp(prog_fd(), frame, repeat); }

    jl_traffic counter(jl_counter c) const {
        return read_percpu<jl_traffic>(bpf_map__fd(skel_->maps.jl_counters), c, "jl_counters");
    }
    std::array<jl_traffic, JL_CNT_COUNT> counters() const {
        std::array<jl_traffic, JL_CNT_COUNT> all{};
        for (uint32_t c = 0; c < JL_CNT_COUNT; c++) all[c] = counter(static_cast<jl_counter>(c));
        return all;
    }
    jl_service_traffic service_stats(uint32_t service_id) const {
        return read_percpu<jl_service_traffic>(bpf_map__fd(skel_->maps.jl_service_stats), service_id,
                                               "jl_service_stats");
    }
    jl_backend_traffic backend_stats(uint32_t backend_id) const {
        return read_percpu<jl_backend_traffic>(bpf_map__fd(skel_->maps.jl_backend_stats), backend_id,
                                               "jl_backend_stats");
    }

private:
    static void set_max(bpf_map* map, uint32_t n) {
        check_bpf(bpf_map__set_max_entries(map, n), std::string("sizing ") + bpf_map__name(map));
    }
    template <class K, class V>
    static void update(bpf_map* map, const K& k, const V& v) {
        check_bpf(bpf_map_update_elem(bpf_map__fd(map), &k, &v, BPF_ANY), std::string("writing ") + bpf_map__name(map));
    }
    // A per-CPU value: one element per possible CPU.
    template <class K, class V>
    static void update_percpu(bpf_map* map, const K& k, const std::vector<V>& per_cpu) {
        check_bpf(bpf_map_update_elem(bpf_map__fd(map), &k, per_cpu.data(), BPF_ANY),
                  std::string("writing ") + bpf_map__name(map));
    }
    template <class K>
    static void erase(bpf_map* map, const K& k) {
        check_bpf(bpf_map_delete_elem(bpf_map__fd(map), &k), std::string("deleting from ") + bpf_map__name(map));
    }

    LbSizes sizes_;
    julier_lb* skel_ = nullptr;
};

// Counter names for failure messages: JL_CNT_TX_FORWARD -> "TX_FORWARD".
inline const char* counter_name(jl_counter c) {
    static const char* const names[] = {
#define JL_TEST_COUNTER_NAME(name, verdict, label) #name,
        JL_COUNTERS(JL_TEST_COUNTER_NAME)
#undef JL_TEST_COUNTER_NAME
    };
    return c < JL_CNT_COUNT ? names[c] : "?";
}

// ---- the decapsulator ------------------------------------------------------------------

class DecapHarness {
public:
    DecapHarness() {
        skel_ = julier_decap__open_and_load();
        if (!skel_) bpf_fail("loading julier_decap (verifier log above)", errno);
    }
    ~DecapHarness() { julier_decap__destroy(skel_); }
    DecapHarness(const DecapHarness&) = delete;
    DecapHarness& operator=(const DecapHarness&) = delete;

    julier_decap& skel() { return *skel_; }
    int prog_fd() const { return bpf_program__fd(skel_->progs.julier_decap); }

    // Tunnels are stripped only to the local addresses added, from the allowed
    // sources added; with none of either, nothing is.
    void add_local(std::string_view addr) {
        jl_decap_addr k{};
        k.family = put_addr(k.addr, addr);
        __u32 one = 1;
        check_bpf(bpf_map_update_elem(bpf_map__fd(skel_->maps.jl_decap_addrs), &k, &one, BPF_NOEXIST),
                  "adding " + std::string(addr) + " to jl_decap_addrs");
        cfg_.local_addrs++;
        write_cfg();
    }
    // "198.18.0.0/28", "2001:db8::/124", or an address alone (the whole address).
    static jl_decap_source prefix_key(std::string_view prefix) {
        jl_decap_source k{};
        std::string_view addr = prefix.substr(0, prefix.find('/'));
        k.family = put_addr(k.addr, addr);
        unsigned bits = k.family == JL_FAMILY_V4 ? 32 : 128;
        if (prefix.find('/') != std::string_view::npos)
            bits = std::stoul(std::string(prefix.substr(prefix.find('/') + 1)));
        k.prefixlen = JL_DECAP_SOURCE_KEY_BITS + bits;
        return k;
    }
    void add_source(std::string_view prefix) {
        jl_decap_source k = prefix_key(prefix);
        __u32 one = 1;
        check_bpf(bpf_map_update_elem(bpf_map__fd(skel_->maps.jl_decap_sources), &k, &one, BPF_NOEXIST),
                  "adding " + std::string(prefix) + " to jl_decap_sources");
        cfg_.sources++;
        write_cfg();
    }
    void set_gue_port(uint16_t port) {
        cfg_.gue_port = htons(port);
        write_cfg();
    }
    // A backend prefix a second chance may be forwarded to (and may arrive from).
    void add_peer(std::string_view prefix) {
        jl_decap_source k = prefix_key(prefix);
        __u32 one = 1;
        check_bpf(bpf_map_update_elem(bpf_map__fd(skel_->maps.jl_decap_peers), &k, &one, BPF_NOEXIST),
                  "adding " + std::string(prefix) + " to jl_decap_peers");
        cfg_.peers++;
        write_cfg();
    }

    XdpResult run(std::span<const uint8_t> frame, uint32_t repeat = 1, uint32_t ingress_ifindex = 0) {
        return run_xdp(prog_fd(), frame, repeat, ingress_ifindex);
    }

    jl_traffic counter(jl_decap_counter c) const {
        return read_percpu<jl_traffic>(bpf_map__fd(skel_->maps.jl_decap_counters), c, "jl_decap_counters");
    }
    std::array<jl_traffic, JL_DECAP_CNT_COUNT> counters() const {
        std::array<jl_traffic, JL_DECAP_CNT_COUNT> all{};
        for (uint32_t c = 0; c < JL_DECAP_CNT_COUNT; c++) all[c] = counter(static_cast<jl_decap_counter>(c));
        return all;
    }

private:
    void write_cfg() {
        __u32 zero = 0;
        check_bpf(bpf_map_update_elem(bpf_map__fd(skel_->maps.jl_decap_cfg), &zero, &cfg_, BPF_ANY),
                  "writing jl_decap_cfg");
    }

    julier_decap* skel_ = nullptr;
    jl_decap_cfg cfg_{};
};

inline const char* decap_counter_name(jl_decap_counter c) {
    static const char* const names[] = {
#define JL_TEST_DECAP_COUNTER_NAME(name, verdict, label) #name,
        JL_DECAP_COUNTERS(JL_TEST_DECAP_COUNTER_NAME)
#undef JL_TEST_DECAP_COUNTER_NAME
    };
    return c < JL_DECAP_CNT_COUNT ? names[c] : "?";
}

}  // namespace julier::test
