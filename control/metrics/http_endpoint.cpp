#include "metrics/http_endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include <prometheus/exposer.h>

#include "common/ip.h"
#include "metrics/metrics.h"

namespace julier::metrics {

namespace {

struct ListenAddress {
    common::IpAddress address;
    std::uint16_t port = 0;
};

ListenAddress parse_listen(const std::string& listen) {
    const auto bad = [&](const std::string& why) {
        return MetricsError("metrics: invalid listen address \"" + listen + "\": " + why +
                            " (expected an address and a port, e.g. 127.0.0.1:9641)");
    };
    std::string_view text = listen;
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) throw bad("no port");
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    const bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
    if (bracketed) host = host.substr(1, host.size() - 2);

    const auto address = common::IpAddress::parse(host);
    if (!address) throw bad("\"" + std::string(host) + "\" is not an IP address");
    if (address->is_v6() != bracketed)
        throw bad(bracketed ? "brackets around an IPv4 address" : "IPv6 address without brackets");

    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535)
        throw bad("port \"" + std::string(port_text) + "\" is not a number from 0 to 65535");
    return {*address, static_cast<std::uint16_t>(port)};
}

// The HTTP server's spelling of the address, from the parsed value only, so nothing
// but an address and a port reaches its option parser.
std::string server_address(const ListenAddress& where) {
    const auto host = where.address.to_string();
    return (where.address.is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(where.port);
}

// Why the kernel would refuse to bind there, or "" when it would not: the HTTP
// server only says that it failed to start.
std::string bind_problem(const ListenAddress& where) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    if (where.address.is_v4()) {
        auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
        sin->sin_family = AF_INET;
        sin->sin_port = htons(where.port);
        std::memcpy(&sin->sin_addr, where.address.bytes.data(), 4);
        length = sizeof(*sin);
    } else {
        auto* sin6 = reinterpret_cast<sockaddr_in6*>(&storage);
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons(where.port);
        std::memcpy(&sin6->sin6_addr, where.address.bytes.data(), 16);
        length = sizeof(*sin6);
    }
    const int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::strerror(errno);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    std::string problem;
    if (bind(fd, reinterpret_cast<const sockaddr*>(&storage), length) != 0) problem = std::strerror(errno);
    close(fd);
    return problem;
}

}  // namespace

HttpEndpoint::HttpEndpoint(const std::string& listen, const Metrics& metrics) : listen_(listen) {
    const auto where = parse_listen(listen);
    try {
        exposer_ = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports",
            server_address(where),
            "num_threads",
            "2",
            // A client that stops mid-request must not hold a thread for long.
            "request_timeout_ms",
            "10000",
        });
    } catch (const std::exception& e) {
        std::string why = bind_problem(where);
        if (why.empty() && where.address.is_v6())
            why = "the HTTP server of this build has no IPv6 support; use an IPv4 address";
        if (why.empty()) why = std::string("the HTTP server did not start: ") + e.what();
        throw MetricsError("metrics: cannot listen on " + listen + ": " + why);
    }
    for (const auto& collectable : metrics.collectables()) exposer_->RegisterCollectable(collectable);
    const auto ports = exposer_->GetListeningPorts();
    port_ = ports.empty() ? where.port : static_cast<std::uint16_t>(ports.front());
}

HttpEndpoint::~HttpEndpoint() = default;

}  // namespace julier::metrics
