#include "catalogue.h"

#include <arpa/inet.h>

#include <algorithm>
#include <random>

namespace julier::fuzz {

using test::lbfix::ServiceSpec;

namespace {

constexpr const char* kVip4b = "198.19.0.2";
constexpr const char* kVip6b = "2001:db8:ff::2";

// Every mode and family, a port-0 service per family, two services without a
// usable backend, small MTUs, redirect, source affinity, outer-source entropy, two
// modes that cannot reach their backends' family, and addresses that answer ping.
std::vector<ServiceSpec> specs() {
    using namespace test::lbfix;
    std::vector<ServiceSpec> v;
    uint32_t id = 1, first = 0, offset = 0;
    auto add = [&](std::string vip, uint16_t port, uint8_t proto, uint8_t mode, uint32_t slots, bool frags,
                   std::string backend_family = "") {
        ServiceSpec s;
        s.vip = std::move(vip);
        s.port = port;
        s.proto = proto;
        s.service_id = id++;
        s.mode = mode;
        s.slots = slots;
        s.first_backend = first;
        s.ring_offset = offset;
        s.takes_fragments = frags;
        s.backend_family = std::move(backend_family);
        first += 10;
        offset += 16;
        v.push_back(s);
        return &v.back();
    };
    add(kVip4, 80, IPPROTO_TCP, JL_MODE_L2, 7, true);
    add(kVip4, 0, IPPROTO_UDP, JL_MODE_IPIP, 5, true)->flags = JL_VIP_F_HASH_DESTINATION_PORT;
    add(kVip4, 443, IPPROTO_TCP, JL_MODE_IP4IN6, 5, false, "6");
    add(kVip4, 81, IPPROTO_TCP, JL_MODE_L2, 0, false);  // no usable backend
    auto* s = add(kVip4, 8080, IPPROTO_TCP, JL_MODE_L2, 3, false);
    s->ifindex = 7;  // out another device: redirect
    s->src_mac = kEgressMac;
    s = add(kVip4, 9000, IPPROTO_TCP, JL_MODE_IPIP, 3, false);
    s->mtu = 100;  // almost everything is too big
    s = add(kVip4b, 0, IPPROTO_TCP, JL_MODE_GUE, 3, true, "4");
    s->mtu = 576;
    s->entropy_bits = 4;
    s = add(kVip4b, 53, IPPROTO_UDP, JL_MODE_GUE, 3, true, "6");
    s->ifindex = 9;
    s->gue_port = 7777;
    s->udp_idle_timeout_ms = 1000;  // the shortest allowed: entries expire during a run
    add(kVip6, 80, IPPROTO_TCP, JL_MODE_L2, 5, true)->flags = JL_VIP_F_SOURCE_AFFINITY;
    add(kVip6, 0, IPPROTO_UDP, JL_MODE_IP6IP6, 5, true)->udp_idle_timeout_ms = 0;  // never expire
    s = add(kVip6, 443, IPPROTO_TCP, JL_MODE_GUE, 3, false, "6");
    s->flags = JL_VIP_F_HASH_NO_SOURCE_PORT;
    s->mtu = 1280;
    s->entropy_bits = 16;
    s = add(kVip6, 8443, IPPROTO_TCP, JL_MODE_IP6IP6, 3, false);
    s->mtu = 200;
    s = add(kVip6b, 0, IPPROTO_TCP, JL_MODE_GUE, 3, true, "4");
    s->mtu = 400;
    add(kVip6b, 0, IPPROTO_UDP, JL_MODE_IP6IP6, 0, true);  // no usable backend, takes fragments
    // Modes that cannot carry the VIP's family (the control plane refuses these; the
    // datapath must drop, counted, whatever it is given).
    add(kVip6, 9000, IPPROTO_TCP, JL_MODE_IPIP, 3, false, "4");
    add(kVip4, 9443, IPPROTO_TCP, JL_MODE_IP6IP6, 3, false, "6");
    // Two addresses answer ping (on every service, as the control plane writes it),
    // two do not.
    for (ServiceSpec& spec : v)
        if (spec.vip == kVip4 || spec.vip == kVip6b) spec.flags |= JL_VIP_F_ANSWER_PING;
    return v;
}

bool same(const Service& s, int family, const Addr& dst) { return s.family == family && s.vip == dst; }

}  // namespace

Addr to_addr(const std::string& text) {
    Addr a{};
    if (text.find(':') != std::string::npos) {
        auto b = test::ip6(text);
        std::copy(b.begin(), b.end(), a.begin());
    } else {
        auto b = test::ip4(text);
        std::copy(b.begin(), b.end(), a.begin());
    }
    return a;
}

std::string addr_text(int family, const Addr& a) {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a.data(), buf, sizeof(buf));
    return buf;
}

std::vector<Addr> pooled_clients(int family) {
    std::vector<Addr> v;
    for (uint8_t i = 0; i < 8; i++) {
        Addr a = to_addr(family == 4 ? "198.18.0.10" : "2001:db8::10");
        a[family == 4 ? 3 : 15] = uint8_t(10 + i);
        v.push_back(a);
    }
    return v;
}

std::vector<uint16_t> pooled_ports() { return {40000, 40001, 40002, 40003}; }

// Parameters the forwarder takes as given: any value must work.
void vary(ServiceSpec& spec, std::mt19937_64& r) {
    auto u = [&](uint32_t lo, uint32_t hi) { return std::uniform_int_distribution<uint32_t>(lo, hi)(r); };
    if (spec.mode != JL_MODE_L2) {
        if (u(0, 1)) spec.mtu = uint16_t(u(0, 1600));  // also below the bytes a tunnel adds
        spec.outer_ttl = uint8_t(u(0, 255));
        spec.entropy_bits = uint8_t(u(0, 20));  // more than 16 means 16
    }
    if (spec.mode == JL_MODE_GUE) spec.gue_port = uint16_t(u(1, 65535));
    if (u(0, 3) == 0) spec.ifindex = u(0, 1) ? 0 : u(2, 64);
    if (u(0, 3) == 0) spec.src_mac = u(0, 1) ? test::Mac{} : test::lbfix::kEgressMac;
}

Catalogue::Catalogue(uint64_t seed) {
    using namespace test::lbfix;
    std::mt19937_64 r(seed);
    for (ServiceSpec spec : specs()) {
        vary(spec, r);
        Service s;
        s.spec = spec;
        s.family = is_v6(spec.vip) ? 6 : 4;
        s.backend_family = v6_backends(spec) ? 6 : 4;
        s.vip = to_addr(spec.vip);
        // One draining and one down backend next to the ring of a few services.
        if (spec.slots && (spec.service_id == 1 || spec.service_id == 9 || spec.service_id == 11)) {
            s.draining.push_back(spec.first_backend + spec.slots);
            s.down.push_back(spec.first_backend + spec.slots + 1);
        }
        for (uint32_t i = 0; i < spec.slots; i++) s.backend_ids.push_back(spec.first_backend + i);
        s.backend_ids.insert(s.backend_ids.end(), s.draining.begin(), s.draining.end());
        for (uint32_t id : s.backend_ids) {
            s.backend_addrs.push_back(to_addr(backend_addr(spec, id)));
            s.backend_macs.push_back(frame_dst(spec, id));
        }
        services_.push_back(std::move(s));
    }
}

test::LbSizes Catalogue::sizes() {
    test::LbSizes z;
    z.max_services = 32;
    z.max_backends = 256;
    z.ring_capacity = 512;
    z.max_flows = 4096;
    return z;
}

void Catalogue::install(test::LbHarness& lb) const {
    for (uint32_t side = 0; side < JL_SIDES; side++)
        for (const Service& s : services_) {
            ServiceSpec spec = s.spec;
            spec.side = side;
            test::lbfix::install(lb, spec);
            for (uint32_t id : s.draining) lb.put_backend(side, id, test::lbfix::backend_value(spec, id));
            for (uint32_t id : s.down) {
                jl_backend b = test::lbfix::backend_value(spec, id);
                b.flags = 0;
                lb.put_backend(side, id, b);
            }
        }
}

bool Service::keeps(const jl_flow& f) const {
    return f.service_id == spec.service_id &&
           std::find(backend_ids.begin(), backend_ids.end(), f.backend_id) != backend_ids.end();
}

const Service* Catalogue::service(int family, const Addr& dst, uint16_t port, uint8_t proto) const {
    for (const Service& s : services_)
        if (same(s, family, dst) && s.spec.proto == proto && s.spec.port == port) return &s;
    for (const Service& s : services_)
        if (same(s, family, dst) && s.spec.proto == proto && s.spec.port == 0) return &s;
    return nullptr;
}

const Service* Catalogue::fragment_service(int family, const Addr& dst, uint8_t proto) const {
    const Service* found = nullptr;  // the last one written wins, as in the map
    for (const Service& s : services_)
        if (same(s, family, dst) && s.spec.proto == proto && s.spec.takes_fragments) found = &s;
    return found;
}

bool Catalogue::vip_address(int family, const Addr& dst) const {
    return fragment_service(family, dst, IPPROTO_TCP) || fragment_service(family, dst, IPPROTO_UDP);
}

bool Catalogue::answers_ping(int family, const Addr& dst) const {
    const Service* s = fragment_service(family, dst, IPPROTO_TCP);
    if (!s) s = fragment_service(family, dst, IPPROTO_UDP);
    return s && (s->spec.flags & JL_VIP_F_ANSWER_PING);
}

bool Catalogue::any_service_at(int family, const Addr& dst) const {
    for (const Service& s : services_)
        if (same(s, family, dst)) return true;
    return false;
}

}  // namespace julier::fuzz
