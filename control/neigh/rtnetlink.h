// A minimal rtnetlink client: the few single-object requests the resolver makes
// (get route, get link, get neighbour, poke neighbour), each answered in full
// before the next. No libmnl/libnl: the requests are small and fixed.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "common/ip.h"
#include "neigh/resolver.h"

namespace julier::neigh {

struct Route {
    std::uint32_t oif = 0;
    std::optional<common::IpAddress> gateway;  // RTA_GATEWAY or RTA_VIA
    std::optional<common::IpAddress> prefsrc;
    std::uint8_t type = 0;  // RTN_*
};

struct Link {
    std::string name;
    MacAddress mac{};
    bool has_mac = false;  // IFLA_ADDRESS of Ethernet length
    unsigned type = 0;     // ARPHRD_*
    unsigned flags = 0;    // IFF_*
};

struct Neighbour {
    std::uint16_t state = 0;  // NUD_*
    std::optional<MacAddress> mac;
};

// A failed request: the kernel's errno, and its extended-ack words when it gave any.
class NetlinkError : public std::runtime_error {
public:
    NetlinkError(int error, const std::string& message) : std::runtime_error(message), error_(error) {}
    int error() const { return error_; }

private:
    int error_;
};

class RtNetlink {
public:
    RtNetlink();  // throws NetlinkError when no socket can be opened
    ~RtNetlink();
    RtNetlink(const RtNetlink&) = delete;
    RtNetlink& operator=(const RtNetlink&) = delete;

    // What `ip route get` says for the destination.
    Route get_route(const common::IpAddress& destination);
    Link get_link(std::uint32_t ifindex);
    // nullopt when the kernel has no entry at all.
    std::optional<Neighbour> get_neighbour(const common::IpAddress& address, std::uint32_t ifindex);
    // Creates the entry if needed and has the kernel resolve it (NTF_USE), as if a
    // packet were waiting for it.
    void request_resolution(const common::IpAddress& address, std::uint32_t ifindex);

private:
    // Sends one request and returns the single answer message (payload included),
    // or nothing for a request answered by a plain ACK.
    std::string transact(void* request, std::uint32_t length, bool expect_answer);

    int fd_ = -1;
    std::uint32_t seq_ = 0;
};

}  // namespace julier::neigh
