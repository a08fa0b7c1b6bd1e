// Small builders for planner tests: catalogues written as code, next hops as a
// table, so a test states its inputs in a few lines.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/ip.h"
#include "config/catalogue.h"
#include "neigh/resolver.h"
#include "plan/plan.h"

namespace julier::plan_test {

inline common::IpAddress ip(const std::string& text) {
    auto address = common::IpAddress::parse(text);
    if (!address) {
        throw std::invalid_argument("bad address in test: " + text);
    }
    return *address;
}

// 02:00:00:00:<a>:<b> for a backend or gateway, ours 02:aa:00:00:00:01.
inline neigh::MacAddress mac(std::uint8_t a, std::uint8_t b) { return {0x02, 0x00, 0x00, 0x00, a, b}; }
inline const neigh::MacAddress kOurMac{0x02, 0xaa, 0x00, 0x00, 0x00, 0x01};
inline constexpr std::uint32_t kEth0 = 7;
inline constexpr std::uint32_t kEth1 = 9;

inline config::Backend backend(const std::string& address, std::uint32_t weight = 100,
                               config::BackendState state = config::BackendState::active) {
    config::Backend b;
    b.address = ip(address);
    b.weight = weight;
    b.state = state;
    return b;
}

inline config::Service service(const std::string& name, const std::string& vip, std::uint16_t port,
                               std::vector<config::Backend> backends,
                               config::Protocol protocol = config::Protocol::tcp) {
    config::Service s;
    s.name = name;
    s.vip = ip(vip);
    s.port = port;
    s.protocol = protocol;
    s.ring_size = 101;  // prime, small enough to inspect
    s.health.kind = config::HealthKind::none;
    s.backends = std::move(backends);
    return s;
}

inline config::Catalogue catalogue(std::vector<config::Service> services) {
    config::Catalogue c;
    config::Interface eth0;
    eth0.name = "eth0";
    c.interfaces.push_back(eth0);
    c.limits.max_services = 16;
    c.limits.max_backends = 64;
    c.limits.ring_capacity = 4096;
    c.services = std::move(services);
    return c;
}

// A directly connected next hop on eth0 whose MAC ends in the address's last byte.
inline neigh::NextHop direct(const common::IpAddress& address) {
    neigh::NextHop hop;
    std::uint8_t last = address.is_v4() ? address.bytes[3] : address.bytes[15];
    hop.dst_mac = mac(address.is_v4() ? 4 : 6, last);
    hop.src_mac = kOurMac;
    hop.ifindex = kEth0;
    hop.ifname = "eth0";
    return hop;
}

// Every backend of the catalogue resolved as directly connected on eth0.
inline plan::RuntimeState all_resolved(const config::Catalogue& c) {
    plan::RuntimeState runtime;
    for (const auto& address : plan::backend_addresses(c)) {
        runtime.next_hops[address] = neigh::Resolution{direct(address), ""};
    }
    return runtime;
}

inline const plan::PlannedBackend& find_backend(const plan::PlannedService& s, const std::string& address) {
    for (const auto& b : s.backends) {
        if (b.address == ip(address)) {
            return b;
        }
    }
    throw std::logic_error("no backend " + address + " in " + s.name);
}

// How many ring slots name each backend id.
inline std::map<std::uint32_t, std::size_t> slot_counts(const plan::PlannedService& s) {
    std::map<std::uint32_t, std::size_t> counts;
    for (std::uint32_t id : s.ring) {
        ++counts[id];
    }
    return counts;
}

}  // namespace julier::plan_test
