// The catalogue the packet fuzzer loads into the forwarder, and the same catalogue
// as a plain model the checker reads (which service takes an address, port and
// protocol; which backends and fragments belong to it). Built with the fixture
// builder of tests/bpf (lb_fixture.h) so the maps are written as the fixtures do.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "harness.h"
#include "lb_fixture.h"

namespace julier::fuzz {

using Addr = std::array<uint8_t, 16>;  // IPv4 in the first 4 bytes, the rest zero

// One service with its addresses in wire form.
struct Service {
    test::lbfix::ServiceSpec spec;
    int family = 4;          // of the VIP (and of the flows it takes)
    int backend_family = 4;  // of its backends' addresses
    Addr vip{};
    // Backends that may receive its traffic: the ring's, then the draining ones (out of
    // the ring, keeping their flows). Parallel: id, address, dst_mac of the entry.
    std::vector<uint32_t> backend_ids;
    std::vector<Addr> backend_addrs;
    std::vector<test::Mac> backend_macs;
    std::vector<uint32_t> draining, down;  // entries out of the ring; down ones keep no flow

    // A connection table entry this service follows (docs/forwarder.md, "Flows").
    bool keeps(const jl_flow& f) const;
};

class Catalogue {
public:
    // The fixed set of services; the seed varies their tunnel MTUs, outer TTLs,
    // entropy bits, GUE ports and egress devices.
    explicit Catalogue(uint64_t seed);

    const std::vector<Service>& services() const { return services_; }
    // The service of dst:port/proto (family 4 or 6), else the address's port-0 one.
    const Service* service(int family, const Addr& dst, uint16_t port, uint8_t proto) const;
    // The service that takes fragments of dst/proto.
    const Service* fragment_service(int family, const Addr& dst, uint8_t proto) const;
    // A VIP address as the forwarder's parse-failure rule means it: it takes TCP or UDP fragments.
    bool vip_address(int family, const Addr& dst) const;
    // Echo requests to dst are answered by the forwarder (its fragment entries say so).
    bool answers_ping(int family, const Addr& dst) const;
    // Some service, of any port or protocol, lives at this address.
    bool any_service_at(int family, const Addr& dst) const;

    // Write every service, ring, backend, fragment entry and filter bit, the same on
    // both sides (so that flipping the live side changes nothing a packet may see).
    void install(test::LbHarness& lb) const;

    static test::LbSizes sizes();

private:
    std::vector<Service> services_;
};

// Clients and source ports that come back in generated frames, so that flows repeat
// and ICMP errors quote flows that were seen.
std::vector<Addr> pooled_clients(int family);
std::vector<uint16_t> pooled_ports();

Addr to_addr(const std::string& text);
std::string addr_text(int family, const Addr& a);

}  // namespace julier::fuzz
